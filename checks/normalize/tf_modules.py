"""Calls of modules whose inputs eks-checks knows, read as what the modules create.

`module "eks" { source = "terraform-aws-modules/eks/aws" ... }` configures the cluster, its
endpoint, access entries, identity providers, node groups' instance metadata and IAM roles,
and (up to v19) aws-auth through inputs, and the module fills in its own defaults, which
changed between major versions. Each reader applies the defaults of the version the call gets
(`tf_known.version_of`), read from the module's variables.tf and main.tf at each major's
tags (v17.24, v18.31, v19.21, v20.37, v21.19 for the EKS module). Findings point at the
inputs, else at the call.

This file reads terraform-aws-modules/eks and its submodules (`eks-managed-node-group`,
`self-managed-node-group`, `fargate-profile`, `karpenter`, `aws-auth`); `tf_module_iam`
reads terraform-aws-modules/iam, `tf_module_community` cloudposse's and aws-ia's modules.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from checks import kinds
from checks.model import Entity, LDict, LList, Problem, Unknown, items_known
from checks.normalize import (
    access,
    aws_auth,
    iam,
    tf_module_community,
    tf_module_iam,
    tf_module_pod_identity,
)
from checks.normalize.tf_build import Module
from checks.normalize.tf_known import (
    Call,
    Version,
    addon,
    as_list,
    aws_policy,
    node_role,
    policy_arns,
    role,
    version_of,
)
from checks.parse.hcltree import Block

EKS_FAMILY = "terraform-aws-modules/eks"
NEWEST = 21
EKS_SOURCE = re.compile(r"terraform-aws-modules/eks/aws|terraform-aws-eks(\.git)?(//|\?|$)")
CLUSTER_ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
# what each major's node groups get when they say nothing of metadata_options
NODE_METADATA = {
    17: {"http_endpoint": "enabled", "http_tokens": "optional"},
    18: {"http_endpoint": "enabled", "http_tokens": "required", "http_put_response_hop_limit": 2},
    19: {"http_endpoint": "enabled", "http_tokens": "required", "http_put_response_hop_limit": 2},
    20: {"http_endpoint": "enabled", "http_tokens": "required", "http_put_response_hop_limit": 2},
    21: {"http_endpoint": "enabled", "http_tokens": "required", "http_put_response_hop_limit": 1},
}
# inputs that v21 renamed: a call that sets one of either list says which major it is for
V21_NAMES = ("name", "kubernetes_version", "endpoint_public_access", "addons", "compute_config")
V20_NAMES = (
    "cluster_name",
    "cluster_version",
    "cluster_endpoint_public_access",
    "cluster_addons",
    "eks_managed_node_group_defaults",
)
# access entry types EKS gives no access policies to (the module skips their associations)
NODE_ENTRY_TYPES = ("EC2_LINUX", "EC2_WINDOWS", "FARGATE_LINUX", "HYBRID_LINUX")
EKS_LAUNCH_TEMPLATE_NOTE = "EKS default (the launch template EKS makes for {ami})"

Reader = Callable[[Module, str, Block, "str | None"], tuple[list[Entity], list[Problem]]]


# ---- which module a source is ----------------------------------------------------------------
def _eks(source: Any, submodule: str | None) -> bool:
    """A terraform-aws-modules/eks source: the main module (`submodule` None) or one of its
    `//modules/<submodule>`."""
    if not isinstance(source, str):
        return False
    base, sub = split_subdirectory(source)
    if not EKS_SOURCE.search(base):
        return False
    return sub == "" if submodule is None else sub == f"modules/{submodule}"


def split_subdirectory(source: str) -> tuple[str, str]:
    """A module source's package address and its `//sub/directory` (without `?ref=...`);
    the `//` of `https://` is no subdirectory."""
    m = re.search(r"(?<!:)//", source)
    if m is None:
        return source, ""
    sub, mark, query = source[m.end() :].partition("?")
    return source[: m.start()] + mark + query, sub.strip("/")


def is_eks_module(source: Any) -> bool:
    return _eks(source, None)


def is_aws_auth_module(source: Any) -> bool:
    return _eks(source, "aws-auth")


def is_known_module(source: Any) -> bool:
    """Whether a reader below reads calls of the module at `source`."""
    return _reader(source) is not None


def _reader(source: Any) -> Reader | None:
    if _eks(source, None):
        return eks_module
    for submodule, reader in EKS_SUBMODULE_READERS.items():
        if _eks(source, submodule):
            return reader
    if tf_module_pod_identity.is_pod_identity_module(source):
        return tf_module_pod_identity.pod_identity_module
    return tf_module_iam.reader(source) or tf_module_community.reader(source)


def module_call(
    module: Module, file: str, block: Block, installed: str | None = None
) -> tuple[list[Entity], list[Problem]]:
    """What a call of a module whose inputs we know creates; nothing for any other module.
    `installed` is the version `terraform init` installed, when it says."""
    reader = _reader(module.ev.attribute(block, "source", file))
    return ([], []) if reader is None else reader(module, file, block, installed)


def eks_version(module: Module, file: str, block: Block, installed: str | None) -> Version:
    """The EKS module version a call gets; of majors a constraint allows, the one its
    inputs' names were written for (v21 renamed them)."""
    names = block.attributes
    named_for = None
    if any(n in names for n in V21_NAMES) and not any(n in names for n in V20_NAMES):
        named_for = 21
    elif any(n in names for n in V20_NAMES) and not any(n in names for n in V21_NAMES):
        named_for = 20
    return version_of(module, block, file, installed, EKS_FAMILY, NEWEST, named_for)


# ---- the main module -------------------------------------------------------------------------
def eks_module(
    module: Module, file: str, block: Block, installed: str | None = None
) -> tuple[list[Entity], list[Problem]]:
    version = eks_version(module, file, block, installed)
    call = Call(module, file, block, version)
    major = version.major
    v21 = major >= 21
    cluster = module.entity(
        "cluster", file, block, call.address, "module:terraform-aws-modules/eks"
    )
    cluster.set("module_major_version", major)

    def put(field: str, v20_name: str, v21_name: str, default: Any) -> Any:
        return call.put(cluster, field, (v21_name,) if v21 else (v20_name,), default)

    name = put("name", "cluster_name", "name", Unknown(f"{call.address} cluster name not set"))
    old = major <= 18  # public endpoint on, private off, until v19
    put("endpoint_public_access", "cluster_endpoint_public_access", "endpoint_public_access", old)
    put(
        "endpoint_private_access",
        "cluster_endpoint_private_access",
        "endpoint_private_access",
        not old,
    )
    private_input = "endpoint_private_access" if v21 else "cluster_endpoint_private_access"
    cluster.set("endpoint_private_access_setting", private_input)
    put(
        "public_access_cidrs",
        "cluster_endpoint_public_access_cidrs",
        "endpoint_public_access_cidrs",
        ["0.0.0.0/0"],
    )
    kinds.empty_to_default(cluster, "public_access_cidrs")
    logs = [] if major <= 17 else ["audit", "api", "authenticator"]
    put("enabled_log_types", "cluster_enabled_log_types", "enabled_log_types", logs)
    if major >= 20:
        call.put(cluster, "authentication_mode", ("authentication_mode",), "API_AND_CONFIG_MAP")
        # always false: the creator's admin access is an access entry of its own (below)
        cluster.set(
            "bootstrap_cluster_creator_admin_permissions",
            False,
            default=f"{EKS_FAMILY} v{major} (always false; the creator's access is an access "
            "entry)",
        )
    else:
        cluster.set(
            "authentication_mode",
            "CONFIG_MAP",
            default=f"{version.note} (no access entries before v20)",
        )
        kinds.set_default(cluster, "bootstrap_cluster_creator_admin_permissions")
    compute, span = call.value("compute_config" if v21 else "cluster_compute_config")
    auto = (
        compute.get("enabled")
        if isinstance(compute, dict)
        else (None if compute is None else Unknown("compute_config"))
    )
    cluster.set(
        "auto_mode",
        bool(auto) if isinstance(auto, bool) else (auto if auto is not None else False),
        span=span,
        default=None if span else version.note,
    )
    entities: list[Entity] = [cluster]
    entities += _node_groups(call)
    problems: list[Problem] = []
    if major >= 20:
        made, problems = _access_entries(call, name)
        entities += made
    if major <= 17 or major == 19 or (major == 18 and version.at_least(18, 20)):
        # the ConfigMap the module writes: a key of its own, beside the cluster's
        made, _ = _aws_auth_inputs(call, document="/aws-auth")
        entities += made
    entities += _identity_providers(call, name)
    entities += _addons(call, name)
    return entities, problems


def _addons(call: Call, cluster_name: Any) -> list[Entity]:
    """`cluster_addons` (v18-v20) / `addons` (v21): one `aws_eks_addon` each, named by its
    `name` or key, with `service_account_role_arn` and (v20.29+) `pod_identity_association`."""
    major = call.version.major
    if major <= 17:
        return []
    input_name = "addons" if major >= 21 else "cluster_addons"
    addons, span = call.value(input_name)
    if span is None or not isinstance(addons, dict):
        return []
    out: list[Entity] = []
    for key, settings in addons.items():
        if not isinstance(settings, dict):
            continue
        where = call.span_in(addons, key, span)
        name = settings.get("name") or key
        associations = (
            settings.get("pod_identity_association") if call.version.at_least(20, 29) else None
        )
        out += addon(
            call,
            f'.{input_name}["{key}"]',
            where,
            f"module:{input_name}",
            cluster_name,
            name,
            settings,
            associations,
            (input_name, key),
        )
    return out


def _node_groups(call: Call) -> list[Entity]:
    out: list[Entity] = []
    major = call.version.major
    if major <= 17:
        for kind in ("worker_groups", "worker_groups_launch_template"):
            out += _worker_groups(call, kind)
        return out
    cluster_version, _ = call.value("kubernetes_version" if major >= 21 else "cluster_version")
    for kind in ("eks_managed_node_groups", "self_managed_node_groups"):
        groups, span = call.value(kind)
        if span is None or groups is None:
            continue
        defaults: Any = {}
        if major <= 20:
            defaults, _ = call.value(kind.replace("_groups", "_group_defaults"))
        defaults = defaults if isinstance(defaults, dict) else {}
        managed = kind.startswith("eks_managed")
        if not isinstance(groups, dict):
            # a map whose shape is not known: its groups' checks are undecided, not skipped
            reason = (
                groups
                if isinstance(groups, Unknown)
                else Unknown(f"{kind} is not a map", str(groups))
            )
            e = _group_entity(call, f".{kind}", span, f"{call.address} {kind}", kind)
            unknown = Unknown(f"{kind} of {call.address} is not known", reason.text)
            _unknown_metadata(e, unknown)
            e.set("node_roles", unknown)
            out.append(e)
            continue
        for key, group in groups.items():
            where = call.span_in(groups, key, call.span)
            e = _group_entity(
                call, f'.{kind}["{key}"]', where, f'{call.address} {kind}["{key}"]', kind
            )
            if not isinstance(group, dict):
                text = group.text if isinstance(group, Unknown) else str(group)
                unknown = Unknown(f'{kind}["{key}"] is not known', text)
                _unknown_metadata(e, unknown)
                e.set("node_roles", unknown)
            else:
                setting = _settings(group, defaults if major <= 20 else {})
                e.set("node_roles", _node_group_roles(call, e, setting, managed))
                where = (
                    "the node group"
                    if group.get("metadata_options") is not None or major >= 21
                    else f"{kind[:-1]}_defaults"
                )
                _group_metadata(call, e, setting, managed, cluster_version, where)
            out.append(e)
    return out


def _settings(group: dict, defaults: dict) -> Callable[[str, Any], Any]:
    """A node group's setting: the group's, else the `*_defaults` map's, else the module's
    (`try(each.value.x, var.defaults.x, <module default>)`)."""

    def setting(name: str, fallback: Any) -> Any:
        for source in (group, defaults):
            if source.get(name) is not None:
                return source[name]
        return fallback

    return setting


def _node_group_roles(
    call: Call, e: Entity, setting: Callable[[str, Any], Any], managed: bool
) -> LList:
    """The node role of a node group the module makes: a managed group's `iam_role_arn` when
    it says `create_iam_role = false` (a self-managed group's `iam_instance_profile_arn`, whose
    role is not known, when `create_iam_instance_profile = false`), else the role the module
    creates, whose policies are not read here (unknown)."""
    name = e.fields["name"]
    flag = "create_iam_role" if managed else "create_iam_instance_profile"
    create = setting(flag, True)
    given = setting("iam_role_arn" if managed else "iam_instance_profile_arn", None)
    if create is False and given is not None and managed:
        role, via = given, f"{name} iam_role_arn"
    elif create is False and given is not None:
        role = kinds.profile_role(given)
        via = f"{name} iam_instance_profile_arn"
    elif isinstance(create, Unknown):
        role, via = create, f"{name} {flag}"
    else:
        role = Unknown(f"the IAM role the module creates for {name}", f"the role of {name}")
        via = f"{name} (the role the module creates)"
    return node_role(call, role, via, (e.location.start_line, e.location.end_line))


def _group_entity(call: Call, suffix: str, span: tuple[int, int], name: str, kind: str) -> Entity:
    e = call.entity("instance_metadata", suffix, span, f"module:{kind}")
    e.set("name", name)
    return e


def _unknown_metadata(e: Entity, value: Unknown) -> None:
    for field in ("http_tokens", "http_endpoint", "hop_limit"):
        e.set(field, value)


def _group_metadata(
    call: Call,
    e: Entity,
    setting: Callable[[str, Any], Any],
    managed: bool,
    cluster_version: Any,
    where: str,
) -> None:
    """A node group's metadata options, from its settings (`setting(name, module default)`:
    the group's, else the defaults map's, else the module's); `where` says which gave its
    `metadata_options`."""
    major = call.version.major
    own_template = setting("create_launch_template", True)
    if managed:
        if major <= 18:
            # v18: the module's template unless create_launch_template = false; then the
            # template named by launch_template_name (the group's key by default), or EKS's
            custom = own_template is not False or setting("launch_template_name", "x") != ""
        else:
            custom = setting("use_custom_launch_template", True)
        if custom is False:
            written = setting("ami_type", None) is not None
            _eks_launch_template(
                e, setting("ami_type", _ami_default(major)), cluster_version, written
            )
            return
        if isinstance(custom, Unknown):
            _unknown_metadata(e, custom)
            return
    if own_template is False:
        _unknown_metadata(
            e, Unknown(f"{e.fields['name']} uses a launch template of its own", "launch_template")
        )
        return
    if isinstance(own_template, Unknown):
        _unknown_metadata(e, own_template)
        return
    options = setting("metadata_options", None)
    _apply_metadata(call, e, options, where)


def _ami_default(major: int) -> Any:
    return "AL2023_x86_64_STANDARD" if major >= 21 else None


def _eks_launch_template(
    e: Entity, ami_type: Any, cluster_version: Any, written: bool = False
) -> None:
    """The IMDS of the launch template EKS makes: by AMI type (`written` when the node group
    or its defaults set it); with none given, the AMI EKS picks for the Kubernetes version
    (AL2023 from 1.30), when that is known."""
    if ami_type is None:
        ami_type = kinds.eks_ami_type(cluster_version)
    shown_ami = ami_type.text if isinstance(ami_type, Unknown) else ami_type
    decided_by = f"ami_type {shown_ami}" if written else f"ami_type {shown_ami} (not set)"
    kinds.name_settings(
        e,
        {
            "http_tokens": f"{decided_by}, so http_tokens",
            "hop_limit": f"{decided_by}, so http_put_response_hop_limit",
        },
    )
    known = kinds.EKS_NODE_GROUP_IMDS.get(kinds.ami_family(ami_type) or "")
    if known is None:
        shown = ami_type.text if isinstance(ami_type, Unknown) else str(ami_type)
        _unknown_metadata(
            e,
            Unknown(
                f"the launch template EKS makes for AMI type {shown} is not documented",
                f"EKS default launch template ({shown})",
            ),
        )
        return
    note = EKS_LAUNCH_TEMPLATE_NOTE.format(ami=ami_type)
    e.set("http_tokens", known[0], default=note)
    e.set("http_endpoint", "enabled", default=note)
    e.set("hop_limit", known[1], default=note)


def _apply_metadata(call: Call, e: Entity, options: Any, where: str) -> None:
    """A node group's `metadata_options`: the module's default map when it gives none; v18-v20
    take a given map as it is (its unset keys left to EC2), v21 fills each unset key with its
    own default."""
    major = call.version.major
    if options is not None and not isinstance(options, (dict, Unknown)):
        # Terraform refuses anything but a map here: a value we cannot use
        options = Unknown(f"metadata_options of {where} is not a map", str(options))
    if isinstance(options, Unknown):
        _unknown_metadata(e, options)
        return
    span = None
    if options is None:
        base = dict(NODE_METADATA[min(max(major, 17), NEWEST)])
        note = call.version.note
    else:
        base = dict(NODE_METADATA[21]) if major >= 21 else {}
        base.update({k: v for k, v in options.items() if v is not None or major < 21})
        note = None
        if isinstance(options, LDict) and options.line:
            span = (options.line, options.end_line)
            e.field_lines["metadata_options"] = span
    ec2 = f"EC2 default ({where} sets metadata_options without it)"
    tokens = base.get("http_tokens")
    e.set(
        "http_tokens",
        tokens if tokens is not None else kinds.default_value("instance_metadata", "http_tokens"),
        span=span,
        default=note or (None if tokens is not None else ec2),
    )
    endpoint = base.get("http_endpoint")
    e.set(
        "http_endpoint",
        endpoint
        if endpoint is not None
        else kinds.default_value("instance_metadata", "http_endpoint"),
        span=span,
        default=note or (None if endpoint is not None else ec2),
    )
    e.set("hop_limit", base.get("http_put_response_hop_limit"), span=span, default=note)


def _worker_groups(call: Call, kind: str) -> list[Entity]:
    """v17's `worker_groups`: launch configurations or templates whose metadata options come
    from each group's `metadata_http_*` keys, else `workers_group_defaults`, else the
    module's own defaults (IMDSv1 allowed)."""
    groups, span = call.value(kind)
    if span is None or groups is None:
        return []
    defaults, _ = call.value("workers_group_defaults")
    defaults = defaults if isinstance(defaults, dict) else {}
    out = []
    items = list(enumerate(groups)) if isinstance(groups, list) else []
    if not isinstance(groups, list):
        e = _group_entity(call, f".{kind}", span, f"{call.address} {kind}", kind)
        unknown = Unknown(f"{kind} of {call.address} is not known", str(groups))
        _unknown_metadata(e, unknown)
        e.set("node_roles", unknown)
        return [e]
    for index, group in items:
        where = call.span_in(groups, index, span)
        e = _group_entity(call, f".{kind}[{index}]", where, f"{call.address} {kind}[{index}]", kind)
        if not isinstance(group, dict):
            unknown = Unknown(f"{kind}[{index}] is not known", str(group))
            _unknown_metadata(e, unknown)
            e.set("node_roles", unknown)
            out.append(e)
            continue
        e.set("node_roles", _worker_group_roles(call, e, _settings(group, defaults)))
        for field, key, fallback in (
            ("http_tokens", "metadata_http_tokens", "optional"),
            ("http_endpoint", "metadata_http_endpoint", "enabled"),
            ("hop_limit", "metadata_http_put_response_hop_limit", None),
        ):
            if key in group:
                e.set(field, group[key], span=call.span_in(group, key, where))
            elif key in defaults:
                e.set(field, defaults[key])
            else:
                e.set(field, fallback, default=call.version.note)
        out.append(e)
    return out


def _worker_group_roles(call: Call, e: Entity, setting: Callable[[str, Any], Any]) -> LList:
    """v17's worker group role: the role named by the group's `iam_role_id` (a role's id is
    its name), else the workers role the module creates (unknown); with
    `manage_worker_iam_resources = false`, the role of the instance profile
    `iam_instance_profile_name` names (unknown)."""
    name = e.fields["name"]
    manage = call.get("manage_worker_iam_resources", True)
    if manage is False:
        profile = setting("iam_instance_profile_name", None)
        shown = profile.text if isinstance(profile, Unknown) else str(profile)
        role = kinds.profile_role(shown)
        via = f"{name} iam_instance_profile_name"
    elif isinstance(manage, Unknown):
        role, via = manage, f"{call.address} manage_worker_iam_resources"
    elif setting("iam_role_id", None) is not None:
        role, via = setting("iam_role_id", None), f"{name} iam_role_id"
    else:
        role = Unknown(f"the IAM role the module creates for {name}", f"the role of {name}")
        via = f"{name} (the role the module creates)"
    return node_role(call, role, via, (e.location.start_line, e.location.end_line))


def _access_entries(call: Call, cluster_name: Any) -> tuple[list[Entity], list[Problem]]:
    """`access_entries`, and with `enable_cluster_creator_admin_permissions` the entry v20
    and v21 make for the identity that runs Terraform: AmazonEKSClusterAdminPolicy at cluster
    scope. An entry of the user's keyed `cluster_creator` replaces it."""
    container, span = call.value("access_entries")
    creator, creator_span = call.value("enable_cluster_creator_admin_permissions")
    out, problems = access.entries(
        container,
        access.TERRAFORM_MODULE,
        call.key(".access_entries"),
        call.module.origin,
        call.file,
        span or call.span,
        cluster_name,
        f"{call.address} access_entries",
        no_policies_for=NODE_ENTRY_TYPES,
    )
    if creator_span is None or creator is False:
        return out, problems
    if isinstance(container, dict) and "cluster_creator" in container:
        return out, problems
    principal = Unknown(
        "the identity that runs terraform gets the entry", "the identity that runs terraform"
    )
    policy: Any = CLUSTER_ADMIN_POLICY
    if creator is not True:
        policy = Unknown(
            "enable_cluster_creator_admin_permissions is not known",
            creator.text if isinstance(creator, Unknown) else str(creator),
        )
    entry = LDict(
        {
            "principal_arn": principal,
            "type": "STANDARD",
            "policy_associations": LDict(
                {"admin": LDict({"policy_arn": policy, "access_scope": {"type": "cluster"}})}
            ),
        }
    )
    made, _ = access.entries(  # written here: nothing of the wrong kind
        {"cluster_creator": entry},
        access.TERRAFORM_MODULE,
        call.key(".access_entries"),
        call.module.origin,
        call.file,
        creator_span,
        cluster_name,
        f"{call.address} enable_cluster_creator_admin_permissions",
    )
    for e in made:
        if e.kind == "access_policy_association":
            e.field_lines["policy_arn"] = creator_span
    return out + made, problems


def _aws_auth_inputs(call: Call, submodule: bool = False, document: str = "") -> tuple[list, list]:
    """aws-auth as v17 (`map_roles`...), v18.20+ and v19 (`aws_auth_roles`...) and v20's
    aws-auth submodule write it; `document` is appended to the address for the
    aws_auth_document's key. The module writes it when `manage_aws_auth_configmap` or
    `create_aws_auth_configmap` is true (v17: `manage_aws_auth`, true by default)."""
    major = call.version.major
    if not submodule:
        if major <= 17:
            manage = call.get("manage_aws_auth", True)
        else:
            manage = call.get("manage_aws_auth_configmap", False)
            create = call.get("create_aws_auth_configmap", False)
            manage = True if create is True else manage
        if manage is not True:
            return [], []
    names = (
        (("map_roles", "mapRoles"), ("map_users", "mapUsers"), ("map_accounts", "mapAccounts"))
        if major <= 17 and not submodule
        else (
            ("aws_auth_roles", "mapRoles"),
            ("aws_auth_users", "mapUsers"),
            ("aws_auth_accounts", "mapAccounts"),
        )
    )
    data = LDict(line=call.block.line, end_line=call.block.end_line)
    for name, key in names:
        value, span = call.value(name)
        if span is not None:
            data[key] = items_known(value)  # the entries known are mapped whatever the rest is
            data.key_lines[key] = span
    doc = LDict(line=call.block.line, end_line=call.block.end_line)
    made, hostile = aws_auth.normalize_config_map(
        call.file,
        doc,
        data,
        key_prefix=call.key(),
        document_key=call.key(document),
        origin=call.module.origin,
        structured_ok=True,
        budget=call.module.ev.yaml_budget,
    )
    return call.module.refer_principals(made), hostile


def _identity_providers(call: Call, cluster_name: Any) -> list[Entity]:
    """`cluster_identity_providers` (v18-v20) / `identity_providers` (v21): one OIDC
    identity provider config each."""
    major = call.version.major
    if major <= 17:
        return []
    name = "identity_providers" if major >= 21 else "cluster_identity_providers"
    providers, span = call.value(name)
    if span is None or not isinstance(providers, dict):
        return []
    out = []
    for key, provider in providers.items():
        if not isinstance(provider, dict):
            continue
        where = call.span_in(providers, key, span)
        e = call.entity("identity_provider", f'.{name}["{key}"]', where, f"module:{name}")
        e.set("cluster_name", cluster_name)
        e.set("name", provider.get("identity_provider_config_name", key))
        for field in ("issuer_url", "groups_claim", "groups_prefix", "username_prefix"):
            # a setting left out has no lines of its own: a finding on it sits on another
            span = call.span_in(provider, field, where) if field in provider else None
            e.set(field, provider.get(field), span=span)
        if provider.get("username_claim") is not None:
            e.set("username_claim", provider["username_claim"])
        else:
            kinds.set_default(e, "username_claim")
        e.field_lines["oidc"] = where
        out.append(e)
    return out


# ---- submodules ------------------------------------------------------------------------------
def aws_auth_module(
    module: Module, file: str, block: Block, installed: str | None = None
) -> tuple[list[Entity], list[Problem]]:
    call = Call(module, file, block, eks_version(module, file, block, installed))
    return _aws_auth_inputs(call, submodule=True)


def node_group_module(managed: bool) -> Reader:
    """The `eks-managed-node-group` or `self-managed-node-group` submodule called on its own:
    one node group, its settings the call's inputs, the submodule's defaults."""
    kind = "eks-managed-node-group" if managed else "self-managed-node-group"

    def read(
        module: Module, file: str, block: Block, installed: str | None = None
    ) -> tuple[list[Entity], list[Problem]]:
        call = Call(module, file, block, eks_version(module, file, block, installed))
        e = _group_entity(call, "", None, call.address, kind)  # type: ignore[arg-type]
        major = call.version.major

        def setting(name: str, fallback: Any) -> Any:
            if name == "launch_template_name" and major <= 18:
                fallback = ""  # called on its own, v18's submodule names no template
            value = call.get(name, fallback)
            return fallback if value is None and major >= 21 else value

        cluster_version, _ = call.value("kubernetes_version" if major >= 21 else "cluster_version")
        _group_metadata(call, e, setting, managed, cluster_version, "the call")
        e.set("node_roles", _node_group_roles(call, e, setting, managed))
        return [e], []

    return read


def fargate_profile_module(
    module: Module, file: str, block: Block, installed: str | None = None
) -> tuple[list[Entity], list[Problem]]:
    """The `fargate-profile` submodule: the trust of its pod execution role (from v20.11
    conditioned on the profile's ARN)."""
    call = Call(module, file, block, eks_version(module, file, block, installed))
    if call.get("create", True) is False or call.get("create_iam_role", True) is False:
        return [], []
    statement: dict = {
        "Effect": "Allow",
        "Action": "sts:AssumeRole",
        "Principal": {"Service": "eks-fargate-pods.amazonaws.com"},
    }
    if call.version.at_least(20, 11):
        cluster = call.get("cluster_name", Unknown("cluster_name is not set", "cluster_name"))
        cluster_text = cluster.text if isinstance(cluster, Unknown) else str(cluster)
        profiles = Unknown(
            "the region and account of the profile", f"fargateprofile/{cluster_text}/*"
        )
        statement["Condition"] = {"ArnLike": {"aws:SourceArn": [profiles]}}
    policies = [aws_policy("AmazonEKSFargatePodExecutionRolePolicy")]
    if call.get("iam_role_attach_cni_policy", True) is not False:
        policies.append(aws_policy("AmazonEKS_CNI_Policy"))
    value, span = call.value("iam_role_additional_policies")
    policies += policy_arns(call, value, span)
    return module_role(
        call, [statement], "iam_role_name", "fargate pod execution role", policies=policies
    )


def module_role(
    call: Call,
    statements: list,
    name_input: str | None,
    what: str,
    suffix: str = "",
    prefix_default: bool = True,
    default_name: Any = None,
    policies: list[tuple[Any, tuple[int, int] | None]] | None = None,
) -> tuple[list[Entity], list[Problem]]:
    """The trust statements of a role a module creates, keyed after the call (`suffix`
    names the role among the module's), located at the call, and the role with `policies`
    attached (None: the module attaches policies it writes, its power is not listed). Its
    name is `name_input`'s value (a name prefix when the module prefixes names,
    `prefix_default`)."""
    name = call.get(name_input, default_name) if name_input else default_name
    prefixed = (
        call.get(name_input.replace("name", "use_name_prefix"), prefix_default)
        if name_input
        else False
    )
    if isinstance(name, str) and prefixed is True:
        name = Unknown(f"{call.address} names its {what} with a prefix", f"{name}*")
    if name is None:
        name = Unknown(f"{call.address} {what} has a generated name", f"{call.address} ({what})")
    address = call.address + suffix
    made, found = iam.trust_statements(
        {"Version": "2012-10-17", "Statement": statements},
        key=call.key(suffix),
        origin=call.module.origin,
        file=call.file,
        span=call.span,
        role_name=name,
        role_ref=call.module.qualified(address),
        source=f"{call.address} ({what})",
    )
    return made + role(call, suffix, name, policies or [], policies is not None, what), found


def _node_policies(call: Call, cni: str, additional: str, registry: str) -> list:
    """The policies a module attaches to a node role: AmazonEKSWorkerNodePolicy, the
    registry's, the CNI's unless `cni` says no, and the `additional` map's."""
    policies = [aws_policy("AmazonEKSWorkerNodePolicy"), aws_policy(registry)]
    if call.get(cni, True) is not False:
        policies.append(aws_policy("AmazonEKS_CNI_Policy"))
    value, span = call.value(additional)
    return policies + policy_arns(call, value, span)


def karpenter_module(
    module: Module, file: str, block: Block, installed: str | None = None
) -> tuple[list[Entity], list[Problem]]:
    """The `karpenter` submodule: its controller role (v19 IRSA; v20 Pod Identity, IRSA when
    asked; v21 Pod Identity), the Pod Identity association (v20 when asked, v21 by default),
    its node role and (v20+) the node role's access entry. It sets no IMDS options: the
    nodes take theirs from the EC2NodeClass."""
    call = Call(module, file, block, eks_version(module, file, block, installed))
    if call.get("create", True) is False:
        return [], []
    major = call.version.major
    entities: list[Entity] = []
    problems: list[Problem] = []
    controller = ".controller"
    statements: list = []
    if major <= 19:
        creates = call.get("create_irsa", True)
        statements.append(_karpenter_irsa(call, "irsa_"))
    else:
        creates = call.get("create_iam_role", True)
        pod_identity = call.get("enable_pod_identity", True) if major == 20 else True
        if major == 20 and not call.version.at_least(20, 2):
            pod_identity = True  # before v20.2 the statement is always there
        if pod_identity is True:
            statements.append(
                {
                    "Sid": "PodIdentity",
                    "Effect": "Allow",
                    "Action": ["sts:AssumeRole", "sts:TagSession"],
                    "Principal": {"Service": "pods.eks.amazonaws.com"},
                }
            )
        if major == 20 and call.get("enable_irsa", False) is True:
            statements.append(_karpenter_irsa(call, "irsa_"))
    if creates is True and statements:
        name_input = "irsa_name" if major <= 19 else "iam_role_name"
        default = "KarpenterIRSA" if major <= 19 else "KarpenterController"
        made, found = module_role(
            call, statements, name_input, "Karpenter controller role", controller, True, default
        )
        entities += made
        problems += found
        association = call.get("create_pod_identity_association", major >= 21)
        if major >= 20 and association is True and call.version.at_least(20, 10):
            e = call.entity(
                "pod_identity_association", ".pod_identity_association", None, "module:karpenter"
            )
            e.set("cluster_name", call.get("cluster_name", None))
            e.set("namespace", call.get("namespace", "kube-system"))
            e.set("service_account", call.get("service_account", "karpenter"))
            e.set(
                "role_arn",
                Unknown(
                    f"{call.address} Karpenter controller role", f"{call.address}.iam_role_arn"
                ),
            )
            e.set("role_ref", call.module.qualified(call.address + controller))
            entities.append(e)
    creates_node_role = call.get("create_iam_role" if major <= 19 else "create_node_iam_role", True)
    if creates_node_role is True:
        ec2 = {
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Principal": {"Service": "ec2.amazonaws.com"},
        }
        name_input = "iam_role_name" if major <= 19 else "node_iam_role_name"
        registry = "AmazonEC2ContainerRegistryReadOnly"
        if call.version.at_least(21, 2):
            registry = "AmazonEC2ContainerRegistryPullOnly"
        prefix = "iam_role" if major <= 19 else "node_iam_role"
        policies = _node_policies(
            call, f"{prefix}_attach_cni_policy", f"{prefix}_additional_policies", registry
        )
        made, found = module_role(
            call, [ec2], name_input, "Karpenter node role", ".node", True, "Karpenter", policies
        )
        entities += made
        problems += found
        if major >= 20 and call.get("create_access_entry", True) is True:
            e = call.entity("identity_mapping", ".node_access_entry", None, "module:karpenter")
            e.set("source", "access_entry")
            e.set("map", None)
            e.set("cluster_name", call.get("cluster_name", None))
            e.set(
                "principal_arn",
                Unknown(f"{call.address} Karpenter node role", f"{call.address}.node_iam_role_arn"),
            )
            e.set("principal_type", "role")
            e.set("account", None)
            e.set("principal_ref", call.module.qualified(call.address + ".node"))
            e.set("entry_type", call.get("access_entry_type", "EC2_LINUX"))
            e.set("username", None)
            kinds.set_default(e, "groups")
            e.set("role_name", None)
            e.set("role_path", None)
            e.set("problems", [])
            entities.append(e)
    return entities, problems


def _karpenter_irsa(call: Call, prefix: str) -> dict:
    """The controller's IRSA statement (v19, and v20 with `enable_irsa`)."""
    provider = call.get(f"{prefix}oidc_provider_arn", "")
    accounts = as_list(call.get(f"{prefix}namespace_service_accounts", ["karpenter:karpenter"]))
    test = call.get(f"{prefix}assume_role_condition_test", "StringEquals")
    test = test if isinstance(test, str) else "StringEquals"
    url = _provider_url(provider)
    return {
        "Effect": "Allow",
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Principal": {"Federated": provider},
        "Condition": {
            test: {
                f"{url}:sub": [
                    s if isinstance(s, Unknown) else f"system:serviceaccount:{s}" for s in accounts
                ],
                f"{url}:aud": ["sts.amazonaws.com"],
            }
        },
    }


def _provider_url(provider: Any) -> str:
    """The issuer host and path of an OIDC provider ARN (what its condition keys start with)."""
    if isinstance(provider, str) and "oidc-provider/" in provider and "${" not in provider:
        return provider.split("oidc-provider/", 1)[1]
    text = provider.text if isinstance(provider, Unknown) else str(provider)
    return "${" + text + "}"


EKS_SUBMODULE_READERS: dict[str, Reader] = {
    "aws-auth": aws_auth_module,
    "eks-managed-node-group": node_group_module(True),
    "self-managed-node-group": node_group_module(False),
    "fargate-profile": fargate_profile_module,
    "karpenter": karpenter_module,
}
