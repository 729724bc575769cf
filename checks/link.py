"""Link: one pass that resolves references between entities and sets the fields that depend
on more than one entity. Each link is recorded by entity key in `Entity.links`, so the model
JSON carries it for OPA/Rego users, and rules can point at the other side (`related`).

- workload -> ServiceAccount (same namespace): the effective token automount
- ServiceAccounts and pod identity associations: whether a `default` ServiceAccount gets a role
- ServiceAccount `eks.amazonaws.com/role-arn` -> the role's web-identity trust (EKS701)
- pod identity association -> the role's trust (EKS702)
- nodes (launch template, instance, node group) -> their roles' trust
- identity mapping groups -> ClusterRoleBindings to cluster-admin (EKS703)
- access policy association -> its access entry (of the same cluster, when both name one)
- RBAC: the capabilities of rules, roles (aggregation included), bindings (the role they
  refer to, scanned or built-in, in their scope), ServiceAccounts and the pods that mount
  their tokens (EKS604-EKS614, EKS704)
- workload -> the AWS role its ServiceAccount gets (IRSA annotation, pod identity
  association) (EKS307)
- access entries for the same principal and cluster, OIDC identity providers of the same
  cluster (EKS512, EKS513)
- the vpc-cni add-on -> a role of its own for aws-node (EKS705)
- IAM roles: trust statement -> role (`role_key`), inline policies and attachments -> role
  (`role_key`, `role_ref`, name), attachment -> managed policy (ARN, `policy_ref`, name), and
  each role's `aws_power` (checks/normalize/iam_roles.py)
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Hashable
from typing import Any, NamedTuple

from checks.kinds import CAPABILITIES, terraform_reference
from checks.model import Entity, Location, PartialList, Unknown, UnknownItems, wildcard_match
from checks.normalize import live, rbac
from checks.normalize.iam_conditions import condition_admits
from checks.normalize.iam_roles import AWS_MANAGED_POWER
from checks.normalize.oidc_providers import ISSUER_KINDS

POD_IDENTITY_SERVICE = "pods.eks.amazonaws.com"
# the group that bypasses RBAC: EKS501 reports a mapping to it, not EKS703
MASTERS = "system:masters"


class LinkWork(NamedTuple):
    """What a link spent of its whole-scan budgets: aggregation steps (MAX_AGGREGATION_STEPS)
    and pod identity associations whose target is not known (MAX_VAGUE_ASSOCIATIONS)."""

    aggregation_steps: int
    vague_associations: int


def link(entities: list[Entity], clusters: list[Entity] | None = None) -> LinkWork:
    """Resolve references in place. Entities of each kind are indexed once. `clusters`: the
    whole scan's cluster definitions, when `entities` are a part of it (the pre-commit
    hook's index); by default those of `entities`."""
    entities[:] = _without_superseded_listings(entities)
    by_kind: dict[str, list[Entity]] = {}
    for e in entities:
        by_kind.setdefault(e.kind, []).append(e)
    accounts = Copies()
    for e in by_kind.get("service_account", []):
        # what an add-on or a release makes is theirs (their own role checks read it), not
        # an object the scan's pods or add-ons of other clusters run as
        if e.fields.get("given_by") is None:
            accounts.add((e.fields["namespace"], e.fields["name"]), e)
    for e in by_kind.get("workload", []):
        _effective_automount(e, accounts)
    roles = _RoleIndex(by_kind.get("trust_statement", []))
    for e in by_kind.get("service_account", []):
        _default_service_account_role(e)
        _irsa(e, roles)
    for e in by_kind.get("pod_identity_association", []):
        _default_service_account_role(e)
        _pod_identity(e, roles)
    for e in by_kind.get("instance_metadata", []):
        _node_roles(e, roles)
    admin_bindings = _cluster_admin_bindings(by_kind.get("rbac_binding", []))
    for e in by_kind.get("identity_mapping", []):
        _effective_cluster_admin(e, admin_bindings)
    if clusters is None:
        clusters = by_kind.get("cluster", [])
    _aws_auth_ignored(by_kind.get("aws_auth_document", []), clusters)
    _access_associations(
        by_kind.get("access_policy_association", []), by_kind.get("identity_mapping", [])
    )
    steps = _rbac(by_kind)
    pod_identities = _PodIdentities(by_kind.get("pod_identity_association", []))
    for e in by_kind.get("workload", []):
        _workload_aws_role(e, accounts, pod_identities)
    _earlier_access_entries(by_kind.get("identity_mapping", []), roles)
    _earlier_identity_providers(by_kind.get("identity_provider", []))
    for e in by_kind.get("addon", []):
        _aws_node_role(e, pod_identities, accounts, roles)
    _iam_roles(by_kind)
    return LinkWork(steps, pod_identities.vague_count)


# ---- workload -> ServiceAccount ------------------------------------------------------------
def _without_superseded_listings(entities: list[Entity]) -> list[Entity]:
    """One access entry or pod identity association of a live export, one entity: EKS keeps
    one access entry per principal and cluster, one association per ServiceAccount, so
    outputs of the same one in an export folder are copies (`superseded_listings`)."""
    listed = []
    for e in entities:
        thing = live.listing_identity(e) if e.origin in (live.ORIGIN, live.LISTED) else None
        if thing is not None:
            cluster = e.fields.get("cluster_name")
            listed.append((e, (e.origin == live.ORIGIN, thing, cluster)))
    dropped = superseded_listings([said for _, said in listed])
    if not dropped:
        return entities
    gone = {id(listed[i][0]) for i in dropped}
    return [e for e in entities if id(e) not in gone]


def superseded_listings(listed: list[tuple[bool, Any, Any]]) -> set[int]:
    """Of a live export's entries and associations in scan order, as (described: a
    `describe-...` output, else a `list-...` one; what it is about, `live.listing_identity`;
    its `cluster_name`), the positions of those another one supersedes: the first describe
    output counts, else the first list output, which says less (list-access-entries names no
    cluster: it gives way to a describe output of any cluster for its principal)."""
    described: set[tuple] = set()
    described_things: set = set()
    seen: set[tuple] = set()
    dropped: set[int] = set()
    for describe in (True, False):
        for i, (is_described, thing, cluster) in enumerate(listed):
            if is_described != describe:
                continue
            said = (thing, cluster if isinstance(cluster, str) else None)
            if describe:
                if said in described:
                    dropped.add(i)
                described.add(said)
                described_things.add(thing)
            elif (
                said in described or said in seen or (said[1] is None and thing in described_things)
            ):
                dropped.add(i)
            else:
                seen.add(said)
    return dropped


def _dirs(path: str, memo: dict[str, list[str]] = {}) -> list[str]:  # noqa: B006 - a memo
    found = memo.get(path)
    if found is None:
        found = memo[path] = path.split("/")[:-1]
    return found


def _closeness(a: str, b: str) -> int:
    """How near two files are: shared leading path components, plus one for the same file."""
    return 1_000 if a == b else shared_directories(a, b)


def shared_directories(a: str, b: str) -> int:
    """How many leading directories two files (as shown) share."""
    shared = 0
    for x, y in zip(_dirs(a), _dirs(b), strict=False):
        if x != y:
            break
        shared += 1
    return shared


def _overlay(key: str) -> str | None:
    """The Kustomize overlay that rendered an entity, from its key (`kustomize:DIR:...`)."""
    if not key.startswith("kustomize:"):
        return None
    return key.split(":", 2)[1]


def _nearness(file: str, overlay: str | None, candidate: Entity) -> int:
    """How near `candidate` is to an object in `file` rendered by `overlay`: an object a
    Kustomize overlay renders refers to the objects of the same overlay first."""
    bonus = 10_000 if _overlay(candidate.key) == overlay else 0
    return _closeness(file, candidate.location.file) + bonus


def nearness(entity: Entity, candidate: Entity) -> int:
    """How near `candidate` is to `entity`, as `nearest` compares them."""
    return _nearness(entity.location.file, _overlay(entity.key), candidate)


def nearest(entity: Entity, candidates: list[Entity]) -> list[Entity]:
    """Of objects that share a name (environments, overlays, copies), those nearest to
    `entity` in the tree: the same file, else the deepest shared directory."""
    if len(candidates) <= 1:
        return list(candidates)
    file = entity.location.file
    overlay = _overlay(entity.key)
    scores = [_nearness(file, overlay, c) for c in candidates]
    best = max(scores)
    return [c for c, score in zip(candidates, scores, strict=True) if score == best]


# up to this many copies of a name, comparing each is quicker than building an index
FEW_COPIES = 8
_EVERY_COPY = object()  # the scope of a name's index that holds all its copies


def file_of(entity: Entity) -> str:
    """Where an entity is written: its file."""
    return entity.location.file


class Places:
    """Copies of one object (environments, overlays), indexed by where they are written, so
    that the nearest to a file (`nearest`) is found by walking that file's directories.
    `place`: where an entity counts as written, a path (by default its file)."""

    def __init__(self, copies: list[Entity], place: Callable[[Entity], str] = file_of) -> None:
        self.copies = copies
        self.place = place
        self.by_file: dict[str, list[Entity]] = {}
        # every leading run of a copy's directories -> the copies under it, in order
        self.under: dict[tuple[str, ...], list[Entity]] = {}
        for copy in copies:
            file = place(copy)
            self.by_file.setdefault(file, []).append(copy)
            dirs = _dirs(file)
            for depth in range(len(dirs) + 1):
                self.under.setdefault(tuple(dirs[:depth]), []).append(copy)

    def nearest(self, entity: Entity, same_file: bool = True) -> list[Entity]:
        """`nearest(entity, copies)`: the copies in its file (unless not `same_file`), else
        those under the deepest of its directories that holds any (each of them shares
        exactly that many)."""
        file = self.place(entity)
        same = self.by_file.get(file) if same_file else None
        if same is not None:
            return list(same)
        dirs = _dirs(file)
        for depth in range(len(dirs), -1, -1):
            found = self.under.get(tuple(dirs[:depth]))
            if found is not None:
                return list(found)
        return []


def _is_key(name: Any) -> bool:
    """Whether a name can be looked up: a value of a wrong type (a list a module wrote for a
    namespace) is a value, and names nothing."""
    try:
        hash(name)
    except TypeError:
        return False
    return True


class Copies:
    """Objects by a name they share, each name's copies indexed by place once it has many."""

    def __init__(self) -> None:
        self.groups: dict[Hashable, list[Entity]] = {}
        # (name, the overlay whose copies it holds, or _EVERY_COPY) -> those copies by place
        self._places: dict[tuple[Hashable, Any], Places] = {}
        self._overlays: dict[Hashable, dict[str | None, list[Entity]]] = {}

    def add(self, name: Hashable, entity: Entity) -> None:
        if _is_key(name):
            self.groups.setdefault(name, []).append(entity)

    def get(self, name: Hashable) -> list[Entity]:
        return self.groups.get(name, []) if _is_key(name) else []

    def nearest(self, name: Hashable, entity: Entity, same_file: bool = True) -> list[Entity]:
        """Of the objects called `name`, those nearest to `entity` (see `nearest`); without
        `same_file`, by directory only (its file counts as its directory)."""
        copies = self.groups.get(name) if _is_key(name) else None
        if copies is None:
            return []
        if len(copies) <= FEW_COPIES and same_file:
            return nearest(entity, copies)
        scope: Any = _EVERY_COPY
        if same_file:
            # as `nearest` weighs them: the copies of the entity's own overlay come first (of
            # an object no overlay rendered, those no overlay rendered), then by place
            overlays = self._overlays.get(name)
            if overlays is None:
                overlays = self._overlays[name] = {}
                for copy in copies:
                    overlays.setdefault(_overlay(copy.key), []).append(copy)
            own = _overlay(entity.key)
            if own in overlays:
                scope = own
        places = self._places.get((name, scope))
        if places is None:
            chosen = copies if scope is _EVERY_COPY else self._overlays[name][scope]
            places = self._places[(name, scope)] = Places(chosen)
        return places.nearest(entity, same_file)


class LinkTargets:
    """The entity a link names, seen from the entity that holds the link. Links hold keys, and
    the copies of one object in several environment folders share a key: of those, the first
    of the nearest to the linking entity, as the link stage chose it (`nearest`)."""

    def __init__(self, entities: list[Entity]) -> None:
        self.copies = Copies()
        for entity in entities:
            self.copies.add(entity.key, entity)

    def get(self, entity: Entity, key: str) -> Entity | None:
        found = self.copies.nearest(key, entity)
        return found[0] if found else None


def _effective_automount(workload: Entity, accounts: Copies) -> None:
    ns = workload.fields["namespace"]
    sa_name = workload.fields["service_account_name"]
    sa = next(iter(accounts.nearest((ns, sa_name), workload)), None)
    if sa is not None:
        workload.links["service_account"] = [sa.key]
    pod = workload.fields.get("automount")
    if pod is not None:
        value = "true" if pod else "false"
        workload.set("effective_automount", pod)
        said = f"the pod spec sets automountServiceAccountToken: {value}"
        workload.set("automount_source", f"{said} (ServiceAccount {ns}/{sa_name})")
        workload.written_as("effective_automount", "automount")
        return
    where = f"ServiceAccount {ns}/{sa_name}"
    if "service_account_name" in workload.field_lines:
        workload.written_as("effective_automount", "service_account_name")
    else:
        workload.written_as("effective_automount", "pod_spec")
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
    """`arn:aws:iam::123:role/path/Name` -> `Name` (IAM matches roles by name, paths aside);
    the partition and account may be CloudFormation's `${AWS::Partition}` and
    `${AWS::AccountId}` (the stack's own account: a role of the template is in it)."""
    if isinstance(arn, str):
        arn = arn.replace("${AWS::Partition}", "aws").replace("${AWS::AccountId}", "0")
    if not isinstance(arn, str) or ":role/" not in arn or "${" in arn or "{{" in arn:
        return None
    return arn.rsplit("/", 1)[-1] or None


class _RoleIndex:
    """Trust statements grouped by the role they belong to: by name (in any case: IAM allows
    one role per name whatever its case, and the access graph finds roles so) and by
    Terraform address."""

    def __init__(self, statements: list[Entity]) -> None:
        self.by_name: dict[str, list[Entity]] = {}
        self.by_ref: dict[str, list[Entity]] = {}
        for s in statements:
            name = s.fields.get("role_name")
            if isinstance(name, str):
                self.by_name.setdefault(name.lower(), []).append(s)
            ref = s.fields.get("role_ref")
            if isinstance(ref, str):
                self.by_ref.setdefault(ref, []).append(s)
        # per name or address, its roles' statements and the roles by place (made when asked)
        self._roles: dict[tuple, tuple[dict[str, list[Entity]], Copies]] = {}

    def find(self, near: Entity, arn: Any, ref: Any = None, name: Any = None) -> list[Entity]:
        """The trust statements of the role `arn` (or Terraform `ref`, or role `name`) names;
        of several roles with that name (one per environment), the one nearest to `near`."""
        if isinstance(ref, str) and ref in self.by_ref:
            which = ("ref", ref)
            statements = self.by_ref[ref]
        else:
            name = name if isinstance(name, str) else role_name_from_arn(arn)
            name = name.lower() if name else name
            which = ("name", name)
            statements = self.by_name.get(name, []) if name else []
        if len(statements) <= 1:
            return statements
        found = self._roles.get(which)
        if found is None:
            roles: dict[str, list[Entity]] = {}
            for s in statements:
                roles.setdefault(s.fields["role_key"], []).append(s)
            firsts = Copies()
            for group in roles.values():
                firsts.add(None, group[0])
            found = self._roles[which] = (roles, firsts)
        roles, firsts = found
        if len(roles) <= 1:
            return statements
        return roles[firsts.nearest(None, near)[0].fields["role_key"]]


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
    statements = roles.find(sa, arn, sa.fields.get("role_ref"))
    if not statements:
        # the role is not in the scan: nothing to compare
        for name in ("irsa_role_name", "irsa_subject", "irsa_trust_admits"):
            sa.set(name, None)
        return
    namespace, name = sa.fields["namespace"], sa.fields["name"]
    sa.links["irsa_role_trust"] = [s.key for s in statements]
    if isinstance(namespace, Unknown) or isinstance(name, Unknown):
        # a ServiceAccount a chart names: which subject the trust must admit is not known
        unknown = name if isinstance(name, Unknown) else namespace
        sa.set("irsa_role_name", role_name_from_arn(arn) or statements[0].fields.get("role_name"))
        sa.set("irsa_subject", unknown)
        sa.set("irsa_trust_admits", unknown, span=sa.field_lines.get("role_arn"))
        return
    subject = f"system:serviceaccount:{namespace}:{name}"
    web = [
        (s, grants)
        for s in statements
        if (grants := _grants(s, "sts:AssumeRoleWithWebIdentity")) is not False
    ]
    sa.set("irsa_role_name", role_name_from_arn(arn) or statements[0].fields.get("role_name"))
    sa.set("irsa_subject", subject)
    verdicts = [_all_of([grants, admits_subject(s, subject)]) for s, grants in web]
    if any(v is True for v in verdicts):
        admits: Any = True
        sa.links["irsa_trust_admitting"] = [
            s.key for (s, _), v in zip(web, verdicts, strict=True) if v is True
        ]
    elif any(isinstance(v, Unknown) for v in verdicts):
        admits = next(v for v in verdicts if isinstance(v, Unknown))
    else:
        admits = False
    sa.set("irsa_trust_admits", admits, span=sa.field_lines.get("role_arn"))


def _grants(statement: Entity, action: str) -> Any:
    """Whether a trust statement allows `action`: True, False, or Unknown when its Effect or
    some of its actions are not known."""
    granted = statement.fields.get("granted_actions")
    if isinstance(granted, Unknown):
        return granted
    if not isinstance(granted, list):
        return False
    if action in granted:
        return True
    return next((g for g in granted if isinstance(g, Unknown)), False)


def _all_of(verdicts: list) -> Any:
    """True, False or Unknown: whether every verdict holds (one False decides)."""
    if any(v is False for v in verdicts):
        return False
    return next((v for v in verdicts if isinstance(v, Unknown)), True)


def admits_subject(statement: Entity, subject: str) -> Any:
    """Does a web-identity trust statement let a ServiceAccount `subject` assume the role,
    through one of its providers that may be a cluster's (not GitHub's or a CI/CD issuer's)?
    For a provider, every `:sub` condition that bears on it must hold."""
    conditions = statement.fields.get("conditions")
    if isinstance(conditions, Unknown):
        return conditions
    providers = [
        p
        for p in statement.fields.get("federated_providers") or []
        if not (isinstance(p["kind"], str) and p["kind"] in ISSUER_KINDS)
    ]
    if not providers:
        return _admits(conditions or [], subject)
    verdicts = [
        _admits([c for c in conditions or [] if c["key"] in p["condition_keys"]], subject)
        for p in providers
    ]
    if any(v is True for v in verdicts):
        return True
    return next((v for v in verdicts if isinstance(v, Unknown)), False)


def _admits(conditions: list[dict], subject: str) -> Any:
    """Every `:sub` condition must hold (conditions are ANDed: one that does not hold
    decides, else one not known); what one admits is `condition_admits`'."""
    verdict: Any = True
    for cond in conditions:
        if not cond["key"].endswith(":sub"):
            continue
        admits = condition_admits(cond, subject)
        if admits is False:
            return False
        if isinstance(admits, Unknown) and verdict is True:
            verdict = admits
    return verdict


def _pod_identity(assoc: Entity, roles: _RoleIndex) -> None:
    statements = roles.find(assoc, assoc.fields.get("role_arn"), assoc.fields.get("role_ref"))
    if not statements:
        assoc.set("role_name", None)
        assoc.set("role_trusts_pod_identity", None)
        return
    assoc.links["role_trust"] = [s.key for s in statements]
    verdicts = []
    for s in statements:
        services = s.fields.get("principals_service") or []
        if POD_IDENTITY_SERVICE in services:
            service: Any = True
        else:  # a service principal not known may be Pod Identity's
            service = next((v for v in services if isinstance(v, Unknown)), None)
        if service is not None:
            grants = [_grants(s, "sts:AssumeRole"), _grants(s, "sts:TagSession")]
            verdicts.append(_all_of([service, *grants]))
    trusts: Any = False
    if any(v is True for v in verdicts):
        trusts = True
    elif any(isinstance(v, Unknown) for v in verdicts):
        trusts = next(v for v in verdicts if isinstance(v, Unknown))
    assoc.set("role_name", statements[0].fields.get("role_name"))
    assoc.set("role_trusts_pod_identity", trusts, span=assoc.field_lines.get("role_arn"))


# ---- IAM roles: trust, policies, attachments, power ------------------------------------------
class _IamRoles:
    """The scan's `iam_role` entities by what names them: `role_key`, `<dir>:<address>`,
    name; and the `get-role` roles by directory."""

    def __init__(self, roles: list[Entity]) -> None:
        self.by_key = {r.fields["role_key"]: r for r in roles}
        self.by_ref: dict[str, Entity] = {}
        self.by_name = Copies()
        self.by_directory: dict[str, list[Entity]] = {}
        for r in roles:
            if isinstance(r.fields["address"], str):
                self.by_ref[terraform_reference(r.fields["module_dir"], r.fields["address"])] = r
            if isinstance(r.fields["name"], str):
                self.by_name.add(r.fields["name"], r)
            if r.fields["source"] == "get-role":
                self.by_directory.setdefault(directory_of(r), []).append(r)

    def find(self, named: Entity) -> Entity | None:
        """The role a policy or attachment names: by `role_key`, `role_ref`, `role_name`
        (of several roles of that name, the nearest), or, naming none, the only `get-role`
        role of its directory."""
        fields = named.fields
        if fields["role_key"] is not None:
            return self.by_key.get(fields["role_key"])
        if fields["role_ref"] is not None and fields["role_ref"] in self.by_ref:
            return self.by_ref[fields["role_ref"]]
        name = fields["role_name"]
        if isinstance(name, str):
            found = self.by_name.nearest(name, named)
            return found[0] if found else None
        if name is None and fields["role_ref"] is None:
            alone = self.by_directory.get(directory_of(named), [])
            return alone[0] if len(alone) == 1 else None
        return None


def directory_of(entity: Entity) -> str:
    """The folder of the file an entity is written in, as shown ("" at the top)."""
    return "/".join(_dirs(entity.location.file))


class _ManagedPolicies:
    """The scan's managed `iam_policy` entities by ARN, by `<dir>:<address>`, and by name in
    their module (a Terraform policy's ARN is known after apply)."""

    def __init__(self, policies: list[Entity]) -> None:
        self.by_arn: dict[str, Entity] = {}
        self.by_ref: dict[str, Entity] = {}
        self.by_module_name: dict[tuple, Entity] = {}
        for p in policies:
            if isinstance(p.fields["arn"], str):
                self.by_arn[p.fields["arn"]] = p
            if isinstance(p.fields["address"], str):
                ref = terraform_reference(p.fields["module_dir"], p.fields["address"])
                self.by_ref[ref] = p
                if isinstance(p.fields["name"], str):
                    self.by_module_name[(p.fields["module_dir"], p.fields["name"])] = p

    def find(self, attachment: Entity) -> Entity | None:
        fields = attachment.fields
        arn, ref = fields["policy_arn"], fields["policy_ref"]
        if isinstance(ref, str) and ref in self.by_ref:
            return self.by_ref[ref]
        if isinstance(arn, str) and arn in self.by_arn:
            return self.by_arn[arn]
        if fields["aws_managed"] is False and isinstance(fields["policy_name"], str):
            return self.by_module_name.get((fields["module_dir"], fields["policy_name"]))
        return None


def _iam_roles(by_kind: dict[str, list[Entity]]) -> None:
    """Each role's trust statements, policies and attachments, and its `aws_power`."""
    roles = _IamRoles(by_kind.get("iam_role", []))
    for mapping in by_kind.get("identity_mapping", []):
        _aws_auth_role_path(mapping, roles)
    for statement in by_kind.get("trust_statement", []):
        role = roles.by_key.get(statement.fields["role_key"])
        if role is not None:
            _add_link(statement, "role", role.key)
            _add_link(role, "trust", statement.key)
    inline: dict[str, list[Entity]] = {}
    # what policies whose roles are not known may give any role: (admin, iam_write) each
    loose: list[tuple[Any, Any]] = []
    for policy in by_kind.get("iam_policy", []):
        role = roles.find(policy) if policy.fields["policy_type"] == "inline" else None
        if role is not None:
            inline.setdefault(role.key, []).append(policy)
            _add_link(policy, "roles", role.key)
            _add_link(role, "policies", policy.key)
        elif policy.fields["policy_type"] == "inline" and _role_not_known(policy):
            grants = (policy.fields["grants_admin"], policy.fields["grants_iam_write"])
            loose.append(_maybe(grants, policy.fields["name"]))
    managed = _ManagedPolicies(
        [p for p in by_kind.get("iam_policy", []) if p.fields["policy_type"] == "managed"]
    )
    attached: dict[str, list[tuple[Entity, Entity | None]]] = {}
    for attachment in by_kind.get("iam_policy_attachment", []):
        role = roles.find(attachment)
        policy = managed.find(attachment)
        if policy is not None:
            _add_link(attachment, "policy", policy.key)
        if role is None:
            if _role_not_known(attachment):
                name = attachment.fields["policy_name"]
                if policy is not None and not isinstance(name, str):
                    name = policy.fields["name"]
                loose.append(_maybe(_attached_power(attachment, policy, name), name))
            continue
        attached.setdefault(role.key, []).append((attachment, policy))
        _add_link(attachment, "role", role.key)
        _add_link(role, "attachments", attachment.key)
        if policy is not None:
            _add_link(policy, "roles", role.key)
            _add_link(role, "policies", policy.key)
    for role in by_kind.get("iam_role", []):
        _role_power(role, attached.get(role.key, []), inline.get(role.key, []), loose)


def _role_not_known(named: Entity) -> bool:
    """Whether a policy or attachment names its role only by a name not known (CloudFormation
    `Roles: !Ref Names`, Terraform `role = var.name`): it may be attached to any role."""
    fields = named.fields
    return (
        fields["role_key"] is None
        and fields["role_ref"] is None
        and isinstance(fields["role_name"], Unknown)
    )


def _maybe(grants: tuple[Any, Any], name: Any) -> tuple[Any, Any]:
    """What a policy whose roles are not known gives a role: what it grants, unknown."""
    why = Unknown(f"the roles policy {_shown(name)} is attached to are not known", _shown(name))
    return (grants[0] if grants[0] is False else why, grants[1] if grants[1] is False else why)


def _attached_power(attachment: Entity, policy: Entity | None, name: Any) -> tuple[Any, Any]:
    """(grants admin, grants IAM writes) of a managed policy attachment; `policy` is the
    scan's policy it attaches, `name` the policy's name."""
    aws_managed = attachment.fields["aws_managed"]
    if policy is not None:
        return policy.fields["grants_admin"], policy.fields["grants_iam_write"]
    if isinstance(name, str) and (
        aws_managed is True or (aws_managed is not False and name in AWS_MANAGED_POWER)
    ):
        # an AWS managed policy: known by name (also when looked up by its name)
        levels = AWS_MANAGED_POWER.get(name, ())
        return "admin" in levels, "iam_write" in levels
    # a customer managed policy the scan does not hold, or an ARN not known
    missing = Unknown(
        f"what policy {_shown(attachment.fields['policy_arn'])} allows is not known",
        _shown(attachment.fields["policy_arn"]),
    )
    return missing, missing


def _aws_auth_role_path(mapping: Entity, roles: _IamRoles) -> None:
    """An aws-auth `rolearn` that is a scanned Terraform role's `arn` (`aws_iam_role.x.arn`):
    AWS computes it with the role's path in it, so its path and name are the role's."""
    if mapping.fields.get("source") != "aws-auth":
        return
    if not isinstance(mapping.fields.get("role_path"), Unknown):
        return
    role = roles.by_ref.get(mapping.fields.get("principal_ref") or "")
    path = role.fields.get("path") if role is not None else None
    if role is None or not isinstance(path, str):
        return
    mapping.set("role_path", path.strip("/") + "/" if path.strip("/") else "")
    mapping.set("role_name", role.fields.get("name"))
    where = role.location
    if "path" in role.field_lines:
        start, end = role.field_lines["path"]
        where = Location(role.line_files.get("path", role.location.file), start, end)
    mapping.field_origins["role_path"] = (
        where,
        f"role_path comes from the path of {role.fields['address']}",
    )


def _role_power(
    role: Entity,
    attached: list[tuple[Entity, Entity | None]],
    inline: list[Entity],
    loose: list[tuple[Any, Any]],
) -> None:
    """RULES.md, "What a role can do in AWS" (checks/normalize/iam_roles.py); `loose`: what
    the policies whose roles are not known may give it."""
    admin: list = [a for a, _ in loose]
    iam_write: list = [w for _, w in loose]
    names: list = []
    actions: list = []
    for attachment, policy in attached:
        name = attachment.fields["policy_name"]
        if policy is not None and not isinstance(name, str):
            name = policy.fields["name"]
        names.append(name)
        grants_admin, grants_iam_write = _attached_power(attachment, policy, name)
        admin.append(grants_admin)
        iam_write.append(grants_iam_write)
        if policy is not None:
            actions += policy.fields["allowed_actions"]
    for policy in inline:
        admin.append(policy.fields["grants_admin"])
        iam_write.append(policy.fields["grants_iam_write"])
        actions += policy.fields["allowed_actions"]
    if not role.fields["policies_listed"]:
        source = role.fields["source"]
        unlisted = Unknown(f"{source} output does not list the role's policies", source)
        admin.append(unlisted)
        iam_write.append(unlisted)
    power: list = []
    for level, verdicts in (("admin", admin), ("iam_write", iam_write)):
        if any(v is True for v in verdicts):
            power.append(level)
    undecided = [
        v
        for verdicts in (admin, iam_write)
        if not any(x is True for x in verdicts)
        for v in verdicts
        if isinstance(v, Unknown)
    ]
    power += undecided[:1]
    power += _distinct(names) + _distinct(actions)
    role.set("managed_policy_arns", [a.fields["policy_arn"] for a, _ in attached])
    role.set("managed_policy_names", names)
    role.set("inline_policy_names", [p.fields["name"] for p in inline])
    role.set("aws_power", _distinct(power))


def _shown(value: Any) -> str:
    return value.text if isinstance(value, Unknown) else str(value)


def _distinct(items: list) -> list:
    """Items in order, each known one once (unknown ones are kept: each may be anything)."""
    seen: set = set()
    out = []
    for item in items:
        if isinstance(item, Unknown) or isinstance(item, (dict, list)):
            out.append(item)
        elif item not in seen:
            seen.add(item)
            out.append(item)
    return out


def node_role_statements(nodes: Entity, item: dict, roles: _RoleIndex) -> list[Entity]:
    """The trust statements of one of the nodes' roles: by Terraform reference, by ARN, or
    by the name an instance profile gives."""
    role = item.get("role")
    name = role if isinstance(role, str) and ":" not in role and "/" not in role else None
    return roles.find(nodes, role, item.get("role_ref"), name)


def _node_roles(nodes: Entity, roles: _RoleIndex) -> None:
    given = nodes.fields.get("node_roles")
    found = [
        s.key
        for item in (given if isinstance(given, list) else [])  # unknown: no role to link
        if isinstance(item, dict)
        for s in node_role_statements(nodes, item, roles)
    ]
    if found:
        nodes.links["node_role_trust"] = list(dict.fromkeys(found))


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
    """The mapping's groups that a scanned ClusterRoleBinding binds to cluster-admin (EKS703).
    Groups not known, or partly known with no known one bound, are the groups' unknown value
    while they may hold a bound group, else none. Bindings count tree-wide, as for known
    groups."""
    groups = mapping.fields.get("groups")
    known, unknown = _groups_known(groups)
    if known is None:
        mapping.set("cluster_admin_groups", None)
        return
    hits = [g for g in known if isinstance(g, str) and g != MASTERS and g in admin_bindings]
    span = mapping.field_lines.get("groups")
    if not hits and unknown is not None and _may_be_bound(unknown, admin_bindings):
        # which of them are bound is not known: not the groups' own value, whose known items
        # (system:masters, a group nothing binds) a rule would take for bound ones
        if isinstance(unknown, PartialList):
            unknown = Unknown(unknown.reason, unknown.text, unknown.ref)
        mapping.set("cluster_admin_groups", unknown, span=span)
        return
    mapping.set("cluster_admin_groups", hits, span=span)
    keys = [b.key for g in hits for b in admin_bindings[g]]
    if keys:
        mapping.links["cluster_admin_bindings"] = list(dict.fromkeys(keys))


def _groups_known(groups: Any) -> tuple[list | None, Unknown | None]:
    """A mapping's groups as (the groups known to be among them, what of them is not known,
    None when nothing is); (None, None) when it has no list of groups."""
    if isinstance(groups, PartialList):
        return list(groups.known), groups
    if isinstance(groups, Unknown):
        return [], groups
    if isinstance(groups, list):
        return groups, next((g for g in groups if isinstance(g, Unknown)), None)
    return None, None


def _may_be_bound(unknown: Unknown, admin_bindings: dict[str, list[Entity]]) -> bool:
    """Whether groups not known may be one a scanned ClusterRoleBinding binds to cluster-admin:
    any such group other than system:masters (EKS501's), or, when every item of a `for` is one
    known group, that group."""
    if isinstance(unknown, UnknownItems) and isinstance(unknown.item, str):
        return unknown.item != MASTERS and unknown.item in admin_bindings
    return any(g != MASTERS for g in admin_bindings)


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
    """An access policy association and the access entry of its principal: the same
    Terraform object (the association refers to the entry or to the principal the entry
    refers to), or the same principal ARN of the same cluster, as `_same_cluster` says (an
    expression names a cluster of its own configuration): of copies in several directories
    (environments), those in the nearest directory."""
    entries = [m for m in mappings if m.fields.get("source") == "access_entry"]
    position = {id(entry): n for n, entry in enumerate(entries)}
    by_name: dict[str, list[Entity]] = {}
    in_directory: dict[tuple[str, str], list[Entity]] = {}  # by ARN and module directory
    named = Copies()  # by ARN and literal cluster name, looked up by directory
    for entry in entries:
        arn = entry.fields.get("principal_arn")
        if isinstance(arn, str):
            in_directory.setdefault((arn, configuration_of(entry)), []).append(entry)
            cluster = cluster_name_of(entry)
            if isinstance(cluster, str):
                named.add((arn, cluster), entry)
        names = {entry.fields.get("principal_ref")}
        if entry.fields.get("address") is not None:
            names.add(terraform_reference(entry.fields["module_dir"], entry.fields["address"]))
        for name in names:
            if name is not None:
                by_name.setdefault(name, []).append(entry)
    for assoc in associations:
        arn, ref = assoc.fields.get("principal_arn"), assoc.fields.get("principal_ref")
        cluster = assoc.fields.get("cluster_name")
        found: list[Entity] = []
        if isinstance(arn, str):
            found = in_directory.get((arn, configuration_of(assoc)), [])
            if isinstance(cluster_name_of(assoc), str):
                found = [e for e in found if _same_cluster(assoc, e) is not False]
                if not found:
                    found = named.nearest((arn, cluster_name_of(assoc)), assoc, same_file=False)
        if ref is not None and ref in by_name:
            found = [*found, *by_name[ref]]
        for entry in sorted({id(e): e for e in found}.values(), key=lambda e: position[id(e)]):
            other_cluster = entry.fields.get("cluster_name")
            if isinstance(cluster, str) and isinstance(other_cluster, str):
                if cluster != other_cluster:
                    continue
            # an association written inside its entry (eksctl, the EKS module) has its link
            _add_link(assoc, "access_entry", entry.key)
            _add_link(entry, "access_policy_associations", assoc.key)


def _add_link(entity: Entity, name: str, key: str) -> None:
    keys = entity.links.setdefault(name, [])
    if key not in keys:
        keys.append(key)


# ---- RBAC: what roles, bindings, ServiceAccounts and pods can do ---------------------------
class Grant(NamedTuple):
    """A fact (checks.normalize.rbac) a rule allows: True or unknown, the scanned rule (None
    for a rule of a built-in role) and the rule's fields."""

    fact: str
    value: Any
    rule: Entity | None
    fields: dict


# work allowed to resolve aggregationRules: selected roles visited, over all aggregated roles
MAX_AGGREGATION_STEPS = 1_000_000


class _RbacRoles:
    """Roles by name, scanned and built-in, and what each grants once aggregation is done.

    A node is a scanned role (its entity) or a built-in ClusterRole (its name); a scanned
    ClusterRole hides the built-in one of the same name."""

    def __init__(self, roles: list[Entity], rules: list[Entity]) -> None:
        self.roles = roles
        self.cluster_roles = Copies()
        self.namespaced = Copies()
        # copies of a role share keys: by key and file, the few a rule may belong to
        by_key_in_file: dict[tuple[str, str], list[Entity]] = {}
        for role in roles:
            by_key_in_file.setdefault((role.key, role.location.file), []).append(role)
            name = role.fields.get("name")
            if role.fields.get("object_kind") == "ClusterRole":
                self.cluster_roles.add(name, role)
            else:
                self.namespaced.add((role.fields.get("namespace"), name), role)
        # what each rule allows, worked out once
        self.facts_of = {id(rule): rbac.rule_facts(rule.fields) for rule in rules}
        # a rule belongs to the role its role_key names that is written around it
        self.rules_of: dict[int, list[Entity]] = {}
        for rule in rules:
            line = rule.location.start_line
            for role in by_key_in_file.get((rule.fields["role_key"], rule.location.file), []):
                if role.location.start_line <= line <= role.location.end_line:
                    self.rules_of.setdefault(id(role), []).append(rule)
                    break
        # the ClusterRoles a selector may pick, scanned then built-in, and where each stands
        self._pool: list | None = None
        self._position: dict[Any, int] = {}
        # label -> the names of the ClusterRoles that carry it -> whether scanned
        self._labelled: dict[tuple[str, str], dict[Any, bool]] = {}
        self._builtins: dict | None = None
        self._own: dict[Any, list[Grant]] = {}
        self._selected: dict[Any, list] = {}
        self._effective: dict[Any, list[Grant]] = {}
        self._steps = 0

    @property
    def steps(self) -> int:
        """The aggregation steps taken so far (MAX_AGGREGATION_STEPS)."""
        return self._steps

    # a node's identity: the entity (copies of a role share a key), or ("built-in", name)
    @staticmethod
    def node_id(node: Entity | str) -> Any:
        return id(node) if isinstance(node, Entity) else ("built-in", node)

    def builtins(self) -> dict:
        """The built-in ClusterRoles no scanned ClusterRole replaces (read when first needed:
        a scan without RBAC never loads them)."""
        if self._builtins is None:
            all_builtins = rbac.builtin_cluster_roles()
            self._builtins = {
                n: r for n, r in all_builtins.items() if n not in self.cluster_roles.groups
            }
        return self._builtins

    def _aggregated(self, node: Entity | str) -> bool:
        if isinstance(node, Entity):
            return node.fields.get("aggregated") is True
        return self.builtins()[node].selectors is not None

    def _labels(self, node: Entity | str) -> list:
        if isinstance(node, Entity):
            return node.fields.get("labels") or []
        return self.builtins()[node].labels

    def _selectors(self, node: Entity | str) -> list:
        if isinstance(node, Entity):
            return node.fields.get("aggregation_selectors") or []
        return self.builtins()[node].selectors or []

    def own(self, node: Entity | str) -> list[Grant]:
        """The grants of a role's own rules."""
        nid = self.node_id(node)
        found = self._own.get(nid)
        if found is None:
            found = []
            if isinstance(node, Entity):
                for rule in self.rules_of.get(id(node), []):
                    facts = self.facts_of[id(rule)]
                    found.extend(Grant(f, v, rule, rule.fields) for f, v in facts.items())
            else:
                for fields in self.builtins()[node].rules:
                    facts = rbac.rule_facts(fields)
                    found.extend(Grant(f, v, None, fields) for f, v in facts.items())
            self._own[nid] = found
        return found

    def _candidates(self, selector: dict, node: Entity | str) -> list:
        """The ClusterRoles that may match a selector of `node`, in order: those with the
        rarest of its `match_labels` (of copies of one name, as in many environment
        directories, those nearest to a scanned `node`), or all of them."""
        if self._pool is None:
            self._pool = [r for group in self.cluster_roles.groups.values() for r in group]
            self._pool.extend(self.builtins())
            for position, role in enumerate(self._pool):
                self._position[self.node_id(role)] = position
                name = role.fields.get("name") if isinstance(role, Entity) else role
                for label in rbac.label_map(self._labels(role)).items():
                    self._labelled.setdefault(label, {})[name] = isinstance(role, Entity)
        wanted = rbac.label_map(selector.get("match_labels")).items()
        if not wanted:
            return self._pool
        names = min((self._labelled.get(label, {}) for label in wanted), key=len)
        found: list = []
        for name, scanned in names.items():
            if not scanned:
                found.append(name)
            elif isinstance(node, Entity) and isinstance(name, str):
                found.extend(self.cluster_roles.nearest(name, node))
            else:
                found.extend(self.cluster_roles.get(name))
        return found

    def _selection(self, node: Entity | str) -> list:
        """The ClusterRoles (scanned and built-in) an aggregated role's selectors match."""
        nid = self.node_id(node)
        found = self._selected.get(nid)
        if found is None:
            picked: dict[Any, Any] = {}
            for selector in self._selectors(node):
                candidates = self._candidates(selector, node)
                self._steps += len(candidates)
                for other in candidates:
                    oid = self.node_id(other)
                    if oid != nid and oid not in picked:
                        if rbac.selector_matches(selector, self._labels(other)):
                            picked[oid] = other
            found = sorted(picked.values(), key=lambda r: self._position[self.node_id(r)])
            self._selected[nid] = found
        return found

    def effective(self, node: Entity | str) -> list[Grant] | Unknown:
        """What a role grants: its own rules, or, for an aggregated ClusterRole, the rules of
        every role its selectors reach (an aggregated role in between passes on what it
        aggregates, as the controller converges to); unknown when that takes too long."""
        if not self._aggregated(node):
            return self.own(node)
        nid = self.node_id(node)
        if nid in self._effective:
            return self._effective[nid]
        too_many = Unknown(
            "too many aggregated ClusterRoles to resolve", "an aggregated ClusterRole"
        )
        if self._steps > MAX_AGGREGATION_STEPS:
            return too_many
        grants: list[Grant] = []
        seen = {nid}
        queue = list(self._selection(node))
        while queue:
            self._steps += 1
            if self._steps > MAX_AGGREGATION_STEPS:
                return too_many
            other = queue.pop()
            oid = self.node_id(other)
            if oid in seen:
                continue
            seen.add(oid)
            if self._aggregated(other):
                queue.extend(self._selection(other))
            else:
                grants.extend(self.own(other))
        self._effective[nid] = grants
        return grants

    def aggregated_roles(self, node: Entity | str) -> list[str]:
        """The keys of the scanned roles whose rules an aggregated role gets."""
        holders = self.effective(node)
        if isinstance(holders, Unknown):
            return []
        return list(dict.fromkeys(g.rule.fields["role_key"] for g in holders if g.rule))

    def resolve(self, binding: Entity) -> tuple[list, str]:
        """The role a binding refers to (scanned roles of that name nearest to it, else a
        built-in ClusterRole name; none when neither), and the role in words."""
        kind = binding.fields.get("role_ref_kind")
        name = binding.fields.get("role_ref_name")
        if kind == "Role":
            found = self.namespaced.nearest((binding.fields.get("namespace"), name), binding)
            if found and binding.fields.get("object_kind") == "RoleBinding":
                return found, f"Role {binding.fields['namespace']}/{name}"
        elif kind == "ClusterRole" and isinstance(name, str):
            found = self.cluster_roles.nearest(name, binding)
            if found:
                return found, f"ClusterRole {name}"
            if name in rbac.BINDABLE:
                return [name], f"built-in ClusterRole {name}"
        written = name.text if isinstance(name, Unknown) else name or "(not set)"
        return [], f"{kind or 'role'} {written} (not in the scan)"


def _capability_list(grants: list[Grant], fold=rbac.capabilities) -> list:
    """Capability names of grants (`fold`: of facts that hold together, or of one rule), with
    one unknown item when a grant that is not known could add one."""
    known = [g.fact for g in grants if g.value is True]
    names: list[Any] = fold(known)
    maybe = [(g.fact, g.value) for g in grants if isinstance(g.value, Unknown)]
    if maybe and set(fold(known + [f for f, _ in maybe])) - set(names):
        names.append(maybe[0][1])
    return names


def _rbac(by_kind: dict[str, list[Entity]]) -> int:
    """Capabilities of rules, roles, bindings, ServiceAccounts and workloads (RULES.md 6xx);
    the aggregation steps they took."""
    rules = by_kind.get("rbac_rule", [])
    bindings = by_kind.get("rbac_binding", [])
    roles = _RbacRoles(by_kind.get("rbac_role", []), rules)
    for rule in rules:
        grants = [Grant(f, v, rule, rule.fields) for f, v in roles.facts_of[id(rule)].items()]
        rule.set("capabilities", _capability_list(grants, fold=rbac.contributes))
    for role in roles.roles:
        effective = roles.effective(role)
        if isinstance(effective, Unknown):
            role.set("capabilities", effective)
            continue
        role.set("capabilities", _capability_list(effective))
        if role.fields.get("aggregated") is True:
            keys = roles.aggregated_roles(role)
            if keys:
                role.links["aggregated_roles"] = keys
    for binding in bindings:
        _binding_capabilities(binding, roles)
    _service_account_capabilities(
        bindings, by_kind.get("service_account", []), by_kind.get("workload", [])
    )
    return roles.steps


def _binding_capabilities(binding: Entity, roles: _RbacRoles) -> None:
    found, role_text = roles.resolve(binding)
    binding.set("role_text", role_text)
    if not found:
        unknown = Unknown(f"{role_text}: what it grants is not known", f"what {role_text} grants")
        binding.set("capabilities", unknown)
        binding.set("grants_text", unknown)
        return
    scanned = list(dict.fromkeys(r.key for r in found if isinstance(r, Entity)))
    if scanned:
        binding.links["role"] = scanned
    scope = binding.fields.get("scope")
    grants: list[Grant] = []
    for node in found:
        effective = roles.effective(node)
        if isinstance(effective, Unknown):
            binding.set("capabilities", effective)
            binding.set("grants_text", effective)
            return
        grants.extend(g for g in effective if rbac.in_scope(g.fact, scope))
    names = _capability_list(grants)
    binding.set("capabilities", names)
    held = [g for g in grants if g.value is True and rbac.CAPABILITY_OF[g.fact] in names]
    binding.set("grants_text", rbac.grants_text((g.fact, g.fields) for g in held))
    for grant in held:
        if grant.rule is not None:
            _add_link(binding, f"{rbac.CAPABILITY_OF[grant.fact]}_rules", grant.rule.key)


def _service_account_capabilities(
    bindings: list[Entity], accounts: list[Entity], workloads: list[Entity]
) -> None:
    """A ServiceAccount holds what the bindings that name it give: the ServiceAccount itself
    (in a RoleBinding, one without a namespace is in the binding's), its user name
    `system:serviceaccount:<ns>:<name>`, and the groups of every ServiceAccount
    (`system:serviceaccounts`, `system:serviceaccounts:<ns>`, `system:authenticated`). Of
    copies of one binding (the same binding in many environment directories), the nearest,
    found by place as the access graph finds them."""
    named: dict[tuple, Copies] = {}
    in_namespace: dict[str, Copies] = {}
    everyone = Copies()
    for binding in bindings:
        for subject in binding.fields.get("subjects") or []:
            kind, name = subject.get("kind"), subject.get("name")
            if not isinstance(name, str):
                continue
            if kind == "ServiceAccount":
                namespace = subject.get("namespace")
                if not namespace and binding.fields.get("object_kind") == "RoleBinding":
                    namespace = binding.fields.get("namespace")
                if isinstance(namespace, str) and namespace:
                    named.setdefault((namespace, name), Copies()).add(binding.key, binding)
            elif kind == "User" and name.startswith("system:serviceaccount:"):
                namespace, _, account = name.removeprefix("system:serviceaccount:").partition(":")
                named.setdefault((namespace, account), Copies()).add(binding.key, binding)
            elif kind == "Group" and name in ("system:serviceaccounts", "system:authenticated"):
                everyone.add(binding.key, binding)
            elif kind == "Group" and name.startswith("system:serviceaccounts:"):
                namespace = name.removeprefix("system:serviceaccounts:")
                in_namespace.setdefault(namespace, Copies()).add(binding.key, binding)

    def holding(namespace: Any, name: Any, near: Entity) -> list[Entity]:
        # a namespace or name not known, or of a wrong type (a list is no key), names no one
        sources: list[Copies | None] = []
        if isinstance(namespace, str):
            sources.append(named.get((namespace, name)) if isinstance(name, str) else None)
            sources.append(in_namespace.get(namespace))
        sources.append(everyone)
        found: dict[str, Entity] = {}  # one binding of each key: the first of the nearest
        for copies in sources:
            for key in copies.groups if copies is not None else ():
                if key not in found:
                    found[key] = copies.nearest(key, near, same_file=False)[0]
        return list(found.values())

    for account in accounts:
        found = holding(account.fields["namespace"], account.fields["name"], account)
        account.set("capabilities", _union(found))
        account.set("cluster_capabilities", _union(found, cluster_only=True))
        if found:
            account.links["bindings"] = [b.key for b in found]
    for workload in workloads:
        name = workload.fields["service_account_name"]
        if isinstance(name, Unknown):
            for field_name in (
                "service_account_capabilities",
                "service_account_cluster_capabilities",
                "service_account_grants",
            ):
                workload.set(field_name, name)
            continue
        found = holding(workload.fields["namespace"], name, workload)
        workload.set("service_account_capabilities", _union(found))
        workload.set("service_account_cluster_capabilities", _union(found, cluster_only=True))
        granting = [b for b in found if b.fields["capabilities"]]
        workload.set(
            "service_account_grants",
            [_grant_text(b) for b in granting if isinstance(b.fields["capabilities"], list)],
        )
        if granting:
            workload.links["token_bindings"] = [b.key for b in granting]
            roles = dict.fromkeys(k for b in granting for k in b.links.get("role", []))
            if roles:
                workload.links["token_roles"] = list(roles)


def _union(bindings: list[Entity], cluster_only: bool = False) -> list:
    """The capabilities of several bindings, in the catalog's order; a binding whose
    capabilities are not known adds an unknown item."""
    known: set[str] = set()
    unknown: list[Unknown] = []
    for binding in bindings:
        if cluster_only and binding.fields.get("scope") != "cluster":
            continue
        value = binding.fields["capabilities"]
        items = value if isinstance(value, list) else [value]
        for item in items:
            if isinstance(item, Unknown):
                unknown.append(item)
            else:
                known.add(item)
    out: list[Any] = [c for c in CAPABILITIES if c in known]
    return out + unknown[:1]


def _grant_text(binding: Entity) -> str:
    fields = binding.fields
    names = [c for c in fields["capabilities"] if isinstance(c, str)]
    return (
        f"{fields.get('object_kind')} {fields.get('qualified_name')}: {', '.join(names)} "
        f"{fields.get('scope_text')} through {fields.get('role_text')}"
    )


# ---- workload -> AWS role ------------------------------------------------------------------
def _words(value: Any) -> str:
    """A value as a message shows it: an unknown one as it was written."""
    return value.text if isinstance(value, Unknown) else str(value)


def _where(entity: Entity, noun: str) -> str:
    """An entity in words: its Terraform address and place, else `noun` and its place."""
    at = f"{entity.location.file}:{entity.location.start_line}"
    address = entity.fields.get("address")
    return f"{address} ({at})" if isinstance(address, str) else f"{noun} at {at}"


def _written_glob(value: Any) -> str | None:
    """What a value that is not known may be, from how it was written: a template keeps its
    literal text (`sa-${var.team}` is `sa-*`); None when it may be anything."""
    text = value.text if isinstance(value, Unknown) else None
    if not text or "${" not in text:
        return None
    glob: list[str] = []
    depth = 0
    index = 0
    while index < len(text):
        if depth == 0 and text.startswith("${", index):
            glob.append("*")
            depth = 1
            index += 2
            continue
        if depth:
            depth += {"{": 1, "}": -1}.get(text[index], 0)
        else:
            glob.append(text[index])
        index += 1
    return "".join(glob)


# pod identity associations with a namespace or ServiceAccount not known, past which each
# may be for any pod (what a template's literal text rules out is not worked out)
MAX_VAGUE_ASSOCIATIONS = 1_000


class _PodIdentities:
    """Pod identity associations by the namespace and ServiceAccount they name; one whose
    namespace or ServiceAccount is not known may name any that fits how it is written."""

    def __init__(self, associations: list[Entity]) -> None:
        self.by_target = Copies()
        # the associations written each vague way (copies of one module write alike)
        self.vague = Copies()
        count = 0
        for assoc in associations:
            namespace = assoc.fields.get("namespace")
            account = assoc.fields.get("service_account")
            if isinstance(namespace, str) and isinstance(account, str):
                self.by_target.add((namespace, account), assoc)
            elif isinstance(namespace, (str, Unknown)) and isinstance(account, (str, Unknown)):
                self.vague.add((written_target(namespace), written_target(account)), assoc)
                count += 1
        self.vague_count = count
        self.filtered = count <= MAX_VAGUE_ASSOCIATIONS

    def naming(
        self, namespace: Any, account: Any, near: Entity
    ) -> tuple[list[Entity], Unknown | None]:
        """The associations for `namespace/account` (of copies, those nearest to `near`), and
        an unknown when one whose target is not known may be for it too. Copies of one
        association whose target is not known count as copies: when the nearest that may be
        for it is nearer than those that name it (its own environment's, say), none of
        those is known to be its own."""
        found = self.by_target.nearest((namespace, account), near)
        if not self.filtered:  # each may be for any pod: the first says so
            ways = list(itertools.islice(self.vague.groups, 1))
        else:
            ways = [
                way
                for way in self.vague.groups
                if may_be(way[0], namespace) and may_be(way[1], account)
            ]
        if not ways:
            return found, None
        # what says so: the first written that may be for it, or the nearest when nearer
        said = self.vague.get(ways[0])[0]
        if found:
            nearest_copies = [self.vague.nearest(way, near)[0] for way in ways]
            maybe = max(nearest_copies, key=lambda assoc: nearness(near, assoc))
            if nearness(near, maybe) > nearness(near, found[0]):
                found, said = [], maybe
        text = _where(said, "the pod identity association")
        return found, Unknown(f"{text} names a ServiceAccount that is not known", text)


def written_target(value: Any) -> tuple:
    """What a namespace or ServiceAccount name written as `value` may be: ("is", name),
    ("like", glob) or ("any",)."""
    if isinstance(value, str):
        return ("is", value)
    glob = _written_glob(value)
    return ("any",) if glob is None else ("like", glob)


def may_be(target: tuple, name: Any) -> bool:
    """Whether a name written as `target` (`written_target`) may be `name`."""
    if target[0] == "is":
        return name == target[1]
    if target[0] == "any":
        return True
    # a `*` or `?` written in the literal text matches more: a maybe, never a miss
    return isinstance(name, str) and wildcard_match(target[1], name)


def _workload_aws_role(workload: Entity, accounts: Copies, pod_identities: _PodIdentities) -> None:
    """The IAM role the pod's ServiceAccount gets: its IRSA annotation (the scanned
    ServiceAccount nearest to the pod), or pod identity associations for its namespace and
    ServiceAccount. A ServiceAccount that is not in the scan gives no role."""
    namespace = workload.fields["namespace"]
    name = workload.fields["service_account_name"]
    if isinstance(name, Unknown):
        workload.set("aws_role", name)
        return
    roles: list[str] = []
    account = next(iter(accounts.nearest((namespace, name), workload)), None)
    arn = account.fields.get("role_arn") if account is not None else None
    if account is not None and arn not in (None, ""):
        roles.append(
            f"{_words(arn)} through the IRSA annotation of ServiceAccount {namespace}/{name}"
        )
        workload.links["irsa_service_account"] = [account.key]
    # of copies of one association (environments, overlays), the nearest
    associations, maybe = pod_identities.naming(namespace, name, workload)
    for assoc in associations:
        role = _words(assoc.fields.get("role_arn"))
        roles.append(f"{role} through {_where(assoc, 'the pod identity association')}")
    if associations:
        workload.links["pod_identity_associations"] = [a.key for a in associations]
    if roles:
        workload.set("aws_role", "; ".join(roles))
    else:
        workload.set("aws_role", maybe)


# ---- the same principal or cluster twice ---------------------------------------------------
# a reference that takes another value in each instance of a resource (for_each, count)
_PER_INSTANCE = re.compile(r"\b(?:each|count|self)\.")


def configuration_of(entity: Entity) -> str:
    """The configuration an entity is written in: its Terraform module, else the directory of
    its file (an eksctl config, the manifests beside it)."""
    module_dir = entity.fields.get("module_dir")
    if isinstance(module_dir, str):
        return module_dir
    return folder_of(entity.location.file)


def folder_of(file: str) -> str:
    """The folder of a file as shown ("." at the top)."""
    return file.rsplit("/", 1)[0] if "/" in file else "."


def _identity(entity: Entity, name: str, fold: bool = False) -> Hashable | None:
    """What makes two values of a field the same: the value itself (folded to lower case
    for ARNs), or, for a value not yet known, the expression as written in one Terraform
    module or CloudFormation template (it evaluates the same there, unless it differs per
    instance); None when neither."""
    value = entity.fields.get(name)
    if isinstance(value, str):
        return ("value", value.lower() if fold else value)
    if (
        isinstance(value, Unknown)
        and entity.origin in ("terraform", "cloudformation")
        and not _PER_INSTANCE.search(value.text)
    ):
        return ("expression", configuration_of(entity), _instance_of(entity), value.text)
    return None


# the last module call of a call path: `.module.eks`, `module.nodes["a"]`
_LAST_CALL = re.compile(r'(?:^|\.)module\.[\w-]+(?:\[(?:"[^"]*"|[^\]]*)\])?$')


def _instance_of(entity: Entity) -> str:
    """The module instance whose evaluation wrote an entity's expressions: its call path
    for what an instance's resources make, the call path's caller for what a known module's
    reader reads of a call (the call's arguments are the caller's expressions)."""
    path = entity.fields.get("call_path")
    if not isinstance(path, str):
        return ""
    address = entity.fields.get("address")
    if isinstance(address, str) and address.startswith(path + "."):
        return path
    return _LAST_CALL.sub("", path)


def _cluster_identity(entity: Entity) -> Hashable | None:
    """The cluster an entity belongs to: its `cluster_name` within its directory. A name
    says which cluster only inside one configuration: other directories are other
    environments (accounts, regions) as often as not."""
    if cluster_name_of(entity) is None:
        return None
    found = _identity(entity, "cluster_name")
    return None if found is None else (configuration_of(entity), found)


def cluster_name_of(entity: Entity) -> Any:
    """`cluster_name` as written; None when it names no cluster (a module's `""` default)."""
    name = entity.fields.get("cluster_name")
    return None if name == "" else name


def _same_cluster(a: Entity, b: Entity) -> Any:
    """Do two entities belong to the same cluster? True, False, or unknown. Across
    directories only two names written as literals are compared: an expression names a
    cluster of its own configuration."""
    x, y = cluster_name_of(a), cluster_name_of(b)
    both_literal = isinstance(x, str) and isinstance(y, str)
    if (both_literal and x != y) or (
        not both_literal and configuration_of(a) != configuration_of(b)
    ):
        return False
    found = _cluster_identity(a)
    if found is not None and found == _cluster_identity(b):
        return True
    text = f"{_words(x)} ({a.location.file}) or {_words(y)} ({b.location.file})"
    return Unknown(f"whether cluster {text} is the same cluster is not known", text)


def _principal_identity(entry: Entity) -> Hashable | None:
    ref = entry.fields.get("principal_ref")
    if isinstance(ref, str):
        return ("ref", ref)
    return _identity(entry, "principal_arn", fold=True)


def _principal_role_name(entry: Entity, roles: _RoleIndex) -> str | None:
    """The name of the role an access entry maps: from its ARN, or from the scanned
    Terraform role its `principal_ref` names."""
    name = role_name_from_arn(entry.fields.get("principal_arn"))
    if name is not None:
        return name
    statements = roles.by_ref.get(entry.fields.get("principal_ref") or "", [])
    found = statements[0].fields.get("role_name") if statements else None
    return found if isinstance(found, str) else None


class _Said(NamedTuple):
    """What an access entry or identity provider says about its cluster and principal,
    worked out once: the identities (`_identity`), and what tells two of them apart."""

    identity: Hashable | None  # equal: the same thing
    literal: Hashable | None  # the values, when all are written as literals
    directory: str
    cluster: Any
    principal: Hashable | None
    principal_type: Any
    role_name: str | None


def _differ(a: _Said, b: _Said) -> bool:
    """Are two entries surely about different clusters or principals? (Across directories
    only cluster names written as literals are compared, as in `_same_cluster`.)"""
    both_literal = isinstance(a.cluster, str) and isinstance(b.cluster, str)
    if both_literal and a.cluster != b.cluster:
        return True
    if not both_literal and a.directory != b.directory:
        return True
    x, y = a.principal, b.principal
    if x is not None and y is not None and x != y and x[0] == y[0] and x[0] in ("value", "ref"):
        return True
    if isinstance(a.principal_type, str) and isinstance(b.principal_type, str):
        if a.principal_type != b.principal_type:
            return True  # a role is never a user
    # IAM role names are unique in an account, paths aside
    return a.role_name is not None and b.role_name is not None and a.role_name != b.role_name


class _Alike:
    """Entities already seen, by what they say (`_Said`), so that the first of them that is
    not surely different from another (`_differ`) is found by a few look-ups: for each way
    two may fail to differ (on the cluster, the principal, its type, the role name), the
    first entity seen in that way."""

    # principals of these kinds differ when their identities do; others may be anything
    COMPARED = ("value", "ref")

    def __init__(self) -> None:
        self.first: dict[tuple, tuple[int, Entity]] = {}

    def add(self, position: int, entity: Entity, said: _Said) -> None:
        for key in itertools.product(*self._ways(said)):
            self.first.setdefault(key, (position, entity))

    def earliest(self, said: _Said) -> Entity | None:
        """The first entity added that `said` may be the same as."""
        hits = [self.first.get(key) for key in itertools.product(*self._wanted(said))]
        found = min((hit for hit in hits if hit is not None), key=lambda hit: hit[0], default=None)
        return None if found is None else found[1]

    @classmethod
    def _ways(cls, said: _Said) -> tuple[list, ...]:
        """The keys an entity is filed under, one list per thing compared."""
        cluster = [("in", said.directory)]
        if isinstance(said.cluster, str):
            cluster.append(("named", said.cluster))
        else:
            cluster.append(("in, unnamed", said.directory))
        principal: list = [("any",)]
        if said.principal is None:
            principal.append(("none",))
        else:
            principal.append(("is", said.principal))
            principal += [("not", kind) for kind in cls.COMPARED if said.principal[0] != kind]
        kind = [("any",), ("is", said.principal_type)]
        if not isinstance(said.principal_type, str):
            kind[1] = ("unset",)
        role = [("any",), ("is", said.role_name) if said.role_name is not None else ("unset",)]
        return cluster, principal, kind, role

    @classmethod
    def _wanted(cls, said: _Said) -> tuple[list, ...]:
        """The keys of the entities `said` is not surely different from (`_differ`)."""
        if isinstance(said.cluster, str):  # a literal name: that name, or unnamed here
            cluster = [("named", said.cluster), ("in, unnamed", said.directory)]
        else:  # an expression names a cluster of its own configuration
            cluster = [("in", said.directory)]
        x = said.principal
        if x is None or x[0] not in cls.COMPARED:
            principal: list = [("any",)]
        else:
            principal = [("none",), ("is", x), ("not", x[0])]
        kind = [("any",)]
        if isinstance(said.principal_type, str):
            kind = [("is", said.principal_type), ("unset",)]
        role = [("any",)]
        if said.role_name is not None:
            role = [("is", said.role_name), ("unset",)]
        return cluster, principal, kind, role


def _earlier_alike(
    entities: list[Entity], said: dict[int, _Said], noun: str, same: str
) -> list[tuple[Entity, Entity | None, Unknown | None]]:
    """Each entity, in file and line order, with the first earlier one that is the same thing
    (equal identities), else an unknown when an earlier one may be. Entities whose values are
    all literals can only be the same when those are equal: a literal one is compared with the
    first earlier literal one that has its values, and with the earlier others."""
    ordered = sorted(entities, key=lambda e: (e.location.file, e.location.start_line, e.key))
    first: dict[Hashable, Entity] = {}
    first_literal: dict[Hashable, Entity] = {}
    earlier = _Alike()
    earlier_others = _Alike()  # those whose values are not all literals
    out: list[tuple[Entity, Entity | None, Unknown | None]] = []
    for index, entity in enumerate(ordered):
        own = said[id(entity)]
        match = first.get(own.identity) if own.identity is not None else None
        maybe: Unknown | None = None
        if match is None:
            if own.literal is None:
                other = earlier.earliest(own)
            else:
                other = first_literal.get(own.literal)
                if other is None or _differ(own, said[id(other)]):
                    other = earlier_others.earliest(own)
            if other is not None:
                where = _where(other, f"the {noun}")
                maybe = Unknown(f"{where} may be for the same {same}", f"(maybe {where})")
        if own.identity is not None:
            first.setdefault(own.identity, entity)
        if own.literal is not None:
            first_literal.setdefault(own.literal, entity)
        else:
            earlier_others.add(index, entity, own)
        earlier.add(index, entity, own)
        out.append((entity, match, None if match is not None else maybe))
    return out


def _earlier_access_entries(mappings: list[Entity], roles: _RoleIndex) -> None:
    """An access entry for a principal and cluster that an earlier one already has: EKS
    refuses the second (one access entry per principal, with several access policies)."""
    entries = []
    said: dict[int, _Said] = {}
    for mapping in mappings:
        if mapping.fields.get("source") != "access_entry":
            mapping.set("earlier_access_entry", None)
            continue
        entries.append(mapping)
        cluster, arn = cluster_name_of(mapping), mapping.fields.get("principal_arn")
        parts = (_cluster_identity(mapping), _principal_identity(mapping))
        said[id(mapping)] = _Said(
            identity=None if None in parts else parts,
            literal=(cluster, arn.lower())
            if isinstance(cluster, str) and isinstance(arn, str)
            else None,
            directory=configuration_of(mapping),
            cluster=cluster,
            principal=parts[1],
            principal_type=mapping.fields.get("principal_type"),
            role_name=_principal_role_name(mapping, roles),
        )
    for entry, match, maybe in _earlier_alike(
        entries, said, "access entry", "principal and cluster"
    ):
        if match is not None:
            entry.set(
                "earlier_access_entry",
                _where(match, "the access entry"),
                span=entry.field_lines.get("principal_arn"),
            )
            entry.links["earlier_access_entry"] = [match.key]
        else:
            entry.set("earlier_access_entry", maybe)


def _earlier_identity_providers(providers: list[Entity]) -> None:
    """An OIDC identity provider config for a cluster that an earlier one already has: EKS
    associates one per cluster."""
    said: dict[int, _Said] = {}
    for provider in providers:
        cluster = cluster_name_of(provider)
        said[id(provider)] = _Said(
            identity=_cluster_identity(provider),
            literal=cluster if isinstance(cluster, str) else None,
            directory=configuration_of(provider),
            cluster=cluster,
            principal=None,
            principal_type=None,
            role_name=None,
        )
    for provider, match, maybe in _earlier_alike(
        providers, said, "identity provider config", "cluster"
    ):
        if match is not None:
            name = match.fields.get("name")
            words = _where(match, f"identity provider {_words(name)}")
            provider.set(
                "earlier_identity_provider", words, span=provider.field_lines.get("cluster_name")
            )
            provider.links["earlier_identity_provider"] = [match.key]
        else:
            provider.set("earlier_identity_provider", maybe)


# ---- the VPC CNI's own role ----------------------------------------------------------------
AWS_NODE = ("kube-system", "aws-node")


def _aws_node_role(
    addon: Entity, pod_identities: _PodIdentities, accounts: Copies, role_index: _RoleIndex
) -> None:
    """For the vpc-cni add-on, the role aws-node gets of its own (else it uses the node's):
    the add-on's IRSA role or pod identity association for aws-node, a pod identity
    association for kube-system/aws-node of the same cluster, or a scanned kube-system/aws-node
    ServiceAccount's IRSA annotation. An IRSA role known only after apply is one when it is
    a role the scan declares (`service_account_role_ref`: a role resource, the role a role
    module's call creates)."""
    name = addon.fields.get("name")
    if not (isinstance(name, str) and name.lower() == "vpc-cni"):
        addon.set("aws_node_role", None)
        return
    roles: list[str] = []
    maybe: list[Unknown] = []
    role = addon.fields.get("service_account_role_arn")
    ref = addon.fields.get("service_account_role_ref")
    declared = role_index.find(addon, role, ref) if isinstance(ref, str) else []
    if isinstance(role, Unknown) and declared:
        role_name = _words(declared[0].fields.get("role_name"))
        roles.append(f"the add-on's service_account_role_arn {role.text} (role {role_name})")
    elif isinstance(role, Unknown):
        maybe.append(role)
    elif role:
        roles.append(f"the add-on's service_account_role_arn {role}")
    items = addon.fields.get("pod_identity_associations")
    for item in items if isinstance(items, list) else []:
        account = item.get("service_account")
        if account == "aws-node":
            roles.append(f"the add-on's pod identity association ({_words(item['role_arn'])})")
        elif isinstance(account, Unknown):
            maybe.append(account)
    associations, vague = pod_identities.naming(*AWS_NODE, addon)
    for assoc in associations:
        same = _same_cluster(addon, assoc)
        if same is True:
            roles.append(
                f"{_where(assoc, 'the pod identity association')} "
                f"({_words(assoc.fields['role_arn'])})"
            )
        elif isinstance(same, Unknown):
            maybe.append(same)
    if vague is not None:
        maybe.append(vague)
    for account in accounts.nearest(AWS_NODE, addon):
        arn = account.fields.get("role_arn")
        if isinstance(arn, Unknown):
            maybe.append(arn)
        elif arn:
            at = f"{account.location.file}:{account.location.start_line}"
            roles.append(f"ServiceAccount kube-system/aws-node ({at}) annotated with {arn}")
    span = addon.field_lines.get("name")
    addon.set(
        "aws_node_role", "; ".join(roles) if roles else (maybe[0] if maybe else None), span=span
    )
