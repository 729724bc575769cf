"""Exported live state: the JSON the AWS CLI prints (`aws ... --output json`) for EKS and EC2,
read into the same entities as Terraform and eksctl: `eks describe-cluster` (cluster),
`eks list-access-entries`, `eks describe-access-entry` and `eks list-associated-access-policies`
(identity mappings and access policy associations), `eks describe-pod-identity-association` and
`eks list-pod-identity-associations`, `eks describe-identity-provider-config`, `eks describe-addon`,
`eks describe-nodegroup`, `ec2 describe-launch-template-versions` and `ec2 describe-instances`
(instance metadata). A combined file is a JSON object keyed by command (`"eks describe-cluster"`,
`"aws iam get-role"`, `"kubectl get ..."`), each value one output or a list of them; IAM and
Kubernetes outputs in it are read by their own normalizers.

What a running cluster says is concrete: EKS returns every setting with its defaults applied,
so nothing here is a default of ours, except the launch template EKS creates for a managed node
group given none (AWS documents its IMDS settings for AL2 and AL2023 AMIs only)."""

from __future__ import annotations

import re
from typing import Any

from checks import kinds
from checks.model import Entity, LList, Location, Problem, Unknown, key_span, span_of
from checks.normalize.access import policy_name, principal_type

ORIGIN = "aws-cli"
# an entity read from a list output: the describe output of the same thing, when the scan
# holds it, says more and replaces it (`checks.link`)
LISTED = "aws-cli-list"

# the top-level key of each output we read -> the command that prints it
OUTPUT_KEYS = {
    "cluster": "eks describe-cluster",
    "accessEntries": "eks list-access-entries",
    "accessEntry": "eks describe-access-entry",
    "associatedAccessPolicies": "eks list-associated-access-policies",
    "association": "eks describe-pod-identity-association",
    "associations": "eks list-pod-identity-associations",
    "identityProviderConfig": "eks describe-identity-provider-config",
    "nodegroup": "eks describe-nodegroup",
    "addon": "eks describe-addon",
    "LaunchTemplateVersions": "ec2 describe-launch-template-versions",
    "Reservations": "ec2 describe-instances",
}
# a combined file's key: a command as typed, with or without `aws` and its arguments
COMMAND = re.compile(
    r"\s*(?:aws\s+)?(?:eks|ec2|iam)\s+[a-z][a-z0-9-]*(?:\s.*)?|\s*kubectl\s.*", re.S
)
# where AWS documents the IMDS settings of the launch template EKS creates for a managed node
# group given none (docs/live.md)
EKS_DEFAULT = "EKS default (the launch template EKS creates for an {family} node group)"


def is_output(doc: Any) -> bool:
    """An output of a command this module reads, as the AWS CLI prints it: its top-level key
    and the shape of what it holds (a Kubernetes object is never one)."""
    if not isinstance(doc, dict) or _is_kubernetes(doc):
        return False
    return any(key in doc and shape(doc[key], doc) for key, shape in _SHAPES.items())


def _has(value: Any, *keys: str) -> bool:
    return isinstance(value, dict) and any(k in value for k in keys)


def _items_have(value: Any, *keys: str) -> bool:
    """A list whose mappings carry one of `keys` (an empty list too: nothing listed)."""
    return isinstance(value, list) and all(_has(item, *keys) for item in value)


_SHAPES = {
    "cluster": lambda v, _: _has(v, "resourcesVpcConfig", "accessConfig", "arn"),
    "accessEntries": lambda v, _: isinstance(v, list) and all(isinstance(i, str) for i in v),
    "accessEntry": lambda v, _: _has(v, "principalArn", "accessEntryArn"),
    "associatedAccessPolicies": lambda v, doc: isinstance(v, list) and "principalArn" in doc,
    "association": lambda v, _: _has(v, "associationArn", "associationId", "serviceAccount"),
    "associations": lambda v, _: _items_have(v, "associationArn", "associationId"),
    "identityProviderConfig": lambda v, _: _has(v, "oidc"),
    "nodegroup": lambda v, _: _has(v, "nodegroupName", "nodegroupArn"),
    "addon": lambda v, _: _has(v, "addonName", "addonArn"),
    "LaunchTemplateVersions": lambda v, _: _items_have(v, "LaunchTemplateData", "VersionNumber"),
    "Reservations": lambda v, _: _items_have(v, "Instances"),
}


def is_combined(doc: Any) -> bool:
    """A JSON object keyed by command, each value an output (or a list of outputs)."""
    return (
        isinstance(doc, dict)
        and bool(doc)
        and all(isinstance(k, str) and COMMAND.fullmatch(k) for k in doc)
    )


def _is_kubernetes(doc: dict) -> bool:
    return isinstance(doc.get("kind"), str) and "apiVersion" in doc


def normalize_output(
    file: str, doc: dict, where: str = "", only_cluster: str | None = None
) -> list[Entity]:
    """The entities of one output (`is_output`); `where` prefixes their keys (default: the
    file's), `only_cluster` is the cluster of the outputs that name none (list-access-entries)."""
    return _Reader(file, where or f"aws-cli:{file}", only_cluster).output(doc)


def combined_outputs(file: str, doc: dict) -> list[tuple[str, str, Any, int]]:
    """(command, key prefix, output, line) of each output of a combined file; a command
    whose value is a list has one output per item (describe-access-entry per principal)."""
    out = []
    for command, outputs in doc.items():
        items = outputs if isinstance(outputs, list) else [outputs]
        spans = outputs.item_lines if isinstance(outputs, LList) else []
        for index, output in enumerate(items):
            where = f"aws-cli:{file}#{command.strip()}" + (f"[{index}]" if len(items) > 1 else "")
            line = spans[index][0] if index < len(spans) else (key_span(doc, command) or (0, 0))[0]
            out.append((command.strip(), where, output, line))
    return out


def only_cluster(doc: dict) -> str | None:
    """The name of the one cluster a combined file's `describe-cluster` outputs describe;
    None when they describe none or several."""
    names = {
        item["cluster"].get("name")
        for outputs in doc.values()
        for item in (outputs if isinstance(outputs, list) else [outputs])
        if isinstance(item, dict) and isinstance(item.get("cluster"), dict)
    }
    (name,) = names if len(names) == 1 else (None,)
    return name if isinstance(name, str) else None


class _Reader:
    """Entities of one output; `where` is the prefix of their keys."""

    def __init__(self, file: str, where: str, only_cluster: str | None = None) -> None:
        self.file = file
        self.where = where
        self.only_cluster = only_cluster

    def output(self, doc: dict) -> list[Entity]:
        out: list[Entity] = []
        if isinstance(doc.get("cluster"), dict):
            out.append(self.cluster(doc["cluster"]))
        if isinstance(doc.get("accessEntry"), dict):
            out.append(self.access_entry(doc["accessEntry"], f"{self.where}:accessEntry"))
        if isinstance(doc.get("accessEntries"), list):
            out += self.listed_access_entries(doc["accessEntries"])
        if isinstance(doc.get("associatedAccessPolicies"), list):
            out += self.associations(doc)
        if isinstance(doc.get("association"), dict):
            out.append(self.pod_identity(doc["association"], f"{self.where}:association", ORIGIN))
        if isinstance(doc.get("associations"), list):
            for index, item in enumerate(doc["associations"]):
                if isinstance(item, dict):
                    key = f"{self.where}:associations[{index}]"
                    out.append(self.pod_identity(item, key, LISTED))
        provider = doc.get("identityProviderConfig")
        if isinstance(provider, dict) and isinstance(provider.get("oidc"), dict):
            out.append(self.identity_provider(provider["oidc"]))
        if isinstance(doc.get("addon"), dict):
            out.append(self.addon(doc["addon"]))
        if isinstance(doc.get("nodegroup"), dict):
            out += self.nodegroup(doc["nodegroup"])
        if isinstance(doc.get("LaunchTemplateVersions"), list):
            out += self.launch_template_versions(doc["LaunchTemplateVersions"])
        if isinstance(doc.get("Reservations"), list):
            out += self.instances(doc["Reservations"])
        return out

    def _entity(self, kind: str, key: str, node: Any, origin: str = ORIGIN) -> Entity:
        e = Entity(kind, key, origin, Location(self.file, *span_of(node, (1, 1))))
        for absent in ("address", "module_dir", "resource_type"):
            if kinds.KINDS[kind].field_named(absent) is not None:
                e.set(absent, None)
        return e

    def _put(self, e: Entity, field: str, node: Any, attr: str, missing: Any = None) -> Any:
        """Set `field` from `node[attr]` with its lines; `missing` when the output omits it
        (the CLI leaves out what the service did not return)."""
        if isinstance(node, dict) and attr in node:
            e.set(field, node[attr], span=key_span(node, attr))
            return node[attr]
        e.set(field, missing)
        return missing

    # ---- eks describe-cluster --------------------------------------------------------
    def cluster(self, doc: dict) -> Entity:
        e = self._entity("cluster", f"{self.where}:cluster", doc)
        e.set("module_major_version", None)
        kinds.name_settings(
            e,
            {
                "endpoint_private_access": "resourcesVpcConfig.endpointPrivateAccess",
                "authentication_mode": "accessConfig.authenticationMode",
                "bootstrap_cluster_creator_admin_permissions": (
                    "accessConfig.bootstrapClusterCreatorAdminPermissions"
                ),
            },
        )
        self._put(e, "name", doc, "name", Unknown("describe-cluster without a name"))
        vpc = doc.get("resourcesVpcConfig")
        for field, attr in (
            ("endpoint_public_access", "endpointPublicAccess"),
            ("endpoint_private_access", "endpointPrivateAccess"),
            ("public_access_cidrs", "publicAccessCidrs"),
        ):
            if isinstance(vpc, dict) and attr in vpc:
                e.set(field, vpc[attr], span=key_span(vpc, attr))
            else:
                kinds.set_default(e, field)
        kinds.empty_to_default(e, "public_access_cidrs")
        e.set("enabled_log_types", *_enabled_log_types(doc))
        access = doc.get("accessConfig")
        if isinstance(access, dict) and "authenticationMode" in access:
            e.set(
                "authentication_mode",
                access["authenticationMode"],
                span=key_span(access, "authenticationMode"),
            )
        else:
            # a cluster made before access entries existed reads aws-auth only
            kinds.set_default(e, "authentication_mode", span=key_span(doc, "accessConfig"))
        flag = "bootstrapClusterCreatorAdminPermissions"
        if isinstance(access, dict) and flag in access:
            e.set(
                "bootstrap_cluster_creator_admin_permissions",
                access[flag],
                span=key_span(access, flag),
            )
        else:
            # EKS does not say it for every cluster: what happened at creation is not known
            e.set(
                "bootstrap_cluster_creator_admin_permissions",
                Unknown(
                    "describe-cluster does not say whether the creator got an access entry",
                    "(accessConfig.bootstrapClusterCreatorAdminPermissions not in the output)",
                ),
            )
        compute = doc.get("computeConfig")
        if isinstance(compute, dict) and "enabled" in compute:
            e.set("auto_mode", compute["enabled"], span=key_span(compute, "enabled"))
        else:
            kinds.set_default(e, "auto_mode")
        return e

    # ---- access entries ----------------------------------------------------------------
    def _mapping(self, key: str, node: Any, origin: str) -> Entity:
        e = self._entity("identity_mapping", key, node, origin)
        e.set("source", "access_entry")
        e.set("map", None)
        e.set("account", None)
        e.set("principal_ref", None)
        e.set("role_name", None)
        e.set("role_path", None)
        e.set("problems", [])
        return e

    def access_entry(self, doc: dict, key: str) -> Entity:
        e = self._mapping(key, doc, ORIGIN)
        self._put(e, "cluster_name", doc, "clusterName", self.only_cluster)
        arn = self._put(e, "principal_arn", doc, "principalArn")
        e.set("principal_type", principal_type(arn))
        if "type" in doc:
            e.set("entry_type", doc["type"], span=key_span(doc, "type"))
        else:
            kinds.set_default(e, "entry_type")
        self._put(e, "username", doc, "username")
        groups = doc.get("kubernetesGroups")
        if isinstance(groups, list):
            e.set("groups", groups, span=key_span(doc, "kubernetesGroups"))
        else:
            kinds.set_default(e, "groups")
        return e

    def listed_access_entries(self, arns: list) -> list[Entity]:
        """`list-access-entries`: the principals that have an entry, and nothing else."""
        out = []
        spans = arns.item_lines if isinstance(arns, LList) else []
        not_said = "list-access-entries does not say it (describe-access-entry does)"
        for index, arn in enumerate(arns):
            if not isinstance(arn, str):
                continue
            node = (
                LList(line=spans[index][0], end_line=spans[index][1])
                if index < len(spans)
                else None
            )
            e = self._mapping(f"{self.where}:accessEntries[{index}]", node, LISTED)
            e.set(
                "cluster_name",
                self.only_cluster
                or Unknown(
                    "list-access-entries does not name its cluster", "(cluster not in the output)"
                ),
            )
            e.set("principal_arn", arn, span=spans[index] if index < len(spans) else None)
            e.set("principal_type", principal_type(arn))
            for field in ("entry_type", "username", "groups"):
                e.set(field, Unknown(not_said, f"({field} of {arn})"))
            out.append(e)
        return out

    def associations(self, doc: dict) -> list[Entity]:
        """`list-associated-access-policies`: one access policy association per item."""
        out = []
        cluster = doc.get("clusterName", self.only_cluster)
        principal = doc.get("principalArn")
        policies = doc["associatedAccessPolicies"]
        for index, policy in enumerate(policies):
            if not isinstance(policy, dict):
                continue
            a = self._entity(
                "access_policy_association",
                f"{self.where}:{principal}:associatedAccessPolicies[{index}]",
                policy,
            )
            a.set("cluster_name", cluster, span=key_span(doc, "clusterName"))
            a.set("principal_arn", principal, span=key_span(doc, "principalArn"))
            a.set("principal_ref", None)
            arn = self._put(a, "policy_arn", policy, "policyArn")
            a.set(
                "policy_name",
                policy_name(arn),
                span=a.field_lines.get("policy_arn"),
            )
            scope = policy.get("accessScope")
            self._put(a, "scope_type", scope, "type")
            if isinstance(scope, dict) and isinstance(scope.get("namespaces"), list):
                a.set("scope_namespaces", scope["namespaces"], span=key_span(scope, "namespaces"))
            else:
                kinds.set_default(a, "scope_namespaces")
            out.append(a)
        return out

    # ---- pod identity, identity providers ----------------------------------------------
    def pod_identity(self, doc: dict, key: str, origin: str) -> Entity:
        e = self._entity("pod_identity_association", key, doc, origin)
        self._put(e, "cluster_name", doc, "clusterName", self.only_cluster)
        self._put(e, "namespace", doc, "namespace")
        self._put(e, "service_account", doc, "serviceAccount")
        not_said = Unknown(
            "list-pod-identity-associations does not say the role "
            "(describe-pod-identity-association does)",
            "(roleArn not in the output)",
        )
        self._put(e, "role_arn", doc, "roleArn", not_said if origin == LISTED else None)
        e.set("role_ref", None)
        return e

    def identity_provider(self, doc: dict) -> Entity:
        e = self._entity("identity_provider", f"{self.where}:identityProviderConfig", doc)
        kinds.name_settings(e, {"groups_prefix": "groupsPrefix"})
        self._put(e, "cluster_name", doc, "clusterName", self.only_cluster)
        for field, attr in (
            ("name", "identityProviderConfigName"),
            ("issuer_url", "issuerUrl"),
            ("groups_claim", "groupsClaim"),
            ("groups_prefix", "groupsPrefix"),
            ("username_claim", "usernameClaim"),
            ("username_prefix", "usernamePrefix"),
        ):
            if attr in doc:
                e.set(field, doc[attr], span=key_span(doc, attr))
            else:
                kinds.set_default(e, field)  # the CLI leaves out what is not set
        return e

    def addon(self, doc: dict) -> Entity:
        """`describe-addon`: its pod identity associations are ARNs; the ServiceAccount and
        role of each are in `describe-pod-identity-association` output (the link stage finds
        that one by its namespace and ServiceAccount)."""
        e = self._entity("addon", f"{self.where}:addon", doc)
        self._put(e, "cluster_name", doc, "clusterName", self.only_cluster)
        self._put(e, "name", doc, "addonName")
        self._put(e, "service_account_role_arn", doc, "serviceAccountRoleArn")
        e.set("service_account_role_ref", None)
        arns = doc.get("podIdentityAssociations")
        items = LList()
        for index, arn in enumerate(arns if isinstance(arns, list) else []):
            not_said = Unknown(
                "describe-addon names the pod identity association, not its ServiceAccount "
                "or role (describe-pod-identity-association does)",
                f"({arn})",
            )
            items.append({"service_account": not_said, "role_arn": not_said})
            spans = getattr(arns, "item_lines", [])
            items.item_lines.append(spans[index] if index < len(spans) else (0, 0))
        if isinstance(arns, list):
            e.set("pod_identity_associations", items, span=key_span(doc, "podIdentityAssociations"))
        else:
            kinds.set_default(e, "pod_identity_associations")
        return e

    # ---- instance metadata -------------------------------------------------------------
    def _metadata(self, key: str, node: Any, resource_type: str, name: str) -> Entity:
        e = self._entity("instance_metadata", key, node)
        e.set("resource_type", resource_type)
        e.set("name", name)
        return e

    def _node_roles(self, e: Entity, role: Any, via: str, span: tuple[int, int] | None) -> None:
        """`node_roles`: the nodes' one role (unknown when only its instance profile is
        named), with the lines that name it."""
        start, end = span or (e.location.start_line, e.location.end_line)
        roles = LList(line=start, end_line=end)
        roles.append(kinds.node_role(role, None, via, self.file, (start, end)))
        e.set("node_roles", roles, span=span)

    def _profile_role(self, e: Entity, holder: Any, attr: str) -> None:
        """The role of the instance profile `holder[attr]` names (`Arn` or `Name`): not in
        the output, so not known; none when no profile is named (no credentials to reach)."""
        profile = holder.get(attr) if isinstance(holder, dict) else None
        named = profile.get("Arn") or profile.get("Name") if isinstance(profile, dict) else None
        if not isinstance(named, str):
            e.set("node_roles", LList())
            return
        role = kinds.profile_role(named)
        self._node_roles(e, role, f"{e.fields['name']} {attr}", key_span(holder, attr))

    def _metadata_options(self, e: Entity, options: Any, path: str = "") -> None:
        """`MetadataOptions` as EC2 prints it (`path`: where it sits in the printed object):
        a key it leaves out takes EC2's default."""
        kinds.name_settings(
            e,
            {
                "http_tokens": f"{path}MetadataOptions.HttpTokens",
                "hop_limit": f"{path}MetadataOptions.HttpPutResponseHopLimit",
            },
        )
        if isinstance(options, dict):
            e.field_lines["metadata_options"] = span_of(options, e.span("name"))
        for field, attr in (("http_tokens", "HttpTokens"), ("http_endpoint", "HttpEndpoint")):
            if isinstance(options, dict) and attr in options:
                e.set(field, options[attr], span=key_span(options, attr))
            else:
                kinds.set_default(e, field)
        hop = options.get("HttpPutResponseHopLimit") if isinstance(options, dict) else None
        hop_span = key_span(options, "HttpPutResponseHopLimit")
        e.set(
            "hop_limit",
            hop if isinstance(hop, int) and not isinstance(hop, bool) else None,
            span=hop_span,
        )

    def nodegroup(self, doc: dict) -> list[Entity]:
        """A managed node group given no launch template runs on the one EKS creates, whose
        IMDS settings AWS documents for AL2 and AL2023 AMIs; one given a launch template runs
        on that template, judged where its versions are exported."""
        if "launchTemplate" in doc:
            return []
        name = doc.get("nodegroupName")
        e = self._metadata(
            f"{self.where}:nodegroup",
            doc,
            "eks:nodegroup",
            f"node group {name}" if isinstance(name, str) else "node group",
        )
        role = doc.get("nodeRole")
        if not isinstance(role, str):
            role = Unknown("describe-nodegroup gives no nodeRole", "nodeRole")
        self._node_roles(e, role, f"{e.fields['name']} nodeRole", key_span(doc, "nodeRole"))
        ami = doc.get("amiType")
        span = key_span(doc, "amiType")
        # the options of the template EKS creates follow from the node group's AMI type
        kinds.name_settings(
            e,
            {
                "http_tokens": f"amiType {ami}, so http_tokens",
                "hop_limit": f"amiType {ami}, so http_put_response_hop_limit",
            },
        )
        kinds.set_default(e, "http_endpoint")
        family = kinds.ami_family(ami)
        if family is not None:
            tokens, hop = kinds.EKS_NODE_GROUP_IMDS[family]
            source = EKS_DEFAULT.format(family=family)
            e.set("http_tokens", tokens, span=span, default=source)
            e.set("hop_limit", hop, span=span, default=source)
        else:
            why = Unknown(
                f"AWS does not document the instance metadata settings of the launch template "
                f"EKS creates for AMI type {ami}",
                f"(launch template EKS creates for {ami})",
            )
            e.set("http_tokens", why, span=span)
            e.set("hop_limit", why, span=span)
        return [e]

    def launch_template_versions(self, versions: list) -> list[Entity]:
        """The default and the latest version of each template in the output: without
        `--versions` the command lists every version, most never launched again; asked for
        the version a node group uses, that one is the latest of its output. Every version is
        judged when the output says of none whether it is the default."""
        numbers = [
            v.get("VersionNumber")
            for v in versions
            if isinstance(v, dict) and isinstance(v.get("VersionNumber"), int)
        ]
        latest = {}
        for v in versions:
            if isinstance(v, dict) and isinstance(v.get("VersionNumber"), int):
                template = v.get("LaunchTemplateId") or v.get("LaunchTemplateName")
                latest[template] = max(latest.get(template, 0), v["VersionNumber"])
        says_default = any(isinstance(v, dict) and "DefaultVersion" in v for v in versions)
        out = []
        for index, version in enumerate(versions):
            if not isinstance(version, dict):
                continue
            template = version.get("LaunchTemplateId") or version.get("LaunchTemplateName")
            number = version.get("VersionNumber")
            used = (
                not says_default
                or version.get("DefaultVersion") is True
                or (isinstance(number, int) and number == latest.get(template))
            )
            if not used and numbers:
                continue
            name = version.get("LaunchTemplateName") or template
            e = self._metadata(
                f"{self.where}:LaunchTemplateVersions[{index}]",
                version,
                "ec2:launch-template-version",
                f"launch template {name} version {number}",
            )
            data = version.get("LaunchTemplateData")
            if isinstance(data, dict) and "IamInstanceProfile" in data:
                self._profile_role(e, data, "IamInstanceProfile")
            else:
                # a managed node group's template names no profile: the group's nodeRole
                # (in its describe-nodegroup output) is the role
                role = Unknown(
                    f"the role of the node group that launches {name}", f"the role of {name}"
                )
                self._node_roles(e, role, f"{e.fields['name']} (its node group's role)", None)
            self._metadata_options(
                e,
                data.get("MetadataOptions") if isinstance(data, dict) else None,
                "LaunchTemplateData.",
            )
            out.append(e)
        return out

    def instances(self, reservations: list) -> list[Entity]:
        """Each instance with the metadata options it runs with (EC2 prints them all)."""
        out = []
        for r_index, reservation in enumerate(reservations):
            instances = reservation.get("Instances") if isinstance(reservation, dict) else None
            for index, instance in enumerate(instances if isinstance(instances, list) else []):
                if not isinstance(instance, dict):
                    continue
                ident = instance.get("InstanceId")
                group = _tag(instance, "eks:nodegroup-name")
                name = f"instance {ident}" + (f" (node group {group})" if group else "")
                e = self._metadata(
                    f"{self.where}:Reservations[{r_index}].Instances[{index}]",
                    instance,
                    "ec2:instance",
                    name,
                )
                self._metadata_options(e, instance.get("MetadataOptions"))
                self._profile_role(e, instance, "IamInstanceProfile")
                out.append(e)
        return out


def _tag(instance: dict, key: str) -> str | None:
    tags = instance.get("Tags")
    for tag in tags if isinstance(tags, list) else []:
        if isinstance(tag, dict) and tag.get("Key") == key and isinstance(tag.get("Value"), str):
            return tag["Value"]
    return None


def _enabled_log_types(doc: dict) -> tuple[Any, ...]:
    """The union of the types of `logging.clusterLogging` entries that are enabled (EKS lists
    the enabled types in one entry and the others in another), with its lines."""
    logging = doc.get("logging")
    entries = logging.get("clusterLogging") if isinstance(logging, dict) else None
    if not isinstance(entries, list):
        return ([], None, kinds.catalog_field("cluster", "enabled_log_types").default_origin)
    types = LList()
    for entry in entries:
        if isinstance(entry, dict) and entry.get("enabled") is True:
            listed = entry.get("types")
            for index, item in enumerate(listed if isinstance(listed, list) else []):
                if isinstance(item, str) and item not in types:
                    types.append(item)
                    spans = getattr(listed, "item_lines", [])
                    types.item_lines.append(spans[index] if index < len(spans) else (0, 0))
    return (types, key_span(logging, "clusterLogging"))


def listing_identity(entity: Entity) -> tuple | None:
    """What an access entry or pod identity association of an export is about, for the link
    stage to keep one entity of each: its principal, or its namespace and ServiceAccount,
    within one export folder (the cluster aside). None for any other entity."""
    import os

    if entity.origin not in (ORIGIN, LISTED):
        return None
    folder = os.path.dirname(entity.location.file)
    if entity.kind == "identity_mapping":
        arn = entity.fields.get("principal_arn")
        return (entity.kind, folder, arn.lower()) if isinstance(arn, str) else None
    if entity.kind == "pod_identity_association":
        values = tuple(entity.fields.get(f) for f in ("namespace", "service_account"))
        return (entity.kind, folder, *values) if all(isinstance(v, str) for v in values) else None
    return None


def duplicate_notes(file: str, duplicates: list) -> list[Problem]:
    """A key written twice: the AWS CLI never prints one, so someone edited the file; the last
    value is the one read, as JSON readers do."""
    from checks.parse import excerpt

    return [
        Problem(
            file,
            f"duplicate key '{excerpt(d.key)}'"
            + (f" (first at line {d.first_line})" if d.first_line else "")
            + ": the AWS CLI never prints one; the last value is read",
            d.line,
            "note",
        )
        for d in duplicates
    ]
