"""Link: one pass that resolves references between entities and sets the fields that depend
on more than one entity. Each link is recorded by entity key in `Entity.links`, so the model
JSON carries it for OPA/Rego users, and rules can point at the other side (`related`).

- workload -> ServiceAccount (same namespace): the effective token automount
- ServiceAccounts and pod identity associations: whether a `default` ServiceAccount gets a role
- ServiceAccount `eks.amazonaws.com/role-arn` -> the role's web-identity trust (EKS701)
- pod identity association -> the role's trust (EKS702)
- identity mapping groups -> ClusterRoleBindings to cluster-admin (EKS703)
- access policy association -> its access entry
"""

from __future__ import annotations

from typing import Any

from checks.model import Entity, Unknown, wildcard_match
from checks.normalize.iam import base_operator

POD_IDENTITY_SERVICE = "pods.eks.amazonaws.com"


def link(entities: list[Entity]) -> None:
    """Resolve references in place. Entities of each kind are indexed once."""
    by_kind: dict[str, list[Entity]] = {}
    for e in entities:
        by_kind.setdefault(e.kind, []).append(e)
    accounts: dict[tuple, list[Entity]] = {}
    for e in by_kind.get("service_account", []):
        accounts.setdefault((e.fields["namespace"], e.fields["name"]), []).append(e)
    for e in by_kind.get("workload", []):
        _effective_automount(e, accounts)
    roles = _RoleIndex(by_kind.get("trust_statement", []))
    for e in by_kind.get("service_account", []):
        _default_service_account_role(e)
        _irsa(e, roles)
    for e in by_kind.get("pod_identity_association", []):
        _default_service_account_role(e)
        _pod_identity(e, roles)
    admin_bindings = _cluster_admin_bindings(by_kind.get("rbac_binding", []))
    for e in by_kind.get("identity_mapping", []):
        _effective_cluster_admin(e, admin_bindings)
    _aws_auth_ignored(by_kind.get("aws_auth_document", []), by_kind.get("cluster", []))
    _access_associations(
        by_kind.get("access_policy_association", []), by_kind.get("identity_mapping", [])
    )


# ---- workload -> ServiceAccount ------------------------------------------------------------
def _dirs(path: str, memo: dict[str, list[str]] = {}) -> list[str]:  # noqa: B006 - a memo
    found = memo.get(path)
    if found is None:
        found = memo[path] = path.split("/")[:-1]
    return found


def _closeness(a: str, b: str) -> int:
    """How near two files are: shared leading path components, plus one for the same file."""
    if a == b:
        return 1_000
    shared = 0
    for x, y in zip(_dirs(a), _dirs(b), strict=False):
        if x != y:
            break
        shared += 1
    return shared


def nearest(entity: Entity, candidates: list[Entity]) -> list[Entity]:
    """Of objects that share a name (environments, overlays, copies), those nearest to
    `entity` in the tree: the same file, else the deepest shared directory."""
    if len(candidates) <= 1:
        return list(candidates)
    file = entity.location.file
    scores = [_closeness(file, c.location.file) for c in candidates]
    best = max(scores)
    return [c for c, score in zip(candidates, scores, strict=True) if score == best]


def _effective_automount(workload: Entity, accounts: dict) -> None:
    ns = workload.fields["namespace"]
    sa_name = workload.fields["service_account_name"]
    sa = next(iter(nearest(workload, accounts.get((ns, sa_name), []))), None)
    if sa is not None:
        workload.links["service_account"] = [sa.key]
    pod = workload.fields.get("automount")
    if pod is not None:
        value = "true" if pod else "false"
        workload.set("effective_automount", pod)
        workload.set("automount_source", f"the pod spec sets automountServiceAccountToken: {value}")
        workload.field_lines["effective_automount"] = workload.span("automount")
        return
    where = f"ServiceAccount {ns}/{sa_name}"
    span = workload.span("service_account_name")
    if "service_account_name" not in workload.field_lines:
        span = workload.field_lines.get("pod_spec", span)
    workload.field_lines["effective_automount"] = span
    if sa is None:
        workload.set("effective_automount", True)
        workload.set(
            "automount_source",
            f"{where} is not in the scanned files and Kubernetes mounts the token by default",
        )
        return
    sa_value = sa.fields.get("automount")
    at = f"{sa.location.file}:{sa.location.start_line}"
    if sa_value is False:
        workload.set("effective_automount", False)
        workload.set("automount_source", f"{where} ({at}) sets automountServiceAccountToken: false")
    else:
        workload.set("effective_automount", True)
        said = (
            "sets automountServiceAccountToken: true"
            if sa_value
            else "does not set automountServiceAccountToken: false"
        )
        workload.set("automount_source", f"{where} ({at}) {said}")


# ---- roles ---------------------------------------------------------------------------------
def role_name_from_arn(arn: Any) -> str | None:
    """`arn:aws:iam::123:role/path/Name` -> `Name` (IAM matches roles by name, paths aside)."""
    if not isinstance(arn, str) or ":role/" not in arn or "${" in arn or "{{" in arn:
        return None
    return arn.rsplit("/", 1)[-1] or None


class _RoleIndex:
    """Trust statements grouped by the role they belong to: by name and by Terraform address."""

    def __init__(self, statements: list[Entity]) -> None:
        self.by_name: dict[str, list[Entity]] = {}
        self.by_ref: dict[str, list[Entity]] = {}
        for s in statements:
            name = s.fields.get("role_name")
            if isinstance(name, str):
                self.by_name.setdefault(name, []).append(s)
            ref = s.fields.get("role_ref")
            if isinstance(ref, str):
                self.by_ref.setdefault(ref, []).append(s)

    def find(self, near: Entity, arn: Any, ref: Any = None) -> list[Entity]:
        """The trust statements of the role `arn` (or Terraform `ref`) names; of several roles
        with that name (one per environment), the one nearest to `near`."""
        if isinstance(ref, str) and ref in self.by_ref:
            statements = self.by_ref[ref]
        else:
            name = role_name_from_arn(arn)
            statements = self.by_name.get(name, []) if name else []
        roles: dict[str, list[Entity]] = {}
        for s in statements:
            roles.setdefault(s.key.rsplit("/statement[", 1)[0], []).append(s)
        if len(roles) <= 1:
            return statements
        firsts = nearest(near, [group[0] for group in roles.values()])
        return roles[firsts[0].key.rsplit("/statement[", 1)[0]]


def _default_service_account_role(entity: Entity) -> None:
    """A ServiceAccount named `default` that carries a role, or a pod identity association
    for ServiceAccount `default`: every pod of the namespace that names no ServiceAccount
    gets the role."""
    if entity.kind == "service_account":
        gives: Any = entity.fields["name"] == "default" and entity.fields["role_arn"] is not None
    else:
        target = entity.fields["service_account"]
        gives = target if isinstance(target, Unknown) else target == "default"
    entity.set("gives_role_to_default_service_account", gives)


def _irsa(sa: Entity, roles: _RoleIndex) -> None:
    arn = sa.fields.get("role_arn")
    statements = roles.find(sa, arn)
    if not statements:
        # the role is not in the scan: nothing to compare
        for name in ("irsa_role_name", "irsa_subject", "irsa_trust_admits"):
            sa.set(name, None)
        return
    subject = f"system:serviceaccount:{sa.fields['namespace']}:{sa.fields['name']}"
    web = [s for s in statements if _grants(s, "sts:AssumeRoleWithWebIdentity")]
    sa.links["irsa_role_trust"] = [s.key for s in statements]
    sa.set("irsa_role_name", role_name_from_arn(arn))
    sa.set("irsa_subject", subject)
    verdicts = [admits_subject(s, subject) for s in web]
    if any(v is True for v in verdicts):
        admits: Any = True
        sa.links["irsa_trust_admitting"] = [
            s.key for s, v in zip(web, verdicts, strict=True) if v is True
        ]
    elif any(isinstance(v, Unknown) for v in verdicts):
        admits = next(v for v in verdicts if isinstance(v, Unknown))
    else:
        admits = False
    sa.set("irsa_trust_admits", admits, span=sa.field_lines.get("role_arn"))


def _grants(statement: Entity, action: str) -> bool:
    granted = statement.fields.get("granted_actions")
    return isinstance(granted, list) and action in granted


def admits_subject(statement: Entity, subject: str) -> Any:
    """Does a web-identity trust statement let `subject` assume the role? Every `:sub`
    condition must hold (operators are ANDed); within one, any value may match (ORed)."""
    conditions = statement.fields.get("conditions")
    if isinstance(conditions, Unknown):
        return conditions
    for cond in conditions or []:
        if not cond["key"].endswith(":sub"):
            continue
        op = base_operator(cond["operator"])
        values = cond["values"]
        unknown = next((v for v in values if isinstance(v, Unknown)), None)
        matched = any(
            _subject_matches(op, str(v), subject) for v in values if not isinstance(v, Unknown)
        )
        negated = op.startswith("stringnot") or op.startswith("arnnot")
        if negated:
            if matched:
                return False
        elif not matched:
            if unknown is not None:
                return Unknown(unknown.reason, unknown.text)
            return False
    return True


def _subject_matches(op: str, pattern: str, subject: str) -> bool:
    if op.endswith("ignorecase"):
        return pattern.lower() == subject.lower()
    if "like" in op:
        # IAM wildcards: * any run of characters, ? one character; nothing else is special
        return wildcard_match(pattern, subject)
    return pattern == subject


def _pod_identity(assoc: Entity, roles: _RoleIndex) -> None:
    statements = roles.find(assoc, assoc.fields.get("role_arn"), assoc.fields.get("role_ref"))
    if not statements:
        assoc.set("role_name", None)
        assoc.set("role_trusts_pod_identity", None)
        return
    assoc.links["role_trust"] = [s.key for s in statements]
    ok = [
        s
        for s in statements
        if POD_IDENTITY_SERVICE in (s.fields.get("principals_service") or [])
        and _grants(s, "sts:AssumeRole")
        and _grants(s, "sts:TagSession")
    ]
    assoc.set("role_name", statements[0].fields.get("role_name"))
    assoc.set("role_trusts_pod_identity", bool(ok), span=assoc.field_lines.get("role_arn"))


# ---- identity mappings -> RBAC -------------------------------------------------------------
def _cluster_admin_bindings(bindings: list[Entity]) -> dict[str, list[Entity]]:
    """Group name -> ClusterRoleBindings that bind that group to ClusterRole cluster-admin."""
    out: dict[str, list[Entity]] = {}
    for b in bindings:
        if b.fields.get("object_kind") != "ClusterRoleBinding":
            continue
        if (
            b.fields.get("role_ref_kind") != "ClusterRole"
            or b.fields.get("role_ref_name") != "cluster-admin"
        ):
            continue
        for subject in b.fields.get("subjects") or []:
            if subject.get("kind") == "Group" and isinstance(subject.get("name"), str):
                out.setdefault(subject["name"], []).append(b)
    return out


def _effective_cluster_admin(mapping: Entity, admin_bindings: dict[str, list[Entity]]) -> None:
    groups = mapping.fields.get("groups")
    if not isinstance(groups, list):
        mapping.set("cluster_admin_groups", None)
        return
    hits = [
        g for g in groups if isinstance(g, str) and g != "system:masters" and g in admin_bindings
    ]
    mapping.set("cluster_admin_groups", hits, span=mapping.field_lines.get("groups"))
    keys = [b.key for g in hits for b in admin_bindings[g]]
    if keys:
        mapping.links["cluster_admin_bindings"] = list(dict.fromkeys(keys))


def _aws_auth_ignored(documents: list[Entity], clusters: list[Entity]) -> None:
    """With exactly one cluster in the scan, say whether it reads aws-auth at all: not in
    authentication mode API, and not in Auto Mode."""
    if len(clusters) != 1:
        for doc in documents:
            for name in ("ignored_by_cluster", "cluster_name", "ignored_because"):
                doc.set(name, None)
        return
    (cluster,) = clusters
    mode = cluster.fields.get("authentication_mode")
    auto = cluster.fields.get("auto_mode")
    if mode == "API" or auto is True:
        ignored: Any = True
    elif isinstance(mode, Unknown) or isinstance(auto, Unknown):
        ignored = mode if isinstance(mode, Unknown) else auto
    else:
        ignored = False
    why = "authentication_mode = API" if mode == "API" else "Auto Mode (compute_config.enabled)"
    for doc in documents:
        doc.set("ignored_by_cluster", ignored)
        doc.set("cluster_name", cluster.fields.get("name"))
        doc.set("ignored_because", why if ignored is True else None)
        doc.links["cluster"] = [cluster.key]


def _access_associations(associations: list[Entity], mappings: list[Entity]) -> None:
    entries = [m for m in mappings if m.fields.get("source") == "access_entry"]
    for assoc in associations:
        for entry in entries:
            same_arn = isinstance(assoc.fields.get("principal_arn"), str) and (
                assoc.fields.get("principal_arn") == entry.fields.get("principal_arn")
            )
            entry_address = entry.key.rsplit(":", 1)[-1]
            entry_dir = entry.location.file.rsplit("/", 1)[0] if "/" in entry.location.file else "."
            same_ref = assoc.fields.get("principal_ref") is not None and (
                assoc.fields.get("principal_ref")
                in (entry.fields.get("principal_ref"), f"{entry_dir}:{entry_address}")
            )
            if same_arn or same_ref:
                # an association written inside its entry (eksctl, the EKS module) has its link
                _add_link(assoc, "access_entry", entry.key)
                _add_link(entry, "access_policy_associations", assoc.key)


def _add_link(entity: Entity, name: str, key: str) -> None:
    keys = entity.links.setdefault(name, [])
    if key not in keys:
        keys.append(key)
