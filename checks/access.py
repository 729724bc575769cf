"""What `eks-checks access` lists: every path of the access graph (checks/graph.py) from an
entry point to a power, grouped by power, the most dangerous first, with the filters
`--from` (entry points) and `--to` (powers), and a cap per group.

Order of the groups: cluster-admin; the capabilities that take the cluster in one more step
(`edit_aws_auth`, `escalate_bind`, `impersonate`), then the other RBAC capabilities;
`admin`, `edit` and `view` and the other access policies by scope; AWS `admin` and
`iam_write` (for pods and nodes: who may assume a role is IAM's question). In a group, paths
through known hops come first, from trusts that are not pinned first, then the shortest;
from one entry point to one power only the shortest path is listed, with the count of the
other last hops that reach the power from the same entry ("parallel paths").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from checks.graph import (
    AWS_ADMIN,
    AWS_IAM_WRITE,
    CLUSTER_ADMIN,
    UNKNOWN_CLUSTER,
    AccessGraph,
    Edge,
    GraphTooLarge,
    Node,
    Path,
    path_to,
    search,
)
from checks.kinds import CAPABILITIES
from checks.link import admits_subject, role_name_from_arn
from checks.model import Unknown, wildcard_match

# the groups' order: (rank of the power, then its name)
_ESCALATION = ("edit_aws_auth", "escalate_bind", "impersonate")
_OTHER_CAPABILITIES = tuple(c for c in CAPABILITIES if c not in ("cluster_admin", *_ESCALATION))
_USER_FACING = ("admin", "edit", "view")
# what `--to` accepts besides a power's own name
TO_ALIASES = {
    "escalation": _ESCALATION,
    "aws": (AWS_ADMIN, AWS_IAM_WRITE),
    "aws-admin": (AWS_ADMIN,),
    "admin-aws": (AWS_ADMIN,),
    "iam_write": (AWS_IAM_WRITE,),
    "iam-write": (AWS_IAM_WRITE,),
}
DEFAULT_LIMIT = 10
# the entry points whose AWS powers are listed: pods, and the nodes whose pods reach IMDS
POD_ENTRIES = ("workload", "nodes")


def power_rank(node: Node) -> tuple:
    """Where a power's group comes in the listing."""
    power = node.power or ""
    if power == CLUSTER_ADMIN:
        rank = 0
    elif power in _ESCALATION:
        rank = 1 + _ESCALATION.index(power)
    elif power in _OTHER_CAPABILITIES:
        rank = 10 + _OTHER_CAPABILITIES.index(power)
    elif power in _USER_FACING:
        rank = 30 + _USER_FACING.index(power)
    elif power in (AWS_ADMIN, AWS_IAM_WRITE):
        rank = 50 + (power == AWS_IAM_WRITE)
    else:
        rank = 40  # another access policy
    cluster = node.cluster or ""
    return (rank, cluster == UNKNOWN_CLUSTER, cluster, node.scope or "", power)


@dataclass
class Group:
    """The paths to one power (in one cluster, in one scope)."""

    power: Node
    paths: list[Path] = field(default_factory=list)
    more: int = 0  # paths past the cap


@dataclass
class Listing:
    """What `access` shows: the groups, and what the summary counts."""

    groups: list[Group]
    entries: int  # entry points with a path listed
    paths: int  # paths found (before the cap)
    unknown: int  # paths through a hop not known (listed only with show_unknown)
    hidden_unknown: int = 0
    not_walked: int = 0  # entry points left when the graph was too large to walk them all


def listing(
    graph: AccessGraph,
    sources: list[str] = (),
    targets: list[str] = (),
    limit: int = DEFAULT_LIMIT,
    show_unknown: bool = False,
    touching: set[str] | None = None,
) -> Listing:
    """The paths `eks-checks access` shows: from the entry points `sources` name (all when
    none), to the powers `targets` name (all when none), at most `limit` per power (0: no
    cap); paths through unknown hops only with `show_unknown`; with `touching`, only paths
    with a hop (or an entry point) written in one of those files."""
    starts = select_sources(graph, sources) if sources else graph.entries()
    wanted = set(select_powers(graph, targets)) if targets else None
    by_power: dict[str, list[Path]] = {}
    unknown = hidden = 0
    graph.work = 0  # the listing's own budget (checks.graph.MAX_GRAPH_WORK)
    walked = 0
    for start in starts:
        try:
            found = _paths_from(graph, start)
        except GraphTooLarge:
            break
        walked += 1
        for path in found:
            if wanted is not None and path.power.id not in wanted:
                continue
            if path.power.id in (AWS_ADMIN, AWS_IAM_WRITE) and start.kind not in POD_ENTRIES:
                continue  # what pods reach in AWS; who may assume a role is IAM's question
            if touching is not None and not _touches(path, touching):
                continue
            if path.known is not True:
                unknown += 1
                if not show_unknown:
                    hidden += 1
                    continue
            by_power.setdefault(path.power.id, []).append(path)
    groups = []
    for power_id, paths in by_power.items():
        paths.sort(key=_order)
        shown = paths if limit <= 0 else paths[:limit]
        groups.append(Group(graph.nodes[power_id], shown, len(paths) - len(shown)))
    groups.sort(key=lambda g: power_rank(g.power))
    total = sum(len(g.paths) + g.more for g in groups)
    entries = len({p.entry.id for g in groups for p in g.paths})
    return Listing(groups, entries, total, unknown, hidden, len(starts) - walked)


def _order(path: Path) -> tuple:
    """Known paths first; of those, from entry points whose trust is not pinned; then the
    shortest."""
    entity = path.entry.entity
    unpinned = entity is not None and entity.fields.get("pinned") is False
    return (path.known is not True, not unpinned, len(path.edges), path.entry.label)


def _paths_from(graph: AccessGraph, start: Node) -> list[Path]:
    """The shortest path from `start` to each power it reaches: through known hops, else
    (marked with the first unknown) through hops not known."""
    parent, _ = search(graph, start.id)
    found = []
    for node_id in parent:
        node = graph.nodes[node_id]
        if node.power is None:
            continue
        edges = path_to(parent, node_id)
        others = sum(1 for e in graph.into.get(node_id, ()) if e.source in parent) - 1
        found.append(Path(start, node, edges, True, max(others, 0)))
    loose_parent, status = search(graph, start.id, known_only=False)
    for node_id in loose_parent:
        node = graph.nodes[node_id]
        if node.power is None or node_id in parent:
            continue
        edges = path_to(loose_parent, node_id)
        found.append(Path(start, node, edges, status[node_id]))
    return found


def _touches(path: Path, files: set[str]) -> bool:
    entity = path.entry.entity
    if entity is not None and entity.location.file in files:
        return True
    return any(e.location.file in files for e in path.edges)


# ---- --from and --to -------------------------------------------------------------------------
def select_sources(graph: AccessGraph, patterns: list[str]) -> list[Node]:
    """The nodes `--from` names: entry points and IAM roles whose ARN, name, repository,
    subjects or `namespace/name` match one of the patterns (IAM wildcards `*` and `?`)."""
    return [
        node
        for node in graph.nodes.values()
        if (node.entry or node.kind == "iam_role")
        and any(_source_matches(node, pattern) for pattern in patterns)
    ]


def _source_matches(node: Node, pattern: str) -> bool:
    wanted = pattern.strip().lower()
    if not wanted:
        return False
    names = [n.lower() for n in source_names(node)]
    if any(wildcard_match(wanted, name) for name in names):
        return True
    role = role_name_from_arn(pattern.strip())
    if node.kind == "iam_role" and role is not None and node.entity is not None:
        # a role of the scan by its ARN, whatever the account or path: IAM matches by name
        return wildcard_match(role, str(node.entity.fields.get("role_name")))
    entity = node.entity
    if entity is None:
        return False
    if entity.kind == "trust_statement" and node.kind == "principal":
        return _trust_admits(entity, pattern.strip())
    return False


def source_names(node: Node) -> list[str]:
    """What `--from` compares with: a node's ARNs, names, subjects and label."""
    names = [node.label]
    entity = node.entity
    if node.id.startswith(("arn:", "account:")):
        names.append(node.id.split(":", 1)[1])
    if entity is None:
        return names
    fields = entity.fields
    if entity.kind == "trust_statement" and node.kind == "iam_role":
        for value in (fields.get("role_arn"), fields.get("role_name")):
            if isinstance(value, str):
                names.append(value)
        return names
    if entity.kind == "trust_statement":
        for name in ("principals_aws", "principals_federated", "principals_service"):
            names += [v for v in fields.get(name) or [] if isinstance(v, str)]
        names += [v for v in fields.get("sub_values") or [] if isinstance(v, str)]
    elif entity.kind == "workload":
        ns = _plain(fields.get("namespace"))
        names += [f"{ns}/{_plain(fields.get('name'))}"]
        names += [f"{ns}/{_plain(fields.get('service_account_name'))}"]
    elif entity.kind == "instance_metadata":
        names += [_plain(fields.get("name")), _plain(fields.get("address"))]
    return names


def _plain(value: Any) -> str:
    return value.text if isinstance(value, Unknown) else str(value)


def _trust_admits(statement, pattern: str) -> bool:
    """A trust statement whose `:sub` condition admits a GitHub repository (`owner/repo`,
    `repo:owner/repo`) or a ServiceAccount (`namespace/name`)."""
    fields = statement.fields
    if pattern.count("/") != 1 or ":" in pattern.removeprefix("repo:"):
        return False
    repository = pattern.removeprefix("repo:").lower()
    for value in fields.get("sub_values") or []:
        if isinstance(value, str) and value.startswith("repo:"):
            written = value.split(":", 2)[1].lower()
            if wildcard_match(written, repository) or wildcard_match(repository, written):
                return True
    kinds = fields.get("federated_kinds") or []
    if isinstance(kinds, list) and "eks_oidc" in kinds and "*" not in pattern:
        namespace, _, account = pattern.partition("/")
        return admits_subject(statement, f"system:serviceaccount:{namespace}:{account}") is True
    return False


def select_powers(graph: AccessGraph, patterns: list[str]) -> list[str]:
    """The power nodes `--to` names: by power (`cluster-admin`, a capability, `admin`,
    `edit`, `view`, an access policy, `aws:admin`, `aws:iam_write`), by alias (`escalation`,
    `aws`, `iam_write`), or by their words (`edit in namespace shop`), IAM wildcards allowed."""
    wanted: set[str] = set()
    for pattern in patterns:
        text = pattern.strip().lower()
        names = {n.lower() for n in TO_ALIASES.get(text, ())}
        for node in graph.powers():
            power = (node.power or "").lower()
            if power in names or wildcard_match(text, power):
                wanted.add(node.id)
            elif wildcard_match(text, node.label.lower()):
                wanted.add(node.id)
    return sorted(wanted)


def subgraph(graph: AccessGraph, found: Listing) -> tuple[list[Node], list[Edge]]:
    """The nodes and hops of the listed paths, each once, in the order they first appear:
    what the diagrams draw."""
    nodes: dict[str, Node] = {}
    edges: dict[tuple, Edge] = {}
    for group in found.groups:
        for path in group.paths:
            nodes.setdefault(path.entry.id, path.entry)
            for edge in path.edges:
                edges.setdefault((edge.source, edge.target, edge.identity), edge)
                nodes.setdefault(edge.source, graph.nodes[edge.source])
                nodes.setdefault(edge.target, graph.nodes[edge.target])
    return list(nodes.values()), list(edges.values())
