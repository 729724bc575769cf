"""Graph: who can reach each cluster and with what power, and what its pods can reach in AWS
(RULES.md, 8xx), computed once from the linked model.

Nodes are entry points (the principals of trust statements, IAM roles and users mapped
without a trust in the scan, whole accounts, pods, the nodes whose pods reach the instance
metadata service, a cluster's creator), IAM roles, aws-auth entries and access entries,
Kubernetes users, groups and ServiceAccounts, bindings, the roles they refer to, and powers:
`cluster-admin`, the RBAC capabilities, `admin`/`edit`/`view` and other access policies in
their scope, and AWS `admin`/`iam_write`. Every edge is one hop with the file and lines that
make it; a hop the scan cannot decide (a role ARN that is a module output, a manifest whose
cluster is not known, a role whose AWS power is not known) is an edge whose `known` is the
`Unknown` saying why: kept, never dropped, never guessed.

Clusters: a path never leaves the cluster it enters. Access entries, access policy and pod
identity associations belong to the cluster they name (`cluster_name`; when that is not
known, as a Kubernetes object beside them would). Kubernetes objects (manifests, bindings,
ServiceAccounts, pods) and aws-auth entries belong to the scan's only cluster; when the scan
holds several, to the one whose definition is nearest, when exactly one is: of the
definitions in their own configuration (`link.configuration_of`: the Terraform root
configuration that made them, else their file's folder) when it holds any, else of all, the
nearest in the tree (the same file, else the deepest shared folder), where what a module
instance makes is placed in the configuration that calls the module, a folder per call, not
in the module's folder (`place_of`); else their cluster is not known (`?`) and every hop into
or out of them is unknown. A cluster is its name within one configuration (as link judges
clusters; one whose name is not known is named by its address and file): one name defined
in several configurations (environments, callers of one module) is several clusters, each
called by its name and the file that defines it (`shop (envs/prod/eks.tf)`), and the
configuration that makes it when that file defines the name for several
(`shop (modules/eks/main.tf via envs/prod)`), and what names it belongs to the nearest
definition, as above.

The fields rules test (EKS801 on trust statements, EKS802 on pods and nodes) are set here on
the entities; `pinned` and `pods_reach_imds` are the verdicts of the rules named in
`checks.kinds.PIN_RULES` and `IMDS_RULES`, which the caller evaluates and passes in.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from checks.kinds import CAPABILITIES, MAX_PATH_HOPS
from checks.link import (
    Copies,
    Places,
    configuration_of,
    folder_of,
    node_role_statements,
    role_name_from_arn,
)
from checks.model import Entity, LList, Location, Unknown
from checks.normalize.iam_roles import AWS_MANAGED_POWER

UNKNOWN_CLUSTER = "?"
CLUSTER_ADMIN = "cluster-admin"
AWS_ADMIN = "aws:admin"
AWS_IAM_WRITE = "aws:iam_write"
# what EKS801 looks for: cluster-admin, or a capability that leads to it
ESCALATIONS = ("edit_aws_auth", "escalate_bind", "impersonate")
CLUSTER_ADMIN_POWERS = frozenset({CLUSTER_ADMIN, *ESCALATIONS})
AWS_ADMIN_POWERS = frozenset({AWS_ADMIN, AWS_IAM_WRITE})
# access policies that are Kubernetes' user-facing roles, in their scope
ACCESS_POLICY_ROLES = {
    "AmazonEKSAdminPolicy": "admin",
    "AmazonEKSEditPolicy": "edit",
    "AmazonEKSViewPolicy": "view",
}
CLUSTER_ADMIN_POLICY = "AmazonEKSClusterAdminPolicy"
MASTERS = "system:masters"
AUTHENTICATED = "system:authenticated"
# the built-in ClusterRoles whose name is a power of its own (admin/edit/view in a scope)
USER_FACING = ("admin", "edit", "view")
# work allowed to all the searches of one graph together (hops looked at): a scan of many
# entry points that all reach a large part of the graph is walked within bounded time, and
# what is left is unknown, never guessed
MAX_GRAPH_WORK = 2_000_000
TOO_LARGE = "the access graph is too large to walk within the limits"


@dataclass(slots=True)
class Node:
    """A place in the graph: an entry point, an identity, an object, or a power."""

    id: str
    kind: str
    label: str
    cluster: str | None = None
    entry: bool = False
    entity: Entity | None = None
    power: str | None = None  # for a power: its name (`cluster-admin`, `edit`, `aws:admin`)
    scope: str | None = None  # for a Kubernetes power: `cluster` or the namespaces


@dataclass(slots=True)
class Edge:
    """One hop: `known` is True, or the `Unknown` that says why it may not hold; a `token`
    hop is followed from a pod only when its ServiceAccount token is mounted."""

    source: str
    target: str
    hop: str
    message: str
    location: Location
    entity_key: str
    known: Any = True
    token: bool = False

    @property
    def identity(self) -> tuple[str, str, str]:
        """What the hop is, whatever its lines: its kind, its entity and the entity's file."""
        return (self.hop, self.entity_key, self.location.file)


@dataclass(slots=True)
class Path:
    """The shortest path from an entry point to a power; `known` is True, or the Unknown of
    its first hop that is not known."""

    entry: Node
    power: Node
    edges: list[Edge]
    known: Any = True
    others: int = 0  # more paths from the same entry to the same power, not shown


@dataclass
class AccessGraph:
    """The nodes by id, the hops out of and into each (a node with none has no list), and what
    searches need to know."""

    nodes: dict[str, Node] = field(default_factory=dict)
    out: dict[str, list[Edge]] = field(default_factory=dict)
    into: dict[str, list[Edge]] = field(default_factory=dict)
    # entry node id -> whether its pod's token is mounted (True, False, Unknown; None: no pod)
    token: dict[str, Any] = field(default_factory=dict)
    clusters: list[str] = field(default_factory=list)
    work: int = 0  # hops looked at by searches so far (MAX_GRAPH_WORK)
    _edges: set[tuple] = field(default_factory=set, repr=False)

    def node(self, node: Node) -> Node:
        """The node of that id, added when new."""
        found = self.nodes.get(node.id)
        if found is None:
            self.nodes[node.id] = found = node
        return found

    def edge(self, edge: Edge) -> None:
        """Add a hop, once: the same hop between the same nodes is one edge."""
        seen = (edge.source, edge.target, edge.hop, edge.entity_key, edge.location.file)
        if seen in self._edges:
            return
        self._edges.add(seen)
        self.out.setdefault(edge.source, []).append(edge)
        self.into.setdefault(edge.target, []).append(edge)

    def entries(self) -> list[Node]:
        """The entry points, in the order they were added."""
        return [n for n in self.nodes.values() if n.entry]

    def powers(self) -> list[Node]:
        """The powers: cluster-admin, capabilities, access policies, AWS powers."""
        return [n for n in self.nodes.values() if n.power is not None]


# verdicts of the rules the graph reads, by entity key: (ids of the rules that flag it, ids of
# those undecided on it)
Verdicts = dict[str, tuple[list[str], list[str]]]


class ClusterFacts(NamedTuple):
    """What the whole scan says of its clusters, which every object's cluster depends on: the
    cluster definitions and the literal cluster names of access entries, mappings and
    associations (of each of those kinds in turn), in scan order."""

    definitions: list[Entity]
    named: list[str]


# the kinds whose literal `cluster_name` names a cluster of the scan, in the order counted
NAMING_KINDS = ("identity_mapping", "access_policy_association", "pod_identity_association")


def cluster_facts(by_kind: dict[str, list[Entity]]) -> ClusterFacts:
    """The cluster facts of these entities (grouped by kind, in scan order)."""
    named = [
        name
        for kind in NAMING_KINDS
        for e in by_kind.get(kind, [])
        if isinstance(name := e.fields.get("cluster_name"), str)
    ]
    return ClusterFacts(list(by_kind.get("cluster", [])), named)


def build(
    entities: list[Entity], verdicts: Verdicts | None = None, clusters: ClusterFacts | None = None
) -> AccessGraph:
    """The access graph of linked entities, and the graph's fields on them (RULES.md, 8xx).
    `clusters`: the whole scan's cluster facts, when `entities` are a part of it (the
    pre-commit hook's index); by default those of `entities`."""
    builder = _Builder(entities, verdicts or {}, clusters)
    builder.run()
    graph = builder.graph
    _set_fields(graph, builder)
    return graph


# ---- clusters --------------------------------------------------------------------------------
# what is read of a cluster definition among the whole scan's facts (`Clusters`, `place_of`,
# `link.configuration_of`, `link._aws_auth_ignored`) besides its kind, key, origin and place:
# the pre-commit hook's index keeps only these (`cluster_fact`)
CLUSTER_FACT_FIELDS = (
    "name",
    "address",
    "authentication_mode",
    "auto_mode",
    "module_dir",
    "call_path",
)


def cluster_fact(cluster: Entity) -> Entity:
    """A cluster definition as the whole scan's facts hold it (`CLUSTER_FACT_FIELDS`), apart
    from the entity (which link goes on to change)."""
    from checks.codec import decode, encode

    fields = {name: cluster.fields[name] for name in CLUSTER_FACT_FIELDS if name in cluster.fields}
    kept = Entity(cluster.kind, cluster.key, cluster.origin, cluster.location, fields)
    return decode(encode(kept, Entity), Entity)


# the calls of a module call path, outermost first: `module.platform`, `module.nodes["a"]`
_CALLS = re.compile(r'module\.[\w-]+(?:\[(?:"[^"]*"|[^\]]*)\])?')


def place_of(entity: Entity) -> str:
    """Where an entity counts as written when its cluster is found by place: its file; for
    what a module instance makes of the module's files, that file in a folder per call under
    the configuration that calls the module (`module_dir`), so that a module's cluster is in
    each configuration that makes it, not in the module's folder."""
    file = entity.location.file
    module_dir = entity.fields.get("module_dir")
    path = entity.fields.get("call_path")
    if not (isinstance(module_dir, str) and isinstance(path, str) and path):
        return file
    if folder_of(file) == module_dir:
        return file  # a known module's reader: written in the call, in the configuration
    # a call's key may hold a slash: it stays one folder
    calls = [call.replace("/", "%2F") for call in _CALLS.findall(path) or [path]]
    within = [] if module_dir in (".", "") else [module_dir]
    return "/".join([*within, *calls, file.rsplit("/", 1)[-1]])


class _Nearest:
    """Cluster definitions found from where an entity is written: of those of its own
    configuration (`link.configuration_of`) when it has any, else of all, the nearest by
    place (`place_of`): the same file, else the deepest shared folder."""

    def __init__(self, clusters: list[Entity]) -> None:
        self.everywhere = Places(clusters, place_of)
        by_configuration: dict[str, list[Entity]] = {}
        for cluster in clusters:
            by_configuration.setdefault(configuration_of(cluster), []).append(cluster)
        self.of_configuration = {
            configuration: Places(found, place_of)
            for configuration, found in by_configuration.items()
        }

    def nearest(self, entity: Entity) -> list[Entity]:
        own = self.of_configuration.get(configuration_of(entity))
        return (own or self.everywhere).nearest(entity)


class Clusters:
    """Which cluster each entity belongs to (module docstring). A cluster is its name within
    one configuration (`link.configuration_of`): clusters of one name in several
    configurations (environments, callers of one module) are several clusters, each called
    by its name and the file that defines it, and the configuration that makes it when that
    file defines the name for several."""

    def __init__(self, facts: ClusterFacts) -> None:
        clusters = facts.definitions
        # name -> configuration -> its first definition
        defined: dict[str, dict[str, Entity]] = {}
        # (name, file) -> how many configurations' first definitions of the name are in it
        files: dict[tuple[str, str], int] = {}
        for cluster in clusters:
            name = self.name_of(cluster)
            configurations = defined.setdefault(name, {})
            if configuration_of(cluster) not in configurations:
                configurations[configuration_of(cluster)] = cluster
                where = (name, cluster.location.file)
                files[where] = files.get(where, 0) + 1
        # a cluster entity (`_definition`) -> the cluster it is
        self.identity: dict[tuple, str] = {}
        self.scanned: dict[str, Entity] = {}
        several: dict[str, list[Entity]] = {}  # the definitions of a name several define
        for cluster in clusters:
            name = self.name_of(cluster)
            if len(defined[name]) == 1:
                identity = name
            else:
                first = defined[name][configuration_of(cluster)]
                where = first.location.file
                configuration = configuration_of(first)
                if files[(name, where)] > 1 and configuration != folder_of(where):
                    where = f"{where} via {configuration}"
                identity = _called(self._label(first), where)
                several.setdefault(name, []).append(cluster)
            self.identity[_definition(cluster)] = identity
            self.scanned.setdefault(identity, cluster)
        self.by_name = {name: _Nearest(found) for name, found in several.items()}
        names = list(self.scanned)
        for name in facts.named:
            if name not in defined and name not in names:
                names.append(name)
        self.names = names or [""]
        self.single = self.names[0] if len(self.names) == 1 else None
        # by place, so that finding the nearest of many clusters is not a walk over them all
        self.places = _Nearest(clusters)
        # (configuration, place) -> the cluster the objects written there belong to
        self.of_place: dict[tuple[str, str], str] = {}

    @staticmethod
    def _label(cluster: Entity) -> str:
        """A cluster's name, else its address, else nothing: what names it before where."""
        name = cluster.fields.get("name")
        if isinstance(name, str):
            return name
        address = cluster.fields.get("address")
        return address if isinstance(address, str) else ""

    @staticmethod
    def name_of(cluster: Entity) -> str:
        """A cluster's name; one not known is named by where it is defined."""
        label = Clusters._label(cluster)
        if isinstance(cluster.fields.get("name"), str):
            return label
        return _called(label, cluster.location.file)

    def _one_of(self, found: list[Entity]) -> str:
        """The cluster the nearest definitions define, when they define one."""
        identities = {self.identity[_definition(cluster)] for cluster in found}
        return identities.pop() if len(identities) == 1 else UNKNOWN_CLUSTER

    def of_object(self, entity: Entity) -> str:
        """A Kubernetes object's or aws-auth entry's cluster."""
        if self.single is not None:
            return self.single
        if len(self.scanned) == 1:
            return next(iter(self.scanned))
        # the nearest definitions depend on the configuration and place alone: each is
        # looked up once
        place = (configuration_of(entity), place_of(entity))
        found = self.of_place.get(place)
        if found is None:
            found = self.of_place[place] = self._one_of(self.places.nearest(entity))
        return found

    def of_named(self, entity: Entity) -> str:
        """The cluster an access entry or association names (of several configurations that
        define that name, the nearest); when its name is not known (a module output, the
        module's own cluster), the one a Kubernetes object beside it would belong to."""
        name = entity.fields.get("cluster_name")
        if isinstance(name, str):
            found = self.by_name.get(name)
            return name if found is None else self._one_of(found.nearest(entity))
        return self.of_object(entity)

    def reads(self, cluster: str, source: str) -> Any:
        """Whether `cluster` reads identity mappings of `source` (`aws-auth` or
        `access_entry`): authentication mode `API` ignores aws-auth (so does Auto Mode),
        `CONFIG_MAP` access entries; True for a cluster the scan does not hold."""
        found = self.scanned.get(cluster)
        if found is None:
            return True
        mode = found.fields.get("authentication_mode")
        if isinstance(mode, Unknown):
            return mode
        if source == "access_entry":
            return mode != "CONFIG_MAP"
        auto = found.fields.get("auto_mode")
        if mode == "API" or auto is True:
            return False
        return auto if isinstance(auto, Unknown) else True


def _called(label: str, where: str) -> str:
    """A cluster's name or address (or nothing), and where it is defined."""
    return f"{label} ({where})" if label else f"({where})"


def _definition(cluster: Entity) -> tuple:
    """What tells one cluster definition from another: the same definition as the whole
    scan's facts hold it, when those were decoded apart from the entities being built."""
    loc = cluster.location
    return (cluster.key, loc.file, loc.start_line, loc.end_line, Clusters.name_of(cluster))


def _together(a: str, b: str) -> Any:
    """Whether two cluster-bound things can meet: True in one known cluster, unknown when one
    of them is in a cluster not known, False in two different ones."""
    if a == b and a != UNKNOWN_CLUSTER:
        return True
    if UNKNOWN_CLUSTER in (a, b):
        return Unknown("the scan holds several clusters and this object is not nearer to one")
    return False


def _both(a: Any, b: Any) -> Any:
    """Two conditions of a hop: False if one is, else the first unknown, else True."""
    if a is False or b is False:
        return False
    if isinstance(a, Unknown):
        return a
    return b


def _in(cluster: str) -> str:
    if cluster == UNKNOWN_CLUSTER:
        return " (cluster not known)"
    return f" in cluster {cluster}" if cluster else ""


# ---- building --------------------------------------------------------------------------------
def _span(entity: Entity, *names: str) -> Location:
    """Where a field of `entity` is written (the first of `names` it has lines for)."""
    for name in names:
        if name in entity.field_lines:
            start, end = entity.field_lines[name]
            return Location(entity.location.file, start, max(start, end))
    return entity.location


def _item_span(entity: Entity, name: str, index: int) -> Location:
    value = entity.fields.get(name)
    if isinstance(value, LList) and index < len(value.item_lines):
        start, end = value.item_lines[index]
        return Location(entity.location.file, start, max(start, end))
    return _span(entity, name)


def _text(value: Any) -> str:
    if isinstance(value, Unknown):
        return value.text
    return str(value)


def _eid(entity: Entity) -> str:
    """A node id for an entity (copies of a Kubernetes object share a key, not a place)."""
    return f"{entity.kind}:{entity.key}@{entity.location.file}:{entity.location.start_line}"


class _Builder:
    def __init__(
        self, entities: list[Entity], verdicts: Verdicts, clusters: ClusterFacts | None
    ) -> None:
        self.graph = AccessGraph()
        self.verdicts = verdicts
        self.by_kind: dict[str, list[Entity]] = {}
        for e in entities:
            self.by_kind.setdefault(e.kind, []).append(e)
        self.clusters = Clusters(clusters or cluster_facts(self.by_kind))
        self.graph.clusters = list(self.clusters.names)
        # RBAC rules by key, the first of each key: where a binding's power is written
        self.rule_by_key: dict[str, Entity] = {}
        for rule in self.by_kind.get("rbac_rule", []):
            self.rule_by_key.setdefault(rule.key, rule)
        # roles: trust statements by role_key, and lookups by name and Terraform reference
        self.statements: dict[str, list[Entity]] = {}
        self.role_by_name: dict[str, list[Entity]] = {}
        self.role_by_ref: dict[str, str] = {}
        for s in self.by_kind.get("trust_statement", []):
            key = s.fields.get("role_key")
            if not isinstance(key, str):
                continue
            self.statements.setdefault(key, []).append(s)
            name = s.fields.get("role_name")
            if isinstance(name, str):
                self.role_by_name.setdefault(name.lower(), []).append(s)
            ref = s.fields.get("role_ref")
            if isinstance(ref, str):
                self.role_by_ref.setdefault(ref, key)
        # the roles of each name (one per environment), a statement of each, by place
        self.roles_named = Copies()
        for name, found in self.role_by_name.items():
            for s in {s.fields["role_key"]: s for s in found}.values():
                self.roles_named.add(name, s)
        self.associations: dict[str, list[Entity]] = {}  # access policy associations by key
        for assoc in self.by_kind.get("access_policy_association", []):
            self.associations.setdefault(assoc.key, []).append(assoc)
        # attachments and policies by key, with their place in the scan
        self.policies: dict[str, dict[str, list[tuple[int, Entity]]]] = {}
        for kind in ("iam_policy_attachment", "iam_policy"):
            by_key = self.policies[kind] = {}
            for position, e in enumerate(self.by_kind.get(kind, [])):
                by_key.setdefault(e.key, []).append((position, e))
        self.iam_roles: dict[str, Entity] = {}
        for role in self.by_kind.get("iam_role", []):
            key = role.fields.get("role_key")
            if isinstance(key, str):
                self.iam_roles.setdefault(key, role)
        # where a role not in the scan is first named: the place of its AWS power hop
        self.first_named: dict[str, Location] = {}
        # the pin verdict of each trust statement, for entry labels and fields
        self.pinned: dict[str, Any] = {}

    def run(self) -> None:
        """Every node and hop, kind of input by kind of input."""
        for statements in self.statements.values():
            for s in statements:
                self._trust(s)
        bindings = self._bindings()
        for mapping in self.by_kind.get("identity_mapping", []):
            self._mapping(mapping, bindings)
        for cluster in self.by_kind.get("cluster", []):
            self._creator(cluster)
        for cluster in self.clusters.names:
            self._anonymous(cluster, bindings)
        accounts = self._service_accounts()
        for workload in self.by_kind.get("workload", []):
            self._workload(workload, accounts, bindings)
        for nodes in self.by_kind.get("instance_metadata", []):
            self._nodes(nodes)
        for node in list(self.graph.nodes.values()):
            if node.kind == "iam_role":
                self._aws_power(node)

    # -- IAM --------------------------------------------------------------------------------
    def _role_node(self, role_key: str) -> Node:
        statements = self.statements[role_key]
        name = statements[0].fields.get("role_name")
        return self.graph.node(
            Node(f"role:{role_key}", "iam_role", f"role {_text(name)}", entity=statements[0])
        )

    def _principal_node(
        self, arn: Any, near: Entity, ref: Any = None, name: str | None = None
    ) -> tuple[Node, Any]:
        """The node of an IAM principal an ARN (or Terraform reference, or role name) names:
        a scanned role, else the ARN as an entry point; and whether the hop to it is known."""
        if isinstance(ref, str) and ref in self.role_by_ref:
            return self._role_node(self.role_by_ref[ref]), True
        if name is not None:
            key = self.nearest_role(name, near)
            if key is not None:
                return self._role_node(key), True
            node = self.graph.node(
                Node(f"role-name:{name}", "iam_role", f"role {name} (trust not in the scan)")
            )
            self.first_named.setdefault(node.id, near.location)
            return node, True
        if isinstance(arn, Unknown):
            node = self.graph.node(
                Node(f"unknown:{arn.text}", "principal", f"principal {arn.text}", entry=True)
            )
            return node, arn
        if not isinstance(arn, str):
            node = self.graph.node(Node("unknown:(none)", "principal", "principal (not set)"))
            return node, Unknown("the principal is not set")
        name = role_name_from_arn(arn)
        if name is not None and "*" not in name:
            key = self.nearest_role(name, near)
            if key is not None:
                return self._role_node(key), True
        if ":user/" in arn:
            label = f"IAM user {arn.rsplit('/', 1)[-1]}"
        elif ":role/" in arn:
            label = f"role {arn} (trust not in the scan)"
        else:
            label = f"principal {arn}"
        node = self.graph.node(Node(f"arn:{arn.lower()}", "principal", label, entry=True))
        if ":role/" in arn:
            node.kind = "iam_role"
            self.first_named.setdefault(node.id, near.location)
        return node, True

    def nearest_role(self, name: str, near: Entity) -> str | None:
        """The `role_key` of the scanned role called `name` (in any case) nearest to `near`:
        of roles of one name in many directories (environments), found by place."""
        found = self.roles_named.nearest(name.lower(), near)
        return found[0].fields["role_key"] if found else None

    def _trust(self, s: Entity) -> None:
        role = self._role_node(s.fields["role_key"])
        flagged, undecided = self.verdicts.get(s.key, ([], []))
        pinned: Any = not flagged
        if not flagged and undecided:
            pinned = Unknown(f"{', '.join(undecided)} undecided", "undecided")
        self.pinned[s.key] = (pinned, list(flagged))
        principal = _principal_text(s)
        marker = "" if pinned is True else f" (not pinned: {', '.join(flagged)})" if flagged else ""
        chained = self._chained(s)
        # a statement whose principals are all roles of the scan is no entry point of its own:
        # the walk comes from those roles' trust
        entry = self.graph.node(
            Node(
                f"trust:{_eid(s)}",
                "principal",
                principal + marker,
                entry=not chained or len(chained) < _principal_count(s),
                entity=s,
            )
        )
        where = s.location
        self.graph.edge(
            Edge(entry.id, role.id, "trust", f"{role.label} trusts {principal}", where, s.key)
        )
        # a principal that is a role of the scan can assume this one: role chaining
        for arn in chained:
            other, known = self._principal_node(arn, s)
            message = f"{role.label} trusts {other.label}"
            self.graph.edge(Edge(other.id, role.id, "trust", message, where, s.key, known))

    def _chained(self, s: Entity) -> list[str]:
        """The principals of a statement that are roles of the scan."""
        found = []
        for arn in s.fields.get("principals_aws") or []:
            name = role_name_from_arn(arn)
            if name is not None and "*" not in name and name.lower() in self.role_by_name:
                found.append(arn)
        return found

    def _aws_power(self, role: Node) -> None:
        """role -> AWS admin / iam_write, from the `iam_role` entity of its role_key."""
        key = role.id.removeprefix("role:")
        iam_role = self.iam_roles.get(key) if role.id.startswith("role:") else None
        if iam_role is not None:
            power = iam_role.fields.get("aws_power")
            where, entity_key = _span(iam_role, "aws_power"), iam_role.key
        else:
            power = Unknown(
                f"what {role.label} may do in AWS is not in the scan", "its AWS power (not known)"
            )
            if role.entity is not None:
                where, entity_key = role.entity.location, role.entity.key
            else:
                where = self.first_named.get(role.id, Location("", 0, 0))
                entity_key = role.id
        if not where.file:
            return
        items = power if isinstance(power, list) else [power]
        shown = ", ".join(_text(p) for p in items[:6])
        unknown = next((p for p in items if isinstance(p, Unknown)), None)
        for name, target in (("admin", AWS_ADMIN), ("iam_write", AWS_IAM_WRITE)):
            if name in items and not (name == "iam_write" and "admin" in items):
                known: Any = True  # (admin holds iam_write: one hop says it)
            elif unknown is not None and name == "admin" and "iam_write" not in items:
                known = unknown  # a power not known may be any: one unknown hop says so
            else:
                continue
            if iam_role is not None and known is True:
                where, entity_key = self._granted_by(iam_role, name) or (where, entity_key)
            node = self.graph.node(
                Node(target, "power", f"AWS {name}", power=target, scope="account")
            )
            message = f"{role.label} may do in AWS: {shown}"
            self.graph.edge(Edge(role.id, node.id, "aws_power", message, where, entity_key, known))

    def _granted_by(self, role: Entity, power: str) -> tuple[Location, str] | None:
        """Where a role gets `admin` or `iam_write`: the attachment of an AWS managed policy
        that grants it, else a policy of its own or of the scan whose statements do."""
        field = "grants_admin" if power == "admin" else "grants_iam_write"
        keys = set(role.links.get("attachments", [])) | set(role.links.get("policies", []))
        for kind in ("iam_policy_attachment", "iam_policy"):
            found = [item for key in keys for item in self.policies[kind].get(key, [])]
            for _, e in sorted(found, key=lambda item: item[0]):
                name = e.fields.get("policy_name") if kind == "iam_policy_attachment" else None
                if (
                    kind == "iam_policy_attachment"
                    and e.fields.get("aws_managed") is True
                    and power in AWS_MANAGED_POWER.get(str(name), ())
                ) or e.fields.get(field) is True:
                    return e.location, e.key
        return None

    # -- identity mappings ------------------------------------------------------------------
    def _mapping(self, m: Entity, bindings: _Bindings) -> None:
        source = m.fields.get("source")
        if source == "access_entry":
            cluster = self.clusters.of_named(m)
            what = "access entry"
        else:
            cluster = self.clusters.of_object(m)
            what = f"aws-auth {m.fields.get('map') or 'entry'}"
            if m.fields.get("role_path"):
                return  # the authenticator matches path-less ARNs: it never applies (EKS505)
        reads = self.clusters.reads(cluster, str(source)) if cluster != UNKNOWN_CLUSTER else True
        if reads is False:
            return
        membership = (
            True if cluster != UNKNOWN_CLUSTER else _together(UNKNOWN_CLUSTER, UNKNOWN_CLUSTER)
        )
        node = self.graph.node(
            Node(f"mapping:{_eid(m)}", "mapping", f"{what}{_in(cluster)}", cluster, entity=m)
        )
        account = m.fields.get("account")
        if isinstance(account, str) and m.fields.get("principal_arn") is None:
            principal = self.graph.node(
                Node(
                    f"account:{account}",
                    "principal",
                    f"every IAM principal of account {account}",
                    entry=True,
                )
            )
            known: Any = True
        else:
            principal, known = self._principal_node(
                m.fields.get("principal_arn"), m, m.fields.get("principal_ref")
            )
        known = _both(_both(known, reads), membership)
        message = f"{what}{_in(cluster)} signs in {principal.label}"
        where = _span(m, "principal_arn", "account")
        self.graph.edge(Edge(principal.id, node.id, "mapping", message, where, m.key, known))
        self._mapped_subjects(m, node, cluster, bindings)
        for key in m.links.get("access_policy_associations", []):
            for assoc in self.associations.get(key, []):
                self._access_policy(node, assoc, cluster)

    def _mapped_subjects(self, m: Entity, node: Node, cluster: str, bindings: _Bindings) -> None:
        groups = m.fields.get("groups")
        where = _span(m, "groups")
        if isinstance(groups, Unknown):
            self._power_edge(
                node,
                CLUSTER_ADMIN,
                "cluster",
                cluster,
                "group",
                f"maps to groups {groups.text}, not known (system:masters would be cluster-admin)",
                where,
                m.key,
                groups,
            )
            groups = []
        # a wrong-typed value (a number for kubernetes_groups) maps no group
        for index, group in enumerate(groups if isinstance(groups, list) else []):
            at = _item_span(m, "groups", index)
            if isinstance(group, Unknown):
                self._power_edge(
                    node,
                    CLUSTER_ADMIN,
                    "cluster",
                    cluster,
                    "group",
                    f"maps to group {group.text}, not known",
                    at,
                    m.key,
                    group,
                )
            elif group == MASTERS:
                self._power_edge(
                    node,
                    CLUSTER_ADMIN,
                    "cluster",
                    cluster,
                    "group",
                    "maps to group system:masters, which bypasses RBAC",
                    at,
                    m.key,
                )
            elif isinstance(group, str):
                subject = self._subject("Group", group, cluster)
                self.graph.edge(
                    Edge(node.id, subject.id, "group", f"maps to group {group}", at, m.key)
                )
                bindings.connect(self, subject, "Group", group, cluster)
        subject = self._subject("Group", AUTHENTICATED, cluster)
        message = f"every identity it signs in is in group {AUTHENTICATED}"
        self.graph.edge(Edge(node.id, subject.id, "group", message, m.location, m.key))
        bindings.connect(self, subject, "Group", AUTHENTICATED, cluster)
        username = m.fields.get("username")
        if isinstance(username, str) and "{{" not in username:
            user = self._subject("User", username, cluster)
            message = f"signs in as user {username}"
            self.graph.edge(Edge(node.id, user.id, "group", message, _span(m, "username"), m.key))
            bindings.connect(self, user, "User", username, cluster)

    def _subject(self, kind: str, name: str, cluster: str) -> Node:
        word = {"Group": "group", "User": "user", "ServiceAccount": "ServiceAccount"}[kind]
        node_kind = {"Group": "k8s_group", "User": "k8s_user"}.get(kind, "service_account")
        return self.graph.node(
            Node(
                f"{node_kind}:{cluster}:{name}",
                node_kind,
                f"{word} {name}{_in(cluster)}",
                cluster,
            )
        )

    def _access_policy(self, mapping: Node, assoc: Entity, cluster: str) -> None:
        known = _together(cluster, self.clusters.of_named(assoc))
        if known is False:
            return
        name = assoc.fields.get("policy_name")
        scope_type = assoc.fields.get("scope_type")
        namespaces = assoc.fields.get("scope_namespaces")
        where = _span(assoc, "policy_arn")
        if isinstance(scope_type, Unknown) or isinstance(name, Unknown):
            unknown = name if isinstance(name, Unknown) else scope_type
            message = f"access policy {_text(name)} in a scope not known"
            self._power_edge(
                mapping,
                CLUSTER_ADMIN,
                "cluster",
                cluster,
                "access_policy",
                message,
                where,
                assoc.key,
                unknown,
            )
            return
        if scope_type != "namespace":
            scope = "cluster"
        elif isinstance(namespaces, list) and all(isinstance(n, str) for n in namespaces):
            # one namespace is that namespace's scope, as a RoleBinding's
            scope = namespaces[0] if len(namespaces) == 1 else "namespaces " + ", ".join(namespaces)
        else:
            scope = f"namespaces {_text(namespaces)}"
        if name == CLUSTER_ADMIN_POLICY and scope == "cluster":
            power = CLUSTER_ADMIN
        elif name == CLUSTER_ADMIN_POLICY:
            power = "admin"
        else:
            power = ACCESS_POLICY_ROLES.get(str(name), str(name))
        at = "cluster scope" if scope == "cluster" else _scope_words(scope)
        message = f"access policy {name} at {at}"
        self._power_edge(
            mapping, power, scope, cluster, "access_policy", message, where, assoc.key, known
        )

    def _power_edge(
        self,
        source: Node,
        power: str,
        scope: str,
        cluster: str,
        hop: str,
        message: str,
        where: Location,
        entity_key: str,
        known: Any = True,
        token: bool = False,
    ) -> None:
        if power == CLUSTER_ADMIN:
            label, scope = f"cluster-admin{_in(cluster)}", "cluster"
        else:
            within = "cluster-wide" if scope == "cluster" else f"in {_scope_words(scope)}"
            label = f"{power} {within}{_in(cluster)}"
        node = self.graph.node(
            Node(
                f"power:{cluster}:{power}:{scope}",
                "power",
                label,
                cluster,
                power=power,
                scope=scope,
            )
        )
        self.graph.edge(
            Edge(source.id, node.id, hop, message, where, entity_key, known, token=token)
        )

    def _creator(self, cluster: Entity) -> None:
        if cluster.fields.get("bootstrap_cluster_creator_admin_permissions") is not True:
            return
        name = self.clusters.identity[_definition(cluster)]
        entry = self.graph.node(
            Node(
                f"creator:{_eid(cluster)}",
                "principal",
                f"the identity that creates cluster {name}",
                entry=True,
                entity=cluster,
            )
        )
        self._power_edge(
            entry,
            CLUSTER_ADMIN,
            "cluster",
            name,
            "creator",
            "bootstrap_cluster_creator_admin_permissions makes it cluster-admin",
            _span(cluster, "bootstrap_cluster_creator_admin_permissions"),
            cluster.key,
        )

    def _anonymous(self, cluster: str, bindings: _Bindings) -> None:
        """Whoever reaches the API server without credentials is user `system:anonymous` in
        group `system:unauthenticated` (EKS601): an entry point when a binding names them."""
        named = [("User", "system:anonymous"), ("Group", "system:unauthenticated")]
        if not any(bindings.by_subject.get(subject) for subject in named):
            return
        entry = self.graph.node(
            Node(
                f"anonymous:{cluster}",
                "principal",
                f"anonymous requests to the API server{_in(cluster)}",
                cluster,
                entry=True,
            )
        )
        for kind, name in named:
            bindings.connect(self, entry, kind, name, cluster)

    # -- RBAC -------------------------------------------------------------------------------
    def _bindings(self) -> _Bindings:
        return _Bindings(self, self.by_kind.get("rbac_binding", []))

    def binding_node(self, binding: Entity, cluster: str) -> Node:
        """A binding's node, with its hops to the role it refers to and to its powers."""
        node_id = f"binding:{_eid(binding)}"
        found = self.graph.nodes.get(node_id)
        if found is not None:
            return found
        fields = binding.fields
        node = self.graph.node(
            Node(
                node_id,
                "binding",
                f"{fields.get('object_kind')} {_text(fields.get('qualified_name'))}",
                cluster,
                entity=binding,
            )
        )
        scope = fields.get("scope")
        scope = scope if isinstance(scope, str) else _text(scope)
        role_text = _text(fields.get("role_text"))
        within = "cluster-wide" if scope == "cluster" else f"in namespace {scope}"
        role = self.graph.node(
            Node(f"role-of:{node_id}", "rbac_role", f"{role_text}, bound {within}", cluster)
        )
        where = _span(binding, "role_ref_name", "role_ref_kind")
        self.graph.edge(
            Edge(node.id, role.id, "role", f"refers to {role_text}", where, binding.key)
        )
        capabilities = fields.get("capabilities")
        items = capabilities if isinstance(capabilities, list) else [capabilities]
        unknown = next((c for c in items if isinstance(c, Unknown)), None)
        if unknown is not None:
            self._power_edge(
                role,
                CLUSTER_ADMIN,
                "cluster",
                cluster,
                "capability",
                f"what {role_text} grants is not known",
                where,
                binding.key,
                unknown,
            )
        names = [c for c in items if isinstance(c, str)]
        grants = _grant_texts(fields.get("grants_text"))
        role_name = fields.get("role_ref_name")
        if "cluster_admin" in names:
            names = ["cluster_admin"]
        elif role_text.startswith("built-in ClusterRole ") and role_name in USER_FACING:
            # what admin, edit and view mean, as one power; of their capabilities, those that
            # take the cluster in one more step are listed too
            message = f"{role_text} {within}"
            self._power_edge(
                role, str(role_name), scope, cluster, "capability", message, where, binding.key
            )
            names = [n for n in names if n in ESCALATIONS]
        for name in names:
            power = CLUSTER_ADMIN if name == "cluster_admin" else name
            rules = binding.links.get(f"{name}_rules", [])
            at = self._rule_place(rules) or where
            message = f"{name} {within}" + (f": {grants[name]}" if name in grants else "")
            self._power_edge(role, power, scope, cluster, "capability", message, at, binding.key)
        return node

    def _rule_place(self, keys: list[str]) -> Location | None:
        rule = self.rule_by_key.get(keys[0]) if keys else None
        return rule.location if rule is not None else None

    # -- pods -------------------------------------------------------------------------------
    def _service_accounts(self) -> Copies:
        """ServiceAccounts by (namespace, name); pod identity associations by (namespace,
        ServiceAccount, cluster), each looked up by place as link does, so that many copies of
        one name (environments) cost an index, not a walk over every copy for every pod."""
        accounts = Copies()
        for sa in self.by_kind.get("service_account", []):
            accounts.add((sa.fields.get("namespace"), sa.fields.get("name")), sa)
        self.pod_identities = Copies()
        for assoc in self.by_kind.get("pod_identity_association", []):
            ns, name = assoc.fields.get("namespace"), assoc.fields.get("service_account")
            if isinstance(ns, str) and isinstance(name, str):
                self.pod_identities.add((ns, name, self.clusters.of_named(assoc)), assoc)
        return accounts

    def _service_account_node(
        self, workload: Entity, accounts: Copies, bindings: _Bindings
    ) -> Node:
        ns = workload.fields.get("namespace")
        name = workload.fields.get("service_account_name")
        cluster = self.clusters.of_object(workload)
        sa = next(iter(accounts.nearest((ns, name), workload)), None)
        if sa is not None:
            node_id = f"sa:{_eid(sa)}"
            cluster = self.clusters.of_object(sa)
        else:
            node_id = f"sa:{cluster}:{ns}/{name}"
        found = self.graph.nodes.get(node_id)
        if found is not None:
            return found
        label = f"ServiceAccount {_text(ns)}/{_text(name)}"
        node = self.graph.node(
            Node(node_id, "service_account", label + _in(cluster), cluster, entity=sa)
        )
        if isinstance(ns, str) and isinstance(name, str):
            subject = f"system:serviceaccount:{ns}:{name}"
            for kind, subject_name in (("ServiceAccount", f"{ns}/{name}"), ("User", subject)):
                bindings.connect(self, node, kind, subject_name, cluster, token=True)
            # the groups every ServiceAccount is in: one hop to each shared group node, whose
            # bindings are connected once (a binding of system:authenticated is not repeated
            # for every ServiceAccount)
            where = sa.location if sa is not None else _span(workload, "service_account_name")
            for group in ("system:serviceaccounts", f"system:serviceaccounts:{ns}", AUTHENTICATED):
                member = self._subject("Group", group, cluster)
                message = f"{label} is in group {group}"
                key = sa.key if sa is not None else workload.key
                self.graph.edge(Edge(node.id, member.id, "group", message, where, key, token=True))
                bindings.connect(self, member, "Group", group, cluster)
            self._irsa(node, sa)
            self._pod_identities(node, sa or workload, ns, name, cluster)
        return node

    def _irsa(self, node: Node, sa: Entity | None) -> None:
        if sa is None:
            return
        arn = sa.fields.get("role_arn")
        if arn is None:
            return
        admits = sa.fields.get("irsa_trust_admits")
        if admits is False:
            return  # the role's trust does not admit it: its pods get no credentials (EKS701)
        role, known = self._principal_node(arn, sa, sa.fields.get("role_ref"))
        if isinstance(admits, Unknown):
            known = _both(known, admits)
        message = f"annotated eks.amazonaws.com/role-arn: {_text(arn)} (IRSA)"
        where = _span(sa, "role_arn")
        self.graph.edge(Edge(node.id, role.id, "irsa", message, where, sa.key, known))

    def _pod_identities(self, node: Node, near: Entity, ns: str, name: str, cluster: str) -> None:
        """The pod identity associations of a ServiceAccount: those of its cluster and those
        whose cluster is not known (every one when its own cluster is not known); of copies of
        one association (environments of one cluster name), the nearest."""
        if cluster == UNKNOWN_CLUSTER:
            groups = [k for k in self.pod_identities.groups if k[:2] == (ns, name)]
        else:
            groups = [(ns, name, cluster), (ns, name, UNKNOWN_CLUSTER)]
        for key in groups:
            for assoc in self.pod_identities.nearest(key, near, same_file=False):
                self._pod_identity(node, assoc, cluster)

    def _pod_identity(self, node: Node, assoc: Entity, cluster: str) -> None:
        known = _together(cluster, self.clusters.of_named(assoc))
        trusts = assoc.fields.get("role_trusts_pod_identity")
        if known is False or trusts is False:
            return
        role, found = self._principal_node(
            assoc.fields.get("role_arn"), assoc, assoc.fields.get("role_ref")
        )
        known = _both(_both(known, found), trusts if isinstance(trusts, Unknown) else True)
        message = f"a pod identity association gives it {role.label}"
        where = _span(assoc, "role_arn")
        self.graph.edge(Edge(node.id, role.id, "pod_identity", message, where, assoc.key, known))

    def _workload(self, workload: Entity, accounts: Copies, bindings: _Bindings) -> None:
        fields = workload.fields
        cluster = self.clusters.of_object(workload)
        label = f"pod {fields.get('object_kind')} {_text(fields.get('qualified_name'))}"
        entry = self.graph.node(
            Node(f"workload:{_eid(workload)}", "workload", label, cluster, True, workload)
        )
        token = fields.get("effective_automount")
        self.graph.token[entry.id] = token
        sa = self._service_account_node(workload, accounts, bindings)
        mounted = {True: "token mounted", False: "no token"}.get(token, "token not known")
        message = f"runs as {sa.label} ({mounted})"
        where = _span(workload, "service_account_name", "pod_spec")
        self.graph.edge(Edge(entry.id, sa.id, "service_account", message, where, workload.key))

    def _nodes(self, nodes: Entity) -> None:
        reach, which = _flagged(self.verdicts.get(nodes.key))
        if reach is False:
            return
        label = f"any pod on {_text(nodes.fields.get('name'))}"
        entry = self.graph.node(Node(f"nodes:{_eid(nodes)}", "nodes", label, None, True, nodes))
        roles = nodes.fields.get("node_roles")
        if isinstance(roles, Unknown):
            roles = [{"role": roles, "role_ref": None, "via": "node_roles", "file": ""}]
        for item in roles or []:
            if not isinstance(item, dict):
                continue
            role = item.get("role")
            statements = node_role_statements(nodes, item, _RoleLookup(self))
            if statements:
                target, known = self._role_node(statements[0].fields["role_key"]), True
            elif isinstance(role, str) and ":" not in role and "/" not in role:
                target, known = self._principal_node(None, nodes, name=role)
            else:
                target, known = self._principal_node(role, nodes, item.get("role_ref"))
            file = item.get("file") if isinstance(item.get("file"), str) else ""
            start = item.get("start_line") if isinstance(item.get("start_line"), int) else 0
            end = item.get("end_line") if isinstance(item.get("end_line"), int) else start
            where = Location(file, start, end) if file and start else nodes.location
            why = ", ".join(which) if which else "instance metadata"
            message = f"reaches the node role through IMDS ({why}): {_text(item.get('via'))}"
            self.graph.edge(
                Edge(entry.id, target.id, "imds", message, where, nodes.key, _both(known, reach))
            )


class _RoleLookup:
    """The link stage's role index interface over the builder's statements (for
    `node_role_statements`)."""

    def __init__(self, builder: _Builder) -> None:
        self.builder = builder

    def find(self, near: Entity, arn: Any, ref: Any = None, name: Any = None) -> list[Entity]:
        """The statements of the role an ARN, reference or name names (as link's index)."""
        b = self.builder
        if isinstance(ref, str) and ref in b.role_by_ref:
            return b.statements[b.role_by_ref[ref]]
        name = name if isinstance(name, str) else role_name_from_arn(arn)
        key = b.nearest_role(name, near) if name else None
        return b.statements[key] if key is not None else []


# a binding that names a subject: (binding, the subject's index, its cluster, its position)
_Named = tuple[Entity, int, str, int]


class _Bindings:
    """Bindings by subject (kind, name) and by their cluster."""

    def __init__(self, builder: _Builder, bindings: list[Entity]) -> None:
        self.connected: set[tuple[str, str, str]] = set()
        # (kind, name) -> cluster -> (binding, subject's index, cluster, position in the scan)
        self.by_subject: dict[tuple[str, str], dict[str, list[_Named]]] = {}
        self.copies: dict[tuple[str, str, str], Copies] = {}
        for position, binding in enumerate(bindings):
            cluster = builder.clusters.of_object(binding)
            for index, subject in enumerate(binding.fields.get("subjects") or []):
                if not isinstance(subject, dict):
                    continue
                kind, name = subject.get("kind"), subject.get("name")
                if not isinstance(kind, str) or not isinstance(name, str):
                    continue
                if kind == "ServiceAccount":
                    namespace = subject.get("namespace")
                    if not namespace and binding.fields.get("object_kind") == "RoleBinding":
                        namespace = binding.fields.get("namespace")
                    if not isinstance(namespace, str):
                        continue
                    name = f"{namespace}/{name}"
                in_clusters = self.by_subject.setdefault((kind, name), {})
                in_clusters.setdefault(cluster, []).append((binding, index, cluster, position))

    def _named(self, kind: str, name: str, cluster: str, near: Entity | None) -> list[_Named]:
        """The bindings that name a subject and may be of its cluster (those of its cluster
        and those whose cluster is not known; every one when its own is not known), in the
        order of the scan; for a subject written in one place (a ServiceAccount), of the
        copies of one binding (the same binding in many directories), the nearest, found by
        place as link finds copies."""
        in_clusters = self.by_subject.get((kind, name), {})
        if cluster == UNKNOWN_CLUSTER:
            clusters = list(in_clusters)
        else:
            clusters = [c for c in (cluster, UNKNOWN_CLUSTER) if c in in_clusters]
        named: list[_Named] = []
        for where in clusters:
            named.extend(self._nearest(kind, name, where, near))
        if len(clusters) > 1:
            named.sort(key=lambda item: item[3])
        return named

    def _nearest(self, kind: str, name: str, cluster: str, near: Entity | None) -> list[_Named]:
        named = self.by_subject[(kind, name)][cluster]
        if near is None or len(named) <= 1:
            return named
        copies = self.copies.get((kind, name, cluster))
        if copies is None:
            copies = self.copies[(kind, name, cluster)] = Copies()
            for binding, *_ in named:
                fields = binding.fields
                copies.add(
                    (fields.get("object_kind"), fields.get("namespace"), fields.get("name")),
                    binding,
                )
        chosen = {
            id(b) for group in copies.groups for b in copies.nearest(group, near, same_file=False)
        }
        return [item for item in named if id(item[0]) in chosen]

    def connect(
        self,
        builder: _Builder,
        subject: Node,
        kind: str,
        name: str,
        cluster: str,
        token: bool = False,
    ) -> None:
        """Hops from a subject to the bindings that name it, in its cluster (once per
        subject: a group every mapping names is connected once)."""
        if (subject.id, kind, name) in self.connected:
            return
        self.connected.add((subject.id, kind, name))
        for binding, index, where, _ in self._named(kind, name, cluster, subject.entity):
            known = _together(cluster, where)
            if known is False:
                continue
            node = builder.binding_node(binding, where)
            fields = binding.fields
            written = "ServiceAccount" if kind == "ServiceAccount" else kind.lower()
            message = (
                f"{fields.get('object_kind')} {_text(fields.get('qualified_name'))} "
                f"names {written} {name}"
            )
            at = _item_span(binding, "subjects", index)
            builder.graph.edge(
                Edge(subject.id, node.id, "binding", message, at, binding.key, known, token)
            )


def _grant_texts(text: Any) -> dict[str, str]:
    """`read_secrets (get, list on secrets); impersonate (...)` -> capability -> its words."""
    out: dict[str, str] = {}
    if not isinstance(text, str):
        return out
    for part in text.split("; "):
        name, _, rest = part.partition(" ")
        if name in CAPABILITIES:
            out[name] = rest.strip("()")
    return out


def _scope_words(scope: str) -> str:
    if scope.startswith("namespaces "):
        return scope
    return f"namespace {scope}"


def _principal_text(s: Entity) -> str:
    """A trust statement's principals in words, with the subjects it admits."""
    fields = s.fields
    kinds = fields.get("federated_kinds") or []
    subs = [v for v in fields.get("sub_values") or [] if isinstance(v, str)]
    written = ", ".join(subs)
    if fields.get("principal_any") is True:
        return "any AWS principal"
    if isinstance(kinds, list) and "github" in kinds:
        return f"GitHub Actions {written}" if subs else "GitHub Actions, any repository"
    if isinstance(kinds, list) and "eks_oidc" in kinds:
        return f"EKS service accounts {written}" if subs else "EKS service accounts, any"
    text = _text(fields.get("principal_text"))
    return f"{text} ({written})" if subs else text


def _principal_count(s: Entity) -> int:
    """How many principals a statement names (any principal counts as one)."""
    fields = s.fields
    if fields.get("principal_any") is True:
        return 1
    return sum(
        len(value) if isinstance(value, list) else 1
        for value in (
            fields.get("principals_aws"),
            fields.get("principals_service"),
            fields.get("principals_federated"),
        )
        if value
    )


def _flagged(verdict: tuple[list[str], list[str]] | None) -> tuple[Any, list[str]]:
    """Whether rules flag an entity: True (with their ids), unknown, or False."""
    if verdict is None:
        return False, []
    flagged, undecided = verdict
    if flagged:
        return True, list(flagged)
    if undecided:
        return Unknown(f"{', '.join(undecided)} undecided", "undecided"), []
    return False, []


# ---- searching -------------------------------------------------------------------------------
def search(
    graph: AccessGraph, start: str, known_only: bool = True
) -> tuple[dict[str, Edge | None], dict[str, Any]]:
    """Breadth first from `start`: the edge each node was first reached by (the shortest
    path), and for each node reached, whether it is reached through known hops only (True) or
    the first unknown of its path."""
    token = graph.token.get(start)
    parent: dict[str, Edge | None] = {start: None}
    status: dict[str, Any] = {start: True}
    queue = deque([start])
    while queue:
        here = queue.popleft()
        graph.work += len(graph.out.get(here, ())) + 1
        if graph.work > MAX_GRAPH_WORK:
            raise GraphTooLarge(TOO_LARGE)
        for edge in graph.out.get(here, ()):
            known = _hop_known(edge, token)
            if known is False or (known_only and known is not True):
                continue
            if edge.target in parent:
                continue
            parent[edge.target] = edge
            status[edge.target] = status[here] if known is True else _both(status[here], known)
            queue.append(edge.target)
    return parent, status


class GraphTooLarge(Exception):
    """The searches of one graph went past MAX_GRAPH_WORK."""


def _hop_known(edge: Edge, token: Any) -> Any:
    if edge.token:
        if token is False:
            return False
        if isinstance(token, Unknown):
            return _both(token, edge.known)
    return edge.known


def path_to(parent: dict[str, Edge | None], target: str) -> list[Edge]:
    """The hops from a search's start to `target`, in order, from the search's parents."""
    edges: list[Edge] = []
    here = parent.get(target)
    while here is not None:
        edges.append(here)
        here = parent.get(here.source)
    return list(reversed(edges))


def useful_hops(
    graph: AccessGraph, start: str, parent: dict[str, Edge | None], targets: set[str]
) -> list[Edge]:
    """Every known hop of every path from `start` to one of `targets`: hops whose source is
    reached from `start` and whose target reaches a target (each once)."""
    token = graph.token.get(start)
    back = set(targets)
    queue = deque(targets)
    hops: dict[tuple, Edge] = {}
    while queue:
        here = queue.popleft()
        graph.work += len(graph.into.get(here, ())) + 1
        if graph.work > MAX_GRAPH_WORK:
            raise GraphTooLarge(TOO_LARGE)
        for edge in graph.into.get(here, ()):
            if edge.source not in parent or _hop_known(edge, token) is not True:
                continue
            hops.setdefault((edge.source, edge.target, edge.identity), edge)
            if edge.source not in back:
                back.add(edge.source)
                queue.append(edge.source)
    return sorted(
        hops.values(),
        key=lambda e: (e.location.file, e.location.start_line, e.hop, e.entity_key),
    )


def reach(
    graph: AccessGraph, start: str, wanted: Callable[[Node], bool]
) -> tuple[Any, list[Edge], Node | None, list[Edge]]:
    """From `start`: whether a wanted power is reached (True through known hops, else the
    unknown of a path through unknown hops, else False), the shortest known path and its
    power, and every hop of every known path."""
    parent, _ = search(graph, start)
    reached = [n for n in parent if wanted(graph.nodes[n])]
    if reached:
        paths = {n: path_to(parent, n) for n in reached}
        best = min(reached, key=lambda n: (len(paths[n]), _power_rank(graph.nodes[n]), n))
        hops = useful_hops(graph, start, parent, set(reached))
        return True, paths[best], graph.nodes[best], hops
    _, status = search(graph, start, known_only=False)
    maybe = [status[n] for n in status if wanted(graph.nodes[n])]
    if maybe:
        return maybe[0], [], None, []
    return False, [], None, []


def _power_rank(node: Node) -> int:
    order = [CLUSTER_ADMIN, "edit_aws_auth", "escalate_bind", "impersonate", AWS_ADMIN]
    return order.index(node.power) if node.power in order else len(order)


def hop_json(edge: Edge, graph: AccessGraph) -> dict:
    """A hop as the model holds it (checks.kinds.HOP)."""
    return {
        "hop": edge.hop,
        "source": graph.nodes[edge.source].label,
        "target": graph.nodes[edge.target].label,
        "message": edge.message,
        "entity_key": edge.entity_key,
        "file": edge.location.file,
        "start_line": edge.location.start_line,
        "end_line": edge.location.end_line,
    }


def _hop_list(edges: Iterable[Edge], graph: AccessGraph) -> LList:
    return LList(hop_json(e, graph) for e in edges)


# ---- the fields rules test -------------------------------------------------------------------
def _set_fields(graph: AccessGraph, builder: _Builder) -> None:
    def cluster_admin(node: Node) -> bool:
        return node.power in CLUSTER_ADMIN_POWERS

    def aws_admin(node: Node) -> bool:
        return node.power in AWS_ADMIN_POWERS

    for s in builder.by_kind.get("trust_statement", []):
        pinned, flagged = builder.pinned.get(s.key, (True, []))
        s.set("pinned", pinned)
        s.set("unpinned_by", flagged)
        _reach_fields(graph, s, f"trust:{_eid(s)}", cluster_admin, "cluster_admin")
    for workload in builder.by_kind.get("workload", []):
        _reach_fields(graph, workload, f"workload:{_eid(workload)}", aws_admin, "aws_admin")
    for nodes in builder.by_kind.get("instance_metadata", []):
        reach_imds, _ = _flagged(builder.verdicts.get(nodes.key))
        nodes.set("pods_reach_imds", reach_imds, span=nodes.field_lines.get("metadata_options"))
        start = f"nodes:{_eid(nodes)}"
        if start in graph.nodes:
            _reach_fields(graph, nodes, start, aws_admin, "aws_admin")
        else:
            _no_reach(nodes, "aws_admin")


def _reach_fields(
    graph: AccessGraph, entity: Entity, start: str, wanted: Callable[[Node], bool], prefix: str
) -> None:
    try:
        reached, path, power, hops = reach(graph, start, wanted)
    except GraphTooLarge:
        reached, path, power, hops = Unknown(TOO_LARGE, "not known (graph too large)"), [], None, []
    entity.set(f"reaches_{prefix}", reached)
    entity.set(f"{prefix}_power", power_words(graph, power, path))
    entity.set(f"{prefix}_path", _hop_list(path, graph))
    entity.set(f"{prefix}_hops", _hop_list(hops[:MAX_PATH_HOPS], graph))


def power_words(graph: AccessGraph, power: Node | None, path: list[Edge]) -> str | None:
    """A power as a message names it: an AWS power with the role that holds it."""
    if power is None:
        return None
    if power.id in AWS_ADMIN_POWERS and path:
        return f"{power.label} as {graph.nodes[path[-1].source].label}"
    return power.label


def _no_reach(entity: Entity, prefix: str) -> None:
    entity.set(f"reaches_{prefix}", False)
    entity.set(f"{prefix}_power", None)
    entity.set(f"{prefix}_path", LList())
    entity.set(f"{prefix}_hops", LList())
