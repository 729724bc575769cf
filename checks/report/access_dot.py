"""`eks-checks access --format dot`: the listed paths as a Graphviz digraph, entry points on
the left, powers on the right, each cluster's Kubernetes side in a box of its own; a hop
not known is dashed."""

from __future__ import annotations

from checks.access import subgraph
from checks.safetext import safe_text

_SHAPES = {
    "principal": "ellipse",
    "workload": "ellipse",
    "nodes": "ellipse",
    "iam_role": "box",
    "mapping": "note",
    "binding": "component",
    "rbac_role": "box",
    "power": "doubleoctagon",
}


def quote(*lines: str) -> str:
    """A DOT string of one or more lines: any text, quoted, its quotes and backslashes
    escaped (so that no `\\N`, `\\l` or `\\G` escape of Graphviz applies), line breaks and
    other controls inside a line as escapes shown literally."""
    return '"' + "\\n".join(_escape(line) for line in lines) + '"'


def _escape(text: str) -> str:
    # controls and bidirectional controls as visible escapes (as text output shows them),
    # then every backslash and quote escaped for DOT
    return safe_text(text).replace("\\", "\\\\").replace('"', '\\"')


def render(graph, found, result, options: dict) -> str:
    nodes, edges = subgraph(graph, found)
    names = {node.id: f"n{index}" for index, node in enumerate(nodes, 1)}
    lines = [
        "digraph access {",
        "  rankdir=LR;",
        '  node [fontname="Helvetica", fontsize=10];',
        '  edge [fontname="Helvetica", fontsize=9];',
    ]
    clusters: dict[str, list] = {}
    for node in nodes:
        if node.cluster is not None and not node.entry and node.kind != "iam_role":
            clusters.setdefault(node.cluster, []).append(node)
        else:
            lines.append(_node(node, names))
    for index, (cluster, members) in enumerate(clusters.items(), 1):
        title = {"?": "cluster not known", "": "the cluster"}.get(cluster, f"cluster {cluster}")
        lines.append(f"  subgraph cluster_{index} {{")
        lines.append(f"    label={quote(title)};")
        lines += ["  " + _node(node, names) for node in members]
        lines.append("  }")
    for edge in edges:
        where = f"{edge.location.file}:{edge.location.start_line}"
        attrs = [f"label={quote(edge.hop, where)}", f"tooltip={quote(edge.message)}"]
        if edge.known is not True:
            attrs.append("style=dashed")
        lines.append(f"  {names[edge.source]} -> {names[edge.target]} [{', '.join(attrs)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _node(node, names: dict[str, str]) -> str:
    attrs = [f"label={quote(node.label)}", f"shape={_SHAPES.get(node.kind, 'box')}"]
    if node.entry:
        attrs.append("style=bold")
    if node.power == "cluster-admin" or node.power == "aws:admin":
        attrs += ["style=filled", 'fillcolor="#f4cccc"']
    return f"  {names[node.id]} [{', '.join(attrs)}];"
