"""Kubernetes objects (from YAML or JSON manifests) -> model entities.

Workloads (the pod spec wherever its kind keeps it), ServiceAccounts, Secrets, RBAC objects,
and the `aws-auth` ConfigMap, with Kubernetes defaults applied (namespace `default`,
ServiceAccount `default`, projected token lifetime 3600 s).
"""

from __future__ import annotations

from typing import Any

from checks import kinds
from checks.model import (
    Entity,
    LDict,
    LList,
    Location,
    Problem,
    Unknown,
    get_path,
    key_span,
)
from checks.normalize import aws_auth, rbac
from checks.parse import ExpansionBudget
from checks.parse.comments import parse_suppression

ROLE_ARN_ANNOTATION = "eks.amazonaws.com/role-arn"

# kind -> path from the object to its pod spec
POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "PodTemplate": ("template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}


def is_object(doc: Any) -> bool:
    """An object of the API: what a manifest, and a `List` of them, holds."""
    return isinstance(doc, dict) and isinstance(doc.get("kind"), str) and "apiVersion" in doc


def normalize_objects(
    file: str,
    docs: list,
    origin: str = "kubernetes",
    budget: ExpansionBudget | None = None,
) -> tuple[list[Entity], list[Problem]]:
    """Entities of every Kubernetes object in a file's documents, lists expanded: `kind: List`
    (whose items carry their own kinds, as `kubectl get -o yaml` writes it) and typed lists
    (`RoleList`, `ConfigMapList`, as the API writes them, items without `apiVersion`/`kind`).
    `budget`: the file's YAML alias budget, which the YAML strings embedded in it share (a new
    one by default)."""
    entities: list[Entity] = []
    problems: list[Problem] = []
    budget = budget or ExpansionBudget()
    stack = list(reversed(docs))
    while stack:
        doc = stack.pop()
        if not is_object(doc):
            continue
        items = doc.get("items")
        if doc["kind"].endswith("List") and isinstance(items, list):
            stack.extend(reversed([list_item(doc, item) for item in items]))
            continue
        made, found = normalize_object(file, doc, origin, budget)
        entities.extend(made)
        problems.extend(found)
    return entities, problems


def list_item(listed: dict, item: Any) -> Any:
    """An item of a list as the API server reads it: an item of a typed list (`RoleList`) is
    of the list's kind minus `List` and of the list's apiVersion, unless it says otherwise;
    the items of a plain `List` say what they are themselves."""
    kind = listed["kind"].removesuffix("List")
    if not kind or not isinstance(item, dict) or ("kind" in item and "apiVersion" in item):
        return item
    typed = LDict(item, line=getattr(item, "line", 0), end_line=getattr(item, "end_line", 0))
    typed.key_lines = dict(getattr(item, "key_lines", {}))
    typed.setdefault("kind", kind)
    typed.setdefault("apiVersion", listed["apiVersion"])
    return typed


# Objects that live in no namespace: `metadata.namespace` means nothing for them.
CLUSTER_SCOPED = {
    "ClusterRole",
    "ClusterRoleBinding",
    "Namespace",
    "Node",
    "PersistentVolume",
    "CustomResourceDefinition",
    "StorageClass",
    "PriorityClass",
    "IAMIdentityMapping",
}


def _meta(doc: dict) -> tuple[str, str, bool]:
    """The object's name, its namespace, and whether the namespace is Kubernetes' default."""
    meta = doc.get("metadata")
    if not isinstance(meta, dict):
        meta = {}
    name = meta.get("name")
    name = _written(name) if name is not None else "(unnamed)"
    namespace = meta.get("namespace")
    return name, _written(namespace) if namespace else kinds.NAMESPACE.default, not namespace


def _written(value: Any) -> str:
    """A name as the object writes it: a value Terraform knows only later (`var.namespace`)
    by its expression."""
    return value.text if isinstance(value, Unknown) else str(value)


def _base(kind: str, file: str, doc: dict, origin: str = "kubernetes") -> Entity:
    name, namespace, ns_defaulted = _meta(doc)
    line = getattr(doc, "line", 0) or 1
    cluster_scoped = doc["kind"] in CLUSTER_SCOPED
    scope = "" if cluster_scoped else f"{namespace}/"
    entity = Entity(
        kind=kind,
        key=f"k8s:{scope}{doc['kind']}/{name}",
        origin=origin,
        location=Location(file, line, getattr(doc, "end_line", line) or line),
    )
    entity.set("object_kind", doc["kind"])
    entity.set("name", name)
    if cluster_scoped:
        entity.set("namespace", None)
    elif ns_defaulted:
        kinds.set_default(entity, "namespace")
    else:
        entity.set("namespace", namespace)
    entity.set("qualified_name", f"{scope}{name}")
    if kind in kinds.CONFIGURATION_KINDS:
        entity.set("module_dir", None)  # Terraform's: `terraform.normalize_blocks` sets it
    return entity


IGNORE_ANNOTATION = "eks-checks.io/ignore"


def normalize_object(
    file: str, doc: dict, origin: str = "kubernetes", budget: ExpansionBudget | None = None
) -> tuple[list[Entity], list[Problem]]:
    """Entities of one Kubernetes object; `budget`: its file's YAML alias budget."""
    entities, problems = _entities_of(file, doc, budget)
    suppressions = annotation_suppressions(doc)
    for e in entities:
        e.suppressions = suppressions
        e.origin = origin
    return entities, problems


def annotation_suppressions(doc: dict) -> list[tuple]:
    """`eks-checks.io/ignore: "EKS301: reason; EKS302,EKS303: reason until=2027-01-31"`."""
    annotations = get_path(doc, "metadata", "annotations")
    value = annotations.get(IGNORE_ANNOTATION) if isinstance(annotations, dict) else None
    if not isinstance(value, str):
        return []
    line = (key_span(annotations, IGNORE_ANNOTATION) or (0, 0))[0]
    out = []
    for part in value.replace("\n", ";").split(";"):
        rules, _, rest = part.partition(":")
        if rules.strip():
            s = parse_suppression(rules, rest, line, line)
            out.append((s.rules, s.reason, s.until, line))
    return out


def _entities_of(
    file: str, doc: dict, budget: ExpansionBudget | None
) -> tuple[list[Entity], list[Problem]]:
    kind = doc["kind"]
    if kind in POD_SPEC_PATHS:
        path = POD_SPEC_PATHS[kind]
        spec = get_path(doc, *path)
        if not isinstance(spec, dict):
            return [], []
        # point at the `spec:` key of the pod template, not at its first child
        spec_span = key_span(get_path(doc, *path[:-1]), path[-1]) or (spec.line, spec.end_line)
        return [_workload(file, doc, spec, spec_span)], []
    if kind == "ServiceAccount":
        return [_service_account(file, doc)], []
    if kind == "Secret":
        entity = _base("secret", file, doc)
        if "type" in doc:
            entity.set("type", doc["type"], span=key_span(doc, "type"))
        else:
            kinds.set_default(entity, "type")
        return [entity], []
    if kind in ("Role", "ClusterRole"):
        return _rbac_role(file, doc), []
    if kind in ("RoleBinding", "ClusterRoleBinding"):
        return [_rbac_binding(file, doc)], []
    if kind == IAM_IDENTITY_MAPPING and str(doc.get("apiVersion")).startswith(
        "iamauthenticator.k8s.aws/"
    ):
        return [_iam_identity_mapping(file, doc)], []
    if kind == "ConfigMap":
        name, namespace, _ = _meta(doc)
        if name == "aws-auth" and namespace == "kube-system":
            data = doc.get("data")
            return aws_auth.normalize_config_map(
                file, doc, data, key_prefix="k8s:kube-system/ConfigMap/aws-auth", budget=budget
            )
    return [], []


IAM_IDENTITY_MAPPING = "IAMIdentityMapping"


def _iam_identity_mapping(file: str, doc: dict) -> Entity:
    """An `IAMIdentityMapping` of the AWS IAM Authenticator (iamauthenticator.k8s.aws): an
    aws-auth entry written as an object (`spec.arn`, `spec.username`, `spec.groups`), read by
    an authenticator run with the CRD backend and matched as aws-auth entries are (a role ARN
    with a path never matches). Cluster-scoped; `status` is the authenticator's."""
    name, _namespace, _ = _meta(doc)
    spec = doc.get("spec")
    spec = spec if isinstance(spec, dict) else LDict()
    arn = spec.get("arn")
    kind = "user" if isinstance(arn, str) and ":user/" in arn else "role"
    line = getattr(doc, "line", 0) or 1
    e = aws_auth.mapping_entity(
        file,
        f"k8s:{IAM_IDENTITY_MAPPING}/{name}",
        "kubernetes",
        (line, getattr(doc, "end_line", line) or line),
        IAM_IDENTITY_MAPPING,
        kind,
    )
    problems: list[str] = []
    e.set("principal_arn", arn, span=key_span(spec, "arn"))
    aws_auth.judge_arn(e, arn, "spec.arn", None, None, problems)
    username = spec.get("username")
    e.set("username", username, span=key_span(spec, "username"))
    groups = aws_auth.set_groups(e, spec, "groups" if "groups" in spec else None)
    aws_auth.judge_groups(e, groups, username, problems)
    # a problem of the ARN is on its line, any other on the groups'
    at = "arn" if any("spec.arn" in p for p in problems) else "groups"
    e.set("problems", problems, span=key_span(spec, at))
    return e


def _workload(file: str, doc: dict, spec: LDict, spec_span: tuple[int, int]) -> Entity:
    e = _base("workload", file, doc)
    sa = spec.get("serviceAccountName") or spec.get("serviceAccount")
    sa_key = "serviceAccountName" if spec.get("serviceAccountName") else "serviceAccount"
    if sa:
        e.set("service_account_name", str(sa), span=key_span(spec, sa_key))
    else:
        kinds.set_default(e, "service_account_name")
    automount = spec.get("automountServiceAccountToken")
    e.set(
        "automount",
        automount if isinstance(automount, bool) else None,
        span=key_span(spec, "automountServiceAccountToken"),
    )
    e.field_lines["pod_spec"] = spec_span
    expirations = []
    token_default = kinds.catalog_field("workload", "projected_token_expirations").item_default
    for volume in spec.get("volumes") or []:
        sources = get_path(volume, "projected", "sources")
        if not isinstance(sources, list):
            continue
        for source in sources:
            token = get_path(source, "serviceAccountToken")
            if isinstance(token, dict):
                seconds = token.get("expirationSeconds", token_default)
                expirations.append(seconds)
                span = key_span(token, "expirationSeconds") or (
                    getattr(token, "line", 0),
                    getattr(token, "end_line", 0),
                )
                e.field_lines.setdefault("projected_token_expirations", span)
    e.set("projected_token_expirations", expirations)
    legacy = sts_legacy_endpoint_containers(spec)
    e.set("sts_legacy_endpoint_containers", legacy, span=legacy.span(0) if legacy else None)
    root = root_containers(spec)
    e.set("root_containers", root, span=root.span(0) if root else None)
    return e


STS_ENDPOINTS_VARIABLE = "AWS_STS_REGIONAL_ENDPOINTS"
# every list of a pod spec whose items are containers: init containers run with the pod's
# ServiceAccount, its token and its AWS credentials too
CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


def _containers(spec: dict) -> list[tuple[Any, tuple[int, int]]]:
    """(container, its lines) of every container list of a pod spec; a list that is not known
    gives one unknown container."""
    found: list[tuple[Any, tuple[int, int]]] = []
    for key in CONTAINER_LISTS:
        items = spec.get(key)
        if isinstance(items, Unknown):
            found.append((items, key_span(spec, key) or (spec.line, spec.end_line)))
        elif isinstance(items, list):
            for index, container in enumerate(items):
                span = items.span(index) if isinstance(items, LList) else (0, 0)
                found.append((container, span))
    return found


def _container_name(container: dict) -> str:
    name = container.get("name")
    return name if isinstance(name, str) else "(unnamed)"


def sts_legacy_endpoint_containers(spec: dict) -> LList:
    """The containers whose `AWS_STS_REGIONAL_ENDPOINTS` is `legacy` (the AWS SDKs read the
    value in any case), each at the line of its value; an unknown item, at its `env` entry,
    for a container whose value cannot be known. A later `env` entry of the same name wins,
    as the kubelet builds the environment; `envFrom` sources are not read."""
    found = LList()
    for container, span in _containers(spec):
        if isinstance(container, Unknown):
            found.append(container)
            found.item_lines.append(span)
            continue
        if not isinstance(container, dict):
            continue
        name = _container_name(container)
        env = container.get("env")
        setting: Any = None
        where = span
        if isinstance(env, Unknown):
            setting, where = env, key_span(container, "env") or span
        for entry in env if isinstance(env, list) else []:
            if not isinstance(entry, dict):
                continue
            variable = entry.get("name")
            if isinstance(variable, Unknown):
                setting = variable  # it may be this variable
                where = key_span(entry, "name") or span
            elif variable == STS_ENDPOINTS_VARIABLE:
                value = entry.get("value")
                if entry.get("valueFrom") is not None and not value:
                    setting = Unknown(
                        f"container {name} takes {STS_ENDPOINTS_VARIABLE} from valueFrom",
                        f"{name} ({STS_ENDPOINTS_VARIABLE} from valueFrom)",
                    )
                else:
                    setting = value
                where = key_span(entry, "value") or key_span(entry, "valueFrom") or span
        if isinstance(setting, Unknown):
            found.append(Unknown(setting.reason, f"{name} ({setting.text})"))
            found.item_lines.append(where)
        elif isinstance(setting, str) and setting.lower() == "legacy":
            found.append(name)
            found.item_lines.append(where)
    return found


def _security_settings(context: Any) -> tuple[Any, Any]:
    """(`runAsNonRoot`, `runAsUser`) of a securityContext as written, None where not set;
    a securityContext that is not known leaves both unknown."""
    if isinstance(context, Unknown):
        return context, context
    if not isinstance(context, dict):
        return None, None
    return context.get("runAsNonRoot"), context.get("runAsUser")


def _user_id(value: Any) -> Any:
    """`runAsUser` as a number: Terraform's kubernetes provider writes it as a string."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int) or isinstance(value, Unknown):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _runs_as_non_root(container: dict, pod_context: Any) -> Any:
    """True when the container cannot run as root: the effective `runAsNonRoot` (the
    container's, else the pod's) is true (the kubelet then refuses to start it as root), or
    the effective `runAsUser` is not 0. False when the image's user decides; unknown when a
    setting is not known."""
    own_non_root, own_user = _security_settings(container.get("securityContext"))
    pod_non_root, pod_user = _security_settings(pod_context)
    non_root = own_non_root if own_non_root is not None else pod_non_root
    user = _user_id(own_user if own_user is not None else pod_user)
    if non_root is True or (isinstance(non_root, str) and non_root.lower() == "true"):
        return True
    if isinstance(user, int) and user != 0:
        return True
    if isinstance(non_root, Unknown):
        return non_root
    if isinstance(user, Unknown):
        return user
    return False


def root_containers(spec: dict) -> LList:
    """The containers that may run as root, each at its own lines; an unknown item for one
    whose settings are not known."""
    found = LList()
    pod_context = spec.get("securityContext")
    for container, span in _containers(spec):
        if isinstance(container, Unknown):
            verdict: Any = container
        elif isinstance(container, dict):
            verdict = _runs_as_non_root(container, pod_context)
        else:
            continue
        if verdict is True:
            continue
        name = _container_name(container) if isinstance(container, dict) else "(containers)"
        if isinstance(verdict, Unknown):
            found.append(Unknown(verdict.reason, f"{name} (user {verdict.text})"))
        else:
            found.append(name)
        found.item_lines.append(span)
    return found


def _service_account(file: str, doc: dict) -> Entity:
    e = _base("service_account", file, doc)
    automount = doc.get("automountServiceAccountToken")
    e.set(
        "automount",
        automount if isinstance(automount, bool) else None,
        span=key_span(doc, "automountServiceAccountToken"),
    )
    annotations = get_path(doc, "metadata", "annotations")
    role_arn = annotations.get(ROLE_ARN_ANNOTATION) if isinstance(annotations, dict) else None
    e.set("role_arn", role_arn, span=key_span(annotations, ROLE_ARN_ANNOTATION))
    e.set("role_ref", None)
    e.set("given_by", None)
    return e


def _strings(value: Any) -> list:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _rbac_role(file: str, doc: dict) -> list[Entity]:
    """The role, and one `rbac_rule` entity per rule (what a finding on a binding points at)."""
    e = _base("rbac_role", file, doc)
    rules = LList(line=0)
    rule_entities = []
    raw = doc.get("rules")
    if isinstance(raw, list):
        rules.line, rules.end_line = raw.line, raw.end_line
        for index, rule in enumerate(raw):
            if not isinstance(rule, dict):
                continue
            rules.append(
                {
                    "api_groups": _strings(rule.get("apiGroups")),
                    "resources": _strings(rule.get("resources")),
                    "verbs": _strings(rule.get("verbs")),
                    "non_resource_urls": _strings(rule.get("nonResourceURLs")),
                }
            )
            rules.item_lines.append(raw.span(index))
            rule_entities.append(_rbac_rule(e, index, rule, raw.span(index)))
    e.set("rules", rules, span=key_span(doc, "rules"))
    aggregation = doc.get("aggregationRule")
    e.set("aggregated", isinstance(aggregation, dict))
    labels = get_path(doc, "metadata", "labels")
    e.set("labels", rbac.label_pairs(labels), span=key_span(get_path(doc, "metadata"), "labels"))
    e.set(
        "aggregation_selectors",
        rbac.selectors(aggregation) if isinstance(aggregation, dict) else [],
        span=key_span(doc, "aggregationRule"),
    )
    return [e, *rule_entities]


def _rbac_rule(role: Entity, index: int, rule: dict, span: tuple[int, int]) -> Entity:
    start = span[0] or role.location.start_line
    # the rule's last line is its last value's (a block mapping's end mark is on the next item)
    ends = [end for _, end in getattr(rule, "key_lines", {}).values()]
    end = max(ends) if ends else span[1]
    e = Entity(
        kind="rbac_rule",
        key=f"{role.key}/rule[{index}]",
        origin=role.origin,
        location=Location(role.location.file, start, max(start, end)),
    )
    e.set("role_kind", role.fields["object_kind"])
    e.set("role_name", role.fields["name"])
    if role.fields["namespace"] is None:
        e.set("namespace", None)
    elif "namespace" in role.defaulted:
        kinds.set_default(e, "namespace")
    else:
        e.set("namespace", role.fields["namespace"])
    e.set("role", f"{role.fields['object_kind']} {role.fields['qualified_name']}")
    e.set("role_key", role.key)
    e.set("index", index)
    for name, value in rbac.rule_fields(rule).items():
        e.set(name, value, span=key_span(rule, rbac.MANIFEST_KEYS[name]))
    return e


def _rbac_binding(file: str, doc: dict) -> Entity:
    e = _base("rbac_binding", file, doc)
    ref = doc.get("roleRef")
    ref = ref if isinstance(ref, dict) else {}
    e.set("role_ref_kind", _text(ref.get("kind")), span=key_span(doc, "roleRef"))
    e.set("role_ref_name", _text(ref.get("name")), span=key_span(doc, "roleRef"))
    subjects = LList()
    raw = doc.get("subjects")
    # a malformed `subjects` (a mapping instead of a list) binds nobody: the API rejects it
    if isinstance(raw, list):
        subjects.line, subjects.end_line = raw.line, raw.end_line
        for index, subject in enumerate(raw):
            if not isinstance(subject, dict):
                continue
            subjects.append(
                {
                    "kind": _text(subject.get("kind")),
                    "name": _text(subject.get("name")),
                    "namespace": _text(subject.get("namespace")),
                }
            )
            subjects.item_lines.append(raw.span(index))
    e.set("subjects", subjects, span=key_span(doc, "subjects"))
    e.set("subject_names", [_subject_name(s) for s in subjects])
    e.set(
        "non_exempt_subject_names",
        [_subject_name(s) for s in subjects if not _exempt(s.get("name"))],
    )
    if doc["kind"] == "ClusterRoleBinding":
        e.set("scope", "cluster")
        e.set("scope_text", "cluster-wide")
    else:
        e.set("scope", e.fields["namespace"])
        e.set("scope_text", f"in namespace {e.fields['namespace']}")
    return e


def _text(value: Any) -> Any:
    """A name as written; a number or a mapping where the API wants a string names nothing
    (the API server refuses the object)."""
    return value if isinstance(value, (str, Unknown)) else None


def _exempt(name: Any) -> bool:
    """Kubernetes' and EKS's own identities (`system:masters`, `eks:addon-manager`)."""
    return isinstance(name, str) and name.startswith(kinds.EXEMPT_SUBJECT_PREFIXES)


def _subject_name(subject: dict) -> str:
    """`User alice`, `Group devs`, `ServiceAccount shop/cart`."""
    name = subject.get("name")
    if subject.get("kind") == "ServiceAccount" and subject.get("namespace"):
        name = f"{subject['namespace']}/{name}"
    return f"{subject.get('kind')} {name}"
