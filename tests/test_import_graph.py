"""The import graph of src/univa (issues 12, 21): no cycle between univa modules, the plain
network never imports the data layer, the shared constants and errors import nothing of univa,
and inside data/ the core imports no family, the released and generic layouts import neither
each other nor what is written in them (synthetic data, .csd files), and only the data commands
import those.

The graph is read from the source with `ast`, every import counted wherever it stands (in a
function or under `TYPE_CHECKING` too: a dependency is one even when it runs late). The checker
itself is tested on small made-up packages, so that a rule that could never fail is caught.
"""

from __future__ import annotations

import ast
from pathlib import Path

import univa

# importer (a module or a package and everything under it) -> what it must not import
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "univa.model": ("univa.data",),  # the network is plain PyTorch, fed by whoever reads data
    "univa.constants": ("univa",),  # the words every layer shares: a leaf
    "univa.errors": ("univa",),  # raised by every layer: a leaf
    "univa.data.released": ("univa.data.generic",),  # the two layouts know nothing of each other
    "univa.data.generic": ("univa.data.released",),
}
# the flow, low to high: files -> the data's core -> its layouts -> data written in them ->
# network -> objectives -> Lightning glue -> reporting -> the configs' schemas and the entry
# points' shared start -> the entry points; a module imports only from its own layer or the ones
# below. A module's layer is that of the longest name placing it (univa.data.released.text is
# in univa.data.released, not in the core univa.data; univa.data.convert is an entry point)
FLOW: tuple[tuple[str, ...], ...] = (
    (
        "univa.constants",
        "univa.errors",
        "univa.files",
        "univa.safe_json",
        "univa.custom_code",
        "univa.label_prior",
        "univa.lazy",
        "univa.progress",
    ),
    # the data's core: options, records, VA, datasets, samplers, tokenisation, the base data module
    ("univa.distributed", "univa.data"),
    ("univa.data.released", "univa.data.generic"),  # the layouts, each with its reader
    ("univa.data.csd", "univa.data.synthetic", "univa.data.recordings"),  # data written in them
    ("univa.model",),
    ("univa.losses", "univa.metrics", "univa.optimizer"),
    ("univa.training", "univa.inference"),
    ("univa.report",),
    ("univa.conf", "univa.cli"),
    (
        "univa.train",
        "univa.evaluate",
        "univa.predict",
        "univa.aggregate",
        "univa.export",
        "univa.convert_reference",
        "univa.reference",
        "univa.original",
        # the data commands: entry points that live with the data they write or check
        "univa.data.convert",
        "univa.data.validate",
        "univa.data.synthetic.__main__",
        "univa.extract",
    ),
)


def flow_rules(flow: tuple[tuple[str, ...], ...]) -> dict[str, tuple[str, ...]]:
    """Each layer of `flow` may not import any layer above it."""
    return {
        module: tuple(above for layer in flow[rank + 1 :] for above in layer)
        for rank, layer in enumerate(flow)
        for module in layer
    }


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _module_names(root: Path, package: str) -> dict[str, Path]:
    """Dotted name -> file of every module under `root`, the folder of `package`."""
    names = {}
    for path in sorted(root.rglob("*.py")):
        parts = [package, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def _imported(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    """The dotted names `node` imports: the module `from a import b` names when b is one, else a."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:  # relative: counted from the importing module's package
        anchor = module.split(".")
        anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
        base = ".".join([*anchor, base] if base else anchor)
    return [base, *(f"{base}.{alias.name}" for alias in node.names)]


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    """Module -> the modules of `package` it imports, read from the source under `root`."""
    modules = _module_names(root, package)
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        is_package = path.name == "__init__.py"
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            names = _imported(node, module, is_package)
            if isinstance(node, ast.ImportFrom):  # `from a import b`: module a.b if it is one
                named = [n for n in names[1:] if n in modules]
                names = named if len(named) == len(names) - 1 else [names[0], *named]
            targets |= {n for n in names if _within(n, package)}
        graph[module] = targets - {module}
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every set of modules that import each other in a ring (strongly connected, Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for target in sorted(graph.get(module, ())):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            ring = []
            while not ring or ring[-1] != module:
                ring.append(stack.pop())
            if len(ring) > 1:
                cycles.append(sorted(ring))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return cycles


def forbidden_imports(
    graph: dict[str, set[str]], rules: dict[str, tuple[str, ...]] = FORBIDDEN
) -> list[str]:
    """`importer -> imported` for every import a rule forbids; of the rules whose importer holds
    a module, the one naming it most closely applies."""
    found = []
    for module, targets in sorted(graph.items()):
        importers = [importer for importer in rules if _within(module, importer)]
        if not importers:
            continue
        banned = rules[max(importers, key=len)]
        found += [f"{module} -> {t}" for t in sorted(targets) if any(_within(t, b) for b in banned)]
    return found


def _univa_graph() -> dict[str, set[str]]:
    return import_graph(Path(univa.__file__).parent, "univa")


def test_no_univa_module_closes_an_import_cycle() -> None:
    assert import_cycles(_univa_graph()) == []


def test_the_network_never_imports_data_and_the_leaves_import_nothing_of_univa() -> None:
    graph = _univa_graph()
    assert {"univa.model.univa", "univa.constants", "univa.errors"} <= set(graph)
    assert forbidden_imports(graph) == []


def test_the_rules_catch_an_import_up_the_data_families() -> None:
    """Imports the layout forbids, added to the real graph, are each found."""
    graph = _univa_graph()
    added = [
        ("univa.data.va", "univa.data.released.features"),  # the core reaching a family
        ("univa.data.datamodule", "univa.data.generic.format"),
        ("univa.data.generic.datamodule", "univa.data.synthetic.generator"),
        ("univa.data.released.text", "univa.data.csd.sequences"),
        ("univa.data.synthetic.datamodule", "univa.data.convert"),
    ]
    for importer, imported in added:
        graph[importer] = graph[importer] | {imported}
    graph["univa.data.released.cache"] |= {"univa.data.generic.format"}  # across the layouts
    assert forbidden_imports(graph, flow_rules(FLOW)) == [f"{a} -> {b}" for a, b in sorted(added)]
    assert forbidden_imports(graph) == ["univa.data.released.cache -> univa.data.generic.format"]


def test_no_module_imports_from_a_layer_above_its_own() -> None:
    graph = _univa_graph()
    layered = {name for layer in FLOW for name in layer}
    unplaced = sorted(
        module
        for module in graph
        if module != "univa" and not any(_within(module, name) for name in layered)
    )
    assert unplaced == []  # a new module gets its place in FLOW
    assert forbidden_imports(graph, flow_rules(FLOW)) == []


def _package(root: Path, files: dict[str, str]) -> Path:
    """A made-up package `pkg` under `root`: relative path -> source."""
    for name, source in {"__init__.py": "", **files}.items():
        path = root / "pkg" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    return root / "pkg"


def test_the_checker_finds_cycles_through_every_import_form(tmp_path: Path) -> None:
    root = _package(
        tmp_path,
        {
            "a.py": "from pkg import b\n",
            "b.py": "def late():\n    import pkg.sub.c\n",
            "sub/__init__.py": "",
            "sub/c.py": "from .. import a\n",  # closes a -> b -> sub.c -> a
            "d.py": "from pkg.a import thing\nimport os\n",  # into the ring, not part of it
        },
    )
    graph = import_graph(root, "pkg")
    assert graph["pkg.d"] == {"pkg.a"}
    assert import_cycles(graph) == [["pkg.a", "pkg.b", "pkg.sub.c"]]


def test_the_checker_finds_a_forbidden_import(tmp_path: Path) -> None:
    root = _package(
        tmp_path,
        {
            "data/__init__.py": "",
            "data/released.py": "GLOVE = 'glove'\n",
            "model/__init__.py": "",
            "model/config.py": "from pkg.data.released import GLOVE\n",
            "constants.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import pkg.errors\n",
            "errors.py": "",
        },
    )
    rules = {"pkg.model": ("pkg.data",), "pkg.constants": ("pkg",), "pkg.errors": ("pkg",)}
    found = forbidden_imports(import_graph(root, "pkg"), rules)
    assert found == ["pkg.constants -> pkg.errors", "pkg.model.config -> pkg.data.released"]


def test_the_checker_finds_an_import_up_the_flow(tmp_path: Path) -> None:
    root = _package(
        tmp_path,
        {
            "data.py": "from pkg.report import RESULTS\n",  # reaches up
            "report.py": "from pkg.data import rows\nRESULTS = 1\n",
        },
    )
    rules = flow_rules((("pkg.data",), ("pkg.report",)))
    assert forbidden_imports(import_graph(root, "pkg"), rules) == ["pkg.data -> pkg.report"]


def test_a_module_placed_apart_from_its_package_keeps_its_own_layer(tmp_path: Path) -> None:
    """A command inside the data package may import the command line; the rest of the package
    may neither import the command line nor the command."""
    root = _package(
        tmp_path,
        {
            "data/__init__.py": "",
            "data/rows.py": "from pkg.data import command\n",  # reaches up to the command
            "data/command.py": "from pkg.cli import main\nfrom pkg.data import rows\n",
            "data/reader.py": "from pkg.cli import main\n",  # reaches up to the command line
            "cli.py": "from pkg.data import rows\n",
        },
    )
    rules = flow_rules((("pkg.data",), ("pkg.cli",), ("pkg.data.command",)))
    assert forbidden_imports(import_graph(root, "pkg"), rules) == [
        "pkg.data.reader -> pkg.cli",
        "pkg.data.rows -> pkg.data.command",
    ]
