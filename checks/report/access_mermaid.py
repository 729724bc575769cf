"""`eks-checks access --format mermaid`: the listed paths as a Mermaid flowchart (GitHub
renders it in Markdown), entry points on the left, powers on the right, each cluster's
Kubernetes side in a subgraph of its own; a hop not known is dotted."""

from __future__ import annotations

import re

from checks.access import subgraph

# characters a label keeps as they are; any other is written as Mermaid's entity code
_SAFE = re.compile(r"[A-Za-z0-9 ,.:/=@+*?_-]")
_SHAPES = {
    "principal": ('(["', '"])'),
    "workload": ('(["', '"])'),
    "nodes": ('(["', '"])'),
    "mapping": ('[/"', '"/]'),
    "binding": ('[["', '"]]'),
    "power": ('{{"', '"}}'),
}


def label(text: str) -> str:
    """Text as Mermaid shows it, whatever it holds: what is not plainly safe in a quoted
    label (quotes, brackets, pipes, `<`, backticks, line breaks, any non-ASCII) becomes an
    entity code `#NNN;`."""
    return "".join(char if _SAFE.fullmatch(char) else f"#{ord(char)};" for char in text)


def flowchart(graph, found) -> list[str]:
    """The flowchart's lines."""
    nodes, edges = subgraph(graph, found)
    names = {node.id: f"n{index}" for index, node in enumerate(nodes, 1)}
    lines = ["flowchart LR"]
    clusters: dict[str, list] = {}
    for node in nodes:
        if node.cluster is not None and not node.entry and node.kind != "iam_role":
            clusters.setdefault(node.cluster, []).append(node)
        else:
            lines.append("  " + _node(node, names))
    for index, (cluster, members) in enumerate(clusters.items(), 1):
        title = {"?": "cluster not known", "": "the cluster"}.get(cluster, f"cluster {cluster}")
        lines.append(f'  subgraph c{index} ["{label(title)}"]')
        lines += ["    " + _node(node, names) for node in members]
        lines.append("  end")
    for edge in edges:
        arrow = "-->" if edge.known is True else "-.->"
        text = label(f"{edge.hop} {edge.location.file}:{edge.location.start_line}")
        lines.append(f'  {names[edge.source]} {arrow}|"{text}"| {names[edge.target]}')
    admin = [names[n.id] for n in nodes if n.power in ("cluster-admin", "aws:admin")]
    if admin:
        lines.append("  classDef admin fill:#f4cccc,stroke:#990000")
        lines.append(f"  class {','.join(admin)} admin")
    return lines


def _node(node, names: dict[str, str]) -> str:
    opening, closing = _SHAPES.get(node.kind, ('["', '"]'))
    return f"{names[node.id]}{opening}{label(node.label)}{closing}"


def render(graph, found, result, options: dict) -> str:
    return "\n".join(flowchart(graph, found)) + "\n"
