"""The house rules, read from the code itself (ast over every module of the package).

- Dependencies point one way: provenance <- ledger <- guards <- cli.
- No cycle between subpackages (a folder with an `__init__.py`, or a module at the top of one of
  the four packages, is one node).
- Code outside a subpackage goes in by its front door: `from synthguard.ledger.log import
  Ledger`, never `from synthguard.ledger.log.store import Ledger`.
- Every SQL statement lives in ledger/log/: no other module imports a database library.
- Importing a guard does not load the report or the release stack, nor does the log.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("provenance", "ledger", "guards", "cli")
"""Lowest first: a package may import only itself and the ones before it."""
DATABASE_LIBRARIES = ("sqlalchemy", "sqlmodel", "sqlite3", "psycopg", "psycopg2")
SQL_HOME = "synthguard.ledger.log"


@dataclass(frozen=True)
class Import:
    """One import statement of one module: where it is and what it names."""

    module: str
    path: Path
    line: int
    target: str
    names: tuple[str, ...]


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts  # __init__.pyi: its package
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(("synthguard", *parts))


def package_modules() -> Iterator[Path]:
    """Every module, and the stub of each lazy front door (its imports are the door's)."""
    for layer in LAYERS:
        yield from sorted((ROOT / layer).rglob("*.py"))
        yield from sorted((ROOT / layer).rglob("__init__.pyi"))


def subpackages() -> set[str]:
    found = set()
    for layer in LAYERS:
        for init in (ROOT / layer).rglob("__init__.py"):
            found.add(module_name(init))
    return found


SUBPACKAGES = subpackages()
MODULES = {module_name(path) for path in package_modules()}


def imports() -> Iterator[Import]:
    """Every import in the package, at any depth (functions and TYPE_CHECKING blocks too)."""
    for path in package_modules():
        module = module_name(path)
        package = module if path.stem == "__init__" else module.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield Import(module, path, node.lineno, alias.name, ())
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    base = base[: len(base) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                names = tuple(alias.name for alias in node.names)
                modules = [f"{target}.{name}" for name in names if f"{target}.{name}" in MODULES]
                if modules:  # `from package import module`: an import of each module
                    for name in modules:
                        yield Import(module, path, node.lineno, name, ())
                else:
                    yield Import(module, path, node.lineno, target, names)


def home_of(module: str) -> str:
    """The node a module belongs to: its innermost subpackage below the top level, else the
    module itself (ledger/home.py is a node of its own, as is each top-level front door)."""
    best = module
    for sub in SUBPACKAGES:
        if sub.count(".") < 2:
            continue
        if (module == sub or module.startswith(sub + ".")) and (
            best == module or len(sub) > len(best)
        ):
            best = sub
    return best


def layer_of(module: str) -> str:
    return module.split(".")[1]


def internal(imp: Import) -> bool:
    return imp.target == "synthguard" or imp.target.startswith("synthguard.")


def where(imp: Import) -> str:
    return f"{imp.path.relative_to(ROOT)}:{imp.line} imports {imp.target}"


def test_dependencies_point_one_way() -> None:
    wrong = [
        where(imp)
        for imp in imports()
        if internal(imp)
        and imp.target != "synthguard"
        and LAYERS.index(layer_of(imp.target)) > LAYERS.index(layer_of(imp.module))
    ]
    assert wrong == [], "\n".join(wrong)


def subpackage_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for imp in imports():
        if not internal(imp) or imp.target == "synthguard":
            continue
        source, target = home_of(imp.module), home_of(imp.target)
        graph.setdefault(source, set())
        if source != target:
            graph[source].add(target)
    return graph


def test_no_cycle_between_subpackages() -> None:
    graph = subpackage_graph()
    state: dict[str, str] = {}
    cycles: list[list[str]] = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                cycles.append([*trail[trail.index(nxt) :], nxt] if nxt in trail else [node, nxt])
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert cycles == [], "\n".join(" -> ".join(cycle) for cycle in cycles)


def test_code_outside_a_subpackage_uses_its_front_door() -> None:
    wrong = []
    for imp in imports():
        if not internal(imp):
            continue
        target_home = home_of(imp.target)
        if target_home not in SUBPACKAGES or target_home.count(".") < 2:
            continue
        if home_of(imp.module) == target_home:
            continue
        if imp.target != target_home:
            wrong.append(where(imp) + (f" ({', '.join(imp.names)})" if imp.names else ""))
    assert wrong == [], "\n".join(wrong)


def test_every_front_door_names_its_api() -> None:
    """Each subpackage's `__init__.py` has a docstring with an example and an `__all__` whose
    names it binds (a lazy front door: its stub `__init__.pyi` does)."""
    for sub in sorted(SUBPACKAGES):
        path = ROOT.joinpath(*sub.split(".")[1:], "__init__.py")
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstring = ast.get_docstring(tree)
        assert docstring is not None, f"{path.relative_to(ROOT)} has no docstring"
        assert "\n    " in docstring, (
            f"{path.relative_to(ROOT)}: its docstring shows no (indented) usage example"
        )
        stub = path.with_suffix(".pyi")
        if stub.exists():
            assert "lazy_loader.attach_stub(__name__, __file__)" in path.read_text("utf-8")
            path, tree = stub, ast.parse(stub.read_text(encoding="utf-8"))
        exported = _dunder_all(tree)
        assert exported, f"{path.relative_to(ROOT)} has no __all__"
        unbound = sorted(set(exported) - _bound_names(tree))
        assert unbound == [], f"{path.relative_to(ROOT)}: __all__ names {unbound} it never binds"


def _dunder_all(tree: ast.Module) -> list[str]:
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id == "__all__"
        ):
            value = ast.literal_eval(node.value)
            assert isinstance(value, list | tuple)
            return [str(name) for name in value]
    return []


def _bound_names(tree: ast.Module) -> set[str]:
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom | ast.Import):
            bound.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.Assign):
            bound.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return bound


def test_sql_lives_in_the_log() -> None:
    wrong = [
        where(imp)
        for imp in imports()
        if imp.target.split(".")[0] in DATABASE_LIBRARIES
        and not (imp.module == SQL_HOME or imp.module.startswith(SQL_HOME + "."))
    ]
    assert wrong == [], "\n".join(wrong)


def loaded_by(statement: str) -> set[str]:
    """The synthguard modules a fresh interpreter holds after running `statement`."""
    code = (
        f"{statement}\nimport sys\n"
        "print('\\n'.join(m for m in sys.modules if m.startswith('synthguard')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    return set(done.stdout.split())


@pytest.mark.parametrize(
    ("statement", "must_not_load"),
    [
        (
            "import synthguard.guards.dedup",
            ("synthguard.ledger.report", "synthguard.ledger.release", "synthguard.cli"),
        ),
        (
            "from synthguard.guards import screen_file",
            ("synthguard.ledger.report", "synthguard.ledger.release", "synthguard.cli"),
        ),
        (
            "from synthguard.ledger.log import Ledger",
            (
                "synthguard.ledger.report",
                "synthguard.ledger.release",
                "synthguard.guards",
                "synthguard.cli",
            ),
        ),
        (
            "import synthguard.ledger.home",
            ("synthguard.ledger.report", "synthguard.ledger.release"),
        ),
        ("import synthguard.provenance", ("synthguard.ledger", "synthguard.guards")),
        (
            # A screen loads the guards it runs, where it builds them (`default_guards`).
            "import synthguard.cli.screen",
            (
                "synthguard.guards.backdoor",
                "synthguard.guards.privacy",
                "synthguard.guards.redaction",
                "synthguard.guards.decontamination",
                "synthguard.guards.semantic",
                "synthguard.guards.toxicity",
                "synthguard.guards.embedding",
            ),
        ),
    ],
)
def test_no_hidden_pulls(statement: str, must_not_load: tuple[str, ...]) -> None:
    loaded = loaded_by(statement)
    pulled = sorted(m for m in loaded for p in must_not_load if m == p or m.startswith(p + "."))
    assert pulled == [], f"{statement} loads {pulled}"


def test_every_front_door_loads_what_it_names() -> None:
    """Each front door, imported in a fresh interpreter, resolves every name of its `__all__`
    (the lazy ones of ledger and guards on first use)."""
    doors = sorted(SUBPACKAGES - {"synthguard.provenance.schema"})
    code = (
        "import importlib\n"
        f"for door in {doors!r}:\n"
        "    module = importlib.import_module(door)\n"
        "    assert module.__all__, door\n"
        "    for name in module.__all__:\n"
        "        assert getattr(module, name) is not None, (door, name)\n"
        "print('ok')"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=300
    )
    assert done.stdout.strip() == "ok", done.stderr
