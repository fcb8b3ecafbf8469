"""Every public callable documents its parameters and what it returns (numpydoc sections)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest
from numpydoc.docscrape import FunctionDoc

import sciatica_kit


def _public_callables():
    """(module, qualified name, object) for every function and public method of the names in ``__all__``."""
    names = ["sciatica_kit"] + [m.name for m in pkgutil.walk_packages(sciatica_kit.__path__, "sciatica_kit.")
                                if ".migrations.versions" not in m.name and not m.name.endswith("__main__")]
    for name in names:
        module = importlib.import_module(name)
        for attr in getattr(module, "__all__", ()):
            obj = getattr(module, attr, None)
            if getattr(obj, "__module__", None) != name:
                continue  # documented where it is defined
            if inspect.isfunction(obj):
                yield name, attr, obj
            elif inspect.isclass(obj):
                yield name, attr, obj
                for key, value in vars(obj).items():
                    if not key.startswith("_") and inspect.isfunction(value) and _written_here(value, module):
                        yield name, f"{attr}.{key}", value


def _written_here(func, module) -> bool:
    """Written in the module's own source (not made by a base class, as matplotlib makes ``Artist.set``)."""
    return func.__code__.co_filename == module.__file__


CALLABLES = sorted(_public_callables(), key=lambda t: (t[0], t[1]))


def _problems(obj) -> list[str]:
    doc = inspect.getdoc(obj)
    if not doc:
        return ["no docstring"]
    if inspect.isclass(obj):
        return []
    sig = inspect.signature(obj)
    params = [p for p in sig.parameters if p not in ("self", "cls")]
    parsed = FunctionDoc(obj)
    documented = {n.strip().lstrip("*") for p in parsed["Parameters"] for n in p.name.split(",")}
    out = [f"parameter {p!r} not under Parameters" for p in params if p not in documented]
    returns = sig.return_annotation
    if returns not in (None, "None", inspect.Signature.empty) and not parsed["Returns"] and not parsed["Yields"]:
        out.append("no Returns section")
    return out


def test_the_package_has_public_callables_to_check():
    assert len(CALLABLES) > 150  # the walk found the package's public surface


@pytest.mark.parametrize(("module", "name", "obj"), CALLABLES, ids=[f"{m}.{n}" for m, n, _ in CALLABLES])
def test_public_callable_has_numpydoc_parameters_and_returns(module, name, obj):
    assert not _problems(obj), f"{module}.{name}: " + "; ".join(_problems(obj))
