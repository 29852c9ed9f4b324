"""The layering of ``src/microseg`` (ARCHITECTURE.md): no import cycle between modules and no
import from a lower layer to a higher one. Every import counts: at module level, inside
functions (lazy ones), under ``if TYPE_CHECKING:`` and ``importlib.import_module("microseg.…")``
with a literal name."""
import ast
from pathlib import Path

import microseg

SRC = Path(microseg.__file__).parent
#: Module name prefix → layer, low to high; a module takes the rank of its longest prefix.
#: Modules of one layer may import each other (without a cycle).
RANKS = {
    # basics: used everywhere, import nothing of microseg but each other
    "microseg.errors": 0, "microseg.registry": 0, "microseg.config": 0, "microseg.memory": 0,
    "microseg.malloc": 0, "microseg.version": 0,
    # the one list of pipeline names: a leaf, so the model cards of zoo/ check a card's
    # pipeline without importing any pipeline (it imports nothing at all)
    "microseg.pipelines.names": 0,
    "microseg.io": 1, "microseg.preprocess": 1,
    # per-object measurement of label arrays needs only io; data sizes objects with it
    "microseg.measure": 2,
    "microseg.data": 2, "microseg.targets": 2, "microseg.augment": 2,
    "microseg.models": 3, "microseg.losses": 3,
    "microseg.infer": 4,
    "microseg.post": 5,
    "microseg.metrics": 6, "microseg.track": 6,
    "microseg.train": 7, "microseg.zoo": 7,
    "microseg.pipelines": 8,
    # annotation: prompts turned into objects with a model's maps (infer, post) and the
    # pipelines that load and run models; per-plane merges of the protoplast workflow
    "microseg.annotate": 8,
    # blockwise processing on Dask runs the cells pipeline on every block (pipelines.cells) and
    # is run by pipelines.files for --blockwise: a pipeline itself, of the same layer
    "microseg.scale": 8,
    # faces: the package itself (lazy access to all of the above), the command line, the HTML
    # report of a segment output folder (reads what pipelines.files wrote), the napari plugin
    "microseg": 9, "microseg.cli": 9, "microseg.__main__": 9, "microseg.report": 9,
    "microseg.napari": 9,
}


def _modules() -> dict[str, Path]:
    """Dotted module name → file, for every module of the package (packages by __init__)."""
    modules = {}
    for path in sorted(SRC.rglob("*.py")):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def _imported(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The microseg modules that module ``name`` imports, anywhere in its code."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def add(target: str) -> None:
        while target not in modules and "." in target:
            target = target.rpartition(".")[0]
        if target in modules and target != name:
            found.add(target)

    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("microseg"):
                    add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            if not base.startswith("microseg"):
                continue
            submodules = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in modules]
            found.update(submodule for submodule in submodules if submodule != name)
            if len(submodules) < len(node.names):      # names defined in the module itself
                add(base)
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "import_module"
              and node.args and isinstance(node.args[0], ast.Constant)
              and str(node.args[0].value).startswith("microseg")):
            add(node.args[0].value)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imported(name, path, modules) for name, path in modules.items()}


def rank(module: str) -> int:
    prefix = max((p for p in RANKS if module == p or module.startswith(p + ".")), key=len)
    return RANKS[prefix]


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def test_every_module_has_a_layer():
    assert all(rank(name) >= 0 for name in _graph())
    assert "microseg.pipelines.cells" in _graph()       # the walk finds the modules


def test_no_module_imports_from_a_higher_layer():
    graph = _graph()
    upward = [f"{a} (layer {rank(a)}) -> {b} (layer {rank(b)})"
              for a in sorted(graph) for b in sorted(graph[a]) if rank(b) > rank(a)]
    assert not upward, "imports from a lower layer to a higher one:\n" + "\n".join(upward)


def test_no_import_cycle_between_modules():
    graph = _graph()
    cycles = _cycles(graph)
    report = [f"{' <-> '.join(c)}: " + ", ".join(f"{a} -> {b}" for a in c for b in sorted(graph[a])
                                                  if b in c)
              for c in cycles]
    assert not cycles, "import cycles:\n" + "\n".join(report)


def test_the_checks_see_lazy_upward_imports_and_cycles(tmp_path):
    """The walk finds an import inside a function, and the cycle finder a two-module cycle."""
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from microseg.pipelines.cells import segment\n")
    assert _imported("microseg.io.m", module, _modules()) == {"microseg.pipelines.cells"}
    assert _cycles({"a": {"b"}, "b": {"a"}, "c": set()}) == [["a", "b"]]
