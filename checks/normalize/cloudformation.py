"""CloudFormation templates (and AWS CDK's synthesized ones) -> the entities Terraform and
eksctl make: clusters, instance metadata, access entries and their access policies, pod
identity associations, OIDC identity providers, add-ons, IAM roles with their trust
statements, policies and attachments, and the Kubernetes objects CDK's custom resources
apply (aws-auth among them).

Values are resolved by `cfn_eval.Template`; a property that is absent takes CloudFormation's
default (the resource reference's, which is the EKS or EC2 API's), from the catalog. A
resource whose `Condition` is false is not created and not read; one whose condition is not
decided is read as written. `Properties` that are an `Fn::If` on a condition not decided are
what both branches write alike, the rest not known (`Template.properties`), so that the
resource makes its entities as any other. An entity's `address` is the
resource's logical id and its `module_dir` the template, so that `<template>:<logical id>`
names it for the `role_ref`, `principal_ref` and `policy_ref` of other resources, as a
Terraform address does in its module.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from checks import kinds
from checks.model import Entity, LDict, LList, Location, Problem, Unknown, key_span, span_of
from checks.normalize import iam, iam_roles
from checks.normalize.access import NOT_KNOWN
from checks.normalize.cfn_eval import Template
from checks.parse import ExpansionBudget, ParseError, wrong_kind

ORIGIN = "cloudformation"

Built = tuple[list[Entity], list[Problem]]


class _Reader:
    """One template being read: its evaluator and how its entities are named."""

    def __init__(self, file: str, doc: dict, budget: ExpansionBudget | None) -> None:
        self.file = file
        self.template = Template(doc)
        self.resources = self.template.resources
        self.budget = budget or ExpansionBudget()
        self.spans: dict[str, tuple[int, int]] = getattr(self.resources, "key_lines", {})

    def key(self, logical: str) -> str:
        """The key of what the resource `logical` makes (children append to it)."""
        return f"{ORIGIN}:{self.file}:{logical}"

    def reference(self, logical: str) -> str:
        """How `role_ref`, `principal_ref` and `policy_ref` name a resource of the template."""
        return kinds.terraform_reference(self.file, logical)

    def span(self, logical: str) -> tuple[int, int]:
        """The lines of a resource (line 1 when the file was read without lines)."""
        return self.spans.get(logical) or (1, 1)

    def entity(self, kind: str, logical: str, rtype: str) -> Entity:
        """An entity for what the resource `logical` of type `rtype` makes."""
        e = Entity(kind, self.key(logical), ORIGIN, Location(self.file, *self.span(logical)))
        e.set("address", logical)
        e.set("module_dir", self.file)
        e.set("resource_type", rtype)
        return e

    def target(self, raw: Any, *types: str) -> str | None:
        """The logical id of the resource (of one of `types`) a value written as `Ref` or
        `Fn::GetAtt` names, else None."""
        name = None
        if isinstance(raw, dict) and len(raw) == 1:
            if isinstance(raw.get("Ref"), str):
                name = raw["Ref"]
            elif "Fn::GetAtt" in raw:
                att = raw["Fn::GetAtt"]
                if isinstance(att, str):
                    name = att.split(".", 1)[0]
                elif isinstance(att, list) and att and isinstance(att[0], str):
                    name = att[0]
        declared = self.resources.get(name) if name is not None else None
        if isinstance(declared, dict) and (not types or declared.get("Type") in types):
            return name
        return None

    def properties(self, logical: str) -> Any:
        """The properties of the resource `logical` as written (`Template.properties`)."""
        declared = self.resources.get(logical)
        return self.template.properties(_child(declared, "Properties"))

    def of_type(self, rtype: str) -> list[tuple[str, Any]]:
        """(logical id, properties as written) of the template's resources of type `rtype`."""
        return [
            (name, self.properties(name))
            for name, body in self.resources.items()
            if isinstance(body, dict) and body.get("Type") == rtype
        ]

    def ref(self, raw: Any, *types: str) -> str | None:
        """`<template>:<logical id>` of the resource a value names, else None."""
        name = self.target(raw, *types)
        return self.reference(name) if name is not None else None


def normalize_template(
    file: str, doc: dict, budget: ExpansionBudget | None = None
) -> tuple[list[Entity], list[Problem]]:
    """The entities of one template's resources. `budget`: the file's YAML alias budget, which
    the manifests its resources embed share."""
    reader = _Reader(file, doc, budget)
    template = reader.template
    entities: list[Entity] = []
    problems: list[Problem] = []
    for logical, resource in reader.resources.items():
        if not isinstance(resource, dict) or not isinstance(logical, str):
            continue
        builder = BUILDERS.get(str(resource.get("Type")))
        if builder is None:
            continue
        condition = resource.get("Condition")
        if isinstance(condition, str) and template.condition(condition) is False:
            continue  # not created
        raw = template.properties(resource.get("Properties"))
        if not isinstance(raw, dict):
            if not isinstance(raw, Unknown):
                where = key_span(resource, "Properties") or reader.span(logical)
                message = wrong_kind(f"{logical} Properties", raw, "a mapping")
                problems.append(Problem(file, message, where[0]))
                continue  # CloudFormation refuses the template
            raw = _NotKnownProperties(raw)
        props = raw if isinstance(raw, _NotKnownProperties) else template.value(raw)
        if isinstance(props, Unknown):
            props = raw = _NotKnownProperties(props)  # the evaluation's budget spent
        made, found = builder(reader, logical, str(resource["Type"]), raw, props)
        entities += made
        problems += found
    if template.spent:
        problems.append(
            Problem(
                file,
                "the template's values take too long to work out: those left are unknown",
                1,
                "note",
            )
        )
    return entities, problems


# ---- values --------------------------------------------------------------------------------
class _NotKnownProperties(LDict):
    """Properties not known as a whole (`Properties: !ImportValue x`, an `!If` on a condition
    not decided whose branch is not a mapping): each property, whatever its name, is written
    and is this unknown, so that the resource makes the entities it always makes, their
    fields not known."""

    __slots__ = ("unknown",)

    def __init__(self, unknown: Unknown) -> None:
        super().__init__()
        self.unknown = unknown

    def __contains__(self, key: object) -> bool:
        return True

    def __getitem__(self, key: Any) -> Any:
        return self.unknown

    def get(self, key: Any, default: Any = None) -> Any:
        return self.unknown


def _boolean(value: Any) -> Any:
    """CloudFormation takes `"true"`/`"false"` for a boolean (parameters are strings)."""
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


def _integer(value: Any) -> Any:
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 10:
        return int(value)
    return value


def _child(node: Any, name: str) -> Any:
    """A property of a mapping; the mapping itself when it is not known (whatever it holds is
    not known either); None when absent."""
    if isinstance(node, dict):
        return node.get(name)
    return node if isinstance(node, Unknown) else None


def _put(
    e: Entity,
    field: str,
    node: Any,
    name: str,
    convert: Callable[[Any], Any] | None = None,
) -> Any:
    """A property into a field; when it is absent, the catalog's default; unknown when the
    mapping that would hold it is."""
    if isinstance(node, Unknown):
        e.set(field, node)
        return node
    if isinstance(node, dict) and name in node:
        value = convert(node[name]) if convert else node[name]
        e.set(field, value, span=key_span(node, name))
        return value
    return kinds.set_default(e, field)


def _of_kind(
    reader: _Reader,
    logical: str,
    node: Any,
    name: str,
    kind: type,
    expected: str,
    shown: str = "",
    default: tuple[int, int] | None = None,
) -> tuple[Any, list[Problem]]:
    """The property `name` of `node` (`_child`). One known that is not of `kind` is a problem
    (CloudFormation refuses the template; `expected` says what it takes, problems name the
    property as `shown`, else as `name`) and is not known."""
    value = _child(node, name)
    if value is None or isinstance(value, (kind, Unknown)):
        return value, []
    shown = shown or name
    where = key_span(node, name) or default or reader.span(logical)
    message = wrong_kind(f"{logical} {shown}", value, expected)
    why = Unknown(f"{shown} of {logical} is written wrongly", shown)
    return why, [Problem(reader.file, message, where[0])]


def _item_span(items: Any, index: int, default: tuple[int, int]) -> tuple[int, int]:
    """The lines of a list's item, `default` when the parser did not mark them."""
    lines = getattr(items, "item_lines", ())
    if index < len(lines) and lines[index][0]:
        return lines[index]
    return default


def _text(value: Any) -> str:
    return value.text if isinstance(value, Unknown) else str(value)


def _last_part(arn: Any) -> Any:
    """The last `/` part of an ARN written as text, its unknown parts aside
    (`arn:${AWS::Partition}:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy`)."""
    text = _text(arn) if isinstance(arn, (str, Unknown)) else None
    if text is None:
        return arn
    last = text.rsplit("/", 1)[-1]
    if "${" in last or "/" not in text:
        return arn if isinstance(arn, Unknown) else last
    return last


def _principal_type(reader: _Reader, raw: Any, arn: Any) -> Any:
    """`role` or `user`: from the resource an ARN names, else from its text."""
    target = reader.target(raw)
    rtype = reader.resources[target].get("Type") if target else None
    if rtype == "AWS::IAM::Role":
        return "role"
    if rtype == "AWS::IAM::User":
        return "user"
    text = _text(arn)
    # the resource part, after the last `:` (a `${AWS::Partition}` holds colons too)
    resource = text.rsplit(":", 1)[-1] if text.startswith("arn:") else ""
    kind = resource.split("/", 1)[0]
    if kind in ("role", "user"):
        return kind
    return Unknown(f"principal {text} is neither a role nor a user", text)


# ---- EKS -----------------------------------------------------------------------------------
# our cluster fields -> where each spelling writes them
_PASCAL = {
    "vpc": "ResourcesVpcConfig",
    "public": "EndpointPublicAccess",
    "private": "EndpointPrivateAccess",
    "cidrs": "PublicAccessCidrs",
    "access": "AccessConfig",
    "mode": "AuthenticationMode",
    "bootstrap": "BootstrapClusterCreatorAdminPermissions",
    "compute": "ComputeConfig",
    "enabled": "Enabled",
}
# CDK's aws-eks v1 cluster: the EKS API's CreateCluster request, in `Config`
_CAMEL = {
    "vpc": "resourcesVpcConfig",
    "public": "endpointPublicAccess",
    "private": "endpointPrivateAccess",
    "cidrs": "publicAccessCidrs",
    "access": "accessConfig",
    "mode": "authenticationMode",
    "bootstrap": "bootstrapClusterCreatorAdminPermissions",
    "compute": "computeConfig",
    "enabled": "enabled",
}


def _cluster(reader: _Reader, logical: str, rtype: str, raw: Any, props: Any) -> Built:
    """`AWS::EKS::Cluster`, CDK's `Custom::AWSCDK-EKS-Cluster` (its `Config`) and the
    `AWSQS::EKS::Cluster` registry type."""
    e = reader.entity("cluster", logical, rtype)
    e.set("module_major_version", None)
    if rtype == "Custom::AWSCDK-EKS-Cluster":
        spelled, config = _CAMEL, props.get("Config")
        config = config if isinstance(config, (dict, Unknown)) else LDict()
        name_key, path = "name", "Config."
    else:
        spelled, config, name_key, path = _PASCAL, props, "Name", ""
    kinds.name_settings(
        e,
        {
            "endpoint_private_access": f"{path}{spelled['vpc']}.{spelled['private']}",
            "authentication_mode": f"{path}{spelled['access']}.{spelled['mode']}",
            "bootstrap_cluster_creator_admin_permissions": (
                f"{path}{spelled['access']}.{spelled['bootstrap']}"
            ),
        },
    )
    name = _child(config, name_key)
    if name is None:
        name = Unknown(f"CloudFormation names cluster {logical} when it creates it", logical)
    e.set("name", name, span=key_span(config, name_key))
    vpc = _child(config, spelled["vpc"])
    _put(e, "endpoint_public_access", vpc, spelled["public"], _boolean)
    _put(e, "endpoint_private_access", vpc, spelled["private"], _boolean)
    _put(e, "public_access_cidrs", vpc, spelled["cidrs"])
    kinds.empty_to_default(e, "public_access_cidrs")
    problems = _log_types(reader, logical, e, config, rtype)
    access, found = _of_kind(
        reader, logical, config, spelled["access"], dict, "a mapping", path + spelled["access"]
    )
    problems += found
    _put(e, "authentication_mode", access, spelled["mode"])
    _put(e, "bootstrap_cluster_creator_admin_permissions", access, spelled["bootstrap"], _boolean)
    _put(e, "auto_mode", _child(config, spelled["compute"]), spelled["enabled"], _boolean)
    entities = [e]
    if rtype == "AWSQS::EKS::Cluster":
        entities += _quickstart_api_access(reader, logical, props, name)
    return entities, problems


def _log_types(reader: _Reader, logical: str, e: Entity, config: Any, rtype: str) -> list[Problem]:
    """The control plane log types: `Logging.ClusterLogging.EnabledTypes[].Type`, CDK's
    `logging.clusterLogging[]` (`types` of the items `enabled`), the registry type's
    `EnabledClusterLoggingTypes`. `Logging.ClusterLogging.EnabledTypes` known that is not a
    list of mappings is a problem, its log types not known."""
    if rtype == "Custom::AWSCDK-EKS-Cluster":
        logging = _child(config, "logging")
        items = _child(logging, "clusterLogging")
        if isinstance(items, Unknown):
            e.set("enabled_log_types", items)
            return []
        if not isinstance(items, list):
            kinds.set_default(e, "enabled_log_types")
            return []
        types: list = []
        for item in items:
            if isinstance(item, dict) and _boolean(item.get("enabled")) is True:
                found = item.get("types")
                types += found if isinstance(found, list) else [found]
        e.set("enabled_log_types", types, span=key_span(logging, "clusterLogging"))
        return []
    if rtype == "AWSQS::EKS::Cluster":
        _put(e, "enabled_log_types", config, "EnabledClusterLoggingTypes")
        return []
    cluster_logging = _child(_child(config, "Logging"), "ClusterLogging")
    enabled = _child(cluster_logging, "EnabledTypes")
    span = key_span(cluster_logging, "EnabledTypes")
    if enabled is None:
        kinds.set_default(e, "enabled_log_types")
        return []
    if isinstance(enabled, Unknown):
        e.set("enabled_log_types", enabled, span=span)
        return []
    shown = "Logging.ClusterLogging.EnabledTypes"
    items, problems = _items(
        reader, logical, cluster_logging, "EnabledTypes", "log types", "a log type", shown
    )
    if problems:
        why = Unknown(f"{shown} of {logical} is written wrongly", shown)
        e.set("enabled_log_types", why, span=span)
        return problems
    e.set("enabled_log_types", [_child(item.value, "Type") for item in items], span=span)
    return []


def _quickstart_api_access(reader: _Reader, logical: str, props: Any, cluster: Any) -> list:
    """The registry type's `KubernetesApiAccess` `Roles` and `Users`: what it writes into the
    cluster's aws-auth ConfigMap, as the ConfigMap's `mapRoles` and `mapUsers`."""
    from checks.normalize import aws_auth

    access = props.get("KubernetesApiAccess")
    if not isinstance(access, dict):
        return []
    where = span_of(access, (1, 1))
    data = LDict(line=where[0], end_line=where[1])
    for name, map_name in (("Roles", "mapRoles"), ("Users", "mapUsers")):
        items = access.get(name)
        if isinstance(items, Unknown):  # one entry not known stands for each it may hold
            items = LList([items], line=where[0], end_line=where[1])
            items.item_lines = [key_span(access, name) or where]
        if not isinstance(items, list):
            continue
        entries = LList(line=where[0], end_line=where[1])
        entries.item_lines = [_item_span(items, i, where) for i in range(len(items))]
        arn_key = "rolearn" if name == "Roles" else "userarn"
        for item in items:
            if isinstance(item, dict):
                lines = span_of(item, where)
                entry = LDict(line=lines[0], end_line=lines[1])
                for ours, theirs in (
                    (arn_key, "Arn"),
                    ("username", "Username"),
                    ("groups", "Groups"),
                ):
                    if theirs in item:
                        entry[ours] = item[theirs]
                        entry.key_lines[ours] = key_span(item, theirs) or lines
                entries.append(entry)
            else:
                entries.append(item)
        data[map_name] = entries
        data.key_lines[map_name] = key_span(access, name)
    doc = LDict(line=where[0], end_line=where[1])
    made, _ = aws_auth.normalize_config_map(
        reader.file,
        doc,
        data,
        key_prefix=f"{reader.key(logical)}/KubernetesApiAccess",
        origin=ORIGIN,
        structured_ok=True,
        budget=reader.budget,
    )
    return made


def _cluster_name(e: Entity, props: Any) -> None:
    e.set("cluster_name", props.get("ClusterName"), span=key_span(props, "ClusterName"))


def _access_entry(reader: _Reader, logical: str, rtype: str, raw: Any, props: Any) -> Built:
    """`AWS::EKS::AccessEntry` and the access policies it associates."""
    e = reader.entity("identity_mapping", logical, rtype)
    e.set("source", "access_entry")
    e.set("map", None)
    _cluster_name(e, props)
    arn = props.get("PrincipalArn")
    e.set("principal_arn", arn, span=key_span(props, "PrincipalArn"))
    e.set("principal_type", _principal_type(reader, raw.get("PrincipalArn"), arn))
    e.set("account", None)
    principal_ref = reader.ref(raw.get("PrincipalArn"), "AWS::IAM::Role", "AWS::IAM::User")
    e.set("principal_ref", principal_ref)
    _put(e, "entry_type", props, "Type")
    e.set("username", props.get("Username"), span=key_span(props, "Username"))
    groups, problems = _of_kind(
        reader, logical, props, "KubernetesGroups", list, "a list of group names"
    )
    if problems:
        e.set("groups", groups, span=key_span(props, "KubernetesGroups"))
    else:
        _put(e, "groups", props, "KubernetesGroups")
    e.set("role_name", None)
    e.set("role_path", None)
    e.set("problems", [])
    out = [e]
    policies, found = _items(
        reader, logical, props, "AccessPolicies", "access policies", "an access policy"
    )
    problems += found
    for label, _index, policy, span in policies:
        if isinstance(policy, Unknown):  # its policy and scope, whatever they are, not known
            policy = {"PolicyArn": policy, "AccessScope": policy}
        a = Entity(
            "access_policy_association",
            f"{e.key}.AccessPolicies{label}",
            ORIGIN,
            Location(reader.file, *span),
        )
        a.set("address", None)
        a.set("module_dir", None)
        a.set("resource_type", None)
        a.set("cluster_name", e.fields["cluster_name"])
        a.set("principal_arn", arn)
        a.set("principal_ref", principal_ref)
        policy_arn = policy.get("PolicyArn")
        a.set("policy_arn", policy_arn, span=key_span(policy, "PolicyArn"))
        a.set("policy_name", _last_part(policy_arn), span=a.field_lines.get("policy_arn"))
        scope, found = _of_kind(
            reader,
            logical,
            policy,
            "AccessScope",
            dict,
            "a mapping",
            f"AccessPolicies{label}.AccessScope",
            span,
        )
        problems += found
        a.set("scope_type", _child(scope, "Type"), span=key_span(scope, "Type"))
        if isinstance(scope, Unknown) or (isinstance(scope, dict) and "Namespaces" in scope):
            namespaces = _child(scope, "Namespaces")
            a.set("scope_namespaces", namespaces, span=key_span(scope, "Namespaces"))
        else:
            kinds.set_default(a, "scope_namespaces")
        a.links["access_entry"] = [e.key]
        out.append(a)
    return out, problems


class _Item(NamedTuple):
    """An item of a list property: its label in keys (`[0]`, `["(not known)"]`), its index
    (None for the item that stands for a list not known), its value and its lines."""

    label: str
    index: int | None
    value: Any
    span: tuple[int, int]


def _items(
    reader: _Reader,
    logical: str,
    props: Any,
    name: str,
    items: str,
    mapping: str = "",
    shown: str = "",
) -> tuple[list[_Item], list[Problem]]:
    """The items of the list property `name` (`items` says what they are): of a list not
    known (`!If` on a condition not decided, `!Ref` to a parameter without a default), one
    item not known where the list is written, that stands for each it may hold. A value known
    that is not a list, or an item that is not a mapping when `mapping` names what each is
    (with its article), is a problem (CloudFormation refuses the template) and no item;
    problems name the property as `shown` (its path), else as `name`."""
    written = props.get(name)
    shown = shown or name
    where = key_span(props, name) or reader.span(logical)
    if isinstance(written, Unknown):
        return [_Item(f'["{NOT_KNOWN}"]', None, written, where)], []
    if written is None:
        return [], []
    if not isinstance(written, list):
        message = wrong_kind(f"{logical} {shown}", written, f"a list of {items}")
        return [], [Problem(reader.file, message, where[0])]
    found: list[_Item] = []
    problems: list[Problem] = []
    for index, value in enumerate(written):
        span = _item_span(written, index, where)
        if not mapping or isinstance(value, (dict, Unknown)):
            found.append(_Item(f"[{index}]", index, value, span))
        else:
            message = wrong_kind(f"{logical} {shown}[{index}]", value, f"{mapping} (a mapping)")
            problems.append(Problem(reader.file, message, span[0]))
    return found, problems


def _pod_identity_association(
    reader: _Reader, logical: str, rtype: str, raw: Any, props: Any
) -> Built:
    e = reader.entity("pod_identity_association", logical, rtype)
    _cluster_name(e, props)
    e.set("namespace", props.get("Namespace"), span=key_span(props, "Namespace"))
    e.set("service_account", props.get("ServiceAccount"), span=key_span(props, "ServiceAccount"))
    e.set("role_arn", props.get("RoleArn"), span=key_span(props, "RoleArn"))
    e.set("role_ref", reader.ref(raw.get("RoleArn"), "AWS::IAM::Role"))
    return [e], []


def _identity_provider(reader: _Reader, logical: str, rtype: str, raw: Any, props: Any) -> Built:
    kind = props.get("Type")
    if isinstance(kind, str) and kind.lower() != "oidc":
        return [], []
    e = reader.entity("identity_provider", logical, rtype)
    kinds.name_settings(e, {"groups_prefix": "Oidc.GroupsPrefix"})
    _cluster_name(e, props)
    oidc = props.get("Oidc")
    if isinstance(oidc, LDict):
        e.field_lines["oidc"] = (oidc.line, oidc.end_line)
    e.set(
        "name",
        props.get("IdentityProviderConfigName"),
        span=key_span(props, "IdentityProviderConfigName"),
    )
    for field, name in (
        ("issuer_url", "IssuerUrl"),
        ("groups_claim", "GroupsClaim"),
        ("groups_prefix", "GroupsPrefix"),
        ("username_claim", "UsernameClaim"),
        ("username_prefix", "UsernamePrefix"),
    ):
        _put(e, field, oidc, name)
    return [e], []


def _addon(reader: _Reader, logical: str, rtype: str, raw: Any, props: Any) -> Built:
    e = reader.entity("addon", logical, rtype)
    _cluster_name(e, props)
    e.set("name", props.get("AddonName"), span=key_span(props, "AddonName"))
    e.set(
        "service_account_role_arn",
        props.get("ServiceAccountRoleArn"),
        span=key_span(props, "ServiceAccountRoleArn"),
    )
    e.set(
        "service_account_role_ref", reader.ref(raw.get("ServiceAccountRoleArn"), "AWS::IAM::Role")
    )
    items, problems = _items(
        reader,
        logical,
        props,
        "PodIdentityAssociations",
        "pod identity associations",
        "a pod identity association",
    )
    associations = LList(line=e.location.start_line, end_line=e.location.end_line)
    for _label, _index, item, span in items:
        # one not known names a service account and a role, whatever they are, not known
        associations.append(
            {"service_account": _child(item, "ServiceAccount"), "role_arn": _child(item, "RoleArn")}
        )
        associations.item_lines.append(span)
    span = associations.item_lines[0] if associations else None
    e.set("pod_identity_associations", associations, span=span)
    return [e], problems


def _node_group(reader: _Reader, logical: str, rtype: str, raw: Any, props: Any) -> Built:
    """`AWS::EKS::Nodegroup` without a launch template: the one EKS creates, whose instance
    metadata options AWS documents for AL2 (IMDSv1 allowed, hop limit 2) and AL2023 (IMDSv2
    only, hop limit 1); other AMI types are unknown. With a launch template, that template
    is the instance metadata (read as itself); with one not known, which it runs is not known."""
    launch_template = props.get("LaunchTemplate")
    if launch_template is not None and not isinstance(launch_template, Unknown):
        return [], []
    e = reader.entity("instance_metadata", logical, rtype)
    e.set("name", f"{logical} (the launch template EKS creates)")
    e.set("node_roles", _node_group_roles(reader, logical, raw))
    family, origin, span = _ami_family(reader, raw, props)
    # what decides the options of the template EKS creates is the node group's AMI type
    kinds.name_settings(
        e,
        {
            "http_tokens": f"{origin}, so http_tokens",
            "hop_limit": f"{origin}, so http_put_response_hop_limit",
        },
    )
    settings = kinds.EKS_NODE_GROUP_IMDS.get(family) if isinstance(family, str) else None
    if settings is not None:
        source = f"EKS managed node group default ({origin})"
        e.set("http_tokens", settings[0], span=span, default=source)
        e.set("hop_limit", settings[1], span=span, default=source)
    else:
        why = (
            family
            if isinstance(family, Unknown)
            else Unknown(
                f"AWS does not document the instance metadata options EKS sets for {origin}",
                f"(EKS default for {origin})",
            )
        )
        e.set("http_tokens", why, span=span)
        e.set("hop_limit", why, span=span)
    kinds.set_default(e, "http_endpoint")
    _launch_template_not_known(e, props, launch_template)
    return [e], []


def _launch_template_not_known(e: Entity, props: Any, launch_template: Any) -> None:
    """Nodes that may run a launch template of their own (`LaunchTemplate` not known: an `!If`
    on a condition not decided): their metadata options are not known, for its reason."""
    if isinstance(launch_template, Unknown):
        for field in ("http_tokens", "http_endpoint", "hop_limit"):
            e.set(field, launch_template, span=key_span(props, "LaunchTemplate"))
            e.defaulted.pop(field, None)


def _ami_family(reader: _Reader, raw: Any, props: Any) -> tuple[Any, str, Any]:
    """(`AL2`, `AL2023`, another family or Unknown; the AMI type in words; its lines)."""
    ami = props.get("AmiType")
    if isinstance(ami, str):
        family = kinds.ami_family(ami) or ami
        return family, f"AmiType {ami}", key_span(props, "AmiType")
    if ami is not None:
        return Unknown(f"AmiType {_text(ami)} is not known", _text(ami)), "AmiType", None
    version = props.get("Version")
    if version is None:
        cluster = reader.target(raw.get("ClusterName"), "AWS::EKS::Cluster")
        if cluster is not None:
            cluster_props = reader.properties(cluster)
            if isinstance(cluster_props, dict) and "Version" in cluster_props:
                version = reader.template.value(cluster_props["Version"])
    picked = kinds.ami_family(kinds.eks_ami_type(version))
    if picked is None:
        why = Unknown(
            "without AmiType, EKS picks the AMI type by Kubernetes version, which is not known",
            "(AMI type EKS picks)",
        )
        return why, "no AmiType", None
    return picked, f"no AmiType, Kubernetes {version}: {picked}", None


# ---- EC2 instance metadata -----------------------------------------------------------------
def _metadata(
    reader: _Reader, logical: str, rtype: str, options: Any, container: Any, path: str = ""
) -> Entity:
    """The metadata options of a launch template (`path`: where its data sits), launch
    configuration or instance."""
    e = reader.entity("instance_metadata", logical, rtype)
    e.set("name", logical)
    kinds.name_settings(
        e,
        {
            "http_tokens": f"{path}MetadataOptions.HttpTokens",
            "hop_limit": f"{path}MetadataOptions.HttpPutResponseHopLimit",
        },
    )
    if isinstance(options, LDict):
        e.field_lines["metadata_options"] = key_span(container, "MetadataOptions") or (
            options.line,
            options.end_line,
        )
    _put(e, "http_tokens", options, "HttpTokens")
    _put(e, "http_endpoint", options, "HttpEndpoint")
    _put(e, "hop_limit", options, "HttpPutResponseHopLimit", _integer)
    return e


def _launch_template(reader: _Reader, logical: str, rtype: str, raw: Any, props: Any) -> Built:
    """A launch template's metadata options, and the roles of the nodes it makes: its
    instance profile's and those of the node groups of the template that launch from it."""
    data = props.get("LaunchTemplateData")
    options = _child(data, "MetadataOptions")
    e = _metadata(reader, logical, rtype, options, data, "LaunchTemplateData.")
    roles = _profile_roles(reader, _child(raw, "LaunchTemplateData"), "IamInstanceProfile")
    for group, group_props in reader.of_type("AWS::EKS::Nodegroup"):
        template = _child(group_props, "LaunchTemplate")
        if isinstance(template, dict) and logical in (
            reader.target(template.get("Id"), rtype),
            reader.target(template.get("Name"), rtype),
        ):
            roles += _node_group_roles(reader, group, group_props)
    e.set("node_roles", roles)
    return [e], []


def _instance(reader: _Reader, logical: str, rtype: str, raw: Any, props: Any) -> Built:
    """`AWS::AutoScaling::LaunchConfiguration` and `AWS::EC2::Instance`; an instance launched
    from a launch template without options of its own has the template's (read as itself)."""
    options = props.get("MetadataOptions")
    launch_template = props.get("LaunchTemplate")
    if options is None and launch_template is not None:
        if not isinstance(launch_template, Unknown):
            return [], []  # the launch template's options
    e = _metadata(reader, logical, rtype, options, props)
    if options is None:
        _launch_template_not_known(e, props, launch_template)
    e.set("node_roles", _profile_roles(reader, raw, "IamInstanceProfile"))
    return [e], []


# ---- the nodes' IAM roles (what a pod that reaches the instance metadata gets, RULES.md 8xx) -
def _role_item(reader: _Reader, raw: Any, via: str, span: tuple[int, int] | None) -> dict:
    return kinds.node_role(
        reader.template.value(raw),
        reader.ref(raw, "AWS::IAM::Role"),
        via,
        reader.file,
        span or (1, 1),
    )


def _node_group_roles(reader: _Reader, logical: str, props: Any) -> LList:
    """A managed node group's `NodeRole` (none written: not known); `props` as written."""
    roles = LList()
    if isinstance(props, dict) and "NodeRole" in props:
        roles.append(
            _role_item(
                reader, props["NodeRole"], f"{logical} NodeRole", key_span(props, "NodeRole")
            )
        )
    else:
        why = Unknown(f"node group {logical} names no NodeRole", f"{logical} NodeRole")
        roles.append(
            kinds.node_role(why, None, f"{logical} NodeRole", reader.file, reader.span(logical))
        )
    return roles


def _profile_roles(reader: _Reader, holder: Any, attr: str) -> LList:
    """The roles of the instance profile `holder[attr]` names: the `Roles` of the template's
    `AWS::IAM::InstanceProfile` it refers to, else one role not known; none when no profile is
    named (the instances hold no credentials to reach)."""
    roles = LList()
    raw = _child(holder, attr)
    if isinstance(raw, dict) and len(raw) == 1 and ("Arn" in raw or "Name" in raw):
        raw = raw.get("Arn", raw.get("Name"))  # a launch template's IamInstanceProfile
    if raw is None:
        return roles
    span = key_span(holder, attr)
    profile = reader.target(raw, "AWS::IAM::InstanceProfile")
    if profile is not None:
        written = _child(reader.properties(profile), "Roles")
        if isinstance(written, list):
            for role in written:
                roles.append(_role_item(reader, role, f"instance profile {profile}", span))
            return roles
    named = _text(reader.template.value(raw))
    roles.append(
        kinds.node_role(
            kinds.profile_role(named), None, f"{attr} {named}", reader.file, span or (1, 1)
        )
    )
    return roles


# ---- IAM -----------------------------------------------------------------------------------
def _generated(logical: str, what: str) -> Unknown:
    return Unknown(f"CloudFormation names {what} {logical} when it creates it", logical)


def _policy_document(value: Any, written: Any, span: tuple[int, int] | None) -> Any:
    """A policy as a structure, a JSON string, or a JSON string built with functions whose
    unknown parts are `${...}` (read as written). A string's statements are located where
    they are written: `written` is the property as the template writes it (a string, or a
    `Fn::Sub` of one), `span` the lines of the property."""
    from checks.normalize.policy_text import PolicyText, load_policy

    text = value.text if isinstance(value, Unknown) else value
    if not isinstance(text, str):
        return value
    placed = PolicyText(text)
    placed.line = _text_line(written, text, span)
    if not isinstance(value, Unknown):
        return placed
    if not text.lstrip().startswith("{"):
        return value
    try:
        return load_policy(placed)
    except ParseError:
        return value


def _text_line(written: Any, text: str, span: tuple[int, int] | None) -> int:
    """The line of a string's first line of text: a block scalar's (`|`) lines are the
    file's, from the line after its indicator; any other string (one line, or folded) is
    located on the line it starts (0: not known)."""
    where = span
    if isinstance(written, LDict) and "Fn::Sub" in written:
        inner = written["Fn::Sub"]
        if isinstance(inner, LList) and inner.item_lines:
            where = inner.item_lines[0]
        else:
            where = written.key_lines.get("Fn::Sub", span)
    elif not isinstance(written, str):
        return span[0] if span is not None else 0
    if where is None:
        return 0
    block = where[1] > where[0] and "\n" in text.rstrip("\n")
    return where[0] + 1 if block else where[0]


def _written(raw: Any, *path: Any) -> Any:
    """What the template writes at `path` in a resource's properties (None when it is not
    there)."""
    for step in path:
        if isinstance(raw, dict) and isinstance(step, str):
            raw = raw.get(step)
        elif isinstance(raw, list) and isinstance(step, int) and 0 <= step < len(raw):
            raw = raw[step]
        else:
            return None
    return raw


def _role(reader: _Reader, logical: str, rtype: str, raw: Any, props: Any) -> Built:
    key = reader.key(logical)
    name = props.get("RoleName")
    if name is None:
        name = _generated(logical, "role")
    arn = Unknown(
        f"{logical}.Arn is known only when the stack is created", "${" + logical + ".Arn}", logical
    )
    entities: list[Entity] = []
    problems: list[Problem] = []
    if "AssumeRolePolicyDocument" in props:
        made, found = iam.trust_statements(
            _policy_document(
                props["AssumeRolePolicyDocument"],
                _written(raw, "AssumeRolePolicyDocument"),
                key_span(props, "AssumeRolePolicyDocument"),
            ),
            key=key,
            origin=ORIGIN,
            file=reader.file,
            span=key_span(props, "AssumeRolePolicyDocument") or reader.span(logical),
            role_name=name,
            role_arn=arn,
            role_ref=reader.reference(logical),
            source="AssumeRolePolicyDocument",
        )
        entities += made
        problems += found
    spans = {n: key_span(props, p) for n, p in (("name", "RoleName"), ("path", "Path"))}
    entities.append(
        iam_roles.role_entity(
            key=key,
            origin=ORIGIN,
            location=Location(reader.file, *reader.span(logical)),
            name=name,
            role_key=key,
            source=ORIGIN,
            arn=arn,
            path=props.get("Path"),
            permissions_boundary=props.get("PermissionsBoundary"),
            address=logical,
            module_dir=reader.file,
            resource_type=rtype,
            spans={k: v for k, v in spans.items() if v},
        )
    )
    inline, found = _items(reader, logical, props, "Policies", "inline policies", "a policy")
    problems += found
    for label, index, policy, span in inline:
        # one not known: its name and document, whatever they are, not known
        made_policy, found = iam_roles.policy_entity(
            key=f"{key}/Policies{label}",
            origin=ORIGIN,
            location=Location(reader.file, *span),
            document=_policy_document(
                _child(policy, "PolicyDocument"),
                _written(raw, "Policies", index, "PolicyDocument"),
                key_span(policy, "PolicyDocument"),
            ),
            name=_child(policy, "PolicyName"),
            policy_type="inline",
            source=ORIGIN,
            role_name=name,
            role_key=key,
            document_span=key_span(policy, "PolicyDocument"),
        )
        entities.append(made_policy)
        problems += found
    managed, found = _items(reader, logical, props, "ManagedPolicyArns", "policy ARNs")
    problems += found
    for label, index, policy_arn, span in managed:
        written = _written(raw, "ManagedPolicyArns", index) if index is not None else None
        entities.append(
            iam_roles.attachment_entity(
                key=f"{key}/ManagedPolicyArns{label}",
                origin=ORIGIN,
                location=Location(reader.file, *span),
                policy_arn=policy_arn,
                source=ORIGIN,
                policy_ref=reader.ref(written, "AWS::IAM::ManagedPolicy"),
                role_name=name,
                role_key=key,
            )
        )
    return entities, problems


def _managed_policy(reader: _Reader, logical: str, rtype: str, raw: Any, props: Any) -> Built:
    """`AWS::IAM::ManagedPolicy`, and its attachment to each role of its `Roles`."""
    key = reader.key(logical)
    name = props.get("ManagedPolicyName")
    if name is None:
        name = _generated(logical, "policy")
    arn = Unknown(
        f"{logical} is known only when the stack is created", "${" + logical + "}", logical
    )
    policy, problems = iam_roles.policy_entity(
        key=key,
        origin=ORIGIN,
        location=Location(reader.file, *reader.span(logical)),
        document=_policy_document(
            props.get("PolicyDocument"),
            _written(raw, "PolicyDocument"),
            key_span(props, "PolicyDocument"),
        ),
        name=name,
        policy_type="managed",
        source=ORIGIN,
        arn=arn,
        address=logical,
        module_dir=reader.file,
        resource_type=rtype,
        document_span=key_span(props, "PolicyDocument"),
    )
    entities = [policy]
    roles, found = _roles(reader, logical, raw, props)
    problems += found
    for label, role, written, span in roles:
        entities.append(
            iam_roles.attachment_entity(
                key=f"{key}/Roles{label}",
                origin=ORIGIN,
                location=Location(reader.file, *span),
                policy_arn=arn,
                source=ORIGIN,
                policy_ref=reader.reference(logical),
                policy_name=name,
                role_name=role,
                role_ref=reader.ref(written, "AWS::IAM::Role"),
            )
        )
    return entities, problems


def _inline_policy(reader: _Reader, logical: str, rtype: str, raw: Any, props: Any) -> Built:
    """`AWS::IAM::Policy`: an inline policy of each role of its `Roles`."""
    entities: list[Entity] = []
    roles, problems = _roles(reader, logical, raw, props)
    for label, role, written, _span in roles:
        made, found = iam_roles.policy_entity(
            key=f"{reader.key(logical)}/Roles{label}",
            origin=ORIGIN,
            location=Location(reader.file, *reader.span(logical)),
            document=_policy_document(
                props.get("PolicyDocument"),
                _written(raw, "PolicyDocument"),
                key_span(props, "PolicyDocument"),
            ),
            name=props.get("PolicyName"),
            policy_type="inline",
            source=ORIGIN,
            role_name=role,
            role_ref=reader.ref(written, "AWS::IAM::Role"),
            address=logical,
            module_dir=reader.file,
            resource_type=rtype,
            document_span=key_span(props, "PolicyDocument"),
        )
        entities.append(made)
        problems += found
    return entities, problems


def _roles(reader: _Reader, logical: str, raw: Any, props: Any) -> tuple[list[tuple], list]:
    """(label, role name, the item as written, its lines) of a policy's `Roles`, and the
    problems of `Roles` written wrongly (`_items`): `Roles` not known is one role not known
    that stands for each it may name."""
    items, problems = _items(reader, logical, props, "Roles", "role names")
    written = raw.get("Roles")
    out = []
    for label, index, role, span in items:
        item = None
        if index is not None and isinstance(written, list) and index < len(written):
            item = written[index]
        out.append((label, role, item, span))
    return out, problems


# ---- Kubernetes objects that CDK and registry types apply ---------------------------------
def _manifest(reader: _Reader, logical: str, rtype: str, raw: Any, props: Any) -> Built:
    """The Kubernetes objects of a `Manifest`: CDK's `Custom::AWSCDK-EKS-KubernetesResource`
    (a JSON array, as a string), the `AWSQS::Kubernetes::Resource` registry type (YAML). An
    object written with functions is read as its text with `${...}` for what is unknown; its
    lines are the property's (a block scalar's, line by line)."""
    from checks.normalize import kubernetes

    value = props.get("Manifest")
    span = key_span(props, "Manifest") or reader.span(logical)
    if isinstance(value, (dict, list)) and not isinstance(value, str):
        docs = value if isinstance(value, list) else [value]
        return kubernetes.normalize_objects(
            reader.file, list(docs), origin=ORIGIN, budget=reader.budget
        )
    text = value.text if isinstance(value, Unknown) else value
    if not isinstance(text, str) or not text.strip():
        return [], []
    from checks.parse.yamlsafe import load_all

    block = span[1] > span[0] and "\n" in text
    try:
        docs = load_all(text, line_offset=span[0] if block else 0, budget=reader.budget)
    except ParseError as exc:
        if exc.guard:
            return [], [
                Problem(reader.file, f"{logical} Manifest: {exc.message}", exc.line or span[0])
            ]
        level = "note" if isinstance(value, Unknown) else "error"
        line = exc.line if block and exc.line else span[0]
        return [], [Problem(reader.file, f"{logical} Manifest: {exc.message}", line, level)]
    flat: list = []
    for doc in docs:
        flat += doc if isinstance(doc, list) else [doc]
    if not block:
        _pin(flat, span)
    if isinstance(value, Unknown) and not any(kubernetes.is_object(doc) for doc in flat):
        # nothing of it is known (`!If` on a condition not decided, `!ImportValue`): said
        # as of one not known that does not parse, never silently nothing
        message = f"{logical} Manifest: {value.reason}: the Kubernetes objects it applies are "
        return [], [Problem(reader.file, message + "not checked", span[0], "note")]
    return kubernetes.normalize_objects(reader.file, flat, origin=ORIGIN, budget=reader.budget)


def _pin(nodes: list, span: tuple[int, int]) -> None:
    """Objects written on one line of the template (a JSON string) are all at its lines."""
    stack = list(nodes)
    while stack:
        node = stack.pop()
        if isinstance(node, LDict):
            node.line, node.end_line = span
            node.key_lines = {k: span for k in node}
            stack.extend(node.values())
        elif isinstance(node, LList):
            node.line, node.end_line = span
            node.item_lines = [span] * len(node)
            stack.extend(node)


BUILDERS: dict[str, Callable[[_Reader, str, str, Any, Any], Built]] = {
    "AWS::EKS::Cluster": _cluster,
    "Custom::AWSCDK-EKS-Cluster": _cluster,
    "AWSQS::EKS::Cluster": _cluster,
    "AWS::EKS::AccessEntry": _access_entry,
    "AWS::EKS::PodIdentityAssociation": _pod_identity_association,
    "AWS::EKS::IdentityProviderConfig": _identity_provider,
    "AWS::EKS::Addon": _addon,
    "AWS::EKS::Nodegroup": _node_group,
    "AWS::EC2::LaunchTemplate": _launch_template,
    "AWS::AutoScaling::LaunchConfiguration": _instance,
    "AWS::EC2::Instance": _instance,
    "AWS::IAM::Role": _role,
    "AWS::IAM::ManagedPolicy": _managed_policy,
    "AWS::IAM::Policy": _inline_policy,
    "Custom::AWSCDK-EKS-KubernetesResource": _manifest,
    "AWSQS::Kubernetes::Resource": _manifest,
}
