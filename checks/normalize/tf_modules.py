"""Calls of the terraform-aws-modules EKS and IAM modules, read as what they create.

`module "eks" { source = "terraform-aws-modules/eks/aws" ... }` configures the cluster, its
endpoint, access entries, node groups' instance metadata and (v19) aws-auth through inputs,
and the module fills in its own defaults, which changed between major versions. The defaults
below were read from the module's variables.tf at v19.21, v20.37 and v21.0. The version comes
from the call's `version` (or a `?ref=v20...` source); an unpinned call is read with the
newest major's defaults, and the defaulted fields say so. Findings point at the module call.
"""

from __future__ import annotations

import re
from typing import Any

from checks import kinds
from checks.model import Entity, LDict, Location, Problem, Unknown
from checks.normalize import access, aws_auth, iam
from checks.normalize.tf_build import Module
from checks.parse.hcltree import Block

EKS_SOURCE = re.compile(r"terraform-aws-modules/eks/aws|terraform-aws-eks(\.git)?(//|\?|$)")
NEWEST = 21
NODE_METADATA = {
    # the module's default metadata_options for its node groups' launch templates
    19: {"http_endpoint": "enabled", "http_tokens": "required", "http_put_response_hop_limit": 2},
    20: {"http_endpoint": "enabled", "http_tokens": "required", "http_put_response_hop_limit": 2},
    21: {"http_endpoint": "enabled", "http_tokens": "required", "http_put_response_hop_limit": 1},
}


def module_call(module: Module, file: str, block: Block) -> tuple[list[Entity], list[Problem]]:
    """What a call of a module whose inputs we know creates (terraform-aws-modules eks, its
    aws-auth submodule, iam's IRSA role); nothing for any other module."""
    source = module.ev.attribute(block, "source", file)
    if is_eks_module(source):
        return eks_module(module, file, block)
    if is_aws_auth_module(source):
        return aws_auth_module(module, file, block)
    if is_irsa_module(source):
        return irsa_module(module, file, block)
    return [], []


def is_eks_module(source: Any) -> bool:
    return (
        isinstance(source, str) and bool(EKS_SOURCE.search(source)) and "//modules/" not in source
    )


def is_aws_auth_module(source: Any) -> bool:
    return (
        isinstance(source, str)
        and bool(EKS_SOURCE.search(source.split("//")[0]))
        and ("//modules/aws-auth" in source)
    )


def is_irsa_module(source: Any) -> bool:
    return isinstance(source, str) and (
        "iam-role-for-service-accounts" in source and "terraform-aws-modules/iam" in source
    )


def major_version(block: Block, module: Module, file: str) -> tuple[int, str]:
    """The module's major version and how it was found (for the defaulted fields' notes)."""
    version = module.ev.attribute(block, "version", file)
    source = module.ev.attribute(block, "source", file)
    for text in (version, source):
        if isinstance(text, str):
            m = re.search(r"(?:ref=v?|^[~>=<! ]*v?)(\d+)", text)
            if m and len(m.group(1)) <= 6:  # no major version has more digits
                return int(m.group(1)), f"terraform-aws-modules/eks v{m.group(1)} default"
    return NEWEST, f"terraform-aws-modules/eks v{NEWEST} default (version not pinned, assumed)"


def _input(
    module: Module, block: Block, file: str, *names: str
) -> tuple[Any, tuple[int, int] | None]:
    """The first of `names` the call sets (v21 renamed cluster_* inputs), and its lines."""
    for name in names:
        attr = block.attributes.get(name)
        if attr is not None:
            return module.ev.eval(attr.expr, file), (attr.line, attr.end_line)
    return None, None


def eks_module(module: Module, file: str, block: Block) -> tuple[list[Entity], list[Problem]]:
    major, origin = major_version(block, module, file)
    v21 = major >= 21
    address = module.address(block)
    entities: list[Entity] = []

    cluster = module.entity("cluster", file, block, address, "module:terraform-aws-modules/eks")
    cluster.set("module_major_version", major)

    def put(field: str, names: tuple[str, ...], default: Any) -> Any:
        value, span = _input(module, block, file, *names)
        if span is None:
            cluster.set(field, default, default=origin)
            return default
        cluster.set(field, value, span=span)
        return value

    put("name", ("name",) if v21 else ("cluster_name",), Unknown(f"{address} cluster name not set"))
    put(
        "endpoint_public_access",
        ("endpoint_public_access",) if v21 else ("cluster_endpoint_public_access",),
        False,
    )
    put(
        "endpoint_private_access",
        ("endpoint_private_access",) if v21 else ("cluster_endpoint_private_access",),
        True,
    )
    put(
        "public_access_cidrs",
        ("endpoint_public_access_cidrs",) if v21 else ("cluster_endpoint_public_access_cidrs",),
        ["0.0.0.0/0"],
    )
    kinds.empty_to_default(cluster, "public_access_cidrs")
    put(
        "enabled_log_types",
        ("enabled_log_types",) if v21 else ("cluster_enabled_log_types",),
        ["audit", "api", "authenticator"],
    )
    if major >= 20:
        put("authentication_mode", ("authentication_mode",), "API_AND_CONFIG_MAP")
        put(
            "bootstrap_cluster_creator_admin_permissions",
            ("enable_cluster_creator_admin_permissions",),
            False,
        )
    else:
        cluster.set(
            "authentication_mode", "CONFIG_MAP", default=f"{origin} (no access entries before v20)"
        )
        kinds.set_default(cluster, "bootstrap_cluster_creator_admin_permissions")
    compute, span = _input(
        module, block, file, "compute_config" if v21 else "cluster_compute_config"
    )
    auto = (
        compute.get("enabled")
        if isinstance(compute, dict)
        else (None if compute is None else Unknown("compute_config"))
    )
    cluster.set(
        "auto_mode",
        bool(auto) if isinstance(auto, bool) else (auto if auto is not None else False),
        span=span,
        default=None if span else origin,
    )
    entities.append(cluster)

    entities += _node_groups(module, file, block, address, major, origin)
    entities += _access_entries(module, file, block, address, cluster.fields["name"])
    if major < 20:
        # the ConfigMap the module writes: a key of its own, beside the cluster's
        made, _ = _aws_auth_inputs(module, file, block, address, document="/aws-auth")
        entities += made
    return entities, []


def _node_groups(
    module: Module, file: str, block: Block, address: str, major: int, origin: str
) -> list[Entity]:
    out: list[Entity] = []
    for kind in ("eks_managed_node_groups", "self_managed_node_groups"):
        groups, _ = _input(module, block, file, kind)
        defaults, _ = _input(module, block, file, kind.replace("_groups", "_group_defaults"))
        if not isinstance(groups, dict):
            continue
        for key, group in groups.items():
            if not isinstance(group, dict):
                continue
            span = (
                groups.key_lines.get(key, (block.line, block.end_line))
                if isinstance(groups, LDict)
                else (block.line, block.end_line)
            )
            e = Entity(
                kind="instance_metadata",
                key=module.key(file, f'{address}.{kind}["{key}"]'),
                origin=module.origin,
                location=Location(file, *span),
            )
            e.set("address", None)
            e.set("module_dir", None)
            e.set("name", f'{address} {kind}["{key}"]')
            e.set("resource_type", f"module:{kind}")
            options = group.get("metadata_options")
            where = "the node group"
            if options is None and isinstance(defaults, dict):
                options, where = defaults.get("metadata_options"), f"{kind[:-1]}_defaults"
            if options is not None and not isinstance(options, (dict, Unknown)):
                # Terraform refuses anything but a map here: a value we cannot use
                options = Unknown(f"metadata_options of {where} is not a map", str(options))
            if isinstance(options, Unknown):
                for field in ("http_tokens", "http_endpoint", "hop_limit"):
                    e.set(field, options)
                out.append(e)
                continue
            if options is None:
                base = dict(NODE_METADATA[min(major, NEWEST)])
                note = origin
                opt_span = span
            else:
                # v19/v20 take the map as given (unset keys fall back to EC2's defaults);
                # v21 fills each unset key with its own default
                base = dict(NODE_METADATA[21]) if major >= 21 else {}
                base.update(options)
                note = None
                opt_span = (
                    (options.line, options.end_line)
                    if isinstance(options, LDict) and options.line
                    else span
                )
                e.field_lines["metadata_options"] = opt_span
            e.set(
                "http_tokens",
                base.get("http_tokens", kinds.default_value("instance_metadata", "http_tokens")),
                span=opt_span,
                default=note
                or (
                    None
                    if "http_tokens" in base
                    else f"EC2 default ({where} sets metadata_options without it)"
                ),
            )
            endpoint = base.get(
                "http_endpoint", kinds.default_value("instance_metadata", "http_endpoint")
            )
            e.set("http_endpoint", endpoint, span=opt_span, default=note)
            e.set("hop_limit", base.get("http_put_response_hop_limit"), span=opt_span, default=note)
            out.append(e)
    return out


def _access_entries(
    module: Module, file: str, block: Block, address: str, cluster_name: Any
) -> list[Entity]:
    container, _ = _input(module, block, file, "access_entries")
    return access.entries(
        container,
        access.TERRAFORM_MODULE,
        module.key(file, f"{address}.access_entries"),
        module.origin,
        file,
        (block.line, block.end_line),
        cluster_name,
    )


def _aws_auth_inputs(
    module: Module,
    file: str,
    block: Block,
    address: str,
    submodule: bool = False,
    document: str = "",
) -> tuple[list[Entity], list]:
    """aws_auth_roles / aws_auth_users / aws_auth_accounts (v19 main module, v20 submodule);
    `document` is appended to the address for the aws_auth_document's key."""
    manage, _ = _input(
        module, block, file, "manage_aws_auth_configmap", "create_aws_auth_configmap"
    )
    if manage is not True and not submodule:
        return [], []
    data = LDict(line=block.line, end_line=block.end_line)
    for name, key in (
        ("aws_auth_roles", "mapRoles"),
        ("aws_auth_users", "mapUsers"),
        ("aws_auth_accounts", "mapAccounts"),
    ):
        value, span = _input(module, block, file, name)
        if span is not None:
            data[key] = value
            data.key_lines[key] = span
    doc = LDict(line=block.line, end_line=block.end_line)
    return aws_auth.normalize_config_map(
        file,
        doc,
        data,
        key_prefix=module.key(file, address),
        document_key=module.key(file, address + document),
        origin=module.origin,
        structured_ok=True,
        budget=module.ev.yaml_budget,
    )


def aws_auth_module(module: Module, file: str, block: Block) -> tuple[list[Entity], list[Problem]]:
    return _aws_auth_inputs(module, file, block, module.address(block), submodule=True)


def irsa_module(module: Module, file: str, block: Block) -> tuple[list[Entity], list[Problem]]:
    """terraform-aws-modules/iam's IRSA role module: its oidc_providers input is the trust."""
    address = module.address(block)
    role_name, _ = _input(module, block, file, "role_name", "name")
    providers, span = _input(module, block, file, "oidc_providers")
    test, _ = _input(module, block, file, "assume_role_condition_test")
    test = test if isinstance(test, str) else "StringEquals"
    if not isinstance(providers, dict):
        return [], []
    statements = []
    for key, provider in providers.items():
        if not isinstance(provider, dict):
            continue
        arn = provider.get("provider_arn", Unknown(f"{address} provider {key} has no provider_arn"))
        subjects = provider.get("namespace_service_accounts", [])
        subjects = subjects if isinstance(subjects, list) else [subjects]
        issuer = "${" + f"{address}.oidc_providers[{key}]" + "}"
        stmt = LDict(
            line=providers.span(key)[0] if isinstance(providers, LDict) else block.line,
            end_line=providers.span(key)[1] if isinstance(providers, LDict) else block.end_line,
        )
        conditions: dict = {"StringEquals": {f"{issuer}:aud": ["sts.amazonaws.com"]}}
        conditions.setdefault(test, {})[f"{issuer}:sub"] = [
            s if isinstance(s, Unknown) else f"system:serviceaccount:{s}" for s in subjects
        ]
        federated = Unknown(arn, arn) if isinstance(arn, str) and "${" in arn else arn
        stmt.update(
            {
                "Effect": "Allow",
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Principal": {"Federated": federated},
                "Condition": conditions,
            }
        )
        statements.append(stmt)
    policy = {"Version": "2012-10-17", "Statement": statements}
    return iam.trust_statements(
        policy,
        key=module.key(file, address),
        origin=module.origin,
        file=file,
        span=span or (block.line, block.end_line),
        role_name=role_name
        if role_name is not None
        else Unknown(f"{address} role name not set", address),
        role_ref=module.qualified(address),
        source=f"{address} (iam-role-for-service-accounts)",
    )
