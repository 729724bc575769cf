"""EKS access entries and their access policy associations, from wherever they are written as
a mapping: terraform-aws-modules/eks `access_entries`, eksctl `accessConfig.accessEntries`.
(The `aws_eks_access_entry` resource is read attribute by attribute in terraform.py.)"""

from __future__ import annotations

import re
from typing import Any

from checks import kinds
from checks.model import (
    Entity,
    LDict,
    Location,
    Partial,
    Problem,
    Unknown,
    UnknownItems,
    key_span,
)
from checks.parse import written_wrongly, wrong_kind

# our field -> the input's key, per spelling; `collection`: what holds entries and policies
TERRAFORM_MODULE = {
    "collection": "a map",
    "principal_arn": "principal_arn",
    "type": "type",
    "username": "user_name",
    "groups": "kubernetes_groups",
    "policies": "policy_associations",
    "policy_arn": "policy_arn",
    "scope": "access_scope",
}
EKSCTL = {
    "collection": "a list",
    "principal_arn": "principalARN",
    "type": "type",
    "username": "username",
    "groups": "kubernetesGroups",
    "policies": "accessPolicies",
    "policy_arn": "policyARN",
    "scope": "accessScope",
}
NOT_KNOWN = "(not known)"  # the label of an entry or a policy association not known


_INSTANCE_PATH = re.compile(r'^(?:\.\./)*(?:module\.[\w-]+(?:\[(?:"[^"]*"|[^\]]*)\])?\.)*')
# an ARN written as text whose last part, a policy's name, is written out (other parts, such
# as the partition, may be known only after apply)
# an IAM ARN written with its partition or account known only after apply (`arn:aws:iam::
# ${data.aws_caller_identity.current.account_id}:user/x`): neither can hold the `:` that would
# move the kind the ARN writes
_KIND_WRITTEN = re.compile(
    r"arn:(?:[\w-]+|\$\{[^{}]*\}):iam::(?:\d{12}|\$\{[^{}]*\}):(?P<kind>role|user)/[^\s]"
)
_NAMED_LAST = re.compile(r"arn:.*/(?P<name>[A-Za-z0-9_+=,.@-]+)", re.DOTALL)


def policy_name(arn: Any) -> Any:
    """The access policy an ARN names: its last `/` part, also when only that part and not the
    partition is known (`arn:${data.aws_partition.current.partition}:eks::aws:
    cluster-access-policy/AmazonEKSClusterAdminPolicy`); Unknown when the name itself is."""
    if isinstance(arn, str):
        return arn.rsplit("/", 1)[-1]
    match = _NAMED_LAST.fullmatch(arn.text) if isinstance(arn, Unknown) else None
    return match.group("name") if match else arn


def principal_type(arn: Any) -> Any:
    """`role` or `user` from an IAM ARN (`...:role/x`, `...:user/x`), Unknown otherwise."""
    if isinstance(arn, str):
        resource = arn.split(":", 5)[-1]
        kind = resource.split("/", 1)[0]
        if kind in ("role", "user"):
            return kind
        return Unknown(f"principal {arn} is neither a role nor a user", arn)
    if isinstance(arn, Unknown):
        written = _KIND_WRITTEN.match(arn.text)
        if written and not isinstance(arn, (Partial, UnknownItems)):
            return written.group("kind")  # the account is not known, the kind is written
        return referred_principal_type(arn) or Unknown(arn.reason, arn.text)
    return None


def referred_principal_type(value: Unknown) -> str | None:
    """`role` or `user` when a value not yet known is an attribute of a Terraform IAM role or
    user, managed or looked up (`aws_iam_role.x.arn`, `data.aws_iam_user.x.arn`): AWS
    computes its ARN, but it names that role or user, never a whole account; else None."""
    # the object's own address, after the module instances and callers it is reached by
    ref = _INSTANCE_PATH.sub("", (value.ref or "").rsplit(":", 1)[-1]).removeprefix("data.")
    if ref.startswith("aws_iam_role."):
        return "role"
    if ref.startswith("aws_iam_user."):
        return "user"
    return None


def _items(container: Any) -> list[tuple[str, Any, tuple[int, int] | None]]:
    """(label, item, lines) of a list (`[0]`) or a map (`["key"]`); of one a `for` made over
    a collection not known, the item that stands for each it may hold; of a collection not
    known (`var.entries`), one item not known that stands for each it may hold, and of a list
    or map known in part, its known items and such an item for each part of the rest."""
    if isinstance(container, UnknownItems):
        container = container.representative()
    elif isinstance(container, Partial):
        found = _items(container.known)
        for part in container.rest:
            if isinstance(part, UnknownItems) and part.key is None:  # after the known ones
                found.append((f"[{len(found)}]", part.item, None))
            elif isinstance(part, UnknownItems):
                found.extend(_items(part))
            else:
                rest = Unknown(part.reason, part.text, part.ref)
                found.append((f'["{NOT_KNOWN}"]', rest, None))
        labels: set[str] = set()
        for n, (label, item, span) in enumerate(found):
            while label in labels:  # two keys written alike: a label of its own
                label = f'{label[:-2]} ({n})"]'
            labels.add(label)
            found[n] = (label, item, span)
        return found
    elif isinstance(container, Unknown):
        return [(f'["{NOT_KNOWN}"]', container, None)]
    if isinstance(container, dict):
        return [
            (f'["{k}"]', v, container.key_lines.get(k) if isinstance(container, LDict) else None)
            for k, v in container.items()
        ]
    if isinstance(container, list):
        spans = getattr(container, "item_lines", [])
        return [
            (f"[{i}]", v, spans[i] if i < len(spans) and spans[i][0] else None)
            for i, v in enumerate(container)
        ]
    return []


def _wrong_kind(value: Any, kind: type | tuple[type, ...]) -> bool:
    """Whether a value written is known and not of `kind` (absent, None, is not)."""
    return value is not None and not isinstance(value, (kind, Unknown))


def entries(
    container: Any,
    names: dict[str, str],
    key_prefix: str,
    origin: str,
    file: str,
    default_span: tuple[int, int],
    cluster_name: Any,
    shown: str,
    no_policies_for: tuple[str, ...] = (),
) -> tuple[list[Entity], list[Problem]]:
    """identity_mapping and access_policy_association entities of a list or map of entries,
    written inside the definition of the cluster named `cluster_name`; the policies of an
    entry whose type is in `no_policies_for` are not associated (EKS gives node entries
    none, and the modules skip them). Entries, an entry's policies, a policy or its scope
    not known are entries and associations whose parts are not known (`_items`). What is
    written in the wrong kind (an entry or a policy that is not a mapping, groups that are
    not a list...) is a problem named as `shown` names the container; the entry or policy is
    left out, a field so written not known."""
    out: list[Entity] = []
    problems: list[Problem] = []

    def wrong(where: str, value: Any, expected: str, span: tuple[int, int] | None) -> None:
        problems.append(
            Problem(file, wrong_kind(where, value, expected), (span or default_span)[0])
        )

    collection = names["collection"]
    # eksctl reads lists only; a Terraform module's `for` reads a map or a list
    holders: tuple[type, ...] = (list,) if collection == "a list" else (dict, list)
    if _wrong_kind(container, holders):
        wrong(shown, container, f"{collection} of access entries", default_span)
        container = None
    entry_keys = tuple(names[k] for k in ("principal_arn", "type", "username", "groups"))
    policy_keys = (names["policy_arn"], names["scope"])
    for label, entry, span in _items(container):
        if isinstance(entry, Unknown):
            entry = dict.fromkeys((*entry_keys, names["policies"]), entry)  # each part not known
        if not isinstance(entry, dict):
            wrong(f"{shown}{label}", entry, "an access entry (a mapping)", span)
            continue
        e = Entity(
            "identity_mapping",
            f"{key_prefix}{label}",
            origin,
            Location(file, *(span or default_span)),
        )
        arn = entry.get(names["principal_arn"])
        e.set("address", None)
        e.set("module_dir", None)
        e.set("resource_type", None)
        e.set("source", "access_entry")
        e.set("map", None)
        e.set("cluster_name", cluster_name)
        e.set("principal_arn", arn, span=key_span(entry, names["principal_arn"]))
        e.set("principal_type", principal_type(arn))
        e.set("account", None)
        e.set("principal_ref", None)
        if names["type"] in entry:
            e.set("entry_type", entry[names["type"]])
        else:
            kinds.set_default(e, "entry_type")
        e.set("username", entry.get(names["username"]))
        if names["groups"] in entry:
            groups = entry[names["groups"]]
            groups_span = key_span(entry, names["groups"])
            if groups is None:
                groups = []
            elif _wrong_kind(groups, list):
                where = f"{shown}{label}.{names['groups']}"
                wrong(where, groups, "a list of group names", groups_span or span)
                groups = written_wrongly(where)
            e.set("groups", groups, span=groups_span)
        else:
            kinds.set_default(e, "groups")
        e.set("role_name", None)
        e.set("role_path", None)
        e.set("problems", [])
        out.append(e)
        if e.fields["entry_type"] in no_policies_for:
            continue
        policies = entry.get(names["policies"])
        # policies not known are where they are written, else where the entry is
        policies_span = (
            key_span(entry, names["policies"]) if isinstance(policies, Unknown) else None
        )
        policies_shown = f"{shown}{label}.{names['policies']}"
        if _wrong_kind(policies, holders):
            where = key_span(entry, names["policies"]) or span
            wrong(policies_shown, policies, f"{collection} of access policies", where)
            policies = None
        for plabel, policy, pspan in _items(policies):
            if isinstance(policy, Unknown):
                policy = dict.fromkeys(policy_keys, policy)  # its policy and scope not known
            if not isinstance(policy, dict):
                where = pspan or policies_span or span
                wrong(f"{policies_shown}{plabel}", policy, "an access policy (a mapping)", where)
                continue
            a = Entity(
                "access_policy_association",
                f"{e.key}.{names['policies']}{plabel}",
                origin,
                Location(file, *(pspan or policies_span or span or default_span)),
            )
            policy_arn = policy.get(names["policy_arn"])
            scope = policy.get(names["scope"])
            a.set("address", None)
            a.set("module_dir", None)
            a.set("resource_type", None)
            a.set("cluster_name", cluster_name)
            a.set("principal_arn", arn)
            a.set("principal_ref", None)
            a.set("policy_arn", policy_arn, span=key_span(policy, names["policy_arn"]))
            a.set(
                "policy_name",
                policy_name(policy_arn),
                span=a.field_lines.get("policy_arn"),
            )
            if _wrong_kind(scope, dict):
                where = f"{policies_shown}{plabel}.{names['scope']}"
                scope_span = key_span(policy, names["scope"]) or pspan or span
                wrong(where, scope, "an access scope (a mapping)", scope_span)
                scope = written_wrongly(where)
            if isinstance(scope, Unknown):  # cluster-wide or not, whatever it holds is not known
                a.set("scope_type", scope, span=key_span(policy, names["scope"]))
                a.set("scope_namespaces", scope)
            else:
                a.set(
                    "scope_type",
                    scope.get("type") if isinstance(scope, dict) else None,
                    span=key_span(scope, "type"),
                )
                if isinstance(scope, dict) and "namespaces" in scope:
                    a.set("scope_namespaces", scope["namespaces"])
                else:
                    kinds.set_default(a, "scope_namespaces")
            a.links["access_entry"] = [e.key]
            out.append(a)
    return out, problems
