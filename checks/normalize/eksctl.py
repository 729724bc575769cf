"""eksctl `ClusterConfig` files (apiVersion eksctl.io/v1alpha5) into the same model as
Terraform: the cluster, its node groups' instance metadata, aws-auth identity mappings,
access entries and OIDC identity providers, with eksctl's defaults applied."""

from __future__ import annotations

from typing import Any

from checks import kinds
from checks.model import Entity, LDict, Location, Problem, get_path, key_span
from checks.normalize import access, aws_auth

EKSCTL_DEFAULT = "eksctl default"
ALL_LOG_TYPES = ["api", "audit", "authenticator", "controllerManager", "scheduler"]


def is_cluster_config(doc: Any) -> bool:
    return (
        isinstance(doc, dict)
        and doc.get("kind") == "ClusterConfig"
        and str(doc.get("apiVersion", "")).startswith("eksctl.io/")
    )


def normalize_cluster_config(file: str, doc: LDict) -> tuple[list[Entity], list[Problem]]:
    name = get_path(doc, "metadata", "name") or "(unnamed)"
    key = f"eksctl:{file}:{name}"
    line = doc.line or 1
    cluster = Entity("cluster", key, "eksctl", Location(file, line, doc.end_line or line))
    for absent in ("address", "module_dir", "resource_type", "module_major_version"):
        cluster.set(absent, None)
    cluster.set("name", name)
    endpoints = get_path(doc, "vpc", "clusterEndpoints")

    def put(field: str, node: Any, attr: str, default: Any, origin: str = EKSCTL_DEFAULT) -> Any:
        if isinstance(node, dict) and attr in node:
            cluster.set(field, node[attr], span=key_span(node, attr))
            return node[attr]
        cluster.set(field, default, default=origin)
        return default

    put("endpoint_public_access", endpoints, "publicAccess", True)
    put("endpoint_private_access", endpoints, "privateAccess", False)
    put("public_access_cidrs", get_path(doc, "vpc"), "publicAccessCIDRs", ["0.0.0.0/0"])
    kinds.empty_to_default(cluster, "public_access_cidrs")
    logging = get_path(doc, "cloudWatch", "clusterLogging")
    types = put("enabled_log_types", logging, "enableTypes", [])
    if isinstance(types, list) and any(t in ("*", "all") for t in types):
        cluster.fields["enabled_log_types"] = list(ALL_LOG_TYPES)
    access_settings = get_path(doc, "accessConfig")
    put("authentication_mode", access_settings, "authenticationMode", "API_AND_CONFIG_MAP")
    put(
        "bootstrap_cluster_creator_admin_permissions",
        access_settings,
        "bootstrapClusterCreatorAdminPermissions",
        True,
    )
    cluster.set("auto_mode", bool(get_path(doc, "autoModeConfig", "enabled")))
    entities = [cluster]
    entities += _node_groups(file, doc, key)
    cluster_name = get_path(doc, "metadata", "name")
    entities += _access_entries(file, access_settings, key, cluster_name)
    entities += _identity_providers(file, doc, key, cluster_name)
    entities += _service_accounts(file, doc, key, cluster_name)
    mappings = doc.get("iamIdentityMappings")
    if isinstance(mappings, list):
        made, _ = _identity_mappings(file, doc, mappings, key)
        entities += made
    return entities, []


def _node_groups(file: str, doc: LDict, key: str) -> list[Entity]:
    out = []
    for group_kind in ("managedNodeGroups", "nodeGroups"):
        groups = doc.get(group_kind)
        if not isinstance(groups, list):
            continue
        for index, group in enumerate(groups):
            if not isinstance(group, dict):
                continue
            span = groups.span(index) if hasattr(groups, "span") else (doc.line, doc.end_line)
            name = group.get("name", f"#{index}")
            e = Entity(
                "instance_metadata", f"{key}/{group_kind}/{name}", "eksctl", Location(file, *span)
            )
            e.set("address", None)
            e.set("module_dir", None)
            e.set("name", f"eksctl {group_kind} {name}")
            e.set("resource_type", f"eksctl:{group_kind}")
            imdsv1_off = group.get("disableIMDSv1", True)
            e.set(
                "http_tokens",
                "required" if imdsv1_off is True else "optional",
                span=key_span(group, "disableIMDSv1"),
                default=None if "disableIMDSv1" in group else EKSCTL_DEFAULT,
            )
            kinds.set_default(e, "http_endpoint")  # eksctl does not set it
            pod_imds_off = group.get("disablePodIMDS", False)
            # eksctl's launch templates let pods reach IMDS (hop limit 2) unless disablePodIMDS
            e.set(
                "hop_limit",
                1 if pod_imds_off is True else 2,
                span=key_span(group, "disablePodIMDS"),
                default=None if "disablePodIMDS" in group else EKSCTL_DEFAULT,
            )
            out.append(e)
    return out


def _access_entries(file: str, access_config: Any, key: str, cluster_name: Any) -> list[Entity]:
    container = access_config.get("accessEntries") if isinstance(access_config, dict) else None
    return access.entries(
        container, access.EKSCTL, f"{key}/accessEntries", "eksctl", file, (1, 1), cluster_name
    )


def _identity_providers(file: str, doc: LDict, key: str, cluster_name: Any) -> list[Entity]:
    providers = doc.get("identityProviders")
    out: list[Entity] = []
    for index, provider in enumerate(providers if isinstance(providers, list) else []):
        if not isinstance(provider, dict) or str(provider.get("type", "oidc")).lower() != "oidc":
            continue
        e = Entity(
            "identity_provider",
            f"{key}/identityProviders[{index}]",
            "eksctl",
            Location(file, *providers.span(index)),
        )
        e.set("address", None)
        e.set("module_dir", None)
        e.set("resource_type", None)
        e.set("cluster_name", cluster_name)
        for field, attr in (
            ("name", "name"),
            ("issuer_url", "issuerURL"),
            ("groups_claim", "groupsClaim"),
            ("groups_prefix", "groupsPrefix"),
            ("username_claim", "usernameClaim"),
            ("username_prefix", "usernamePrefix"),
        ):
            if attr in provider:
                e.set(field, provider[attr], span=key_span(provider, attr))
            else:
                kinds.set_default(e, field)
        out.append(e)
    return out


def _service_accounts(file: str, doc: LDict, key: str, cluster_name: Any) -> list[Entity]:
    """`iam.serviceAccounts` (eksctl creates the ServiceAccount and an IRSA role scoped to it)
    and `iam.podIdentityAssociations`."""
    out: list[Entity] = []
    accounts = get_path(doc, "iam", "serviceAccounts")
    for index, sa in enumerate(accounts if isinstance(accounts, list) else []):
        meta = sa.get("metadata") if isinstance(sa, dict) else None
        if not isinstance(meta, dict) or not meta.get("name"):
            continue
        name = str(meta["name"])
        namespace = str(meta.get("namespace") or kinds.NAMESPACE.default)
        e = Entity(
            "service_account",
            f"k8s:{namespace}/ServiceAccount/{name}",
            "eksctl",
            Location(file, *accounts.span(index)),
        )
        e.set("object_kind", "ServiceAccount")
        e.set("name", name, span=key_span(meta, "name"))
        if meta.get("namespace"):
            e.set("namespace", namespace)
        else:
            kinds.set_default(e, "namespace")
        e.set("qualified_name", f"{namespace}/{name}")
        e.set("automount", None)
        role = sa.get("roleARN") or (
            f"arn:aws:iam::role/{sa['roleName']}" if sa.get("roleName") else None
        )
        e.set(
            "role_arn",
            role or f"(role eksctl creates for {namespace}/{name})",
            span=key_span(sa, "roleARN") or key_span(sa, "roleName") or key_span(meta, "name"),
        )
        out.append(e)
    associations = get_path(doc, "iam", "podIdentityAssociations")
    for index, assoc in enumerate(associations if isinstance(associations, list) else []):
        if not isinstance(assoc, dict):
            continue
        e = Entity(
            "pod_identity_association",
            f"{key}/podIdentityAssociations[{index}]",
            "eksctl",
            Location(file, *associations.span(index)),
        )
        e.set("address", None)
        e.set("module_dir", None)
        e.set("resource_type", None)
        e.set("cluster_name", cluster_name)
        e.set("namespace", assoc.get("namespace"), span=key_span(assoc, "namespace"))
        e.set(
            "service_account",
            assoc.get("serviceAccountName"),
            span=key_span(assoc, "serviceAccountName"),
        )
        e.set(
            "role_arn",
            assoc.get("roleARN", "(role eksctl creates)"),
            span=key_span(assoc, "roleARN"),
        )
        e.set("role_ref", None)
        out.append(e)
    return out


def _identity_mappings(file: str, doc: LDict, mappings: list, key: str):
    """`iamIdentityMappings` are aws-auth entries eksctl writes for you."""
    roles, users, accounts = [], [], []
    for item in mappings:
        if not isinstance(item, dict):
            continue
        if "account" in item:
            accounts.append(item["account"])
            continue
        arn = item.get("arn")
        entry = LDict(
            {k: v for k, v in item.items() if k != "arn"},
            line=getattr(item, "line", 0),
            end_line=getattr(item, "end_line", 0),
        )
        entry.key_lines = dict(getattr(item, "key_lines", {}))
        is_user = isinstance(arn, str) and ":user/" in arn
        entry["userarn" if is_user else "rolearn"] = arn
        if "arn" in entry.key_lines:
            entry.key_lines["userarn" if is_user else "rolearn"] = entry.key_lines["arn"]
        (users if is_user else roles).append(entry)
    data = LDict(line=doc.line, end_line=doc.end_line)
    span = key_span(doc, "iamIdentityMappings") or (doc.line, doc.end_line)
    for map_key, items in (("mapRoles", roles), ("mapUsers", users), ("mapAccounts", accounts)):
        if items:
            listed = _LinedList(items)
            data[map_key] = listed
            data.key_lines[map_key] = span
    return aws_auth.normalize_config_map(
        file,
        doc,
        data,
        key_prefix=f"{key}/iamIdentityMappings",
        origin="eksctl",
        structured_ok=True,
    )


class _LinedList(list):
    """Entries keep the lines they had in the file."""

    def span(self, index: int) -> tuple[int, int]:
        item = self[index]
        return (getattr(item, "line", 0), getattr(item, "end_line", 0))
