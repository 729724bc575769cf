"""STYLE.md's one direction: the pipeline reads discover -> parse -> normalize -> link ->
evaluate -> filter -> report, the sources (one module per input format, parse and normalize)
and the runner (units, cache, workers) between normalize and link, and the access graph
(whose results are fields rules test) between link and evaluate; a module imports only from
its own stage, earlier ones and the model (imports inside functions count), and no modules
import each other in a cycle."""

from __future__ import annotations

import ast

from conftest import ROOT

CHECKS = ROOT / "checks"
STAGES = (
    "model",
    "discover",
    "parse",
    "normalize",
    "sources",
    "runner",
    "link",
    "graph",
    "evaluate",
    "filter",
    "report",
    "run",
)
# the first part of a module's name under `checks.` -> its stage; `run` (the command line,
# the scan that drives the stages, configuration, generators, Rego) may import any stage
STAGE_OF = {
    "": "model",  # the package itself: its version
    "model": "model",
    "kinds": "model",
    "tfcatalog": "model",
    "codec": "model",
    "cache": "model",
    "pool": "model",
    "recommendations": "model",
    "safetext": "model",
    "discover": "discover",
    "parse": "parse",
    "prefilter": "parse",
    "normalize": "normalize",
    "sources": "sources",
    "runner": "runner",
    "link": "link",
    "graph": "graph",
    "access": "graph",
    "rules": "evaluate",
    "evaluate": "evaluate",
    "filter": "filter",
    "report": "report",
    "ruledoc": "report",
}


def _modules() -> dict[str, ast.Module]:
    found = {}
    for path in CHECKS.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = ast.parse(path.read_text(encoding="utf-8"))
    return found


def _stage(module: str) -> str:
    first = module.split(".")[1] if "." in module else ""
    return STAGE_OF.get(first, "run")


def _imports(modules: dict[str, ast.Module]) -> dict[str, set[str]]:
    """Each module's imports of other modules of `checks` (a name imported from a package is
    the module of that name when there is one)."""
    edges: dict[str, set[str]] = {m: set() for m in modules}
    for name, tree in modules.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                targets = [f"{node.module}.{a.name}" for a in node.names]
            else:
                continue
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target.startswith("checks") and target != name and target != "checks":
                    edges[name].add(target)
    return edges


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, without recursion)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: list[str] = []
    found = []
    for start in edges:
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = len(index)
        on_stack.append(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    on_stack.append(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = on_stack.pop()
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_module_imports_from_a_later_stage():
    edges = _imports(_modules())
    later = [
        f"{a} ({_stage(a)}) imports {b} ({_stage(b)})"
        for a, targets in sorted(edges.items())
        for b in sorted(targets)
        if STAGES.index(_stage(b)) > STAGES.index(_stage(a))
    ]
    assert later == []


def test_only_the_runner_and_the_pipeline_read_the_sources():
    """Which format a file is, is the registry's: no stage after the runner asks it, but the
    scan (and the command line, which asks which module a file PATH belongs to)."""
    edges = _imports(_modules())
    readers = {
        module
        for module, targets in edges.items()
        if _stage(module) != "sources" and any(_stage(t) == "sources" for t in targets)
    }
    assert readers - {"checks.cli"} == {"checks.runner", "checks.scan"}


def test_no_import_cycles():
    assert _cycles(_imports(_modules())) == []


def test_the_checker_sees_a_back_edge_and_a_cycle():
    edges = {"checks.parse.a": {"checks.normalize.b"}, "checks.normalize.b": {"checks.parse.a"}}
    assert _cycles(edges) == [["checks.normalize.b", "checks.parse.a"]]
    assert _stage("checks.prefilter") == "parse" and _stage("checks.normalize.tf_eval") == (
        "normalize"
    )
