"""The package's import structure: every module imports on its own, and the core layers never import each other in a circle.

programme, export, handout, fhir and log used to import each other for two sentences of wording and the
spreadsheet formula guard; those now live in data (``wording.toml`` via :mod:`sciatica_kit.wording`) and in
:mod:`sciatica_kit.safe_text`.  The graph is read from the source (AST), so a deferred import inside a
function counts as much as one at the top of a file.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import sciatica_kit

PACKAGE = Path(sciatica_kit.__file__).parent
CORE = ("programme", "export", "handout", "fhir", "log", "wording", "safe_text")
# Programme's convenience writers (prog.to_csv(...), notebook display) are thin façades that hand the
# programme to the writers; they are the only place the core may call "upwards", and only from these methods.
# The writers import programme for type hints only, so even counting these calls the graph has no circle.
FACADES = {("programme", f"Programme.{m}") for m in ("to_frame", "to_csv", "to_excel", "to_html", "to_pdf", "_repr_html_")}


def _modules() -> list[str]:
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).with_suffix("")
        parts = [p for p in rel.parts if p != "__init__"]
        if parts and parts[0] in ("migrations",):  # Alembic scripts run inside Alembic, not imported by the kit
            continue
        names.append(".".join(["sciatica_kit", *parts]))
    return names


MODULES = set(_modules())


def _component(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(module: str) -> list[tuple[str, str, int, bool]]:
    """``(imported module, enclosing function qualname or "", line, at_import_time)`` for each kit import."""
    rel = module.removeprefix("sciatica_kit").lstrip(".").replace(".", "/")
    path = PACKAGE / (rel + ".py") if (PACKAGE / (rel + ".py")).is_file() else PACKAGE / rel / "__init__.py"
    if not rel:
        path = PACKAGE / "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[tuple[str, str, int, bool]] = []

    def visit(node: ast.AST, scope: list[str], in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for other in child.orelse:
                    visit(other, scope, in_function)
                continue
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                visit(child, [*scope, child.name], True)
            elif isinstance(child, ast.ClassDef):
                visit(child, [*scope, child.name], in_function)
            elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                if child.module == "sciatica_kit" or child.module.startswith("sciatica_kit."):
                    for alias in child.names:  # "from sciatica_kit.fhir import _base" imports the submodule
                        sub = f"{child.module}.{alias.name}"
                        target = sub if sub in MODULES else child.module
                        found.append((target, ".".join(scope), child.lineno, not in_function))
            elif isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name.startswith("sciatica_kit."):
                        found.append((alias.name, ".".join(scope), child.lineno, not in_function))
            else:
                visit(child, scope, in_function)

    visit(tree, [], False)
    return found


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def dfs(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := dfs(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := dfs(node)):
            return found
    return None


def test_every_module_of_the_package_imports_on_its_own():
    """Each module imported first, in a fresh interpreter state: an import-time cycle would fail here."""
    code = (
        "import importlib, sys\n"
        f"names = {_modules()!r}\n"
        "failed = []\n"
        "for name in names:\n"
        "    for loaded in [m for m in sys.modules if m == 'sciatica_kit' or m.startswith('sciatica_kit.')]:\n"
        "        del sys.modules[loaded]\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except Exception as err:\n"
        "        failed.append(f'{name}: {type(err).__name__}: {err}')\n"
        "print('\\n'.join(failed))\n"
        "sys.exit(1 if failed else 0)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr[-2000:]


def test_no_import_cycle_among_programme_export_handout_fhir_and_log():
    """Every import counts, deferred ones and the façades' too (only type-checking imports do not)."""
    graph: dict[str, set[str]] = {c: set() for c in CORE}
    where: dict[tuple[str, str], str] = {}
    for module in _modules():
        src = _component(module)
        if src not in CORE:
            continue
        for target, scope, line, _ in _imports(module):
            dst = _component(target)
            if dst in CORE and dst != src:
                graph[src].add(dst)
                where.setdefault((src, dst), f"{module} line {line}" + (f" (in {scope})" if scope else ""))
    cycle = _cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle) + "; " + "; ".join(
        where[(a, b)] for a, b in zip(cycle, cycle[1:], strict=False))


def test_the_package_has_no_import_cycle_at_import_time():
    graph: dict[str, set[str]] = {}
    for module in _modules():
        targets = {t for t, _, _, now in _imports(module) if now}
        graph[module] = {t for t in targets if t in MODULES}
    assert _cycle(graph) is None, _cycle(graph)


@pytest.mark.parametrize(("module", "allowed"), [
    ("sciatica_kit.safe_text", set()),  # the formula guard: usable by any writer
    ("sciatica_kit.wording", {"catalog", "_docs"}),  # the fixed sentences: data, found through the catalogue's folder; shared docstrings
])
def test_the_small_shared_modules_import_almost_nothing_of_the_kit(module, allowed):
    assert {_component(t) for t, *_ in _imports(module)} <= allowed


def test_the_programme_facades_are_the_only_upward_calls():
    """programme may reach export, handout or fhir only from its thin writer methods."""
    upward = [(scope, target, line) for target, scope, line, _ in _imports("sciatica_kit.programme")
              if _component(target) in ("export", "handout", "fhir")]
    assert upward and all(("programme", scope) in FACADES for scope, _, _ in upward), upward


def test_the_wording_names_kept_for_notebooks_come_from_the_data():
    from sciatica_kit import handout, programme
    from sciatica_kit.wording import load_wording

    words = load_wording()
    assert words.disclaimer == programme.DISCLAIMER and words.safety_note == programme.SAFETY_NOTE
    assert words.emergency_signs == handout.EMERGENCY_SIGNS and words.stop_rules == handout.STOP_RULES
    assert words.fill_in_dose == handout.FILL_IN_DOSE


def test_the_package_has_no_import_cycle_even_counting_deferred_imports():
    """Modules and top-level components alike: an import inside a function is a dependency too."""
    modules = {m: {t for t, *_ in _imports(m) if t in MODULES and t != m} for m in _modules()}
    assert _cycle(modules) is None, _cycle(modules)
    components: dict[str, set[str]] = {}
    for module, targets in modules.items():
        components.setdefault(_component(module), set()).update(_component(t) for t in targets if _component(t) != _component(module))
    assert _cycle(components) is None, _cycle(components)


def test_a_built_programme_has_the_shape_the_writers_read():
    """The writers name sciatica_kit.programme_view.ProgrammeView, not Programme (no circle with its façades):
    a built programme, blocked or not, must keep that shape, and the writers must still take it."""
    import sciatica_kit as sk
    from sciatica_kit.programme_view import ProgrammeView

    for prog in (sk.build_programme(["sciatica"], patient="P-1"), sk.build_programme(["sciatica"], red_flags=["cauda_equina"])):
        assert isinstance(prog, ProgrammeView)
        for name in ProgrammeView.__protocol_attrs__ if hasattr(ProgrammeView, "__protocol_attrs__") else dir(ProgrammeView):
            if not name.startswith("_"):
                getattr(prog, name)  # every attribute the writers read answers
    assert _imports("sciatica_kit.programme_view") == []  # the shape imports nothing of the kit when run
    for writer in ("sciatica_kit.export", "sciatica_kit.handout"):
        assert "sciatica_kit.programme" not in {t for t, *_ in _imports(writer)}
