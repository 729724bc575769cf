"""`eks-checks access --format json`: the paths, versioned (`"version": 1`) and described by
`checks/schemas/access.schema.json`, independent of internal types."""

from __future__ import annotations

from typing import Any

from checks import __version__
from checks.model import Unknown
from checks.report import json_text


def _reason(value: Any) -> str | None:
    return value.reason if isinstance(value, Unknown) else None


def node_json(node) -> dict:
    """An entry point; a trust statement's with whether it is pinned."""
    out: dict = {"id": node.id, "kind": node.kind, "label": node.label, "cluster": node.cluster}
    entity = node.entity
    out["entity_key"] = entity.key if entity is not None else None
    if entity is not None and entity.kind == "trust_statement" and node.entry:
        pinned = entity.fields.get("pinned")
        out["pinned"] = pinned if isinstance(pinned, bool) else None
        out["unpinned_by"] = list(entity.fields.get("unpinned_by") or [])
    return out


def hop_json(graph, edge) -> dict:
    """A hop: what it is, from where to where, in words, where it is written, known or not."""
    return {
        "hop": edge.hop,
        "source": graph.nodes[edge.source].label,
        "target": graph.nodes[edge.target].label,
        "message": edge.message,
        "location": edge.location.to_json(),
        "entity_key": edge.entity_key,
        "known": edge.known is True,
        "unknown_reason": _reason(edge.known),
    }


def document(graph, found, result, options: dict) -> dict:
    """The report as checks/schemas/access.schema.json describes it."""
    groups = []
    for group in found.groups:
        power = group.power
        groups.append(
            {
                "power": {
                    "id": power.id,
                    "name": power.power,
                    "label": power.label,
                    "cluster": power.cluster,
                    "scope": power.scope,
                },
                "paths": [
                    {
                        "entry": node_json(path.entry),
                        "known": path.known is True,
                        "unknown_reason": _reason(path.known),
                        "parallel_paths": path.others,
                        "path": [hop_json(graph, e) for e in path.edges],
                    }
                    for path in group.paths
                ],
                "more": group.more,
            }
        )
    return {
        "version": 1,
        "kind": "eks-checks-access",
        "tool": {"name": "eks-checks", "version": __version__},
        "clusters": [c for c in graph.clusters if c],
        "filters": {
            "from": list(options.get("sources") or []),
            "to": list(options.get("targets") or []),
            "limit": options.get("limit", 0),
            "show_unknown": bool(options.get("show_unknown")),
        },
        "groups": groups,
        "problems": [p.to_json() for p in result.problems],
        "summary": {
            "files": len(result.files),
            "entry_points": found.entries,
            "powers": len(found.groups),
            "paths": found.paths,
            "shown": sum(len(g.paths) for g in found.groups),
            "unknown": found.unknown,
            "not_walked": found.not_walked,
            "errors": sum(1 for p in result.problems if p.level == "error"),
        },
    }


def render(graph, found, result, options: dict) -> str:
    return json_text(document(graph, found, result, options))
