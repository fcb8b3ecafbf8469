"""Names of a package that load their module on first use (PEP 562), as scientific Python's ``lazy_loader`` does."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from typing import Any


def attach(package: str, where: dict[str, str]):
    """``__getattr__``, ``__dir__`` and ``__all__`` for ``package``, whose names live in the modules ``where`` gives.

    A name of ``where`` loads its module when first asked for, and is then kept in the
    package; so does a module of the package asked for by name (``sk.charts``).

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    where : dict
        Public name -> module (relative to the package) that defines it.

    Returns
    -------
    tuple
        ``(__getattr__, __dir__, __all__)`` for the package's namespace.
    """

    def __getattr__(name: str) -> Any:
        if name in where:
            value = getattr(importlib.import_module(f"{package}.{where[name]}"), name)
            setattr(sys.modules[package], name, value)
            return value
        if not name.startswith("_") and importlib.util.find_spec(f"{package}.{name}") is not None:
            return importlib.import_module(f"{package}.{name}")  # a module of the package, loaded when named
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(where))

    return __getattr__, __dir__, sorted(where)
