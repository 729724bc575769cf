"""Calls of cloudposse's and aws-ia's EKS modules, read as what they create.

- cloudposse `eks-cluster` (0.x-v4.11): the cluster's endpoint, CIDRs and logs (public, open
  to the world, no logs by default in every version), aws-auth up to 3.x
  (`map_additional_iam_roles`...), v4's `access_config` (API mode, no creator bootstrap) and
  access entries (`access_entry_map` keyed by principal ARN, whose `system:masters` group
  becomes an AmazonEKSClusterAdminPolicy association; `access_entries`;
  `access_policy_associations`), each policy named by ARN, full or short name.
- cloudposse `eks-node-group` (0.20-v3.4): its launch template's metadata options (IMDSv1
  allowed before 0.25, hop limit 2 in every version) and its nodes' role (`node_role_arn`,
  else the one it creates).
- aws-ia `eks-blueprints-addons` (v1): the IRSA role of each add-on it enables, trusted by
  the add-on's ServiceAccounts (the chart gets the role through Helm values).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from checks import kinds
from checks.model import Entity, LDict, Problem, Unknown, items_known
from checks.normalize import access, aws_auth, iam
from checks.normalize.access import NOT_KNOWN
from checks.normalize.tf_build import Module
from checks.normalize.tf_known import (
    Call,
    addon,
    as_list,
    node_role,
    role,
    version_of,
)
from checks.parse import wrong_kind
from checks.parse.hcltree import Block

Reader = Callable[[Module, str, Block, "str | None"], tuple[list[Entity], list[Problem]]]

_CLUSTER = re.compile(r"cloudposse/(?:terraform-aws-)?eks-cluster(?:/aws|\.git|$|\?|//)")
_NODE_GROUP = re.compile(r"cloudposse/(?:terraform-aws-)?eks-node-group(?:/aws|\.git|$|\?|//)")
_ADDONS = re.compile(r"aws-ia/(?:terraform-aws-)?eks-blueprints-addons(?:/aws|\.git|$|\?|//)")
POLICY_PREFIX = "arn:aws:eks::aws:cluster-access-policy/"
SHORT_POLICIES = {"Admin", "ClusterAdmin", "Edit", "View"}


def reader(source: Any) -> Reader | None:
    if not isinstance(source, str):
        return None
    if _CLUSTER.search(source):
        return cloudposse_cluster
    if _NODE_GROUP.search(source):
        return cloudposse_node_group
    if _ADDONS.search(source):
        return blueprints_addons
    return None


# ---- cloudposse eks-cluster -------------------------------------------------------------------
def cloudposse_cluster(
    module: Module, file: str, block: Block, installed: str | None = None
) -> tuple[list[Entity], list[Problem]]:
    version = version_of(module, block, file, installed, "cloudposse/eks-cluster", 4)
    call = Call(module, file, block, version)
    if call.get("enabled", True) is False:
        return [], []
    cluster = module.entity("cluster", file, block, call.address, "module:cloudposse/eks-cluster")
    cluster.set("module_major_version", None)
    # the cluster's name is the null-label id the module builds from its context
    name = Unknown(
        f"{call.address} names the cluster from its label", f"{call.address}.eks_cluster_id"
    )
    cluster.set("name", name)
    call.put(cluster, "endpoint_public_access", ("endpoint_public_access",), True)
    call.put(cluster, "endpoint_private_access", ("endpoint_private_access",), False)
    call.put(cluster, "public_access_cidrs", ("public_access_cidrs",), ["0.0.0.0/0"])
    kinds.empty_to_default(cluster, "public_access_cidrs")
    call.put(cluster, "enabled_log_types", ("enabled_cluster_log_types",), [])
    entities: list[Entity] = [cluster]
    problems: list[Problem] = []
    if version.major >= 4:
        config, span = call.value("access_config")
        config = config if isinstance(config, dict) else ({} if config is None else config)
        for field, key, default in (
            ("authentication_mode", "authentication_mode", "API"),
            (
                "bootstrap_cluster_creator_admin_permissions",
                "bootstrap_cluster_creator_admin_permissions",
                False,
            ),
        ):
            if isinstance(config, Unknown):
                cluster.set(field, config, span=span)
            elif config.get(key) is not None:
                cluster.set(field, config[key], span=call.span_in(config, key, span or call.span))
            else:
                cluster.set(field, default, default=version.note)
        made, problems = _cloudposse_access(call, name)
        entities += made
    else:
        cluster.set(
            "authentication_mode",
            "CONFIG_MAP",
            default=f"{version.note} (no access entries before v4)",
        )
        kinds.set_default(cluster, "bootstrap_cluster_creator_admin_permissions")
        if call.get("apply_config_map_aws_auth", True) is True:
            entities += _cloudposse_aws_auth(call)
    cluster.set("auto_mode", False, default=version.note)
    addons, span = call.value("addons")
    for index, settings in enumerate(addons if isinstance(addons, list) else []):
        if not isinstance(settings, dict):
            continue
        # v4.7+: `pod_identity_association` maps a ServiceAccount to its role
        given = settings.get("pod_identity_association") if version.at_least(4, 7) else None
        associations = [
            {"service_account": account, "role_arn": role}
            for account, role in (given.items() if isinstance(given, dict) else [])
        ]
        entities += addon(
            call,
            f".addons[{index}]",
            call.span_in(addons, index, span or call.span),
            "module:cloudposse/eks-cluster",
            name,
            settings.get("addon_name"),
            settings,
            associations,
            ("addons", index),
        )
    return entities, problems


def _cloudposse_aws_auth(call: Call) -> list[Entity]:
    data = LDict(line=call.block.line, end_line=call.block.end_line)
    for name, key in (
        ("map_additional_iam_roles", "mapRoles"),
        ("map_additional_iam_users", "mapUsers"),
        ("map_additional_aws_accounts", "mapAccounts"),
    ):
        value, span = call.value(name)
        if span is not None:
            data[key] = value
            data.key_lines[key] = span
    made, _ = aws_auth.normalize_config_map(
        call.file,
        LDict(line=call.block.line, end_line=call.block.end_line),
        data,
        key_prefix=call.key(),
        document_key=call.key("/aws-auth"),
        origin=call.module.origin,
        structured_ok=True,
        budget=call.module.ev.yaml_budget,
    )
    return call.module.refer_principals(made)


def _policy_arn(name: Any) -> Any:
    """A policy named by ARN, or by a full (`AmazonEKSAdminPolicy`) or short (`Admin`) name
    the module's abbreviation map holds; any other name is passed on as written, as the
    module does (`try(local.eks_policy_abbreviation_map[kk], kk)`)."""
    if isinstance(name, str) and name in SHORT_POLICIES:
        return f"{POLICY_PREFIX}AmazonEKS{name}Policy"
    if isinstance(name, str) and name in {f"AmazonEKS{short}Policy" for short in SHORT_POLICIES}:
        return POLICY_PREFIX + name
    return name


def _scope(value: Any) -> dict:
    """An access scope: `type` defaults to `cluster`."""
    if isinstance(value, Unknown):
        return {"type": value, "namespaces": value}
    scope = value.get("access_scope") if isinstance(value, dict) else None
    if isinstance(scope, Unknown):
        return {"type": scope, "namespaces": scope}
    scope = scope if isinstance(scope, dict) else {}
    out = {"type": scope.get("type") if scope.get("type") is not None else "cluster"}
    if scope.get("namespaces") is not None:
        out["namespaces"] = scope["namespaces"]
    return out


def _policies(associations: Any) -> LDict:
    """An entry's `access_policy_associations` as the module reads them: each key a policy
    ARN, or a name it expands; a key written as an expression not known, or a map not
    known, is a policy not known."""
    policies = LDict()
    associations = items_known(associations)
    if isinstance(associations, Unknown):
        policies[NOT_KNOWN] = {"policy_arn": associations, "access_scope": _scope(associations)}
        return policies
    for policy, value in associations.items() if isinstance(associations, dict) else []:
        written = associations.key_value(policy) if isinstance(associations, LDict) else policy
        policies[str(policy)] = {"policy_arn": _policy_arn(written), "access_scope": _scope(value)}
    return policies


def _cloudposse_access(call: Call, cluster_name: Any) -> tuple[list[Entity], list[Problem]]:
    """`access_entry_map` (keys: principal ARNs), `access_entries` and
    `access_policy_associations`, as v4 reads them. A key written as an expression that is not
    known is a principal not known, not one named as the expression is written; a map or an
    entry not known is an entry whose principal, type and policies are not known (its checks
    undecided, never silently passed)."""
    out: list[Entity] = []
    problems: list[Problem] = []
    entry_map, span = call.value("access_entry_map")
    entry_map = items_known(entry_map)  # what a `for` over entries not known makes of each
    if isinstance(entry_map, Unknown):
        entry_map = LDict({NOT_KNOWN: entry_map})
        entry_map.unknown_keys[NOT_KNOWN] = entry_map[NOT_KNOWN]
    if isinstance(entry_map, dict):
        entries = LDict()
        for arn, entry in entry_map.items():
            principal = entry_map.key_value(arn) if isinstance(entry_map, LDict) else arn
            if isinstance(entry, Unknown):
                entry = {
                    "type": entry,
                    "user_name": entry,
                    "kubernetes_groups": entry,
                    "access_policy_associations": entry,
                }
            if not isinstance(entry, dict):
                continue
            kind = entry.get("type") if entry.get("type") is not None else "STANDARD"
            groups = as_list(entry.get("kubernetes_groups"))
            policies = _policies(entry.get("access_policy_associations"))
            if kind == "STANDARD" and "system:masters" in groups:
                # the module swaps the group for the policy (RULES.md: EKS506, not EKS501)
                groups = [g for g in groups if g != "system:masters"]
                policies["system:masters"] = {
                    "policy_arn": f"{POLICY_PREFIX}AmazonEKSClusterAdminPolicy",
                    "access_scope": {"type": "cluster"},
                }
            entries[arn] = {
                "principal_arn": principal,
                "type": kind,
                "user_name": entry.get("user_name"),
                "kubernetes_groups": groups,
                "policy_associations": policies,
            }
            entries.key_lines[arn] = call.span_in(entry_map, arn, span or call.span)
        made, found = access.entries(
            entries,
            access.TERRAFORM_MODULE,
            call.key(".access_entry_map"),
            call.module.origin,
            call.file,
            span or call.span,
            cluster_name,
            f"{call.address} access_entry_map",
            no_policies_for=("EC2_LINUX", "EC2_WINDOWS", "FARGATE_LINUX", "HYBRID_LINUX"),
        )
        out += made
        problems += found
    listed, span = call.value("access_entries")
    listed = items_known(listed)
    if isinstance(listed, Unknown):  # entries not known: one not known stands for each
        standard: Any = LDict({NOT_KNOWN: _standard_entry(listed)})
    elif isinstance(listed, list):
        standard = _lines_of(listed, [_standard_entry(e) for e in listed])
    else:
        standard = None
        if listed is not None:  # Terraform refuses it: a list of objects
            shown = f"{call.address} access_entries"
            message = wrong_kind(shown, listed, "a list of access entries")
            problems.append(Problem(call.file, message, (span or call.span)[0]))
    made, found = access.entries(
        standard,
        access.TERRAFORM_MODULE,
        call.key(".access_entries"),
        call.module.origin,
        call.file,
        span or call.span,
        cluster_name,
        f"{call.address} access_entries",
    )
    out += made
    problems += found
    associations, span = call.value("access_policy_associations")
    associations = items_known(associations)
    if isinstance(associations, Unknown):
        listed_associations = [(f'["{NOT_KNOWN}"]', associations, span or call.span)]
    else:
        listed_associations = [
            (f"[{index}]", association, call.span_in(associations, index, span or call.span))
            for index, association in enumerate(
                associations if isinstance(associations, list) else []
            )
        ]
    shown = f"{call.address} access_policy_associations"
    if associations is not None and not isinstance(associations, (list, Unknown)):
        # Terraform refuses it (a list of objects), as an item that is not an object
        message = wrong_kind(shown, associations, "a list of access policy associations")
        problems.append(Problem(call.file, message, (span or call.span)[0]))
    for label, association, where in listed_associations:
        if isinstance(association, Unknown):  # its principal, policy and scope not known
            association = dict.fromkeys(
                ("principal_arn", "policy_arn", "access_scope"), association
            )
        if not isinstance(association, dict):
            what = "an access policy association (a mapping)"
            problems.append(
                Problem(call.file, wrong_kind(shown + label, association, what), where[0])
            )
            continue
        where = where if where[0] else (span or call.span)  # the rest of a list known in part
        a = call.entity(
            "access_policy_association",
            f".access_policy_associations{label}",
            where,
            "module:cloudposse/eks-cluster",
        )
        a.set("cluster_name", cluster_name)
        a.set("principal_arn", association.get("principal_arn"))
        a.set("principal_ref", None)
        policy = _policy_arn(association.get("policy_arn"))
        a.set("policy_arn", policy, span=call.span_in(association, "policy_arn", where))
        a.set(
            "policy_name",
            access.policy_name(policy),
            span=a.field_lines.get("policy_arn"),
        )
        scope = _scope(association)
        a.set("scope_type", scope["type"])
        if "namespaces" in scope:
            a.set("scope_namespaces", scope["namespaces"])
        else:
            kinds.set_default(a, "scope_namespaces")
        out.append(a)
    return out, problems


def _standard_entry(entry: Any) -> Any:
    """An item of `access_entries`, which the module makes `STANDARD` entries of; one not
    known is an entry whose principal, user name and groups are not known."""
    if isinstance(entry, Unknown):
        entry = dict.fromkeys(("principal_arn", "user_name", "kubernetes_groups"), entry)
    return dict(entry, type="STANDARD") if isinstance(entry, dict) else entry


def _lines_of(original: Any, items: list) -> Any:
    """`items` with the lines of the list they were made from."""
    from checks.model import LList

    out = LList(items)
    out.item_lines = list(getattr(original, "item_lines", []))
    return out


# ---- cloudposse eks-node-group ----------------------------------------------------------------
def cloudposse_node_group(
    module: Module, file: str, block: Block, installed: str | None = None
) -> tuple[list[Entity], list[Problem]]:
    version = version_of(module, block, file, installed, "cloudposse/eks-node-group", 3)
    call = Call(module, file, block, version)
    if call.get("enabled", True) is False:
        return [], []
    e = call.entity("instance_metadata", "", None, "module:cloudposse/eks-node-group")
    e.set("name", call.address)
    e.set("node_roles", _cloudposse_node_role(call))
    template, _ = call.value("launch_template_id")
    if as_list(template):
        reason = Unknown(f"{call.address} uses a launch template of its own", "launch_template_id")
        for field in ("http_tokens", "http_endpoint", "hop_limit"):
            e.set(field, reason)
        return [e], []
    old = version.major == 1 or (version.major == 0 and version.minor < 25)
    tokens_setting = "metadata_http_tokens"
    if old:
        call.put(e, "http_tokens", ("metadata_http_tokens",), "optional")
        call.put(e, "http_endpoint", ("metadata_http_endpoint",), "enabled")
    else:
        required, span = call.value("metadata_http_tokens_required")
        if span is None or required is None:
            e.set("http_tokens", "required", default=version.note)
            tokens_setting = "metadata_http_tokens_required unset (true), so http_tokens"
        else:
            e.set("http_tokens", _choice(required, "required", "optional"), span=span)
            shown = required.text if isinstance(required, Unknown) else str(required)
            shown = shown.lower() if isinstance(required, bool) else shown
            tokens_setting = f"metadata_http_tokens_required = {shown}, so http_tokens"
        enabled, span = call.value("metadata_http_endpoint_enabled")
        if span is None or enabled is None:
            e.set("http_endpoint", "enabled", default=version.note)
        else:
            e.set("http_endpoint", _choice(enabled, "enabled", "disabled"), span=span)
    call.put(e, "hop_limit", ("metadata_http_put_response_hop_limit",), 2)
    kinds.name_settings(
        e, {"http_tokens": tokens_setting, "hop_limit": "metadata_http_put_response_hop_limit"}
    )
    return [e], []


def _cloudposse_node_role(call: Call) -> Any:
    """The nodes' role: the first of `node_role_arn` when it lists one (the module then
    creates none), else the role the module creates (unknown)."""
    given, span = call.value("node_role_arn")
    if isinstance(given, Unknown):
        return node_role(call, given, f"{call.address} node_role_arn", span or call.span)
    arns = as_list(given)
    if arns:
        return node_role(call, arns[0], f"{call.address} node_role_arn", span or call.span)
    made = Unknown(
        f"the IAM role the module creates for {call.address}", f"the role of {call.address}"
    )
    return node_role(call, made, f"{call.address} (the role the module creates)", call.span)


def _choice(flag: Any, yes: str, no: str) -> Any:
    if flag is True:
        return yes
    if flag is False:
        return no
    return flag if isinstance(flag, Unknown) else Unknown(f"{flag!r} is not a boolean", str(flag))


# ---- aws-ia eks-blueprints-addons -------------------------------------------------------------
# add-on -> (its namespace by default, [(the input naming a service account, its default)])
ADDON_ROLES: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "aws_load_balancer_controller": (
        "kube-system",
        [("service_account_name", "aws-load-balancer-controller-sa")],
    ),
    "external_dns": ("external-dns", [("service_account_name", "external-dns-sa")]),
    "karpenter": ("karpenter", [("service_account_name", "karpenter")]),
    "cluster_autoscaler": ("kube-system", [("service_account_name", "cluster-autoscaler-sa")]),
    "cert_manager": ("cert-manager", [("service_account_name", "cert-manager")]),
    "external_secrets": ("external-secrets", [("service_account_name", "external-secrets-sa")]),
    "aws_efs_csi_driver": (
        "kube-system",
        [
            ("controller_service_account_name", "efs-csi-controller-sa"),
            ("node_service_account_name", "efs-csi-node-sa"),
        ],
    ),
    "aws_fsx_csi_driver": (
        "kube-system",
        [
            ("controller_service_account_name", "aws-fsx-csi-controller-sa"),
            ("node_service_account_name", "aws-fsx-csi-node-sa"),
        ],
    ),
    "aws_for_fluentbit": ("kube-system", [("service_account_name", "aws-for-fluent-bit-sa")]),
    "aws_cloudwatch_metrics": (
        "amazon-cloudwatch",
        [("service_account_name", "aws-cloudwatch-metrics")],
    ),
    "aws_node_termination_handler": (
        "aws-node-termination-handler",
        [("service_account_name", "aws-node-termination-handler-sa")],
    ),
    "aws_privateca_issuer": ("", [("service_account_name", "aws-privateca-issuer-sa")]),
    "velero": ("velero", [("service_account_name", "velero-server")]),
    "aws_gateway_api_controller": (
        "aws-application-networking-system",
        [("service_account_name", "gateway-api-controller")],
    ),
}
# add-ons whose role exists only when they are given what it manages
ROLE_NEEDS = {
    "external_dns": "external_dns_route53_zone_arns",
    "cert_manager": "cert_manager_route53_hosted_zone_arns",
}


def blueprints_addons(
    module: Module, file: str, block: Block, installed: str | None = None
) -> tuple[list[Entity], list[Problem]]:
    """One IRSA role per enabled add-on: `StringEquals <issuer>:sub` for its ServiceAccounts
    and `:aud = sts.amazonaws.com`, its issuer `oidc_provider_arn`."""
    version = version_of(module, block, file, installed, "aws-ia/eks-blueprints-addons", 1)
    call = Call(module, file, block, version)
    provider = call.get("oidc_provider_arn", Unknown(f"{call.address} oidc_provider_arn not set"))
    if isinstance(provider, str) and "oidc-provider/" in provider and "${" not in provider:
        host = provider.split("oidc-provider/", 1)[1]
    else:
        host = "${" + (provider.text if isinstance(provider, Unknown) else str(provider)) + "}"
    entities: list[Entity] = []
    problems: list[Problem] = []
    cert_manager = call.get("cert_manager", {})
    cert_namespace = (
        (cert_manager or {}).get("namespace", "cert-manager")
        if isinstance(cert_manager, dict)
        else "cert-manager"
    )
    addons, span = call.value("eks_addons")
    for key, settings in addons.items() if isinstance(addons, dict) else []:
        if isinstance(settings, dict):
            entities += addon(
                call,
                f'.eks_addons["{key}"]',
                call.span_in(addons, key, span or call.span),
                "module:aws-ia/eks-blueprints-addons",
                call.get("cluster_name", None),
                settings.get("name") or key,
                settings,
                None,
                ("eks_addons", key),
            )
    for name, (namespace_default, accounts) in ADDON_ROLES.items():
        enabled, span = call.value(f"enable_{name}")
        if enabled is not True:
            continue
        needs = ROLE_NEEDS.get(name)
        if needs and not as_list(call.get(needs, [])):
            continue
        settings = call.get(name, {})
        settings = settings if isinstance(settings, dict) else {}
        if settings.get("create_role") is False:
            continue
        namespace = settings.get("namespace") or namespace_default or cert_namespace
        subjects = [
            f"system:serviceaccount:{namespace}:{settings.get(key) or default}"
            for key, default in accounts
        ]
        statement = {
            "Effect": "Allow",
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Principal": {"Federated": provider},
            "Condition": {
                "StringEquals": {f"{host}:sub": subjects, f"{host}:aud": ["sts.amazonaws.com"]}
            },
        }
        prefix = settings.get("role_name") or name.replace("_", "-")
        role_name = Unknown(f"{call.address} names the {name} role with a prefix", f"{prefix}*")
        made, found = iam.trust_statements(
            {"Version": "2012-10-17", "Statement": [statement]},
            key=call.key(f".{name}"),
            origin=call.module.origin,
            file=call.file,
            span=span or call.span,
            role_name=role_name,
            role_ref=call.module.qualified(f"{call.address}.{name}"),
            source=f"{call.address} ({name} IRSA role)",
        )
        # the add-on's policy is the module's own: its power is not listed
        entities += made + role(call, f".{name}", role_name, [], False, f"{name} IRSA role")
        problems += found
    return entities, problems
