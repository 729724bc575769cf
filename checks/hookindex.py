"""The pre-commit hook's index: what each unit of a context tree offers and asks of the others,
kept in the cache, so that a hook run (`scan --context-root=ROOT FILE...`) reads only the
units the given files' links can need, and reports what the full-context scan reports.

A full-context scan with the cache keeps, beside the units' results, one `Summary` per unit:
its cache digest, its files, what it reads, its share of the whole scan's facts (files read
with file(), modules reached, cluster definitions, literal cluster names) and its *records*:
(key, role, file) for every lookup of link and the graph across entities (the study's table of
rows L1-L21, G1-G19), computed from fields normalize sets. A role is

- `offer`: the units that ask the key may depend on this one,
- `ask`: this unit depends on the key's offerers (of a key looked up nearest by place, only
  those that may be the nearest to the asker),
- `sym`: every holder depends on every other (order among entries, copies of one key).

A lookup whose offerer depends on who picks it (a role's trust reaches through the mappings
that sign in with it; a role's policies are its attachments') holds a *back* key too.

Records are kept per entity (its position among its unit's kept entities). The hook's
closure is of entities: those of the units holding, reading or consuming a file reported, and
of the callers of its module; then every entity that depends on one of those (backward), then
everything one of those depends on (forward). An entity's parts and whole (a role and its
rules, a role's trust statements, its policies) are records too, so that every lookup an
entity of the closure makes is answered from the closure. Clusters are left out: every
cluster may be any other (a superset). The reduced run decodes the units of the closure's
entities, links only those entities (the others would be linked against a part of the tree),
and injects the whole scan's facts the index holds (`run_reduced`). Whatever the closure
cannot vouch for falls back to the full scan (`Fallback`, with the reason).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from checks import graph, link
from checks.codec import encode
from checks.kinds import terraform_reference
from checks.model import Entity, Location, PartialList, Unknown, UnknownItems
from checks.normalize import live
from checks.runner import (
    MODULE_LISTING,
    Options,
    Results,
    Unit,
    UnitResult,
    Whole,
    assemble,
    called_of,
    kept,
    read_as,
    reads_unchanged,
    results_of,
    save,
    unit_key,
)

if TYPE_CHECKING:
    from checks.cache import Pack, Parts

# past this many units changed since the index was written, the full scan is as quick
MAX_CHANGED_UNITS = 64

# a key's type -> how its offers are looked up: "near" (the nearest copies by place, as
# link's `nearest` finds them), "all" (every offer), "single" (the scan's only one)
NEAR, ALL, SINGLE = "near", "all", "single"
MODES = {
    "sa": NEAR,
    "role": NEAR,
    "crole": NEAR,
    "nsrole": NEAR,
    "pia": NEAR,
    "iamrole-name": NEAR,
    "sa-given": NEAR,
    "cluster": SINGLE,
}
BACK = "back"
# the asker's kind -> the key types whose offerer depends on the askers that pick it
BACK_ASKERS = {
    "identity_mapping": {"role", "roleref"},
    "trust_statement": {"role", "rolekey"},
    "iam_policy_attachment": {
        "rolekey",
        "iamrole-name",
        "tfref",
        "policy-arn",
        "policy-mod-name",
        "getrole-dir",
    },
    "iam_policy": {"rolekey", "iamrole-name", "tfref", "getrole-dir"},
}
# the key types whose offerers ask the back key (depend on the askers that pick them)
BACK_OFFERERS = {
    "rolekey",
    "role",
    "roleref",
    "iamrole-name",
    "tfref",
    "policy-arn",
    "policy-mod-name",
    "getrole-dir",
}
# a ServiceAccount no file holds is one node of the graph for the pods of a cluster that name
# it: the first of them decides which pod identity association is nearest (graph G15)
SA_NODE = "symp"
AUTHENTICATED = "system:authenticated"
ACCOUNTS = "system:serviceaccounts"


# pod identity associations whose target is not known (L17): each offers the way it is
# written (link's `written_target` of its namespace and ServiceAccount) and holds the list of ways;
# a pod asks for its namespace and ServiceAccount, and holds the list of askers: a way is
# matched to the pods it may be for (link's `may_be`), as link does
VAGUE_WAY, VAGUE_WAYS, VAGUE_ASK, VAGUE_ASKERS = "pia-way", "pia-ways", "pia-like", "pia-likers"
VAGUE_LISTS = (VAGUE_WAYS, VAGUE_ASKERS)

# a group a cluster-admin ClusterRoleBinding names, as link reads it for identity mappings,
# tree-wide (L9); the graph reads the bindings of a mapped group or user of the mapping's
# cluster (G12): a mapping holds how its cluster is found (IN_CLUSTER: "named" by
# `cluster_name`, or "object" by place), a binding's is by place; the closure works both out
# from the whole scan's cluster facts, as the graph does
ADMIN_GROUP, IN_CLUSTER = "subj-admin", "in-cluster"
# whether any group but system:masters is bound to cluster-admin, tree-wide: what link reads
# for a mapping whose groups are not known (EKS703 undecided or false)
ANY_ADMIN_GROUP = "subj-admin-any"
# where a mapping or binding counts as written when its cluster is found by place, as the
# graph reads it (`graph.place_of`, `link.configuration_of`): the configuration that made it
# and the module calls that did (what a module instance makes is written in the module's
# file, but belongs to the configuration that calls it)
PLACED = "placed"
GRAPH_SUBJECTS = ('["subj","Group",', '["subj","User",')

# the key types of an entity's own key, held by each of its copies
COPY, EVERY_COPY = "ekey", "ekey-all"
COPIES = (COPY, EVERY_COPY)


class Prepared(NamedTuple):
    """What a reduced run that fell back had worked out that the full scan needs too: the
    units, the key of each (`unit_key`), the index's head, and the results of the units it
    ran (by position)."""

    units: list[Unit]
    keys: list[str | None]
    head: IndexHead
    made: dict[int, UnitResult]


class Fallback(Exception):
    """The index cannot vouch for a reduced run: the full-context scan is made (the reason
    is its message), with what the reduced run had `prepared`, if anything."""

    def __init__(self, reason: str, prepared: Prepared | None = None) -> None:
        super().__init__(reason)
        self.prepared = prepared


# ---- records --------------------------------------------------------------------------------
def _key(*parts: Any) -> str:
    """A record's key as the index stores it: its type, then the rest, unambiguously."""
    return json.dumps(parts, separators=(",", ":"), default=repr)


def _type(key: str) -> str:
    """A key's type: the first string of its JSON array (no type holds a quote)."""
    return key[2 : key.index('"', 2)]


def _text(value: Any) -> bool:
    return isinstance(value, str)


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return not isinstance(value, Unknown)


def entity_records(entity: Entity) -> list[tuple[str, str]]:
    """(key, role) of each lookup across entities `entity` takes part in (module docstring),
    from the fields normalize sets; back keys included."""
    found: list[tuple[str, str]] = []
    _records(entity, lambda role, *parts: found.append((_key(*parts), role)))
    out = []
    kind = entity.kind
    for key, role in found:
        out.append((key, role))
        kind_of_key = _type(key)
        if role == "ask" and kind_of_key in BACK_ASKERS.get(kind, ()):
            out.append((_key(BACK, key), "offer"))
        elif role == "offer" and kind_of_key in BACK_OFFERERS:
            out.append((_key(BACK, key), "ask"))
    # copies of one object share its key: a link names the first of the nearest copies to
    # the linker (L4), the graph takes the first copy of an RBAC rule (G5), annotations are
    # the last copy's (U10); the graph reads every copy of an association, a policy and an
    # attachment (G9, G10)
    every = kind in ("access_policy_association", "iam_policy", "iam_policy_attachment")
    out.append((_key(EVERY_COPY if every else COPY, entity.key), "sym"))
    if kind in ("identity_mapping", "rbac_binding"):
        module_dir, path = entity.fields.get("module_dir"), entity.fields.get("call_path")
        if isinstance(module_dir, str) or (isinstance(path, str) and path):
            placed = [v if isinstance(v, str) else None for v in (module_dir, path)]
            out.append((_key(PLACED, *placed), "ask"))
    return out


def _records(e: Entity, add: Any) -> None:  # noqa: C901 - one branch per kind, as link has
    f = e.fields
    kind = e.kind
    if kind == "service_account":
        ns, name = f.get("namespace"), f.get("name")
        if _hashable(ns) and _hashable(name):
            if f.get("given_by") is None:
                add("offer", "sa", ns, name)
            else:
                add("offer", "sa-given", ns, name)  # the graph's, not link's (G14)
            add("ask", "subj", "SA", ns, name)
            add("ask", "subj", "NSGROUP", ns)
        add("ask", "subj", "EVERYONE")
        _role_asks(add, f.get("role_arn"), f.get("role_ref"))
    elif kind == "workload":
        ns, name = f.get("namespace"), f.get("service_account_name")
        if _hashable(ns) and _hashable(name):
            add("ask", "sa", ns, name)
            add("ask", "sa-given", ns, name)
            add("ask", "pia", ns, name)
            add("ask", "subj", "SA", ns, name)
            add("ask", "subj", "NSGROUP", ns)
            add(SA_NODE, "sa-node", ns, name)
        add("ask", "subj", "EVERYONE")
        _vague_asks(add, ns, name)
    elif kind == "trust_statement":
        name, ref, role_key = f.get("role_name"), f.get("role_ref"), f.get("role_key")
        if _text(name):
            add("offer", "role", name.lower())
        if _text(ref):
            add("offer", "roleref", ref)
        if _text(role_key):
            add("ask", "rolekey", role_key)  # its role's AWS power is the iam_role's (G11)
            # a role is its statements together: a lookup that names one reads them all
            # (link's role index, the graph's role node)
            add("sym", "statements", role_key)
        for arn in f.get("principals_aws") or []:
            chained = link.role_name_from_arn(arn)
            if chained is not None and "*" not in chained:
                add("ask", "role", chained.lower())
    elif kind == "pod_identity_association":
        ns, account = f.get("namespace"), f.get("service_account")
        if _text(ns) and _text(account):
            add("offer", "pia", ns, account)
        elif isinstance(ns, (str, Unknown)) and isinstance(account, (str, Unknown)):
            # what it may be for, as link reads how it is written (L17)
            add("offer", VAGUE_WAY, link.written_target(ns), link.written_target(account))
            add("offer", VAGUE_WAYS)
        _role_asks(add, f.get("role_arn"), f.get("role_ref"))
    elif kind == "instance_metadata":
        _node_records(add, f.get("node_roles"))
    elif kind == "rbac_binding":
        _binding_records(add, f)
    elif kind == "rbac_role":
        _role_records(add, f)
        add("sym", "rules", e.key, e.location.file)
    elif kind == "rbac_rule":
        # a rule belongs to the role of its role_key written around it in its file
        add("sym", "rules", f.get("role_key"), e.location.file)
    elif kind == "identity_mapping":
        _mapping_records(add, e)
    elif kind == "access_policy_association":
        arn, ref = f.get("principal_arn"), f.get("principal_ref")
        if _text(arn):
            add("sym", "ae-arn", arn, link.configuration_of(e))
            cluster = link.cluster_name_of(e)
            if _text(cluster):
                add("sym", "ae-named", arn, cluster)
        if ref is not None and _hashable(ref):
            add("sym", "ae-ref", ref)
    elif kind == "identity_provider":
        cluster = link.cluster_name_of(e)
        add("sym", "ip-d", link.configuration_of(e))
        if _text(cluster):
            add("sym", "ip-c", cluster)
    elif kind == "addon":
        name = f.get("name")
        if _text(name) and name.lower() == "vpc-cni":
            add("ask", "sa", "kube-system", "aws-node")
            add("ask", "pia", "kube-system", "aws-node")
            _vague_asks(add, "kube-system", "aws-node")
    elif kind == "iam_role":
        _iam_role_records(add, e)
    elif kind in ("iam_policy", "iam_policy_attachment"):
        _policy_records(add, e)
    elif kind == "aws_auth_document":
        add("ask", "cluster")  # the scan's only cluster, when it has one (L10)
    elif kind == "cluster":
        add("offer", "cluster")
    thing = live.listing_identity(e)
    if thing is not None:
        add("sym", "listing", *thing)


def _vague_asks(add: Any, namespace: Any, account: Any) -> None:
    """A pod's ask of the pod identity associations whose target is not known that may be
    for its namespace and ServiceAccount (null: one not known, which any may be)."""
    add("ask", VAGUE_ASK, *(v if _text(v) else None for v in (namespace, account)))
    add("ask", VAGUE_ASKERS)


def _role_asks(add: Any, arn: Any, ref: Any) -> None:
    if _text(ref):
        add("ask", "roleref", ref)
    name = link.role_name_from_arn(arn)
    if name is not None and "*" not in name:
        add("ask", "role", name.lower())


def _node_records(add: Any, roles: Any) -> None:
    for item in roles if isinstance(roles, list) else []:
        if not isinstance(item, dict):
            continue
        role = item.get("role")
        if _text(role) and ":" not in role and "/" not in role:
            add("ask", "role", role.lower())
        else:
            _role_asks(add, role, item.get("role_ref"))
        if _text(item.get("role_ref")):
            add("ask", "roleref", item["role_ref"])


def _binding_records(add: Any, f: dict) -> None:
    kind, name = f.get("role_ref_kind"), f.get("role_ref_name")
    if kind == "ClusterRole" and _hashable(name):
        add("ask", "crole", name)
        if isinstance(name, str):  # a built-in role aggregates what the scan labels (L14)
            _builtin_asks(add, [name])
    elif kind == "Role" and _hashable(name) and _hashable(f.get("namespace")):
        add("ask", "nsrole", f.get("namespace"), name)
    for subject in f.get("subjects") or []:
        if not isinstance(subject, dict):
            continue
        subject_kind, subject_name = subject.get("kind"), subject.get("name")
        if not _text(subject_kind) or not _text(subject_name):
            continue
        if subject_kind == "ServiceAccount":
            ns = subject.get("namespace")
            if not ns and f.get("object_kind") == "RoleBinding":
                ns = f.get("namespace")
            if _text(ns) and ns:
                add("offer", "subj", "SA", ns, subject_name)
                add("offer", "subj", "User", f"system:serviceaccount:{ns}:{subject_name}")
        elif subject_kind == "User" and subject_name.startswith("system:serviceaccount:"):
            ns, _, account = subject_name.removeprefix("system:serviceaccount:").partition(":")
            add("offer", "subj", "SA", ns, account)
            add("offer", "subj", "User", subject_name)
        elif subject_kind == "Group" and subject_name in (ACCOUNTS, AUTHENTICATED):
            add("offer", "subj", "EVERYONE")
            add("offer", "subj", "Group", subject_name)
        elif subject_kind == "Group" and subject_name.startswith(ACCOUNTS + ":"):
            add("offer", "subj", "NSGROUP", subject_name.removeprefix(ACCOUNTS + ":"))
            add("offer", "subj", "Group", subject_name)
        else:
            add("offer", "subj", subject_kind, subject_name)
        if (
            subject_kind == "Group"
            and f.get("object_kind") == "ClusterRoleBinding"
            and kind == "ClusterRole"
            and name == "cluster-admin"
        ):
            add("offer", ADMIN_GROUP, subject_name)  # what link's cluster-admin groups read (L9)
            if subject_name != link.MASTERS:
                add("offer", ANY_ADMIN_GROUP)


def _role_records(add: Any, f: dict) -> None:
    from checks.normalize import rbac

    name = f.get("name")
    if f.get("object_kind") != "ClusterRole":
        if _hashable(name) and _hashable(f.get("namespace")):
            add("offer", "nsrole", f.get("namespace"), name)
        return
    if _hashable(name):
        add("offer", "crole", name)
    add("offer", "crole-any")
    for item in _labels(rbac, f.get("labels") or []):
        add("offer", "label", *item)
    if f.get("aggregated") is True:
        for selector in f.get("aggregation_selectors") or []:
            match = selector.get("match_labels") if isinstance(selector, dict) else None
            items = _labels(rbac, match)
            if not items:
                add("ask", "crole-any")  # every ClusterRole is a candidate (L14)
            for item in items:
                add("ask", "label", *item)
            _builtin_asks(add, _builtins_labelled(rbac, items))


def _builtin_asks(add: Any, names: list[str]) -> None:
    """What the built-in aggregated ClusterRoles of `names` select, and what the built-in
    aggregated roles among those select in turn: every ClusterRole of the tree with such a
    label is theirs (not only the nearest copy)."""
    from checks.normalize import rbac

    builtins = rbac.builtin_cluster_roles()
    todo, seen = list(names), set()
    while todo:
        name = todo.pop()
        role = builtins.get(name)
        if name in seen or role is None or role.selectors is None:
            continue
        seen.add(name)
        for selector in role.selectors:
            items = _labels(rbac, selector.get("match_labels"))
            if not items:
                add("ask", "crole-any")
            for item in items:
                add("ask", "label", *item)
            todo.extend(_builtins_labelled(rbac, items))


def _builtins_labelled(rbac: Any, items: list[tuple[str, str]]) -> list[str]:
    """The built-in ClusterRoles that carry one of the labels `items`."""
    wanted = set(items)
    return [
        name
        for name, role in rbac.builtin_cluster_roles().items()
        if wanted.intersection(_labels(rbac, role.labels))
    ]


def _labels(rbac: Any, labels: Any) -> list[tuple[str, str]]:
    try:
        return [(str(k), str(v)) for k, v in rbac.label_map(labels).items()]
    except (TypeError, ValueError, AttributeError):
        return []


def _mapping_records(add: Any, e: Entity) -> None:
    f = e.fields
    arn, ref = f.get("principal_arn"), f.get("principal_ref")
    name = link.role_name_from_arn(arn)
    if name is not None and "*" not in name:
        add("ask", "role", name.lower())
    if _text(ref):
        add("ask", "roleref", ref)
    groups = f.get("groups")
    for group in groups if isinstance(groups, list) else []:
        if _text(group) and group != "system:masters":
            add("ask", ADMIN_GROUP, group)  # link: tree-wide (L9)
            add("ask", "subj", "Group", group)  # the graph: of its cluster (G12)
    _unknown_groups_asks(add, groups)
    add("ask", "subj", "Group", AUTHENTICATED)
    user = f.get("username")
    if _text(user) and "{{" not in user:
        add("ask", "subj", "User", user)
    # the cluster the graph puts it in: named by it (an access entry), else by place
    named = f.get("cluster_name") if f.get("source") == "access_entry" else None
    add(
        "ask",
        IN_CLUSTER,
        "named" if f.get("source") == "access_entry" else "object",
        named if _text(named) else None,
    )
    if f.get("source") != "access_entry":
        return
    cluster = link.cluster_name_of(e)
    if _text(arn):
        add("sym", "ae-arn", arn, link.configuration_of(e))
        if _text(cluster):
            add("sym", "ae-named", arn, cluster)
    if ref is not None and _hashable(ref):
        add("sym", "ae-ref", ref)
    if _text(f.get("address")) and _text(f.get("module_dir")):
        add("sym", "ae-ref", terraform_reference(f["module_dir"], f["address"]))
    add("sym", "ae-d", link.configuration_of(e))
    if _text(cluster):
        add("sym", "ae-c", cluster)


def _unknown_groups_asks(add: Any, groups: Any) -> None:
    """What link reads for a mapping's groups not known (`link._effective_cluster_admin`):
    the known ones of a list partly known, the one group every item of a `for` is, else
    whether any group is bound to cluster-admin."""
    if isinstance(groups, UnknownItems) and isinstance(groups.item, str):
        if groups.item != link.MASTERS:
            add("ask", ADMIN_GROUP, groups.item)
        return
    if isinstance(groups, PartialList):
        for group in groups.known:
            if _text(group) and group != link.MASTERS:
                add("ask", ADMIN_GROUP, group)
    if isinstance(groups, Unknown) or (
        isinstance(groups, list) and any(isinstance(g, Unknown) for g in groups)
    ):
        add("ask", ANY_ADMIN_GROUP)


def _iam_role_records(add: Any, e: Entity) -> None:
    f = e.fields
    if _text(f.get("role_key")):
        add("offer", "rolekey", f["role_key"])
    if _text(f.get("address")) and _text(f.get("module_dir")):
        add("offer", "tfref", terraform_reference(f["module_dir"], f["address"]))
    if _text(f.get("name")):
        add("offer", "iamrole-name", f["name"])
    if f.get("source") == "get-role":
        add("offer", "getrole-dir", link.directory_of(e))


def _policy_records(add: Any, e: Entity) -> None:
    f = e.fields
    kind = e.kind
    if kind == "iam_policy" and f.get("policy_type") == "managed":
        if _text(f.get("arn")):
            add("offer", "policy-arn", f["arn"])
        if _text(f.get("address")) and _text(f.get("module_dir")):
            add("offer", "tfref", terraform_reference(f["module_dir"], f["address"]))
            if _text(f.get("name")):
                add("offer", "policy-mod-name", f["module_dir"], f["name"])
    if kind == "iam_policy_attachment" or f.get("policy_type") == "inline":
        if f.get("role_key") is not None and _hashable(f.get("role_key")):
            add("ask", "rolekey", f["role_key"])
        elif f.get("role_ref") is not None and _hashable(f.get("role_ref")):
            add("ask", "tfref", f["role_ref"])
            if _text(f.get("role_name")):  # a reference not found falls to the name (L7)
                add("ask", "iamrole-name", f["role_name"])
        elif _text(f.get("role_name")):
            add("ask", "iamrole-name", f["role_name"])
        elif f.get("role_name") is None:
            add("ask", "getrole-dir", link.directory_of(e))
    if kind == "iam_policy_attachment":
        if _text(f.get("policy_ref")):
            add("ask", "tfref", f["policy_ref"])
        if _text(f.get("policy_arn")):
            add("ask", "policy-arn", f["policy_arn"])
        if f.get("aws_managed") is False and _text(f.get("policy_name")):
            add("ask", "policy-mod-name", f.get("module_dir"), f["policy_name"])


# ---- summaries ------------------------------------------------------------------------------
@dataclass
class Summary:
    """What the index keeps of one unit (module docstring)."""

    ident: str  # the unit as grouping makes it: its directory and first file
    digest: str  # what its result is filed under in the pack
    files: list[str]  # its files and those its entities are in, as shown
    reads: dict[str, str | None]  # what it read with file() and module listings, digested
    consumed: list[str]  # files it read with file(), as shown
    reached: list[str]  # the directories of other units it read as its own (absolute)
    read_as: tuple[str, str]  # (source, directory): what a module call reaches
    # its records, one a line: role, the place of its file in `files` and of its entity among
    # the unit's kept entities ("file.entity"), key (JSON: no tab or line break),
    # tab-separated (`entity_records_of`): decoded as one string, not a value each
    records: str
    clusters: list[Entity]  # its cluster definitions, as normalize made them
    # (kind, literal cluster name, its place in `listings` or -1) of its naming entities
    named: list[tuple[str, str, int]]
    # of its live exports' entries and associations, (a describe output, what it is about
    # as a key, its literal cluster name): link keeps one of those about one thing (L1)
    listings: list[tuple[bool, str, str | None]]
    vague: int  # its pod identity associations whose target is not known (L17)


LAYOUT = 7  # the shape of the index's entries: an index of another layout is not read


@dataclass
class UnitFacts:
    """What every reduced run reads of a unit the index holds (the index's head keeps it
    for the units with any): what it read, its share of the whole scan's facts (as in its
    `Summary`) and its vague associations."""

    reads: dict[str, str | None]
    consumed: list[str]
    reached: list[str]
    read_as: tuple[str, str]
    clusters: list[Entity]
    named: list[tuple[str, str, int]]
    listings: list[tuple[bool, str, str | None]]
    vague: int


NO_FACTS = UnitFacts({}, [], [], ("", ""), [], [], [], 0)


@dataclass
class IndexHead:
    """The part of the index every reduced run reads. The units are in *slots*, which a
    unit keeps while it is unchanged (the tables name units by slot: a unit added or
    changed rewrites only the buckets of its own keys); each slot's summary is an entry of
    the pack of its own, read when the closure reaches it."""

    layout: int
    salt: str  # the tables' (`checks.cache.Table`), hex
    graph_work: int  # what the scan spent of the budgets that are whole-scan totals
    aggregation_steps: int
    tokens: list[str]  # per slot: its unit's result digest and ident, hashed ("": free)
    entries: list[str]  # per slot: the pack digest of its `Summary`
    # slot (as text) -> its facts, for units with any: read from `fact_parts` entries of
    # their own (`_facts_part`), a slot's by its number, so that a change writes few
    facts: dict[str, UnitFacts]
    names: list[str]  # the files the key table's lines name, by number
    key_parts: int  # how many parts (`checks.cache.Parts`) the key table is cut in
    file_parts: int  # the file table's
    fact_parts: int


@dataclass
class _FactsPart:
    """The facts of the slots of one part of an index's head (`IndexHead.fact_parts`)."""

    facts: dict[str, UnitFacts]


# about as many keys in each part of a table (`checks.cache.Parts`), and units' facts in
# each part of the head's: a change writes the parts of its keys, a few kilobytes each
KEYS_PER_PART = 128
FACTS_PER_PART = 16
MAX_PARTS = 1 << 16  # more in a head is a head no scan wrote (each part is looked at)


def _part_entry(name: str, table: str, part: int) -> str:
    """The key of part `part` of the index `name`'s `table` ("keys", "files", "facts")."""
    return f"{name}\0{table}\0{part}"


def _facts_part(facts: dict[str, UnitFacts], part: int, count: int) -> bytes:
    """The entry of part `part` of `facts`, of `count` parts (a slot's by its number)."""
    mine = {slot: f for slot, f in facts.items() if int(slot) % count == part}
    return encode(_FactsPart(mine), _FactsPart)


def _head_entry(head: IndexHead) -> bytes:
    """The head's own entry: all but its facts."""
    from dataclasses import replace

    return encode(replace(head, facts={}), IndexHead)


def _count_parts(head: IndexHead) -> dict[str, int]:
    return {"keys": head.key_parts, "files": head.file_parts, "facts": head.fact_parts}


class HookIndex:
    """The index as the pack holds it (`load`): the head, decoded; the key table (every key
    -> its holders, one a line: the role's place in `ROLES`, the slot, the file's number
    in the head's `names`, the entity's position among its unit's kept entities,
    space-separated) and the file table (every file a unit holds or
    reads with file() -> slots), read a bucket per key asked; summaries read per slot."""

    def __init__(self, pack: Pack, name: str, head: IndexHead) -> None:
        self.pack, self.name, self.head = pack, name, head
        self.salt = bytes.fromhex(head.salt)
        self.graph_work, self.aggregation_steps = head.graph_work, head.aggregation_steps
        self._summaries: dict[int, Summary] = {}
        self._tables: dict[str, Parts] = {}

    def _table(self, table: str) -> Parts:
        """The table `table` ("keys" or "files"), each part read when first asked;
        ValueError when the pack does not hold it."""
        from checks.cache import Parts

        found = self._tables.get(table)
        if found is None:
            count = _count_parts(self.head)[table]
            found = self._tables[table] = Parts(
                lambda part: self.pack.raw(_part_entry(self.name, table, part)), count, self.salt
            )
        return found

    def summary(self, slot: int) -> Summary:
        """The summary in `slot`; ValueError when the pack does not hold it."""
        found = self._summaries.get(slot)
        if found is None:
            found = self._summaries[slot] = _summary_in(self.pack, self.head, slot)
        return found

    def holders(self, key: str) -> list[tuple[str, int, str, int]]:
        """The holders of `key`: (role, slot, file as shown, the entity's position among
        its unit's kept entities); ValueError for a line the index cannot have written."""
        # every number of every line at once, as C reads them
        numbers = list(map(int, self._table("keys").text(key).split()))
        if len(numbers) % 4 or (numbers and min(numbers) < 0):
            raise ValueError("not a key's holders")
        # the roles, slots, files and entities in four runs, looked up in C
        roles = map(ROLES.__getitem__, numbers[0::4])
        files = map(self.head.names.__getitem__, numbers[2::4])
        return list(zip(roles, numbers[1::4], files, numbers[3::4], strict=True))

    def holding(self, files: set[str]) -> set[int]:
        """The slots of the units whose files, or files read with file(), include one of
        `files` (as shown)."""
        table = self._table("files")
        return {_slot(slot) for file in files for slot in table.get(file)}

    def keep(self) -> None:
        """Keep the whole index in the next pack, unread."""
        from checks.cache import key_digest

        for key in _part_keys(self.name, self.head):
            self.pack.keep(key_digest(key))
        for entry in self.head.entries:
            if entry:
                self.pack.keep(entry)


@dataclass
class _Stored:
    """What a unit's entry holds of its `Summary`: the rest is its facts, in the head."""

    ident: str
    digest: str
    files: list[str]
    records: str


def _summary_in(pack: Pack, head: IndexHead, slot: int) -> Summary:
    """The summary of the unit in `slot` of the index `head`; ValueError when the pack does
    not hold it."""
    entry = head.entries[slot]
    stored = pack.get_filed(entry, _Stored) if entry else None
    if not isinstance(stored, _Stored):
        raise ValueError("an index's summary is missing")
    facts = head.facts.get(str(slot), NO_FACTS)
    return Summary(
        stored.ident,
        stored.digest,
        stored.files,
        facts.reads,
        facts.consumed,
        facts.reached,
        facts.read_as,
        stored.records,
        facts.clusters,
        facts.named,
        facts.listings,
        facts.vague,
    )


def _slot(text: str) -> int:
    """A slot as a table writes it; ValueError for anything else."""
    if not text.isdigit() or not text.isascii():
        raise ValueError("not a slot")
    return int(text)


def load(pack: Pack, name: str) -> HookIndex | None:
    """The index filed under `name` (`index_key`), or None (none, or of another layout);
    ValueError when its tables are missing or not tables."""
    head = pack.get(name + "\0head", IndexHead)
    if not isinstance(head, IndexHead) or head.layout != LAYOUT:
        return None
    if len(head.entries) != len(head.tokens) or head.facts:
        raise ValueError("an index's head does not match itself")
    counts = (head.key_parts, head.file_parts, head.fact_parts)
    if min(counts) < 1 or max(counts) > MAX_PARTS:
        raise ValueError("an index's table of no parts, or of more than can be")
    for part in range(head.fact_parts):
        held = pack.get(_part_entry(name, "facts", part), _FactsPart)
        if not isinstance(held, _FactsPart):
            raise ValueError("a part of an index's facts is missing")
        if any(_slot(slot) % head.fact_parts != part for slot in held.facts):
            raise ValueError("an index's facts in the wrong part")
        head.facts.update(held.facts)
    return HookIndex(pack, name, head)


def index_key(opts: Options, params: dict | None) -> str:
    """What the index is filed under: the options every unit's result depends on, and the
    rules' parameters (the graph reads verdicts made with them)."""
    from checks.runner import _options_key

    said = json.dumps(params or {}, sort_keys=True, default=repr)
    return f"hook-index\0{_options_key(opts)}\0{said}"


def ident(unit: Unit) -> str:
    return f"{unit.directory}\0{unit.files[0].key}"


def summarize(unit: Unit, result: UnitResult, digest: str | None, whole: Whole) -> Summary:
    """A unit's summary from its result before link, as the `whole` scan keeps it."""
    entities, _problems = kept(unit, result, whole)
    files = {f.display for f in unit.files}
    records: list[tuple[str, str, str, int]] = []
    clusters: list[Entity] = []
    named: list[tuple[str, str, int]] = []
    listings: list[tuple[bool, str, str | None]] = []
    for position, e in enumerate(entities):
        file = e.location.file
        files.add(file)
        records.extend((key, role, file, position) for key, role in entity_records(e))
        if e.kind == "cluster":
            clusters.append(graph.cluster_fact(e))  # as it is before link
        name = e.fields.get("cluster_name")
        thing = live.listing_identity(e)
        if thing is not None:
            said = name if isinstance(name, str) else None
            listings.append((e.origin == live.ORIGIN, _key(*thing), said))
        if e.kind in graph.NAMING_KINDS and isinstance(name, str):
            named.append((e.kind, name, len(listings) - 1 if thing is not None else -1))
    return Summary(
        ident=ident(unit),
        digest=digest or "",
        files=sorted(files),
        reads=dict(result.reads),
        consumed=sorted(result.consumed),
        reached=sorted(result.reached),
        read_as=read_as(unit) if unit.module is not None else ("", ""),
        records=_encoded(records, sorted(files)),
        clusters=clusters,
        named=named,
        listings=listings,
        vague=sum(1 for e in entities if _vague(e)),
    )


ROLES = ("offer", "ask", "sym", SA_NODE)


def _encoded(records: list[tuple[str, str, str, int]], files: list[str]) -> str:
    """Records as lines `role, place, key`; the place is the file's in `files` and the
    entity's among the unit's kept entities, dot-separated (`entity_records_of`)."""
    place = {file: i for i, file in enumerate(files)}
    return "\n".join(
        f"{role}\t{place[file]}.{entity}\t{key}"
        for key, role, file, entity in dict.fromkeys(records)
    )


def _place(files: list[str], place: str) -> tuple[str, int]:
    """(the file, the entity's position among its unit's kept entities) of a record's place;
    raises ValueError or IndexError for what `_encoded` cannot have written."""
    file, _, entity = place.partition(".")
    return files[int(file)], int(entity)


# the lines of a summary's records whose keys `Closure._cluster_of` reads, and the entity of
# each: most holders of a mapped group's key are looked at for their cluster alone, so their
# units' other records are not parsed (the place's file is the entity's: one per entity)
_CLUSTER_TYPES = "|".join(map(re.escape, (IN_CLUSTER, PLACED, *COPIES)))
_CLUSTER_LINES = re.compile(rf'^([^\t\n]*)\t\d+\.(\d+)\t(\["(?:{_CLUSTER_TYPES})",[^\n]*)$', re.M)


def cluster_records_of(summary: Summary) -> dict[int, list[tuple[str, str]]]:
    """The records of a summary that place its entities in a cluster (`_CLUSTER_LINES`), as
    (key, role) by the entity's position; raises ValueError for a role `summarize` cannot
    have written."""
    found: dict[int, list[tuple[str, str]]] = {}
    for role, entity, key in _CLUSTER_LINES.findall(summary.records):
        if role not in ROLES:
            raise ValueError("not a record")
        found.setdefault(int(entity), []).append((key, role))
    return found


def entity_records_of(summary: Summary) -> list[tuple[str, str, str, int]]:
    """A summary's records as (key, role, file, the entity's position among the unit's kept
    entities); raises ValueError for what `summarize` cannot have written (a tampered
    index)."""
    if not summary.records:
        return []
    files = summary.files
    found = []
    for line in summary.records.split("\n"):
        role, place, key = line.split("\t")
        if role not in ROLES or not key.startswith('["'):
            raise ValueError("not a record")
        found.append((key, role, *_place(files, place)))
    return found


def _vague(e: Entity) -> bool:
    """A pod identity association whose namespace or ServiceAccount is not known (link's
    `_PodIdentities` counts them)."""
    if e.kind != "pod_identity_association":
        return False
    ns, account = e.fields.get("namespace"), e.fields.get("service_account")
    known = isinstance(ns, str) and isinstance(account, str)
    return not known and isinstance(ns, (str, Unknown)) and isinstance(account, (str, Unknown))


def _token(digest: str, unit_ident: str) -> str:
    """What the index knows a unit by: its result's digest and its ident, hashed."""
    said = f"{digest}\0{unit_ident}".encode("utf-8", "surrogatepass")
    return hashlib.blake2b(said, digest_size=12).hexdigest()


def _uncached_token(summary: Summary) -> str:
    """What the index knows a unit whose result is not cached by (a file of it could not be
    read): its summary, hashed, marked so that no unit of a reduced run matches it (those
    are matched by their result's digest, `_token`), and a full scan that summarizes it
    alike keeps the index."""
    said = encode(summary, Summary)
    return "x" + hashlib.blake2b(said, digest_size=12).hexdigest()


def _consumed(whole: Whole) -> str:
    """The files read with file() in the `whole` scan, hashed (what `_share` takes)."""
    said = "\0".join(sorted(whole.consumed)).encode("utf-8", "surrogatepass")
    return hashlib.blake2b(said, digest_size=8).hexdigest()


def _summary_entry(token: str, unit: Unit, whole: Whole, consumed: str) -> str:
    """The pack digest a unit's summary is filed under: its token, and what of the `whole`
    scan it depends on (`_share`)."""
    from checks.cache import key_digest

    return key_digest(f"hook-summary\0{token}\0{_share(unit, whole, consumed)}")


def _share(unit: Unit, whole: Whole, consumed: str) -> str:
    """What of the `whole` scan a unit's summary depends on (`kept`): whether a root calls
    its module, and the files read with file() (`consumed`: their digest) when it is no
    module."""
    called = bool(unit.directory) and read_as(unit) in whole.called
    return f"{int(called)}{consumed if unit.module is None else ''}"


def _unit_facts(s: Summary) -> UnitFacts | None:
    """What the index's head keeps of a unit: None when it is all empty."""
    if not (s.reads or _has_facts(s) or s.vague):
        return None
    called_as = s.read_as if s.reached else ("", "")  # what reaches no module is not called
    return UnitFacts(
        s.reads, s.consumed, s.reached, called_as, s.clusters, s.named, s.listings, s.vague
    )


_ROLE_NUMBER = {role: number for number, role in enumerate(ROLES)}


def _lines(
    slot: int, s: Summary, names: dict[str, int]
) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """A unit's lines in the key table (`HookIndex`; `names`: each file's number, new ones
    added) and in the file table (file -> slot); ValueError for records `summarize` cannot
    have written."""
    keys: dict[str, list[str]] = defaultdict(list)
    for key, role, file, entity in entity_records_of(s):
        name = names.setdefault(file, len(names))
        keys[key].append(f"{_ROLE_NUMBER[role]} {slot} {name} {entity}")
    files = {file: [str(slot)] for file in {*s.files, *s.consumed}}
    return keys, files


def put(
    pack: Pack,
    opts: Options,
    params: dict | None,
    units: list[Unit],
    found: Results,
    whole: Whole,
    head: IndexHead | None = None,
) -> Callable[[link.LinkWork, graph.AccessGraph], None]:
    """Keep the index of a whole scan in the next pack, from the units' results and
    entities as they are before link; then `Pack.save(pending=True)` the units' results
    before link, and give what this returns the scan's budgets' totals once link and the
    graph are done: it finishes the pack. The summaries of the units the
    index holds alike are kept unread; the others are made here, and encoded, with the
    tables, by the pack's writer (`Pack.put_later`); an index alike is only kept. `head`:
    the index's head, when a reduced run read it."""
    from checks.cache import key_digest

    name = index_key(opts, params)
    if head is None:
        try:
            index = load(pack, name)
        except (ValueError, IndexError, TypeError):
            index = None
        head = index.head if index is not None else None
    old = head
    old_slot = {token: slot for slot, token in enumerate(old.tokens) if token} if old else {}
    consumed = _consumed(whole)
    tokens, entries, slots = [], [], []
    fresh: dict[int, Summary] = {}
    for i, (unit, r, digest) in enumerate(zip(units, found.results, found.digests, strict=True)):
        if digest is None:
            fresh[i] = summarize(unit, r, digest, whole)
            token = _uncached_token(fresh[i])
        else:
            token = _token(digest, ident(unit))
        entry = _summary_entry(token, unit, whole, consumed)
        slot = old_slot.get(token)
        if slot is not None and old.entries[slot] == entry and pack.keep(entry):  # type: ignore[union-attr]
            del old_slot[token]
            fresh.pop(i, None)
        else:
            fresh[i] = fresh.get(i) or summarize(unit, r, digest, whole)
            slot = None
        tokens.append(token)
        entries.append(entry)
        slots.append(slot)
    gone = sorted(old_slot.values())  # the slots of units changed or gone
    alike = old is not None and not fresh and not gone
    if alike:
        for key in _part_keys(name, old):  # type: ignore[arg-type]
            pack.keep(key_digest(key))
    was = (old.graph_work, old.aggregation_steps) if old is not None else None

    def made(late: bytes) -> Iterator[tuple[str, bytes]]:
        totals = tuple(json.loads(late))
        if not (alike and totals == was):
            yield from _index_entries(pack, name, old, totals, tokens, entries, slots, fresh, gone)

    # the writer may be forked before link, and is given the budgets' totals once they are
    # known (`Pack.finish`)
    pack.put_later(made)

    def budgets(work: link.LinkWork, access: graph.AccessGraph) -> None:
        totals = (access.work, work.aggregation_steps)
        if alike and totals == was:
            pack.drop_later(made)
        pack.finish(json.dumps(totals).encode())

    return budgets


def _index_entries(
    pack: Pack,
    name: str,
    old: IndexHead | None,
    totals: tuple,
    tokens: list[str],
    entries: list[str],
    slots: list[int | None],
    fresh: dict[int, Summary],
    gone: list[int],
) -> Iterator[tuple[str, bytes]]:
    """The index's entries, made by the pack's writer: the head, the tables and the fresh
    summaries. Units in `slots` (by position: its slot in the `old` index, or None when
    its summary is `fresh`) keep their slot; the tables of `old` are changed where the
    units `gone` from its slots and the fresh ones are, or made anew when those are many,
    or the old tables or summaries cannot be read."""
    from checks.cache import Parts, key_digest

    try:
        if old is None or len(fresh) + len(gone) > max(MAX_CHANGED_UNITS, len(tokens) // 4):
            raise ValueError("made anew")
        head, parts = _changed_index(pack, name, old, tokens, entries, slots, fresh, gone)
        for key in _part_keys(name, head):  # the parts unchanged, as they are
            if key not in parts:
                parts[key] = pack.raw(key)
                if parts[key] is None:
                    raise ValueError("a part of the index is missing")
    except (ValueError, IndexError, TypeError, KeyError):
        salt = os.urandom(16)
        names: dict[str, int] = {}
        head = IndexHead(LAYOUT, salt.hex(), 0, 0, tokens, entries, {}, [], 1, 1, 1)
        table: dict[str, list[str]] = defaultdict(list)
        holding: dict[str, list[str]] = defaultdict(list)
        for slot in range(len(tokens)):
            summary = fresh.get(slot)
            if summary is None:
                try:
                    summary = _summary_in(pack, old, slots[slot])  # type: ignore[arg-type]
                except (ValueError, IndexError, TypeError, AttributeError):
                    return  # a summary lost: no index, the next run makes one
            facts = _unit_facts(summary)
            if facts is not None:
                head.facts[str(slot)] = facts
            keys_of, files_of = _lines(slot, summary, names)
            for key, lines in keys_of.items():
                table[key].extend(lines)
            for file, lines in files_of.items():
                holding[file].extend(lines)
        keys = Parts.made(table, salt, KEYS_PER_PART)
        files = Parts.made(holding, salt, KEYS_PER_PART)
        head.names = list(names)
        head.key_parts, head.file_parts = len(keys), len(files)
        head.fact_parts = Parts.count_for(len(head.facts), FACTS_PER_PART)
        parts = {_part_entry(name, "keys", n): blob for n, blob in enumerate(keys)}
        parts.update((_part_entry(name, "files", n), blob) for n, blob in enumerate(files))
        parts.update(
            (_part_entry(name, "facts", n), _facts_part(head.facts, n, head.fact_parts))
            for n in range(head.fact_parts)
        )
    head.graph_work, head.aggregation_steps = totals
    yield key_digest(name + "\0head"), _head_entry(head)
    for key, blob in parts.items():
        yield key_digest(key), blob
    for i, s in fresh.items():
        yield entries[i], encode(_Stored(s.ident, s.digest, s.files, s.records), _Stored)


def _part_keys(name: str, head: IndexHead) -> list[str]:
    """The keys of every part of the index `name` of `head`."""
    return [
        _part_entry(name, table, part)
        for table, count in _count_parts(head).items()
        for part in range(count)
    ]


def _changed_index(
    pack: Pack,
    name: str,
    old: IndexHead,
    tokens: list[str],
    entries: list[str],
    slots: list[int | None],
    fresh: dict[int, Summary],
    gone: list[int],
) -> tuple[IndexHead, dict[str, bytes]]:
    """`_index_entries` of an index whose units mostly kept their slots: the head, and the
    parts of its tables and facts that changed, by key."""
    from checks.cache import Parts

    salt = bytes.fromhex(old.salt)
    free = sorted(set(gone) | {slot for slot, token in enumerate(old.tokens) if not token})
    width = len(old.tokens)
    by_slot = {slot: i for i, slot in enumerate(slots) if slot is not None}
    for i in fresh:
        slot = free.pop(0) if free else width
        width = max(width, slot + 1)
        by_slot[slot] = i
    if width - len(tokens) > len(tokens) // 4:
        raise ValueError("too many free slots")
    new_tokens, new_entries = [""] * width, [""] * width
    facts = {}
    for slot, i in by_slot.items():
        new_tokens[slot], new_entries[slot] = tokens[i], entries[i]
        if i in fresh:
            unit_facts = _unit_facts(fresh[i])
        else:
            unit_facts = old.facts.get(str(slot))
        if unit_facts is not None:
            facts[str(slot)] = unit_facts
    names = {name: number for number, name in enumerate(old.names)}
    if len(names) != len(old.names):
        raise ValueError("a file named twice")
    dropped_keys: set[str] = set()
    dropped_files: set[str] = set()
    for slot in gone:
        keys_of, files_of = _lines(slot, _summary_in(pack, old, slot), names)
        dropped_keys |= keys_of.keys()
        dropped_files |= files_of.keys()
    added_keys: dict[str, list[str]] = defaultdict(list)
    added_files: dict[str, list[str]] = defaultdict(list)
    for slot, i in by_slot.items():
        if i in fresh:
            keys_of, files_of = _lines(slot, fresh[i], names)
            for key, lines in keys_of.items():
                added_keys[key].extend(lines)
            for file, lines in files_of.items():
                added_files[file].extend(lines)
    leaving = {str(slot) for slot in gone}

    def table(part: str) -> Parts:
        count = _count_parts(old)[part]
        return Parts(lambda n: pack.raw(_part_entry(name, part, n)), count, salt)

    keys = table("keys").changed(
        dropped_keys, lambda line: line.split(" ")[1] not in leaving, added_keys
    )
    files = table("files").changed(dropped_files, lambda line: line not in leaving, added_files)
    if len(names) > 2 * len(old.names) + MAX_CHANGED_UNITS:
        raise ValueError("too many files no unit names")
    head = IndexHead(
        LAYOUT,
        old.salt,
        0,
        0,
        new_tokens,
        new_entries,
        facts,
        list(names),
        old.key_parts,
        old.file_parts,
        old.fact_parts,
    )
    # the facts of the slots of the units fresh or gone that had any, or have, changed:
    # their parts only are written again
    count = old.fact_parts
    touched = {slot % count for slot in gone if str(slot) in old.facts}
    touched.update(slot % count for slot, i in by_slot.items() if i in fresh and str(slot) in facts)
    parts = {_part_entry(name, "keys", n): blob for n, blob in keys.items()}
    parts.update((_part_entry(name, "files", n), blob) for n, blob in files.items())
    parts.update(
        (_part_entry(name, "facts", n), _facts_part(facts, n, count)) for n in sorted(touched)
    )
    return head, parts


def whole_of(units: list[Summary] | list[UnitFacts]) -> Whole:
    """The whole scan's `Whole` from its units' summaries."""
    consumed = set().union(*(s.consumed for s in units))
    reaching = [(s.read_as, set(s.reached)) for s in units if s.reached]
    return Whole(consumed, called_of(reaching))


def cluster_facts(units: list[Summary | UnitFacts]) -> graph.ClusterFacts:
    """The whole scan's cluster facts from its units' summaries, in scan order."""
    definitions = [c for s in units for c in s.clusters]
    places = [(u, i) for u, s in enumerate(units) for i in range(len(s.listings))]
    dropped = link.superseded_listings([said for s in units for said in s.listings])
    gone = {places[i] for i in dropped}
    named = [
        name
        for kind in graph.NAMING_KINDS
        for u, s in enumerate(units)
        for k, name, listed in s.named
        if k == kind and (u, listed) not in gone
    ]
    return graph.ClusterFacts(definitions, named)


def _facts(s: Summary | UnitFacts) -> tuple:
    """A unit's share of the whole scan's facts, comparable."""
    return (
        s.consumed,
        s.reached,
        s.read_as if s.reached else ("", ""),
        [encode(c, Entity) for c in s.clusters],
        s.named,
        s.listings,
    )


def _has_facts(s: Summary | UnitFacts) -> bool:
    return bool(s.consumed or s.reached or s.clusters or s.named or s.listings)


# ---- the closure ----------------------------------------------------------------------------
def _prefixes(file: str, memo: dict[str, list[str]] = {}) -> list[str]:  # noqa: B006 - a memo
    """The leading directories of a file, as prefixes of its path: `["", "a/", "a/b/"]` for
    `a/b/f`; the one at index d is shared by files that share d directories."""
    found = memo.get(file)
    if found is None:
        parts = file.split("/")[:-1]
        found = memo[file] = ["/".join(parts[:d]) + "/" * (d > 0) for d in range(len(parts) + 1)]
    return found


# an entity of the scan: (its unit's position in scan order, its position among the unit's
# kept entities); a changed unit's offers when the index was written are one node, STALE
Node = tuple[int, int]
STALE = -1


def _may_meet(a: str, b: str) -> bool:
    """Whether the graph may connect a subject of cluster `a` to a binding of cluster `b`
    (`graph._Bindings._named`: of one cluster, or either one not known)."""
    return a == b or graph.UNKNOWN_CLUSTER in (a, b)


def _may_match(targets: list, namespace: Any, account: Any) -> bool:
    """Whether an association written as `targets` (`VAGUE_WAY`) may be for a pod of
    `namespace` and `account` (None: not known, any may be)."""
    return all(
        name is None or link.may_be(tuple(target), name)
        for target, name in zip(targets, (namespace, account), strict=True)
    )


class _Spread:
    """The offers of one key by place: for a file, the deepest of its directories that holds
    any, and whose they are (what link's `Places.nearest` walks, by entity)."""

    def __init__(self, offers: list[tuple[Node, str]]) -> None:
        self.under: dict[str, set[Node]] = {}
        self._nearest: dict[tuple, tuple[int, set[Node]]] = {}
        for node, file in offers:
            for prefix in _prefixes(file):
                self.under.setdefault(prefix, set()).add(node)

    def nearest(self, file: str, besides: Node | None = None) -> tuple[int, set[Node]]:
        """(the depth of the nearest offers to `file` of entities other than `besides`, the
        entities of all offers that deep: -1 and none when there is none)."""
        prefixes = _prefixes(file)
        memo = (prefixes[-1], besides)  # its folder: the file's name does not count
        found = self._nearest.get(memo)
        if found is None:
            found = self._nearest[memo] = self._find_nearest(prefixes, besides)
        return found

    def _find_nearest(self, prefixes: list[str], besides: Node | None) -> tuple[int, set[Node]]:
        for depth in range(len(prefixes) - 1, -1, -1):
            nodes = self.under.get(prefixes[depth])
            if nodes and (besides is None or len(nodes) > 1 or besides not in nodes):
                return depth, nodes
        return -1, set()

    def may_pick(self, asker: str, offer: str, node: Node) -> bool:
        """Whether `node`'s offer at `offer` may be the nearest of the key to `asker`."""
        return link.shared_directories(asker, offer) >= self.nearest(asker, node)[0]

    def picking(
        self, askers: dict[str, tuple[str, set[Node]]], offer: str, node: Node
    ) -> set[Node]:
        """Of `askers` (folder -> a file of it, the entities asking there), the entities that
        may find `node`'s offer at `offer` the nearest."""
        found: set[Node] = set()
        for file, nodes in askers.values():
            if self.may_pick(file, offer, node):
                found |= nodes
        return found


class Closure:
    """The records of every entity (`Node`), read as the closure asks for them, and the
    closure of a start set of entities. The index's key table holds the records of the units
    unchanged since it was written (`origin`: each of its units' position now, or -1); a
    changed unit's records are its new ones, and the offers it held when the index was
    written (`stale`, the node (unit, STALE)): those count as its offers backward, never as an
    offer that hides another one forward."""

    def __init__(
        self,
        index: HookIndex,
        origin: list[int],
        summary: list[Summary],
        changed: dict[int, list[tuple[str, str, str, int]]],
        stale: dict[int, list[tuple[str, str, str, int]]],
        clusters: Any = None,
    ) -> None:
        self.index, self.origin, self.summary = index, origin, summary
        # the whole scan's clusters as the graph finds them (`graph.Clusters`), or None:
        # every cluster may be any other
        self.clusters = clusters
        self._clusters_of: dict[Node, str] = {}
        self._unit_clusters: dict[int, dict[int, list[tuple[str, str]]]] = {}
        # the keys of changed units' records: role -> [(node, file)], and stale offers
        self._new: dict[str, dict[str, list[tuple[Node, str]]]] = defaultdict(
            lambda: defaultdict(list)
        )
        self.stale_offers: dict[str, list[tuple[Node, str]]] = defaultdict(list)
        self._of_node: dict[Node, list[tuple[str, str, str]]] = {}
        self._nodes: dict[int, list[Node]] = {}
        for u, held in changed.items():
            self._load(u, held)
            for key, role, file, entity in dict.fromkeys(held):
                self._new[key][role].append(((u, entity), file))
        for u, held in stale.items():
            for key, role, file, _entity in dict.fromkeys(held):
                if role in ("offer", "sym"):
                    self.stale_offers[key].append(((u, STALE), file))
                    self._of_node.setdefault((u, STALE), []).append((key, "stale", file))
            if (u, STALE) in self._of_node and u in self._nodes:
                self._nodes[u].append((u, STALE))
        self._keys: dict[str, dict[str, list[tuple[Node, str]]]] = {}
        self._modes: dict[str, tuple[str, str | None]] = {}
        self._dependents: dict[tuple, set[Node]] = {}
        self._node_files: dict[Node, set[str]] = {}
        self._spreads: dict[str, _Spread] = {}
        self._folders: dict[str, dict[str, tuple[str, set]]] = {}
        self._node_folders: dict[Node, list[str]] = {}
        self._vague_ways: dict[str, list] | None = None
        # what `_copies` has looked at: nodes, their files and folders, keys -> folders done
        self._copy_state: dict[str, Any] = {
            "nodes": set(),
            "files": set(),
            "folders": {},
            "keys": {},
        }

    def _load(self, u: int, held: list[tuple[str, str, str, int]]) -> None:
        by_node: dict[Node, list[tuple[str, str, str]]] = {}
        for key, role, file, entity in dict.fromkeys(held):
            by_node.setdefault((u, entity), []).append((key, role, file))
        self._of_node.update(by_node)
        self._nodes[u] = list(by_node)

    def nodes(self, u: int) -> list[Node]:
        """A unit's entities that hold records (every kept entity holds its copy key), and
        its stale offers when it changed."""
        found = self._nodes.get(u)
        if found is None:
            self._load(u, entity_records_of(self.summary[u]))
            found = self._nodes[u]
        return found

    def of_node(self, node: Node) -> list[tuple[str, str, str]]:
        """An entity's records (key, role, file)."""
        if node[0] not in self._nodes:
            self.nodes(node[0])
        return self._of_node.get(node, [])

    def roles(self, key: str) -> dict[str, list[tuple[Node, str]]]:
        """The holders of `key` by role: (node, file)."""
        found = self._keys.get(key)
        if found is not None:
            return found
        found = defaultdict(list)
        for role, slot, file, entity in self.index.holders(key):
            if role not in ROLES:
                raise ValueError("not a record")
            now = self.origin[slot]
            if now >= 0:
                found[role].append(((now, entity), file))
        for role, held in self._new.get(key, {}).items():
            found[role].extend(held)
        self._keys[key] = found
        return found

    def _spread(self, key: str) -> _Spread:
        found = self._spreads.get(key)
        if found is None:
            found = self._spreads[key] = _Spread(self._offers(key))
        return found

    def _mode(self, key: str) -> tuple[str, str | None]:
        """(how a key's offers are looked up, the base key of a back key)."""
        found = self._modes.get(key)
        if found is None:
            kind = _type(key)
            if kind == BACK:
                base = json.loads(key)[1]
                found = (BACK + MODES.get(_type(base), ALL), base)
            else:
                found = (MODES.get(kind, ALL), None)
            self._modes[key] = found
        return found

    def _offers(self, key: str) -> list[tuple[Node, str]]:
        roles = self.roles(key)
        return roles.get("offer", []) + roles.get("sym", []) + self._sa_nodes(key, roles)

    def _askers(self, key: str) -> list[tuple[Node, str]]:
        roles = self.roles(key)
        return roles.get("ask", []) + roles.get("sym", []) + self._sa_nodes(key, roles)

    def _sa_nodes(self, key: str, roles: dict) -> list[tuple[Node, str]]:
        """The pods naming one ServiceAccount no file holds share its node when two or more
        associations could be its nearest (G15)."""
        held = roles.get(SA_NODE)
        if not held:
            return []
        parts = json.loads(key)
        pia = self.roles(_key("pia", *parts[1:]))
        return held if len(pia.get("offer", [])) >= 2 else []

    def needs(self, key: str, file: str, node: Node) -> set[Node]:
        """Forward: the entities whose offers of `key` an asker at `file` may read."""
        kind = _type(key)
        if kind == VAGUE_ASK:
            _, namespace, account = json.loads(key)
            return {
                holder
                for way, targets in self._ways().items()
                if _may_match(targets, namespace, account)
                for holder, _ in self._offers(way) + self.stale_offers.get(way, [])
            }
        if kind in VAGUE_LISTS or kind in (IN_CLUSTER, PLACED):
            return set()
        if self.clusters is not None and key.startswith(GRAPH_SUBJECTS):
            # the bindings of a mapped group or user that may be of the mapping's cluster
            mine = self._cluster_of(node, file)
            return {
                holder
                for holder, at in self._offers(key)
                if _may_meet(mine, self._cluster_of(holder, at))
            } | {holder for holder, _ in self.stale_offers.get(key, ())}
        mode, base = self._mode(key)
        if mode == BACK + NEAR:
            # an offerer depends on the askers that pick it: those to which it may be nearest
            askers = self._by_folder(base, self._askers(base))
            return self._spread(base).picking(askers, file, node)
        offers = self._offers(key)
        stale = {u for u, _ in self.stale_offers.get(key, ())}
        if mode == NEAR:
            return self._spread(key).nearest(file)[1] | stale
        if mode == SINGLE:
            found = {u for u, _ in offers}
            return found if len(offers) == 1 else set()
        return {u for u, _ in offers} | stale

    def dependents(self, key: str, node: Node, file: str) -> set[Node]:
        """Backward: the entities whose results may change with `node`'s offer of `key` at
        `file`."""
        memo = (key, node, file)
        found = self._dependents.get(memo)
        if found is None:
            found = self._dependents[memo] = self._find_dependents(key, node, file)
        return found

    def _find_dependents(self, key: str, node: Node, file: str) -> set[Node]:
        kind = _type(key)
        if kind == VAGUE_WAY:
            targets = json.loads(key)[1:]
            return {
                asker
                for asker, _ in self.roles(_key(VAGUE_ASKERS)).get("ask", [])
                for held, role, _file in self.of_node(asker)
                if role == "ask"
                and _type(held) == VAGUE_ASK
                and _may_match(targets, *json.loads(held)[1:])
            }
        if kind in VAGUE_LISTS:
            return set()
        if self.clusters is not None and key.startswith(GRAPH_SUBJECTS):
            mine = self._cluster_of(node, file)
            return {
                asker
                for asker, at in self._askers(key)
                if _may_meet(self._cluster_of(asker, at), mine)
            }
        mode, base = self._mode(key)
        if mode == BACK + NEAR:
            # the asker holding a back key reads the nearest offerers of the base key
            return self.needs(base, file, node)
        askers = self._askers(key)
        if mode == SINGLE and len(self._offers(key)) != 1:
            return set()  # no link is made; the offers changing is the facts changing
        if mode != NEAR:
            return {u for u, _ in askers}
        return self._spread(key).picking(self._by_folder(key, askers), file, node)

    def _cluster_of(self, node: Node, file: str) -> str:
        """The cluster the graph puts an entity in (`graph.Clusters`): by the cluster name it
        holds (IN_CLUSTER "named"), else by its place (PLACED: the configuration and module
        calls that made it, when it has them); a changed unit's old offers may be of any."""
        found = self._clusters_of.get(node)
        if found is not None:
            return found
        how, name, key, placed = "object", None, None, (None, None)
        for held, role in self._cluster_records(node):
            kind = _type(held)
            if kind == IN_CLUSTER:
                how, name = json.loads(held)[1:]
            elif kind == PLACED:
                placed = json.loads(held)[1:]
            elif kind in COPIES and role == "sym":
                key = json.loads(held)[1]
        if node[1] == STALE or key is None:
            found = graph.UNKNOWN_CLUSTER
        else:
            entity = Entity(kind="", key=key, origin="", location=Location(file, 1, 1))
            entity.fields["cluster_name"] = name
            entity.fields["module_dir"], entity.fields["call_path"] = placed
            if how == "named":
                found = self.clusters.of_named(entity)
            else:
                found = self.clusters.of_object(entity)
        self._clusters_of[node] = found
        return found

    def _cluster_records(self, node: Node) -> list[tuple[str, str]]:
        """The records (key, role) `_cluster_of` reads of an entity: from its unit's records
        when they are loaded, else from the lines of those kinds alone (`cluster_records_of`)."""
        u, entity = node
        if u in self._nodes or entity == STALE:
            return [(key, role) for key, role, _file in self.of_node(node)]
        by_entity = self._unit_clusters.get(u)
        if by_entity is None:
            by_entity = self._unit_clusters[u] = cluster_records_of(self.summary[u])
        return by_entity.get(entity, [])

    def _ways(self) -> dict[str, list]:
        """The ways the vague pod identity associations are written (their keys), those
        held when the index was written by units changed since included: key -> targets."""
        if self._vague_ways is None:
            holders = self._offers(_key(VAGUE_WAYS)) + self.stale_offers.get(_key(VAGUE_WAYS), [])
            self._vague_ways = {
                key: json.loads(key)[1:]
                for holder, _ in holders
                for key, _role, _file in self.of_node(holder)
                if _type(key) == VAGUE_WAY
            }
        return self._vague_ways

    def _by_folder(self, key: str, held: list[tuple[Node, str]]) -> dict[str, tuple[str, set]]:
        """`held` (the askers of `key`) by folder: a file of it and the entities there."""
        found = self._folders.get(key)
        if found is None:
            found = self._folders[key] = {}
            for u, at in held:
                folder = at.rsplit("/", 1)[0]
                entry = found.get(folder)
                if entry is None:
                    found[folder] = (at, {u})
                else:
                    entry[1].add(u)
        return found

    def _backward(self, start: set[Node]) -> set[Node]:
        """`start` and every entity that depends on one of them."""
        dependents = set(start)
        todo = list(start)
        while todo:
            u = todo.pop()
            for key, role, file in self.of_node(u):
                if role not in ("offer", "sym", "stale", SA_NODE) or _type(key) in COPIES:
                    continue
                more = self.dependents(key, u, file) - dependents
                dependents |= more
                todo.extend(more)
        return dependents

    def _copy_dependents(self, key: str, node: Node, file: str) -> set[Node]:
        """The entities that may link an entity of key `key` and find `node`'s copy at `file`
        the nearest of its copies (link's `LinkTargets`): a link to a key was made by a
        lookup that picked one of its copies, so the linker depends on some holder."""
        memo = (key, node, file)
        found = self._dependents.get(memo)
        if found is not None:
            return found
        copies = self._spread(key)
        found = set()
        holders = {h for h, _ in self.roles(key).get("sym", []) if h != node}
        for d in self._backward(holders) if holders else ():
            if any(copies.may_pick(at, file, node) for at in self._folders_of(d)):
                found.add(d)
        self._dependents[memo] = found
        return found

    def _first_copy_dependents(self, key: str, node: Node) -> set[Node]:
        """When `node` is the first copy of its key in scan order, what depends on the other
        copies: the graph places their hops at the first (an RBAC rule's, G5), so a finding
        on what reaches them points at a file reported."""
        holders = {h for h, _ in self.roles(key).get("sym", [])}
        if len(holders) < 2 or min(holders) != node:
            return set()
        return self._backward(holders - {node})

    def _folders_of(self, node: Node) -> list[str]:
        """A file of each folder of the entity's files."""
        found = self._node_folders.get(node)
        if found is None:
            by = {file.rsplit("/", 1)[0]: file for file in self._files(node)}
            found = self._node_folders[node] = list(by.values())
        return found

    def _files(self, node: Node) -> set[str]:
        found = self._node_files.get(node)
        if found is None:
            found = self._node_files[node] = {file for _, _, file in self.of_node(node)}
        return found

    def close(self, start: set[Node], reported: frozenset[str]) -> tuple[set[Node], set[Node]]:
        """(the closure of `start`, the entities of the units of the files `reported`, and
        its dependents alone). Dependents: the entities that depend on one of `start`, and
        those that may link
        the key of an entity in a `reported` file and find that copy the nearest (a link's
        place is reported: U7, U8), whose dependents need not follow: the places of their
        findings' hops are where entities are, not where links lead. Then everything those
        read; every copy of their entities' keys included (which copy a link names, the
        first and the last copy of a key: G5, L4, U10)."""
        dependents = self._backward(start)
        for u in start:
            for key, role, file in self.of_node(u):
                if role == "sym" and file in reported and _type(key) in COPIES:
                    dependents |= self._copy_dependents(key, u, file)
                    dependents |= self._first_copy_dependents(key, u)
        need = set(dependents)
        todo = list(dependents)
        while todo:
            while todo:
                u = todo.pop()
                for key, role, file in self.of_node(u):
                    if role not in ("ask", "sym", SA_NODE) or _type(key) == COPY:
                        continue
                    more = self.needs(key, file, u) - need
                    need |= more
                    todo.extend(more)
            more = self._copies(need) - need
            need |= more
            todo.extend(more)
        return need, dependents

    def _copies(self, need: set[Node]) -> set[Node]:
        """The copies of the keys of `need`'s entities a scan of `need` would miss: the first
        and the last of each key in scan order (G5, U10), and, for each file of `need`, the
        first of the copies nearest to it (what a link from there names, L4: the copies of
        one key share their overlay, so the nearest are by place, the same file first).
        Called again as `need` grows: each key and folder is looked at once."""
        state = self._copy_state
        for u in need - state["nodes"]:
            state["nodes"].add(u)
            for file in self._files(u):
                state["files"].add(file)
                state["folders"].setdefault(file.rsplit("/", 1)[0], file)
            for key, role, _file in self.of_node(u):
                if role == "sym" and _type(key) == COPY and key not in state["keys"]:
                    state["keys"][key] = set()
        found: set[Node] = set()
        files, folders = state["files"], state["folders"]
        for key, done in state["keys"].items():
            if done is None:
                continue
            held = self.roles(key).get("sym", [])
            holders = {h for h, _ in held}
            if len(holders) < 2:
                state["keys"][key] = None  # one holder: nothing else to name
                continue
            if not done:
                found |= {min(holders), max(holders)}
            found |= {h for h, at in held if at in files}
            spread = self._spread(key)
            for folder, file in folders.items():
                if folder not in done:
                    done.add(folder)
                    found.add(min(spread.nearest(file)[1]))
        return found


def start_units(
    units: list[Unit],
    summary: list[Summary | UnitFacts],
    reported: set[str],
    keys: dict[str, str],
    holding: set[int],
) -> set[int]:
    """The units holding, reading or consuming a file of `reported` (as shown; `keys`: the
    absolute path of each), and the callers of its module up to the roots. `summary`: what
    each unit read and reached; `holding`: the units whose files or files read with file()
    include one of `reported` (the index's file table)."""
    absolute = {keys[f] for f in reported if f in keys}
    listings = {os.path.dirname(a) + MODULE_LISTING for a in absolute}
    callers: dict[str, set[int]] = defaultdict(set)
    start: set[int] = set(holding)
    for i, (unit, s) in enumerate(zip(units, summary, strict=True)):
        if any(f.display in reported for f in unit.files):
            start.add(i)
        elif s.reads and any(path in absolute or path in listings for path in s.reads):
            start.add(i)
        for directory in s.reached:
            callers[directory].add(i)
    todo = {os.path.dirname(a) for a in absolute}
    seen: set[str] = set()
    while todo:
        directory = todo.pop()
        seen.add(directory)
        for i in callers.get(directory, ()):
            start.add(i)
            if units[i].directory and units[i].directory not in seen:
                todo.add(units[i].directory)
    return start


# ---- the reduced run ------------------------------------------------------------------------
def _malformed(pack: Pack, opts: Options, params: dict | None) -> Fallback:
    """The fall-back from an index that is not what a scan wrote: the full scan writes it
    anew, none of it kept."""
    pack.forget(index_key(opts, params) + "\0head")
    return Fallback("the index is malformed")


class _Current:
    """The summary of each unit by its position now: a changed unit's made anew, another's
    read from the index when asked (`Closure.of_unit`)."""

    def __init__(self, index: HookIndex, slots: list[int | None], mine: dict[int, Summary]):
        self.index, self.slots, self.mine = index, slots, mine

    def __len__(self) -> int:
        return len(self.slots)

    def __getitem__(self, position: int) -> Summary:
        found = self.mine.get(position)
        if found is None:
            found = self.index.summary(self.slots[position])  # type: ignore[arg-type]
        return found


def _of_closure(
    entities: list[Entity], read: list[tuple[int, Unit, UnitResult]], whole: Whole, need: set
) -> list[Entity]:
    """Of the entities of the units `read` (as `assemble` lays them out: unit by unit, each
    unit's kept entities in order), those of the closure `need`: every lookup of one of them
    is a record whose offerers are in the closure too, so the others change nothing of
    theirs, and would be linked against a part of the tree."""
    chosen: list[Entity] = []
    at = 0
    for position, unit, result in read:
        own = len(kept(unit, result, whole)[0])
        chosen.extend(e for i, e in enumerate(entities[at : at + own]) if (position, i) in need)
        at += own
    return chosen


@dataclass
class Reduced:
    """What the reduced run gives `checks.scan.build`, and what it read."""

    entities: list[Entity]
    problems: list
    suppressions: dict[str, list]
    access: graph.AccessGraph
    units: int  # the closure's units
    of: int  # the tree's units


def run_reduced(
    files: list,
    opts: Options,
    jobs: int | None,
    pack: Pack,
    params: dict | None,
    reported: set[str],
    verdicts: Any,
    concerned: frozenset[str] = frozenset(),
) -> Reduced:
    """The linked model of the closure of `reported` and `concerned` (files whose findings
    count, files whose errors count too), walked as the access graph, with the whole scan's
    facts from the index; raises `Fallback` when the index cannot vouch for it.
    `verdicts(entities)`: the graph rules' verdicts (`checks.scan.graph_verdicts`)."""
    from checks.cache import key_digest
    from checks.runner import _options_key, units_of

    try:
        index = load(pack, index_key(opts, params))
    except (ValueError, IndexError, TypeError):
        raise _malformed(pack, opts, params) from None
    if index is None:
        raise Fallback("no index for these options")
    units = units_of(files, opts, pack)
    options = _options_key(opts)
    keys = [unit_key(unit, opts, pack, options) for unit in units]
    head = index.head
    prepared = Prepared(units, keys, head, {})
    by_token = {token: slot for slot, token in enumerate(head.tokens) if token}
    slots: list[int | None] = []
    digests: list[str | None] = []
    for unit, key in zip(units, keys, strict=True):
        digest = key_digest(key) if key is not None else None
        slot = by_token.get(_token(digest, ident(unit))) if digest is not None else None
        facts = head.facts.get(str(slot), NO_FACTS)
        if slot is not None and facts.reads and not reads_unchanged(facts.reads, pack):
            slot = None
        slots.append(slot)
        digests.append(digest)
    changed = [i for i, slot in enumerate(slots) if slot is None]
    if len(changed) > MAX_CHANGED_UNITS:
        raise Fallback(f"{len(changed)} units changed since the index was written", prepared)
    matched = set(slots)
    stale = [slot for slot, token in enumerate(head.tokens) if token and slot not in matched]
    held = [head.facts[str(slot)] for slot in range(len(head.tokens)) if str(slot) in head.facts]
    whole = whole_of(held)
    found = results_of([units[i] for i in changed], opts, jobs, pack)
    fresh = list(found.fresh)
    prepared.made.update(
        (i, r) for i, r in zip(changed, found.results, strict=True) if r.cache_key is not None
    )
    mine = {}
    for i, r, digest in zip(changed, found.results, found.digests, strict=True):
        mine[i] = summarize(units[i], r, digest, whole)
    light = [
        mine[i] if slot is None else head.facts.get(str(slot), NO_FACTS)
        for i, slot in enumerate(slots)
    ]
    try:
        gone = [index.summary(slot) for slot in stale]
    except (ValueError, IndexError):
        raise _malformed(pack, opts, params) from None
    if [_facts(s) for s in gone if _has_facts(s)] != [
        _facts(s) for s in mine.values() if _has_facts(s)
    ]:
        raise Fallback("a changed unit changes the whole scan's facts", prepared)
    if sum(s.vague for s in light) > link.MAX_VAGUE_ASSOCIATIONS:
        raise Fallback("past the budget of vague pod identity associations", prepared)
    facts = cluster_facts(light)
    position = {ident(units[i]): i for i in changed}
    origin = [-1] * len(head.tokens)
    for i, slot in enumerate(slots):
        if slot is not None:
            origin[slot] = i
    shown = {f.display: f.key for u in units for f in u.files}
    asked = reported | concerned
    try:
        old = {position[s.ident]: entity_records_of(s) for s in gone if s.ident in position}
        summary = _Current(index, slots, mine)
        changes = {i: entity_records_of(s) for i, s in mine.items()}
        closure = Closure(index, origin, summary, changes, old, graph.Clusters(facts))
        holding = {origin[slot] for slot in index.holding(asked) if origin[slot] >= 0}
        holding |= {i for i, s in mine.items() if not asked.isdisjoint([*s.files, *s.consumed])}
        # a changed unit starts the closure too: what depends on it is read again, so the
        # searches whose work may differ from the index's run here (the budgets' bound)
        starting = start_units(units, light, asked, shown, holding) | set(changed)
        start = {node for u in starting for node in closure.nodes(u)}
        need, _dependents = closure.close(start, frozenset(reported))
    except (ValueError, IndexError, TypeError, KeyError):
        raise _malformed(pack, opts, params) from None
    # a start unit is read even with no entity kept: its problems (a called module's errors)
    chosen = sorted(starting | {u for u, _ in need})
    by_position = dict(zip(changed, found.results, strict=True))
    rest = [i for i in chosen if i not in by_position]
    more = results_of([units[i] for i in rest], opts, jobs, pack)
    fresh += more.fresh
    by_position.update(zip(rest, more.results, strict=True))
    for i, digest in enumerate(digests):
        if i not in by_position and digest is not None:
            pack.keep(digest)  # unread, and still this tree's
    index.keep()
    entities, problems, suppressions = assemble(
        [units[i] for i in chosen],
        [by_position[i] for i in chosen],
        whole,
        found.parallel or more.parallel,
    )
    entities = _of_closure(entities, [(i, units[i], by_position[i]) for i in chosen], whole, need)
    work = link.link(entities, facts.definitions)
    access = graph.build(entities, verdicts(entities), facts)
    # the whole scan's totals now are at most the index's plus this run's: a unit outside
    # the closure depends on no changed unit, so its searches and roles take what they took
    # when the index was written; under the limits, no search or role of the whole scan is
    # cut short, nor of this one
    if access.work + index.graph_work > graph.MAX_GRAPH_WORK:
        raise Fallback("past the graph's budget with the rest of the tree")
    if work.aggregation_steps + index.aggregation_steps > link.MAX_AGGREGATION_STEPS:
        raise Fallback("past the aggregation budget with the rest of the tree")
    # a unit that cannot be cached (a file of it cannot be read) is made again at every run:
    # when the index holds its summary alike, it has nothing to keep
    alike = {i: by_token.get(_uncached_token(s)) for i, s in mine.items() if digests[i] is None}
    if None in map(alike.get, mine) or not set(alike.values()).issuperset(stale):
        # the totals of the next run's whole scan are at most this index's plus what this
        # run's closure took (it holds every unit changed, and what depends on them)
        totals = (index.graph_work + access.work, index.aggregation_steps + work.aggregation_steps)
        refresh(pack, index, units, slots, digests, mine, stale, whole, totals)
    save(pack, fresh)
    return Reduced(entities, problems, suppressions, access, len(chosen), len(units))


def refresh(
    pack: Pack,
    index: HookIndex,
    units: list[Unit],
    slots: list[int | None],
    digests: list[str | None],
    mine: dict[int, Summary],
    stale: list[int],
    whole: Whole,
    totals: tuple[int, int],
) -> None:
    """Keep in the next pack the index with the units a reduced run found changed (by
    position, their summaries `mine`) in place of those of its `stale` slots, the others
    in theirs, and the budgets' `totals`: the next run finds them unchanged, and starts
    its closure from what changed since. Nothing is kept when the index's parts cannot be
    read (the next run reads the same as this one)."""
    from checks.cache import key_digest

    head = index.head
    consumed = _consumed(whole)
    tokens, entries = [], []
    for i, (unit, slot, digest) in enumerate(zip(units, slots, digests, strict=True)):
        if slot is not None:
            tokens.append(head.tokens[slot])
            entries.append(head.entries[slot])
            continue
        token = _token(digest, ident(unit)) if digest is not None else _uncached_token(mine[i])
        entries.append(_summary_entry(token, unit, whole, consumed))
        tokens.append(token)
    try:
        head, parts = _changed_index(
            pack, index.name, head, tokens, entries, slots, mine, sorted(stale)
        )
    except (ValueError, IndexError, TypeError, KeyError):
        return
    head.graph_work, head.aggregation_steps = totals
    pack.put_filed(key_digest(index.name + "\0head"), _head_entry(head))
    for key, blob in parts.items():
        pack.put_filed(key_digest(key), blob)
    for i, s in mine.items():
        pack.put_filed(entries[i], encode(_Stored(s.ident, s.digest, s.files, s.records), _Stored))
