"""eksctl `ClusterConfig` files (apiVersion eksctl.io/v1alpha5) into the same model as
Terraform: the cluster, its node groups' instance metadata, aws-auth identity mappings,
access entries and OIDC identity providers, with eksctl's defaults applied."""

from __future__ import annotations

from typing import Any

from checks import kinds
from checks.model import Entity, LDict, LList, Location, Problem, Unknown, get_path, key_span
from checks.normalize import access, aws_auth
from checks.normalize.kubernetes import annotation_suppressions
from checks.parse import written_wrongly, wrong_kind

EKSCTL_DEFAULT = "eksctl default"
ALL_LOG_TYPES = ["api", "audit", "authenticator", "controllerManager", "scheduler"]


# What eksctl adds to an existing cluster from a config file (`eksctl create nodegroup`,
# `create fargateprofile`, `create iamserviceaccount`, `create addon`, `create accessentry`,
# `associate identityprovider`, `create iamidentitymapping`, `utils associate-iam-oidc-provider`).
EXISTING_CLUSTER_SECTIONS = (
    ("nodeGroups",),
    ("managedNodeGroups",),
    ("fargateProfiles",),
    ("iam",),
    ("addons",),
    ("addonsConfig",),
    ("identityProviders",),
    ("iamIdentityMappings",),
    ("accessConfig", "accessEntries"),
)
# What only `eksctl create cluster` (or an update of the cluster itself) reads: the control
# plane's settings. A node group of a cluster eksctl did not create needs `vpc.id`,
# `vpc.subnets` and `vpc.securityGroup`; the rest of `vpc` is the cluster's.
CLUSTER_SECTIONS = (
    "privateCluster",
    "outpost",
    "cloudWatch",
    "autoModeConfig",
    "secretsEncryption",
    "kubernetesNetworkConfig",
    "remoteNetworkConfig",
    "zonalShiftConfig",
    "availabilityZones",
    "localZones",
    "karpenter",
    "gitops",
)
NODE_GROUP_VPC_KEYS = frozenset(
    {
        "id",
        "subnets",
        "securityGroup",
        "sharedNodeSecurityGroup",
        "manageSharedNodeSecurityGroupRules",
    }
)


def defines_cluster(doc: LDict) -> bool:
    """Whether a ClusterConfig defines its cluster, as `eksctl create cluster` reads it. eksctl
    reads the same file format to add node groups (and service accounts, add-ons...) to an
    existing cluster that `metadata` names: a file that sets none of the control plane's
    settings and holds something eksctl adds to an existing cluster is such a file, and says
    nothing about the cluster. A file holding neither is a cluster of eksctl's defaults."""
    vpc = doc.get("vpc")
    if isinstance(vpc, dict) and any(k not in NODE_GROUP_VPC_KEYS for k in vpc):
        return True
    access = doc.get("accessConfig")
    if isinstance(access, dict) and any(k != "accessEntries" for k in access):
        return True
    if get_path(doc, "metadata", "version") is not None:
        return True
    if any(doc.get(section) is not None for section in CLUSTER_SECTIONS):
        return True
    return not any(get_path(doc, *path) is not None for path in EXISTING_CLUSTER_SECTIONS)


def normalize_cluster_config(file: str, doc: LDict) -> tuple[list[Entity], list[Problem]]:
    """The entities of one ClusterConfig; its `eks-checks.io/ignore` annotation applies to
    each of them, as a manifest's does. A file for an existing cluster (`defines_cluster`
    false) makes no cluster entity: only what it adds is judged."""
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

    # a fully private cluster ends private-only (eksctl turns the public endpoint off after
    # creating it, and refuses clusterEndpoints beside it); a control plane on Outposts has
    # only a private endpoint
    private_only = _private_only(doc)
    origin = private_only or EKSCTL_DEFAULT
    kinds.name_settings(
        cluster,
        {
            "endpoint_private_access": "vpc.clusterEndpoints.privateAccess",
            "authentication_mode": "accessConfig.authenticationMode",
            "bootstrap_cluster_creator_admin_permissions": (
                "accessConfig.bootstrapClusterCreatorAdminPermissions"
            ),
        },
    )
    put("endpoint_public_access", endpoints, "publicAccess", not private_only, origin)
    put("endpoint_private_access", endpoints, "privateAccess", bool(private_only), origin)
    put("public_access_cidrs", get_path(doc, "vpc"), "publicAccessCIDRs", ["0.0.0.0/0"])
    kinds.empty_to_default(cluster, "public_access_cidrs")
    logging = get_path(doc, "cloudWatch", "clusterLogging")
    types = put("enabled_log_types", logging, "enableTypes", [])
    if isinstance(types, list) and any(t in ("*", "all") for t in types):
        cluster.fields["enabled_log_types"] = list(ALL_LOG_TYPES)
    access_settings = get_path(doc, "accessConfig")
    problems: list[Problem] = []
    if access_settings is not None and not isinstance(access_settings, dict):
        # eksctl refuses it: what it would set is not known, not eksctl's defaults
        where = key_span(doc, "accessConfig") or (line, line)
        message = wrong_kind("accessConfig", access_settings, "a mapping")
        problems.append(Problem(file, message, where[0]))
        why = written_wrongly("accessConfig")
        cluster.set("authentication_mode", why, span=where)
        cluster.set("bootstrap_cluster_creator_admin_permissions", why, span=where)
    else:
        put("authentication_mode", access_settings, "authenticationMode", "API_AND_CONFIG_MAP")
        put(
            "bootstrap_cluster_creator_admin_permissions",
            access_settings,
            "bootstrapClusterCreatorAdminPermissions",
            True,
        )
    cluster.set("auto_mode", bool(get_path(doc, "autoModeConfig", "enabled")))
    entities = [cluster] if defines_cluster(doc) else []
    entities += _node_groups(file, doc, key)
    cluster_name = get_path(doc, "metadata", "name")
    made, found = _access_entries(file, access_settings, key, cluster_name)
    entities += made
    problems += found
    entities += _identity_providers(file, doc, key, cluster_name)
    entities += _service_accounts(file, doc, key, cluster_name)
    entities += _addons(file, doc, key, cluster_name)
    mappings = doc.get("iamIdentityMappings")
    if isinstance(mappings, list):
        made, _ = _identity_mappings(file, doc, mappings, key)
        entities += made
    suppressions = annotation_suppressions(doc)
    for e in entities:
        e.suppressions = suppressions
    return entities, problems


def _private_only(doc: LDict) -> str | None:
    """Why eksctl gives the cluster a private endpoint only, or None."""
    if get_path(doc, "privateCluster", "enabled") is True:
        return "eksctl privateCluster.enabled"
    if get_path(doc, "outpost", "controlPlaneOutpostARN"):
        return "a control plane on AWS Outposts"
    return None


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
            e.set("node_roles", _node_group_roles(file, group, e.fields["name"], span))
            _metadata_options(e, group)
            out.append(e)
    return out


def _metadata_options(e: Entity, group: dict) -> None:
    """The metadata options of the launch template eksctl writes for a node group: tokens
    required when disableIMDSv1 (default on) or disablePodIMDS is on, hop limit 2 unless
    disablePodIMDS; a managed node group on a launch template of its own gets none of them."""
    given = group.get("launchTemplate")
    if isinstance(given, dict):
        template = given.get("id", "(not named)")
        unknown = Unknown(
            f"the metadata options of launch template {template}, which eksctl does not write",
            "launchTemplate.id",
        )
        span = key_span(group, "launchTemplate")
        for field in ("http_tokens", "http_endpoint", "hop_limit"):
            e.set(field, unknown, span=span)
        kinds.name_settings(
            e,
            {
                "http_tokens": f"the http_tokens of launch template {template}",
                "hop_limit": f"the http_put_response_hop_limit of launch template {template}",
            },
        )
        return
    imdsv1_off = group.get("disableIMDSv1", True) is True
    pod_imds_off = group.get("disablePodIMDS", False) is True
    said = "disablePodIMDS" if pod_imds_off and not imdsv1_off else "disableIMDSv1"
    e.set(
        "http_tokens",
        "required" if imdsv1_off or pod_imds_off else "optional",
        span=key_span(group, said),
        default=None if said in group else EKSCTL_DEFAULT,
    )
    kinds.set_default(e, "http_endpoint")  # eksctl does not set it
    # eksctl has no such settings: the message names what makes eksctl write them
    kinds.name_settings(
        e,
        {
            "http_tokens": f"{_written(group, said)}, so its launch template's http_tokens",
            "hop_limit": f"{_written(group, 'disablePodIMDS')}, so its launch template's "
            "http_put_response_hop_limit",
        },
    )
    # eksctl's launch templates let pods reach IMDS (hop limit 2) unless disablePodIMDS
    e.set(
        "hop_limit",
        1 if pod_imds_off else 2,
        span=key_span(group, "disablePodIMDS"),
        default=None if "disablePodIMDS" in group else EKSCTL_DEFAULT,
    )


def _written(group: dict, key: str) -> str:
    """A node group's boolean setting as the file writes it (`disablePodIMDS: false`), or
    what its absence means to eksctl (`no disablePodIMDS: true`)."""
    if key not in group:
        return f"no {key}: true" if key == "disablePodIMDS" else f"{key} unset (true)"
    value = group[key]
    return f"{key}: {str(value).lower() if isinstance(value, bool) else value}"


def _node_group_roles(file: str, group: dict, name: str, span: tuple[int, int]) -> LList:
    """A node group's role: `iam.instanceRoleARN`; the role of `iam.instanceProfileARN`, not
    known; else the role eksctl creates, whose policies are not read here (unknown)."""
    iam = group.get("iam")
    iam = iam if isinstance(iam, dict) else {}
    given = iam.get("instanceRoleARN")
    where = key_span(iam, "instanceRoleARN") or span
    if isinstance(given, str):
        role, via = given, f"{name} iam.instanceRoleARN"
    elif isinstance(iam.get("instanceProfileARN"), str):
        profile = iam["instanceProfileARN"]
        role = kinds.profile_role(profile)
        via, where = f"{name} iam.instanceProfileARN", key_span(iam, "instanceProfileARN") or span
    else:
        role = Unknown(f"the IAM role eksctl creates for {name}", f"the role of {name}")
        via = f"{name} (the role eksctl creates)"
    roles = LList(line=span[0], end_line=span[1])
    roles.append(kinds.node_role(role, None, via, file, where))
    return roles


def _access_entries(
    file: str, access_config: Any, key: str, cluster_name: Any
) -> tuple[list[Entity], list[Problem]]:
    container = access_config.get("accessEntries") if isinstance(access_config, dict) else None
    return access.entries(
        container,
        access.EKSCTL,
        f"{key}/accessEntries",
        "eksctl",
        file,
        key_span(access_config, "accessEntries") or (1, 1),
        cluster_name,
        "accessConfig.accessEntries",
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
        kinds.name_settings(e, {"groups_prefix": "groupsPrefix"})
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
        e.set("module_dir", None)
        e.set("automount", None)
        role = sa.get("roleARN") or (
            f"arn:aws:iam::role/{sa['roleName']}" if sa.get("roleName") else None
        )
        e.set(
            "role_arn",
            role or f"(role eksctl creates for {namespace}/{name})",
            span=key_span(sa, "roleARN") or key_span(sa, "roleName") or key_span(meta, "name"),
        )
        e.set("role_ref", None)
        e.set("given_by", None)
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


# `serviceName` -> the service-linked role eksctl maps for it (with the service's name as the
# user name, and a Role and RoleBinding of its own in `namespace`)
SERVICE_ROLES = {"emr-containers": "AWSServiceRoleForAmazonEMRContainers"}


# The add-ons for which eksctl creates a role when the config gives none (eksctl's
# recommended policies), and the ServiceAccount that role is for.
ADDON_SERVICE_ACCOUNTS = {
    "vpc-cni": "aws-node",
    "aws-ebs-csi-driver": "ebs-csi-controller-sa",
    "aws-efs-csi-driver": "efs-csi-controller-sa",
}
# an add-on's settings that ask eksctl for an IRSA role (`wellKnownPolicies` when one is true)
IRSA_SETTINGS = ("serviceAccountRoleARN", "attachPolicyARNs", "attachPolicy")


def _addons(file: str, doc: LDict, key: str, cluster_name: Any) -> list[Entity]:
    """`addons`, with the role eksctl gives each one's service account, in eksctl's order:
    the `podIdentityAssociations` written; else an IRSA role (`serviceAccountRoleARN`, or one
    eksctl creates from `attachPolicyARNs`, `attachPolicy` or `wellKnownPolicies`) when
    `iam.withOIDC` is on; else the recommended pod identity associations with
    `useDefaultPodIdentityAssociations` or `addonsConfig.autoApplyPodIdentityAssociations`;
    else, with `iam.withOIDC`, an IRSA role with the recommended policies."""
    addons = doc.get("addons")
    with_oidc = get_path(doc, "iam", "withOIDC") is True
    auto_apply = get_path(doc, "addonsConfig", "autoApplyPodIdentityAssociations") is True
    out: list[Entity] = []
    for index, addon in enumerate(addons if isinstance(addons, list) else []):
        if not isinstance(addon, dict):
            continue
        e = Entity("addon", f"{key}/addons[{index}]", "eksctl", Location(file, *addons.span(index)))
        name = addon.get("name")
        e.set("address", None)
        e.set("module_dir", None)
        e.set("resource_type", "eksctl:addons")
        e.set("cluster_name", cluster_name)
        e.set("name", name, span=key_span(addon, "name"))
        recommended = ADDON_SERVICE_ACCOUNTS.get(name.lower()) if isinstance(name, str) else None
        associations = LList(line=addon.line, end_line=addon.end_line)
        role: Any = None
        role_span = None
        written = addon.get("podIdentityAssociations")
        irsa = [k for k in IRSA_SETTINGS if addon.get(k)]
        irsa += ["wellKnownPolicies"] if _any_true(addon.get("wellKnownPolicies")) else []
        if isinstance(written, list) and written:
            for position, item in enumerate(written):
                if not isinstance(item, dict):
                    continue
                account = item.get("serviceAccountName")
                associations.append(
                    {
                        "service_account": account,
                        "role_arn": item.get("roleARN") or f"(role eksctl creates for {account})",
                    }
                )
                associations.item_lines.append(written.span(position))
        elif irsa:
            if with_oidc:
                role = addon.get("serviceAccountRoleARN") or "(role eksctl creates for the add-on)"
                role_span = key_span(addon, irsa[0])
        elif addon.get("useDefaultPodIdentityAssociations") is True or auto_apply:
            account: Any = recommended or Unknown(
                f"eksctl asks EKS which ServiceAccounts add-on {name} needs",
                f"(the recommended ServiceAccounts of {name})",
            )
            associations.append({"service_account": account, "role_arn": "(role eksctl creates)"})
            associations.item_lines.append(
                key_span(addon, "useDefaultPodIdentityAssociations") or addons.span(index)
            )
        elif recommended and with_oidc:
            role = "(role eksctl creates with the add-on's recommended policies)"
        e.set("service_account_role_arn", role, span=role_span)
        e.set("service_account_role_ref", None)
        span = associations.item_lines[0] if associations else None
        e.set("pod_identity_associations", associations, span=span)
        out.append(e)
    return out


def _any_true(value: Any) -> bool:
    return isinstance(value, dict) and any(v is True for v in value.values())


def _identity_mappings(file: str, doc: LDict, mappings: list, key: str):
    """`iamIdentityMappings` are aws-auth entries eksctl writes for you, each item one of three
    forms (eksctl's keys are exact): `arn` of a role or user with `username`/`groups`;
    `account`; `serviceName` with `namespace`, for which eksctl maps the service's
    service-linked role. What eksctl refuses (its `Validate`, or when creating) and what the
    authenticator would not match are the item's problems (EKS504)."""
    prefix = f"{key}/iamIdentityMappings"
    document = aws_auth.document_entity(file, doc, prefix, "eksctl")
    entities = [document]
    accounts = LList()
    seen = aws_auth.ArnsSeen()
    earlier: list[tuple] = []  # (arn, username, groups, line) of the arn items so far
    counts = {"mapRoles": 0, "mapUsers": 0, "mapAccounts": 0}
    for index, item in enumerate(mappings):
        span = mappings.span(index) if hasattr(mappings, "span") else (doc.line, doc.end_line)
        if not span[0]:
            span = key_span(doc, "iamIdentityMappings") or (doc.line, doc.end_line)
        if not isinstance(item, dict):
            e = aws_auth.mapping_entity(file, f"{prefix}[{index}]", "eksctl", span, None, None)
            entities.append(aws_auth.broken_entry(e, "iamIdentityMappings item is not a mapping"))
            continue
        problems = _refused(item)
        if _text(item.get("serviceName")):
            map_name = "mapRoles"
        elif _text(item.get("account")):
            map_name = "mapAccounts"
        else:
            arn = item.get("arn")
            map_name = "mapUsers" if isinstance(arn, str) and ":user/" in arn else "mapRoles"
            if item.get("noDuplicateARNs") is True and isinstance(arn, str):
                verdict = _no_duplicate(item, earlier)
                if verdict == "skipped":
                    continue  # eksctl skips an identical mapping
                if verdict:
                    problems.append(verdict)
        e = aws_auth.mapping_entity(
            file,
            f"{prefix}/{map_name}[{counts[map_name]}]",
            "eksctl",
            span,
            map_name,
            aws_auth.MAP_KINDS[map_name],
        )
        counts[map_name] += 1
        if map_name == "mapAccounts":
            aws_auth.account_fields(
                e, item["account"], key_span(item, "account"), "account", problems
            )
            if e.fields["account"] is not None:
                accounts.append(e.fields["account"])
                accounts.item_lines.append(e.span("account"))
        elif _text(item.get("serviceName")):
            _service(e, item, problems)
        else:
            _arn_mapping(e, item, seen, problems, earlier)
        entities.append(e)
    document.set("accounts", accounts, span=key_span(doc, "iamIdentityMappings"))
    document.set("problems", [])
    return entities, []


def _text(value: Any) -> bool:
    """A value eksctl counts as set: anything but absent, null or the empty string."""
    return value is not None and value != ""


def _refused(item: dict) -> list[str]:
    """What eksctl's own validation of an item refuses."""
    has = {name: _text(item.get(name)) for name in ("arn", "username", "serviceName")}
    has["groups"] = bool(item.get("groups"))
    has["namespace"] = _text(item.get("namespace"))
    problems = []
    if has["serviceName"]:
        if has["arn"] and has["username"] and has["groups"]:
            problems.append("serviceName cannot be used with arn, username and groups")
        if not has["namespace"]:
            problems.append("serviceName needs a namespace")
    elif has["namespace"]:
        problems.append("namespace is only read with serviceName")
    if _text(item.get("account")) and any(has.values()):
        problems.append("account cannot be combined with any other option")
    return problems


def _no_duplicate(item: dict, earlier: list[tuple]) -> str | None:
    """With `noDuplicateARNs`, eksctl skips an item identical to an earlier mapping of the
    same ARN ("skipped") and refuses one that differs (the problem); None: no such ARN."""
    mine = (item.get("username") or "", _group_set(item.get("groups")))
    for arn, username, groups, line in earlier:
        if arn != item.get("arn"):
            continue
        if (username or "", _group_set(groups)) == mine:
            return "skipped"
        return (
            f"eksctl refuses it: {arn} is already mapped at line {line} and noDuplicateARNs is set"
        )
    return None


def _group_set(groups: Any) -> Any:
    """Groups as eksctl compares them: sorted, none when absent."""
    if groups is None:
        return []
    if isinstance(groups, list) and all(isinstance(g, str) for g in groups):
        return sorted(groups)
    return groups


def _arn_mapping(
    e: Entity, item: dict, seen: aws_auth.ArnsSeen, problems: list[str], earlier: list[tuple]
) -> None:
    arn = item.get("arn")
    username = item.get("username")
    e.set("principal_arn", arn, span=key_span(item, "arn"))
    e.set("username", username, span=key_span(item, "username"))
    groups = aws_auth.set_groups(e, item, "groups" if "groups" in item else None)
    duplicate_refused = any(p.startswith("eksctl refuses it:") for p in problems)
    aws_auth.judge_arn(e, arn, "arn", None, None if duplicate_refused else seen, problems)
    if not _text(username) and not groups:
        problems.append("neither username nor groups is set: eksctl refuses the mapping")
    aws_auth.judge_groups(e, groups, username, problems)
    e.set("problems", problems)
    if not duplicate_refused:
        earlier.append((arn, username, groups, e.location.start_line))


def _service(e: Entity, item: dict, problems: list[str]) -> None:
    """A `serviceName` item: eksctl maps the service's service-linked role of the cluster's
    account to the user named after the service (no groups)."""
    service = item["serviceName"]
    role = SERVICE_ROLES.get(service) if isinstance(service, str) else None
    span = key_span(item, "serviceName")
    if not isinstance(service, str):
        problems.append("serviceName is not a string")
    elif role is None:
        problems.append(
            f"serviceName {aws_auth.quoted(service)} is not one eksctl knows "
            f"({', '.join(SERVICE_ROLES)})"
        )
    if role:
        arn: Any = Unknown(
            "the account is the cluster's, known when eksctl runs",
            f"arn:aws:iam::<cluster account>:role/{role}",
        )
    else:
        arn = None
    e.set("principal_arn", arn, span=span)
    e.set("username", service if isinstance(service, str) else None, span=span)
    e.set("groups", [])
    e.set("role_name", role)
    e.set("role_path", "" if role else None)
    e.set("problems", problems)
