"""The package's import graph, read from the source with ``ast`` (nothing is imported).

- Imports go one way: no cycle between modules, and none between the top-level packages.
- The library never imports the application layer (``ascendgan.recipes``, ``ascendgan.cli``).
- No ``ascendgan`` import inside a function (they existed to dodge cycles).
- No ``_private`` name is imported from another top-level package.
- No module is longer than 500 lines (the AutoAugment policy tables excepted).
"""

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1] / "ascendgan"
APPLICATION = ("ascendgan.recipes", "ascendgan.cli")
LONG_MODULES_ALLOWED = {"ascendgan.augment.autoaugment"}  # the paper's policy tables


def _module_name(path):
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(path): path for path in sorted(ROOT.rglob("*.py"))}


def _is_package(name):
    return MODULES.get(name, pathlib.Path()).name == "__init__.py"


def _resolve(importer, node):
    """``[(module imported, [names taken from it], inside a function)]`` for one import node."""
    if isinstance(node, ast.Import):
        return [(alias.name, [], None) for alias in node.names if alias.name.startswith("ascendgan")]
    if node.level:  # relative import
        base = importer.split(".")
        if not _is_package(importer):
            base = base[:-1]
        base = base[: len(base) - node.level + 1]
        module = ".".join(base + ([node.module] if node.module else []))
    else:
        module = node.module or ""
    if not module.startswith("ascendgan"):
        return []
    found = []
    for alias in node.names:
        submodule = f"{module}.{alias.name}"
        if submodule in MODULES:
            found.append((submodule, [], None))
        else:
            found.append((module, [alias.name], None))
    return found


def _imports(name):
    """``[(imported module, names, lineno, function-level)]`` of module ``name``."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    out = []

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                for module, names, _ in _resolve(name, child):
                    out.append((module, names, child.lineno, in_function))
            visit(child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)))

    visit(tree, False)
    return out


def _ancestors(name):
    parts = name.split(".")
    return {".".join(parts[:i]) for i in range(2, len(parts))}


def _edges():
    """Module -> modules whose code runs when it is imported (a target's parent packages
    too, except the importer's own, which are already initialising)."""
    edges = {}
    for name in MODULES:
        targets = set()
        for module, _, _, _ in _imports(name):
            for target in {module} | (_ancestors(module) - _ancestors(name) - {name}):
                if target in MODULES and target != name and target != "ascendgan":
                    targets.add(target)
        edges[name] = targets
    return edges


def _cycle(edges):
    """One cycle of ``edges`` as a list of nodes, or None."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for target in sorted(edges.get(node, ())):
            if state.get(target) == "open":
                return stack[stack.index(target):] + [target]
            if target not in state:
                found = visit(target)
                if found:
                    return found
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(edges):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def _package(name):
    return ".".join(name.split(".")[:2])


def _is_application(name):
    return name.startswith(APPLICATION) or name.endswith("__main__")


def test_the_source_tree_is_found():
    assert {"ascendgan.training.gan", "ascendgan.recipes.runs", "ascendgan.cli"} <= set(MODULES)


def test_no_import_cycle_between_modules():
    assert _cycle(_edges()) is None, " -> ".join(_cycle(_edges()))


def test_no_import_cycle_between_packages():
    packages = {}
    for name, targets in _edges().items():
        if name.endswith("__main__"):  # an entry point (`python -m`), not imported by its package
            continue
        packages.setdefault(_package(name), set()).update(
            _package(t) for t in targets if _package(t) != _package(name))
    cycle = _cycle(packages)
    assert cycle is None, " -> ".join(cycle)


def test_the_library_never_imports_the_application_layer():
    offenders = [
        f"{name}:{line} imports {module}"
        for name in MODULES if not _is_application(name)
        for module, _, line, _ in _imports(name) if module.startswith(APPLICATION)
    ]
    assert not offenders, "\n".join(offenders)


def test_no_ascendgan_import_inside_a_function():
    offenders = [f"{name}:{line} imports {module}" for name in MODULES
                 for module, _, line, inside in _imports(name) if inside]
    assert not offenders, "\n".join(offenders)


def test_no_private_name_imported_from_another_package():
    offenders = []
    for name in MODULES:
        for module, names, line, _ in _imports(name):
            private = [n for n in names if n.startswith("_")]
            last = module.rsplit(".", 1)[-1]
            if last.startswith("_") and last != "__init__":
                private.append(module)
            if private and _package(module) != _package(name):
                offenders.append(f"{name}:{line} takes {private} from {module}")
    assert not offenders, "\n".join(offenders)


def test_no_module_over_500_lines():
    long = {name: n for name, path in MODULES.items()
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > 500}
    assert set(long) <= LONG_MODULES_ALLOWED, long


@pytest.mark.parametrize("source, expected", [
    ("import os\nfrom ascendgan import compat\n", [("ascendgan.compat", False)]),
    ("def f():\n    from ascendgan.training import gan\n", [("ascendgan.training.gan", True)]),
])
def test_import_reader(tmp_path, monkeypatch, source, expected):
    """The reader itself: module-level and function-level imports of ascendgan modules."""
    path = ROOT / "training" / "gan.py"
    monkeypatch.setitem(MODULES, "ascendgan.probe", tmp_path / "probe.py")
    (tmp_path / "probe.py").write_text(source)
    assert path.exists()
    assert [(module, inside) for module, _, _, inside in _imports("ascendgan.probe")] == expected


def test_cycle_finder():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    assert _cycle({"a": {"b"}, "b": {"a"}}) == ["a", "b", "a"]
