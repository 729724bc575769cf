"""The catalog of entity kinds: for each kind of the model, its fields (name, type, meaning,
default and where the default comes from), the location names that are not fields, and the
links the link stage sets on it.

Every producer of a kind sets exactly the kind's fields, `None` where a field does not apply
to what it read (a test checks this over every fixture); AWS and Kubernetes defaults are
written here once and producers read them with `set_default`. The JSON Schemas of the model
and of rules (`python -m checks.schemagen`) and the page of fields a rule can test
(`python -m checks.docgen model`) are generated from this table; rule loading checks a
rule's `field`, `location`, `related` and `{placeholder}` names against it.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any

from checks.model import Entity, Unknown

AWS_DEFAULT = "AWS default"
EC2_DEFAULT = "EC2 default"
K8S_DEFAULT = "Kubernetes default"


@dataclass(frozen=True)
class Type:
    """A field's type: `string`, `integer`, `boolean`, `list` (of `item`) or `object` (with
    the declared `fields` of, e.g., a binding's subjects). Any value may also be unknown."""

    name: str
    item: Type | None = None
    fields: tuple[Field, ...] = ()

    def describe(self) -> str:
        """`list of string`, `list of object {kind, name, namespace}`."""
        if self.name == "list" and self.item is not None:
            return f"list of {self.item.describe()}"
        if self.name == "object":
            return "object {" + ", ".join(f.name for f in self.fields) + "}"
        return self.name


@dataclass(frozen=True)
class Field:
    """One field of a kind, or of the objects in a list field. `default` is what the input's
    silence means when `default_origin` (AWS, EC2, Kubernetes) defines one; `set_by` is the
    stage that sets it (`link` for fields that depend on other entities, `graph` for what the
    access graph finds)."""

    name: str
    type: Type
    meaning: str
    default: Any = None
    default_origin: str | None = None
    # an empty list means the default, as AWS reads `public_access_cidrs = []`
    empty_means_default: bool = False
    # a default of each item of a list field (a projected token's expirationSeconds)
    item_default: Any = None
    set_by: str = "normalize"


@dataclass(frozen=True)
class Link:
    """A relation the link stage records in `Entity.links`: its name, the kind it points at."""

    name: str
    target: str
    meaning: str


@dataclass(frozen=True)
class Kind:
    name: str
    meaning: str
    fields: tuple[Field, ...]
    links: tuple[Link, ...] = ()
    # location names that are not fields: lines of a block a rule can point at
    lines: dict[str, str] = field(default_factory=dict)

    def field_named(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)

    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def link(self, name: str) -> Link | None:
        return next((link for link in self.links if link.name == name), None)


STRING = Type("string")
INTEGER = Type("integer")
BOOLEAN = Type("boolean")
STRINGS = Type("list", STRING)


def list_of(item: Type) -> Type:
    return Type("list", item)


def object_of(*fields: Field) -> Type:
    return Type("object", fields=fields)


# what `module_dir` is of an object with no address of its own
_WITHOUT_ADDRESS = (
    "when `address` is null: of what a known Terraform module's call makes (its access "
    "entries, its add-ons' pod identity associations), the root module that makes the call, as "
    "for a module instance's objects; else null"
)


def _address(meaning: str, without_address: str = "") -> tuple[Field, Field]:
    """`address` and the `module_dir` it is in: together, how Terraform names the object;
    `without_address` says what `module_dir` is when `address` is null, if not null."""
    return (
        Field("address", STRING, meaning),
        Field(
            "module_dir",
            STRING,
            "the directory of the Terraform root module `address` is in (a module instance's "
            "objects are addressed from the root module that calls it; of a CloudFormation "
            "resource: the template, `address` being its logical id): "
            "`<module_dir>:<address>` is how a `role_ref` or `principal_ref` names it; "
            + (without_address or _WITHOUT_ADDRESS),
        ),
    )


# The kinds the access graph places in a cluster by the configuration that made them
# (`link.configuration_of`, `graph.place_of`) have no Terraform address of their own:
# Kubernetes objects and aws-auth entries are applied by the kubernetes provider of the root
# module that makes them, which is the cluster they belong to, wherever the module's file is.
_MADE_BY = (
    "the directory of the Terraform root module that makes it (of what a module instance "
    "makes: the root module that calls the module, whose provider applies it), which the "
    "access graph finds its cluster by"
)
CONFIGURATION = Field(
    "module_dir",
    STRING,
    f"{_MADE_BY}; null for manifests, Kustomize, Helm charts and any other source (their "
    "file's folder stands for it)",
)


def terraform_reference(module_dir: str, address: str) -> str:
    """How a `role_ref` or `principal_ref` names a Terraform object: a Terraform address means
    something only inside its module, `<module dir>:<address>`."""
    return f"{module_dir}:{address}"


def _resource_type(meaning: str) -> Field:
    return Field("resource_type", STRING, meaning)


# A Kubernetes object's namespace, the same for every kind of object.
NAMESPACE = Field(
    "namespace",
    STRING,
    "`metadata.namespace`; null for cluster-scoped objects",
    default="default",
    default_origin=K8S_DEFAULT,
)
_OBJECT_FIELDS = (
    Field("object_kind", STRING, "the Kubernetes `kind` (`Deployment`, `ClusterRoleBinding`)"),
    Field("name", STRING, "`metadata.name` (`(unnamed)` when absent)"),
    NAMESPACE,
    Field("qualified_name", STRING, "`namespace/name`, or `name` for cluster-scoped objects"),
)

_CLUSTER_NAME = Field(
    "cluster_name",
    STRING,
    "the EKS cluster it belongs to, as written (null when the input does not say)",
)

# What a binding lets its subjects do (RULES.md, 6xx): each capability and what grants it.
# The order is the order of every `capabilities` list of the model.
CAPABILITIES: dict[str, str] = {
    "cluster_admin": "verbs `*` on resources `*` in apiGroups `*`, or ClusterRole cluster-admin",
    "read_secrets": "`get`, `list` or `watch` on `secrets` (core group)",
    "create_workloads": "`create` on pods, replicationcontrollers (core), deployments, "
    "replicasets, statefulsets, daemonsets (apps), jobs or cronjobs (batch)",
    "exec_pods": "`create` or `get` on `pods/exec` or `pods/attach`",
    "node_proxy": "`get` or `create` on `nodes/proxy` (a ClusterRoleBinding only)",
    "escalate_bind": "`escalate` or `bind` on roles or clusterroles (rbac.authorization.k8s.io)",
    "impersonate": "`impersonate` on serviceaccounts, or (a ClusterRoleBinding only) on users, "
    "groups or uids",
    "create_tokens": "`create` on `serviceaccounts/token`",
    "approve_csrs": "`update` or `patch` on `certificatesigningrequests/approval` together with "
    "`approve` on `signers` (certificates.k8s.io; a ClusterRoleBinding only)",
    "edit_webhooks": "`create`, `update` or `patch` on mutating- or "
    "validatingwebhookconfigurations (a ClusterRoleBinding only)",
    "edit_aws_auth": "`update`, `patch` or `create` on `configmaps` (no `resourceNames`, or "
    "`aws-auth` among them), cluster-wide or in namespace kube-system",
}
# The trust rules whose verdicts decide whether an entry point is pinned (RULES.md, 8xx), and
# the instance metadata rules that say pods reach the node role: the graph stage evaluates
# their conditions, so that "pinned" means what those rules test.
PIN_RULES = ("EKS401", "EKS402", "EKS403", "EKS405", "EKS407", "EKS408")
IMDS_RULES = ("EKS201", "EKS202")
# Subjects whose names start so are Kubernetes' and EKS's own identities.
EXEMPT_SUBJECT_PREFIXES = ("system:", "eks:")
_CAPABILITY_LIST = (
    "capability names (" + ", ".join(f"`{c}`" for c in CAPABILITIES) + "), in that order"
)


def _per_capability_links(meaning: str) -> tuple[Link, ...]:
    """One link per capability to the rules of scanned roles that grant it."""
    return tuple(
        Link(f"{name}_rules", "rbac_rule", meaning.format(capability=name)) for name in CAPABILITIES
    )


# Every kind's: where in a Terraform configuration's module tree the entity was made.
CALL_PATH = Field(
    "call_path",
    STRING,
    "the Terraform module instance that made it, as Terraform addresses it from the root "
    'module (`module.platform.module.eks`, `module.nodes["a"]`); null for what a root '
    "module's own resources, a plan or any other source make",
)

# One hop of an access path (RULES.md, 8xx) as the graph stage (checks/graph.py) writes it.
HOP_KINDS: dict[str, str] = {
    "trust": "a trust statement lets a principal assume a role",
    "mapping": "an aws-auth entry or access entry signs a role or user in to a cluster",
    "group": "the mapping makes it a member of a Kubernetes group (or the user it maps to)",
    "access_policy": "an access policy associated with an access entry, in its scope",
    "binding": "a RoleBinding or ClusterRoleBinding names the subject",
    "role": "the binding refers to a Role or ClusterRole",
    "capability": "what the role lets its subjects do, in the binding's scope",
    "service_account": "a pod runs as its ServiceAccount (with its token, or without)",
    "irsa": "the ServiceAccount's `eks.amazonaws.com/role-arn` annotation (IRSA)",
    "pod_identity": "a pod identity association gives the ServiceAccount a role",
    "imds": "any pod of the nodes reaches the node role through instance metadata",
    "aws_power": "what the role may do in AWS (`aws_power`)",
    "creator": "the identity that creates the cluster is made its administrator",
}
HOP = object_of(
    Field("hop", STRING, "what the hop is: " + ", ".join(f"`{h}`" for h in HOP_KINDS)),
    Field("source", STRING, "where it starts, in words (`role shop-github-deploy`)"),
    Field("target", STRING, "where it leads, in words (`group deployers in cluster prod`)"),
    Field("message", STRING, "the hop in words, as reports show it"),
    Field("entity_key", STRING, "the key of the entity that makes the hop"),
    Field("file", STRING, "the file that makes the hop"),
    Field("start_line", INTEGER, "its first line"),
    Field("end_line", INTEGER, "its last line"),
)
# how many hops a `*_hops` field holds at most: its related locations and fingerprint
MAX_PATH_HOPS = 200


def _power_fields(prefix: str, reaches: str, power: str) -> tuple[Field, ...]:
    """What the graph stage finds from an entry point: whether a path reaches a power, the
    power the shortest one reaches, its hops in order, and every hop of every such path."""
    return (
        Field(f"reaches_{prefix}", BOOLEAN, reaches, set_by="graph"),
        Field(
            f"{prefix}_power",
            STRING,
            f"{power}, in words, that the shortest such path reaches; null when none",
            set_by="graph",
        ),
        Field(
            f"{prefix}_path",
            list_of(HOP),
            "the hops of the shortest such path, in order; empty when none",
            set_by="graph",
        ),
        Field(
            f"{prefix}_hops",
            list_of(HOP),
            f"every hop of every such path, each once (at most {MAX_PATH_HOPS}): the finding's "
            "related locations, and what its fingerprint covers",
            set_by="graph",
        ),
    )


_AWS_ADMIN = _power_fields(
    "aws_admin",
    "a path of the access graph gives its pods a role whose `aws_power` holds `admin` or "
    "`iam_write` (IRSA, Pod Identity, or the node role through instance metadata: AWS "
    "credentials do not depend on token automount); unknown when only a path through an "
    "unknown hop could",
    "the AWS power and the role",
)


# The fields whose setting a rule's message names, with the Terraform argument that sets each:
# every kind of source writes it its own way (eksctl's `vpc.clusterEndpoints.privateAccess`,
# CloudFormation's `ResourcesVpcConfig.EndpointPrivateAccess`), and a finding tells the user
# what to change in their own file. `<field>_setting` holds the entity's (`name_settings`).
NAMED_SETTINGS: dict[str, dict[str, str]] = {
    "cluster": {
        "endpoint_private_access": "endpoint_private_access",
        "authentication_mode": "authentication_mode",
        "bootstrap_cluster_creator_admin_permissions": (
            "bootstrap_cluster_creator_admin_permissions"
        ),
    },
    "instance_metadata": {
        "http_tokens": "http_tokens",
        "hop_limit": "http_put_response_hop_limit",
    },
    "identity_provider": {"groups_prefix": "groups_prefix"},
}


def _setting_fields(kind: str) -> tuple[Field, ...]:
    return tuple(
        Field(
            f"{name}_setting",
            STRING,
            f"what sets `{name}`, as the entity's source writes it: Terraform's `{argument}` "
            "(a module's input), eksctl's or CloudFormation's key path, the exported output's "
            "key; or the setting it follows from (`disableIMDSv1: false, so its launch "
            "template's http_tokens`). What a message tells the user to change",
        )
        for name, argument in NAMED_SETTINGS.get(kind, {}).items()
    )


def name_settings(entity: Entity, written: dict[str, str] | None = None) -> None:
    """Set `<field>_setting` for each field of NAMED_SETTINGS of the entity's kind: as
    `written` names it (every field, for a source that is not Terraform), else as Terraform's
    argument."""
    for name, argument in NAMED_SETTINGS.get(entity.kind, {}).items():
        entity.set(f"{name}_setting", argument if written is None else written[name])


KINDS: dict[str, Kind] = {
    k.name: dataclasses.replace(k, fields=(*k.fields, *_setting_fields(k.name), CALL_PATH))
    for k in (
        Kind(
            "cluster",
            "An EKS cluster: `aws_eks_cluster`, a terraform-aws-modules/eks call, an eksctl "
            "ClusterConfig that defines its cluster (not one that only adds node groups and the "
            "like to an existing cluster), `aws eks describe-cluster` output, a CloudFormation "
            "`AWS::EKS::Cluster` (CDK's `Custom::AWSCDK-EKS-Cluster`).",
            (
                *_address(
                    "the Terraform address (`aws_eks_cluster.main`, `module.eks`); null for eksctl "
                    "and live exports"
                ),
                _resource_type(
                    "`aws_eks_cluster` or `module:terraform-aws-modules/eks`; null for eksctl and "
                    "live exports"
                ),
                Field(
                    "module_major_version",
                    INTEGER,
                    "the terraform-aws-modules/eks major version whose defaults applied; "
                    "null when the cluster is not a module call",
                ),
                Field("name", STRING, "the cluster's name"),
                Field(
                    "endpoint_public_access",
                    BOOLEAN,
                    "the API server endpoint is reachable from the internet",
                    default=True,
                    default_origin=AWS_DEFAULT,
                ),
                Field(
                    "endpoint_private_access",
                    BOOLEAN,
                    "the API server endpoint is reachable from inside the VPC",
                    default=False,
                    default_origin=AWS_DEFAULT,
                ),
                Field(
                    "public_access_cidrs",
                    STRINGS,
                    "the address ranges the public endpoint admits; an empty list means the "
                    "default",
                    default=["0.0.0.0/0"],
                    default_origin=AWS_DEFAULT,
                    empty_means_default=True,
                ),
                Field(
                    "enabled_log_types",
                    STRINGS,
                    "control plane log types sent to CloudWatch (`api`, `audit`...)",
                    default=[],
                    default_origin=AWS_DEFAULT,
                ),
                Field(
                    "authentication_mode",
                    STRING,
                    "`CONFIG_MAP`, `API_AND_CONFIG_MAP` or `API`: where the cluster reads who "
                    "may sign in (aws-auth, access entries)",
                    default="CONFIG_MAP",
                    default_origin=AWS_DEFAULT,
                ),
                Field(
                    "bootstrap_cluster_creator_admin_permissions",
                    BOOLEAN,
                    "the identity that creates the cluster gets a cluster-admin access entry",
                    default=True,
                    default_origin=AWS_DEFAULT,
                ),
                Field(
                    "auto_mode",
                    BOOLEAN,
                    "EKS Auto Mode is on (`compute_config.enabled`)",
                    default=False,
                    default_origin=AWS_DEFAULT,
                ),
            ),
        ),
        Kind(
            "instance_metadata",
            "The instance metadata options of nodes: `aws_launch_template`, "
            "`aws_launch_configuration`, `aws_instance`, module node groups, eksctl node groups, "
            "the live export's node groups, launch template versions and instances, their "
            "CloudFormation resources, and the launch template EKS creates for an "
            "`AWS::EKS::Nodegroup` without one.",
            (
                *_address(
                    "the Terraform address of the launch template or instance; null for the node "
                    "groups of a module or of eksctl, and for live exports"
                ),
                _resource_type(
                    "`aws_launch_template`, `aws_launch_configuration`, `aws_instance`, "
                    "`module:eks_managed_node_groups`, `module:self_managed_node_groups`, "
                    "`eksctl:managedNodeGroups`, `eksctl:nodeGroups`, or, in a live export, "
                    "`eks:nodegroup` (a managed node group given no launch template), "
                    "`ec2:launch-template-version` or `ec2:instance`"
                ),
                Field("name", STRING, "what to call it in a message: its address or node group"),
                Field(
                    "http_tokens",
                    STRING,
                    "`required` (IMDSv2 only) or `optional` (IMDSv1 allowed)",
                    default="optional",
                    default_origin=EC2_DEFAULT,
                ),
                Field(
                    "http_endpoint",
                    STRING,
                    "`enabled` or `disabled`: whether the metadata service answers at all",
                    default="enabled",
                    default_origin=EC2_DEFAULT,
                ),
                Field(
                    "hop_limit",
                    INTEGER,
                    "`http_put_response_hop_limit`: above 1, pods reach the node's metadata; "
                    "null when not set",
                ),
                Field(
                    "node_roles",
                    list_of(
                        object_of(
                            Field(
                                "role",
                                STRING,
                                "the role as written: an ARN, or a name (an instance profile's "
                                "`role`); unknown when it is an expression or the tool that "
                                "makes the nodes creates it",
                            ),
                            Field(
                                "role_ref",
                                STRING,
                                "`<module dir>:<address>` of the Terraform role an unknown "
                                "`role` refers to; else null",
                            ),
                            Field(
                                "via",
                                STRING,
                                "where the nodes get it, in words (`aws_eks_node_group.general "
                                "node_role_arn`, `aws_iam_instance_profile.nodes role`)",
                            ),
                            Field("file", STRING, "the file that says it"),
                            Field("start_line", INTEGER, "its first line"),
                            Field("end_line", INTEGER, "its last line"),
                        )
                    ),
                    "the IAM roles of the nodes (an instance profile's role, a node group's "
                    "`node_role_arn` or `iam_role_arn`, eksctl `iam.instanceRoleARN`); empty "
                    "when the input does not say",
                    default=[],
                ),
                Field(
                    "pods_reach_imds",
                    BOOLEAN,
                    "EKS201 or EKS202 flags it (their conditions, with the configured "
                    "parameters): any pod of its nodes can take the node role's credentials",
                    set_by="graph",
                ),
                *_AWS_ADMIN,
            ),
            links=(
                Link("node_role_trust", "trust_statement", "the trust statements of its roles"),
            ),
            lines={"metadata_options": "the `metadata_options` block"},
        ),
        Kind(
            "workload",
            "A pod template wherever its kind keeps it: Pod, Deployment, ReplicaSet, "
            "StatefulSet, DaemonSet, Job, CronJob, ReplicationController, PodTemplate.",
            (
                *_OBJECT_FIELDS,
                CONFIGURATION,
                Field(
                    "service_account_name",
                    STRING,
                    "the pod's `serviceAccountName` (or the older `serviceAccount`)",
                    default="default",
                    default_origin=K8S_DEFAULT,
                ),
                Field(
                    "automount",
                    BOOLEAN,
                    "the pod spec's `automountServiceAccountToken`; null when not set",
                ),
                Field(
                    "projected_token_expirations",
                    list_of(INTEGER),
                    "`expirationSeconds` of each projected `serviceAccountToken` source",
                    item_default=3600,
                    default_origin=K8S_DEFAULT,
                ),
                Field(
                    "effective_automount",
                    BOOLEAN,
                    "the pod gets a service-account token: its own setting, else its "
                    "ServiceAccount's, else Kubernetes' default (true)",
                    set_by="link",
                ),
                Field(
                    "automount_source",
                    STRING,
                    "where `effective_automount` came from, in words",
                    set_by="link",
                ),
                Field(
                    "service_account_capabilities",
                    STRINGS,
                    "what scanned bindings let the pod's ServiceAccount do, each in its "
                    "binding's scope (as its `capabilities`, whether or not the "
                    "ServiceAccount is in the scan)",
                    set_by="link",
                ),
                Field(
                    "service_account_cluster_capabilities",
                    STRINGS,
                    "those of them that a ClusterRoleBinding gives, cluster-wide",
                    set_by="link",
                ),
                Field(
                    "service_account_grants",
                    STRINGS,
                    "the bindings that give the ServiceAccount capabilities, in words: "
                    "`ClusterRoleBinding ci: read_secrets cluster-wide through ClusterRole ci`",
                    set_by="link",
                ),
                Field(
                    "sts_legacy_endpoint_containers",
                    STRINGS,
                    "the containers (init containers included) whose environment sets "
                    "`AWS_STS_REGIONAL_ENDPOINTS` to `legacy` (in any case; the last `env` entry "
                    "of that name counts); an unknown item for a container whose value is not "
                    "known (`valueFrom`, an unresolved expression)",
                ),
                Field(
                    "root_containers",
                    STRINGS,
                    "the containers (init containers included) that may run as root: neither "
                    "their `securityContext` nor the pod's (theirs wins) sets `runAsNonRoot: "
                    "true` or a non-zero `runAsUser`, so the image decides; an unknown item for "
                    "a container whose settings are not known",
                ),
                Field(
                    "aws_role",
                    STRING,
                    "the IAM role the pod gets, in words: its ServiceAccount's "
                    "`eks.amazonaws.com/role-arn` annotation (IRSA), or a pod identity "
                    "association for its namespace and ServiceAccount; null when the scan shows "
                    "neither",
                    set_by="link",
                ),
                *_AWS_ADMIN,
            ),
            links=(
                Link(
                    "service_account",
                    "service_account",
                    "the pod's ServiceAccount (same namespace; of copies, the nearest file)",
                ),
                Link(
                    "irsa_service_account",
                    "service_account",
                    "the pod's ServiceAccount, when it carries an IRSA role annotation",
                ),
                Link(
                    "pod_identity_associations",
                    "pod_identity_association",
                    "the pod identity associations for the pod's namespace and ServiceAccount "
                    "(of copies, the nearest; none when one nearer names a namespace or "
                    "ServiceAccount that is not known)",
                ),
                Link(
                    "token_bindings",
                    "rbac_binding",
                    "the bindings that give the pod's ServiceAccount capabilities (of copies "
                    "of one binding, the nearest file)",
                ),
                Link("token_roles", "rbac_role", "the scanned roles of those bindings"),
            ),
            lines={"pod_spec": "the pod template's `spec:`"},
        ),
        Kind(
            "service_account",
            "A Kubernetes ServiceAccount (manifests, Terraform, eksctl `iam.serviceAccounts`, the "
            "ServiceAccounts of EKS add-ons and Helm releases that Terraform gives an IAM role).",
            (
                *_OBJECT_FIELDS,
                CONFIGURATION,
                Field(
                    "automount",
                    BOOLEAN,
                    "`automountServiceAccountToken`; null when not set",
                ),
                Field(
                    "role_arn",
                    STRING,
                    "the `eks.amazonaws.com/role-arn` annotation (IRSA); null when absent",
                ),
                Field(
                    "role_ref",
                    STRING,
                    "`<module dir>:<address>` of the Terraform role a not yet known `role_arn` "
                    "refers to (a ServiceAccount Terraform writes: `kubernetes_service_account`, "
                    "an add-on's, a Helm release's); else null",
                ),
                Field(
                    "given_by",
                    STRING,
                    "the EKS add-on or Helm release that gives it its IAM role without the "
                    "configuration writing the ServiceAccount (`aws_eks_addon.vpc_cni`, "
                    "`helm_release.lbc`); null for a ServiceAccount written as an object",
                ),
                Field(
                    "gives_role_to_default_service_account",
                    BOOLEAN,
                    "it is a namespace's `default` ServiceAccount and carries an IAM role",
                    set_by="link",
                ),
                Field(
                    "irsa_role_name",
                    STRING,
                    "the name of the role `role_arn` names; null when that role is not in the scan",
                    set_by="link",
                ),
                Field(
                    "irsa_subject",
                    STRING,
                    "`system:serviceaccount:<namespace>:<name>`; null when the role is not in "
                    "the scan",
                    set_by="link",
                ),
                Field(
                    "irsa_trust_admits",
                    BOOLEAN,
                    "a web-identity statement of the role's trust admits `irsa_subject`; null "
                    "when the role is not in the scan",
                    set_by="link",
                ),
                Field(
                    "capabilities",
                    STRINGS,
                    "what the scanned bindings that name it let it do, each in its binding's "
                    "scope: bindings of the ServiceAccount itself (or of the user "
                    "`system:serviceaccount:<namespace>:<name>`) and of the groups "
                    "`system:serviceaccounts`, `system:serviceaccounts:<namespace>` and "
                    "`system:authenticated` (of copies of one binding, the nearest file); "
                    + _CAPABILITY_LIST,
                    set_by="link",
                ),
                Field(
                    "cluster_capabilities",
                    STRINGS,
                    "those of them that a ClusterRoleBinding gives, cluster-wide",
                    set_by="link",
                ),
            ),
            links=(
                Link("irsa_role_trust", "trust_statement", "the trust statements of its role"),
                Link(
                    "irsa_trust_admitting",
                    "trust_statement",
                    "the statements that admit its subject",
                ),
                Link(
                    "bindings",
                    "rbac_binding",
                    "the scanned bindings that name it, directly or through its groups",
                ),
            ),
        ),
        Kind(
            "secret",
            "A Kubernetes Secret.",
            (
                *_OBJECT_FIELDS,
                Field(
                    "type",
                    STRING,
                    "the Secret's `type` (`kubernetes.io/service-account-token`...)",
                    default="Opaque",
                    default_origin=K8S_DEFAULT,
                ),
            ),
        ),
        Kind(
            "rbac_role",
            "A Role or ClusterRole.",
            (
                *_OBJECT_FIELDS,
                Field(
                    "rules",
                    list_of(
                        object_of(
                            Field("api_groups", STRINGS, "`apiGroups`"),
                            Field("resources", STRINGS, "`resources`"),
                            Field("verbs", STRINGS, "`verbs`"),
                            Field("non_resource_urls", STRINGS, "`nonResourceURLs`"),
                        )
                    ),
                    "the role's rules (entries that are not mappings are left out)",
                ),
                Field("aggregated", BOOLEAN, "it has an `aggregationRule`"),
                Field(
                    "labels",
                    STRINGS,
                    "`metadata.labels` as `key=value` "
                    "(`rbac.authorization.k8s.io/aggregate-to-admin=true`)",
                ),
                Field(
                    "aggregation_selectors",
                    list_of(
                        object_of(
                            Field("match_labels", STRINGS, "`matchLabels` as `key=value`"),
                            Field(
                                "match_expressions",
                                list_of(
                                    object_of(
                                        Field("key", STRING, "the label key"),
                                        Field(
                                            "operator",
                                            STRING,
                                            "`In`, `NotIn`, `Exists` or `DoesNotExist`",
                                        ),
                                        Field("values", STRINGS, "the values"),
                                    )
                                ),
                                "`matchExpressions`",
                            ),
                        )
                    ),
                    "`aggregationRule.clusterRoleSelectors`: a ClusterRole matching any of them "
                    "gives this role its rules",
                ),
                Field(
                    "capabilities",
                    STRINGS,
                    "what its rules let a subject do, before a binding's scope applies; an "
                    "aggregated ClusterRole has those of the roles it aggregates (scanned "
                    "ClusterRoles and Kubernetes' built-in ones), and the built-in `admin`, "
                    "`edit` and `view` gain those of scanned ClusterRoles labelled "
                    '`rbac.authorization.k8s.io/aggregate-to-<name>: "true"`; ' + _CAPABILITY_LIST,
                    set_by="link",
                ),
            ),
            links=(
                Link(
                    "aggregated_roles",
                    "rbac_role",
                    "the scanned ClusterRoles whose rules its `aggregationRule` gives it",
                ),
            ),
        ),
        Kind(
            "rbac_rule",
            "One rule of a Role or ClusterRole, with what it grants: a finding on a binding "
            "points at the rules that grant what it reports.",
            (
                Field("role_kind", STRING, "Role or ClusterRole"),
                Field("role_name", STRING, "the role's `metadata.name`"),
                Field(
                    "namespace",
                    STRING,
                    "the Role's namespace; null for a ClusterRole",
                    default="default",
                    default_origin=K8S_DEFAULT,
                ),
                Field("role", STRING, "the role in words: `ClusterRole ingress`, `Role shop/app`"),
                Field("role_key", STRING, "the key of the `rbac_role` entity it belongs to"),
                Field("index", INTEGER, "its position in the role's `rules`, from 0"),
                Field("api_groups", STRINGS, "`apiGroups`"),
                Field("resources", STRINGS, "`resources`"),
                Field("verbs", STRINGS, "`verbs`"),
                Field("resource_names", STRINGS, "`resourceNames`; empty when not limited"),
                Field("non_resource_urls", STRINGS, "`nonResourceURLs`"),
                Field(
                    "capabilities",
                    STRINGS,
                    "what the rule grants, or contributes to (`approve_csrs` takes two rules), "
                    "before a binding's scope applies; `*` matches everything and `*/<sub>` "
                    "every resource's subresource; a rule limited by `resourceNames` grants "
                    "only `edit_aws_auth`, and that when `aws-auth` is among the names",
                    set_by="link",
                ),
            ),
        ),
        Kind(
            "rbac_binding",
            "A RoleBinding or ClusterRoleBinding.",
            (
                *_OBJECT_FIELDS,
                CONFIGURATION,
                Field("role_ref_kind", STRING, "`roleRef.kind`: Role or ClusterRole"),
                Field("role_ref_name", STRING, "`roleRef.name`"),
                Field(
                    "subjects",
                    list_of(
                        object_of(
                            Field("kind", STRING, "User, Group or ServiceAccount"),
                            Field("name", STRING, "the subject's name"),
                            Field("namespace", STRING, "a ServiceAccount's namespace, else null"),
                        )
                    ),
                    "who the binding grants the role to",
                ),
                Field(
                    "subject_names",
                    STRINGS,
                    "the subjects in words: `User alice`, `ServiceAccount shop/cart`",
                ),
                Field(
                    "non_exempt_subject_names",
                    STRINGS,
                    "the subjects in words whose names start with neither `system:` nor `eks:` "
                    "(Kubernetes' and EKS's own identities)",
                ),
                Field(
                    "scope",
                    STRING,
                    "where it grants: `cluster` for a ClusterRoleBinding, else its namespace",
                ),
                Field(
                    "scope_text",
                    STRING,
                    "the scope in words: `cluster-wide` or `in namespace shop`",
                ),
                Field(
                    "role_text",
                    STRING,
                    "the role it refers to, in words: `ClusterRole ingress`, `Role shop/app`, "
                    "`built-in ClusterRole edit`, `ClusterRole x (not in the scan)`",
                    set_by="link",
                ),
                Field(
                    "capabilities",
                    STRINGS,
                    "what its subjects can do in its `scope`: the capabilities of the role "
                    "it refers to (a scanned Role of the binding's namespace or ClusterRole, "
                    "else the built-in ClusterRole `cluster-admin`, `admin`, `edit` or "
                    "`view`; unknown for any other role), without `node_proxy`, "
                    "`approve_csrs`, `edit_webhooks` and the impersonation of users, groups "
                    "and uids unless the scope is `cluster`, and without `edit_aws_auth` "
                    "unless it is `cluster` or `kube-system`; " + _CAPABILITY_LIST,
                    set_by="link",
                ),
                Field(
                    "grants_text",
                    STRING,
                    "its capabilities in words, each with the verbs and resources that grant "
                    "it: `read_secrets (get, list on secrets); impersonate (impersonate on "
                    "serviceaccounts)`",
                    set_by="link",
                ),
            ),
            links=(
                Link("role", "rbac_role", "the scanned role it refers to"),
                *_per_capability_links(
                    "the scanned rules that give its subjects `{capability}` (in the role, or "
                    "in a ClusterRole aggregated into it)"
                ),
            ),
        ),
        Kind(
            "identity_mapping",
            "Who may sign in to the cluster as whom: an aws-auth `mapRoles`/`mapUsers` entry, "
            "a `mapAccounts` item, an eksctl `iamIdentityMappings` item, an `IAMIdentityMapping` "
            "of the AWS IAM Authenticator (read as an aws-auth entry), or an EKS access entry.",
            (
                *_address(
                    "the Terraform address of an `aws_eks_access_entry`; null for aws-auth entries "
                    "and for access entries written inside a cluster's definition",
                    without_address=f"of an aws-auth entry Terraform writes: {_MADE_BY}; else "
                    + _WITHOUT_ADDRESS,
                ),
                _resource_type("`aws_eks_access_entry`, else null"),
                Field("source", STRING, "`aws-auth` or `access_entry`"),
                Field(
                    "map",
                    STRING,
                    "the aws-auth list it is in (`mapRoles`, `mapUsers`, `mapAccounts`), "
                    "`IAMIdentityMapping` for that object; null for access entries",
                ),
                _CLUSTER_NAME,
                Field(
                    "principal_arn",
                    STRING,
                    "the IAM role or user ARN mapped; for an aws-auth `sso` entry, the ARN pattern "
                    "of its permission set's roles (`arn:aws:iam::<account>:role/"
                    "AWSReservedSSO_<name>_*`); null for an account",
                ),
                Field("principal_type", STRING, "`role`, `user` or `account`"),
                Field(
                    "account",
                    STRING,
                    "the AWS account a `mapAccounts` item (eksctl: an `account` item) maps: every "
                    "IAM user and role of it signs in under its own ARN; null for other mappings",
                ),
                Field(
                    "principal_ref",
                    STRING,
                    "`<module dir>:<address>` of the Terraform role or user a not yet known "
                    "`principal_arn` refers to; else null",
                ),
                Field(
                    "entry_type",
                    STRING,
                    "the access entry's `type` (`STANDARD`, `EC2_LINUX`...); null for aws-auth",
                    default="STANDARD",
                    default_origin=AWS_DEFAULT,
                ),
                Field("username", STRING, "the Kubernetes user name it maps to; null when not set"),
                Field(
                    "groups",
                    STRINGS,
                    "the Kubernetes groups it maps to",
                    default=[],
                    default_origin=AWS_DEFAULT,
                ),
                Field(
                    "role_name",
                    STRING,
                    "aws-auth: the role's name, which the authenticator matches (paths "
                    "aside); null for users, access entries and ARNs it cannot read",
                ),
                Field(
                    "role_path",
                    STRING,
                    "aws-auth: the path inside a role ARN (`platform/`), empty when none; null "
                    "for users and access entries",
                ),
                Field(
                    "problems",
                    STRINGS,
                    "what makes an aws-auth entry not work as written; empty for access entries",
                ),
                Field(
                    "cluster_admin_groups",
                    STRINGS,
                    "its groups that a scanned ClusterRoleBinding binds to cluster-admin "
                    "(`system:masters` aside); unknown when its groups are not known (or partly, "
                    "with no known one bound) and may be one a scanned ClusterRoleBinding binds "
                    "to cluster-admin, empty when none can be",
                    set_by="link",
                ),
                Field(
                    "earlier_access_entry",
                    STRING,
                    "an access entry written before it (by file and line) for the same "
                    "principal ARN (compared case-insensitively) and the same cluster, in "
                    "words; null when there is none (and for aws-auth entries); unknown when a "
                    "principal or cluster that is not known may make one the same",
                    set_by="link",
                ),
            ),
            links=(
                Link(
                    "earlier_access_entry",
                    "identity_mapping",
                    "the first access entry for the same principal and cluster",
                ),
                Link(
                    "cluster_admin_bindings",
                    "rbac_binding",
                    "the ClusterRoleBindings that make its groups cluster-admin",
                ),
                Link(
                    "access_policy_associations",
                    "access_policy_association",
                    "the access policies associated with an access entry",
                ),
            ),
        ),
        Kind(
            "access_policy_association",
            "An EKS access policy associated with an access entry's principal.",
            (
                *_address(
                    "the Terraform address of an `aws_eks_access_policy_association`; null for "
                    "associations written inside an access entry"
                ),
                _resource_type("`aws_eks_access_policy_association`, else null"),
                _CLUSTER_NAME,
                Field("principal_arn", STRING, "the principal of the access entry"),
                Field(
                    "principal_ref",
                    STRING,
                    "`<module dir>:<address>` a not yet known `principal_arn` refers to; else null",
                ),
                Field("policy_arn", STRING, "the access policy's ARN"),
                Field("policy_name", STRING, "its last part (`AmazonEKSClusterAdminPolicy`)"),
                Field(
                    "scope_type",
                    STRING,
                    "`cluster` or `namespace`; null when not set; unknown when the access scope "
                    "or its type is written as a value not known (`access_scope = var.scope`)",
                ),
                Field(
                    "scope_namespaces",
                    STRINGS,
                    "the namespaces of a `namespace` scope",
                    default=[],
                ),
            ),
            links=(
                Link(
                    "access_entry",
                    "identity_mapping",
                    "the access entry of its principal (set where both are written together)",
                ),
            ),
        ),
        Kind(
            "pod_identity_association",
            "An EKS Pod Identity association: a role for a namespace's ServiceAccount.",
            (
                *_address(
                    "the Terraform address of an `aws_eks_pod_identity_association`; "
                    "null for eksctl and live exports"
                ),
                _resource_type("`aws_eks_pod_identity_association`, else null"),
                _CLUSTER_NAME,
                Field("namespace", STRING, "the namespace of the ServiceAccount"),
                Field("service_account", STRING, "the ServiceAccount's name"),
                Field("role_arn", STRING, "the role the pods get"),
                Field(
                    "role_ref",
                    STRING,
                    "`<module dir>:<address>` of the Terraform role a not yet known `role_arn` "
                    "refers to; else null",
                ),
                Field(
                    "gives_role_to_default_service_account",
                    BOOLEAN,
                    "the association targets a namespace's `default` ServiceAccount",
                    set_by="link",
                ),
                Field(
                    "role_name",
                    STRING,
                    "the role's name; null when the role is not in the scan",
                    set_by="link",
                ),
                Field(
                    "role_trusts_pod_identity",
                    BOOLEAN,
                    "the role's trust lets `pods.eks.amazonaws.com` both `sts:AssumeRole` and "
                    "`sts:TagSession`; null when the role is not in the scan",
                    set_by="link",
                ),
            ),
            links=(Link("role_trust", "trust_statement", "the trust statements of its role"),),
        ),
        Kind(
            "trust_statement",
            "One Allow statement of a role's trust policy that lets someone assume it, in any "
            "spelling (IAM JSON, Terraform, data sources, module inputs).",
            (
                Field("role_name", STRING, "the role's name"),
                Field("role_arn", STRING, "the role's ARN when the input says it"),
                Field(
                    "role_ref",
                    STRING,
                    "`<module dir>:<address>` of the Terraform role; null outside Terraform",
                ),
                Field(
                    "role_key",
                    STRING,
                    "an identifier of the role (or policy document) the statement belongs to, "
                    "the same for all its statements and for no other role's",
                ),
                Field(
                    "policy_source",
                    STRING,
                    "how the policy was written: `jsonencode()`, `heredoc`, a data source, "
                    "`get-role`...",
                ),
                Field("sid", STRING, "the statement's `Sid` (empty when none)"),
                Field("statement_index", INTEGER, "its position in the policy, from 0"),
                Field("actions", STRINGS, "`Action` (or `NotAction`) as written"),
                Field(
                    "granted_actions",
                    STRINGS,
                    "the `sts:AssumeRole*` and `sts:TagSession` actions it allows (an unknown "
                    "item where an action written as an expression may allow more)",
                ),
                Field(
                    "allows_assume",
                    BOOLEAN,
                    "true: an Allow statement whose actions include an `sts:AssumeRole*` "
                    "action; unknown when its `Effect` or `Action` is not known, and every 4xx "
                    "rule is then undecided (a known Deny, or no assume action, makes no "
                    "trust statement at all)",
                ),
                Field(
                    "principal_any",
                    BOOLEAN,
                    "it trusts any principal (`*`, `{AWS: *}`, or `NotPrincipal`)",
                ),
                Field(
                    "principal_text",
                    STRING,
                    "the principal in words, for messages (`everyone but ...` for a "
                    "`NotPrincipal`)",
                ),
                Field("principals_aws", STRINGS, "`Principal.AWS` values"),
                Field(
                    "account_root_principals",
                    STRINGS,
                    "the `Principal.AWS` values that name a whole account: "
                    "`arn:<partition>:iam::<account>:root` (partition and account literal or "
                    "expressions) or a bare 12-digit id; an unknown item for a principal that is "
                    "all expression",
                ),
                Field(
                    "principals_service",
                    STRINGS,
                    "`Principal.Service` values, lower case, the partition's DNS suffix written "
                    "as an expression (`${AWS::URLSuffix}`, `data.aws_partition.*.dns_suffix`) "
                    "read as `amazonaws.com`; an item not known otherwise is unknown",
                ),
                Field("principals_federated", STRINGS, "`Principal.Federated` values"),
                Field(
                    "federated_kinds",
                    STRINGS,
                    "what each federated principal is (the `kind` of each of "
                    "`federated_providers`)",
                ),
                Field(
                    "conditions",
                    list_of(
                        object_of(
                            Field("operator", STRING, "the operator as written (`StringLike`)"),
                            Field("key", STRING, "the condition key, lower case"),
                            Field("values", STRINGS, "the values it compares with"),
                        )
                    ),
                    "one entry per operator and key of `Condition`",
                ),
                Field("has_condition", BOOLEAN, "the statement has any condition"),
                Field("condition_keys", STRINGS, "the condition keys, lower case, sorted"),
                Field(
                    "condition_key_suffixes",
                    STRINGS,
                    "the part after the last `:` of each key (`sub`, `aud`), sorted",
                ),
                Field("sub_values", STRINGS, "the values of positive `:sub` conditions"),
                Field(
                    "sub_scope",
                    STRING,
                    "`none` (no `:sub` condition), `scoped` (a literal subject) or `wildcard`: "
                    "the least scoped of `federated_providers`",
                ),
                Field("aud_values", STRINGS, "the values of positive `:aud` conditions"),
                Field(
                    "federated_providers",
                    list_of(
                        object_of(
                            Field("principal", STRING, "the `Federated` principal as written"),
                            Field(
                                "kind",
                                STRING,
                                "`eks_oidc`, `github`, a CI/CD issuer (`gitlab`, `circleci`, "
                                "`bitbucket`, `hcp_terraform`, `buildkite`), `cognito`, "
                                "`saml` or `oidc` (any other web identity provider); a "
                                "provider not resolved whose `:sub` values all are "
                                "`system:serviceaccount:` subjects is `eks_oidc`",
                            ),
                            Field(
                                "provider",
                                STRING,
                                "the host/path its condition keys start with, lower case "
                                "(`gitlab.com`); unknown when written as an expression",
                            ),
                            Field(
                                "condition_keys",
                                STRINGS,
                                "the statement's condition keys that bear on it: its own "
                                "`<provider>:` keys (all of them when it or a key is an "
                                "expression) and keys of no provider (`aws:...`)",
                            ),
                            Field(
                                "sub_values",
                                STRINGS,
                                "the values of its positive `:sub` conditions",
                            ),
                            Field(
                                "sub_scope",
                                STRING,
                                "`none`, `scoped` or `wildcard`, from its own `:sub` conditions",
                            ),
                            Field(
                                "aud_values",
                                STRINGS,
                                "the values of its positive `:aud` conditions",
                            ),
                            Field(
                                "project_pinned",
                                BOOLEAN,
                                "for GitHub and the CI/CD issuers: its conditions pin the "
                                "repository or project (docs/rules.md, EKS405 and EKS408); "
                                "null for other kinds; of a provider of unknown kind, what every "
                                "issuer would say, else unknown",
                            ),
                        )
                    ),
                    "one object per `Federated` principal: a `<provider>:sub`/`:aud` condition "
                    "scopes only its own provider when both are literal",
                ),
                Field(
                    "ci_providers",
                    STRINGS,
                    "the kinds of its GitHub and CI/CD providers (`github`, `gitlab`...)",
                ),
                Field(
                    "ci_subject_pinned",
                    BOOLEAN,
                    "every provider of `ci_providers` has its project pinned; null when it "
                    "federates none",
                ),
                Field(
                    "pinned",
                    BOOLEAN,
                    "no rule of " + ", ".join(PIN_RULES) + " flags it (their conditions over "
                    "its fields, with the configured parameters); unknown when one of them is "
                    "undecided",
                    set_by="graph",
                ),
                Field("unpinned_by", STRINGS, "the rules among those that flag it", set_by="graph"),
                *_power_fields(
                    "cluster_admin",
                    "a path of the access graph leads from its principals, in one cluster, to "
                    "cluster-admin power (group `system:masters`, `AmazonEKSClusterAdminPolicy` "
                    "at cluster scope, or the `cluster_admin` capability) or to `edit_aws_auth`, "
                    "`escalate_bind` or `impersonate`; unknown when only a path through an "
                    "unknown hop could",
                    "the power and the cluster",
                ),
            ),
            links=(Link("role", "iam_role", "the role whose trust policy holds it"),),
        ),
        Kind(
            "iam_role",
            "An IAM role: `aws_iam_role` (also in a plan), IAM JSON (`get-role`, `list-roles`, "
            "`get-account-authorization-details`), module inputs. Its trust statements, "
            "policies and attachments are linked to it; `aws_power` is what its permission "
            "policies let it do in AWS.",
            (
                *_address("the Terraform address (`aws_iam_role.node`); null for IAM JSON"),
                _resource_type("`aws_iam_role`, `module:<source>`; null for IAM JSON"),
                Field("name", STRING, "the role's name (unknown when generated)"),
                Field("arn", STRING, "the role's ARN when the input says it"),
                Field(
                    "path",
                    STRING,
                    "the role's path",
                    default="/",
                    default_origin=AWS_DEFAULT,
                ),
                Field(
                    "role_key",
                    STRING,
                    "the `role_key` its trust statements carry, the same for its inline "
                    "policies and attachments written with it",
                ),
                Field(
                    "source",
                    STRING,
                    "what it was read from: `terraform`, `plan`, `get-role`, `list-roles`, "
                    "`get-account-authorization-details`, a module",
                ),
                Field(
                    "permissions_boundary",
                    STRING,
                    "the ARN of its permissions boundary; null when none",
                ),
                Field(
                    "policies_listed",
                    BOOLEAN,
                    "its input says which policies it has (Terraform, authorization "
                    "details); false for `get-role` and `list-roles` output, whose "
                    "`aws_power` is then unknown but for what other files of the scan attach",
                ),
                Field(
                    "managed_policy_arns",
                    STRINGS,
                    "the managed policies its attachments name (an unknown item for one not known)",
                    set_by="link",
                ),
                Field(
                    "managed_policy_names",
                    STRINGS,
                    "their names (`AmazonEKSWorkerNodePolicy`)",
                    set_by="link",
                ),
                Field(
                    "inline_policy_names",
                    STRINGS,
                    "the names of its inline policies in the scan",
                    set_by="link",
                ),
                Field(
                    "aws_power",
                    STRINGS,
                    "what its permission policies let it do: `admin` (AdministratorAccess, "
                    "or Allow `*` on Resource `*`) and `iam_write` (IAMFullAccess, or Allow "
                    "on `iam:PassRole`, `iam:Create*`, `iam:Put*`, `iam:Attach*` or "
                    "`iam:Update*` with Resource `*`) when they hold, then the managed policy "
                    "names and the actions its inline and scanned managed policies allow, as "
                    "written; an unknown item for an input not known (docs/model.md)",
                    set_by="link",
                ),
            ),
            links=(
                Link("trust", "trust_statement", "the statements of its trust policy"),
                Link("attachments", "iam_policy_attachment", "its managed policy attachments"),
                Link(
                    "policies",
                    "iam_policy",
                    "its inline policies and the scanned managed policies attached to it",
                ),
            ),
        ),
        Kind(
            "iam_policy",
            "A permission policy: a managed policy (`aws_iam_policy`, the `Policies` of "
            "`get-account-authorization-details`) or a role's inline policy (`inline_policy`, "
            "`aws_iam_role_policy`, `RolePolicyList`, `get-role-policy` output).",
            (
                *_address("the Terraform address; null for IAM JSON and `inline_policy` blocks"),
                _resource_type("`aws_iam_policy`, `aws_iam_role_policy`, else null"),
                Field("name", STRING, "the policy's name"),
                Field("arn", STRING, "a managed policy's ARN when the input says it, else null"),
                Field("policy_type", STRING, "`managed` or `inline`"),
                Field("source", STRING, "what it was read from (as `iam_role.source`)"),
                Field(
                    "role_name",
                    STRING,
                    "the name of the role an inline policy belongs to, as written; else null",
                ),
                Field(
                    "role_ref",
                    STRING,
                    "`<module dir>:<address>` of the Terraform role an inline policy names; "
                    "else null",
                ),
                Field(
                    "role_key",
                    STRING,
                    "the `role_key` of the role an inline policy is written in; else null",
                ),
                Field(
                    "allowed_actions",
                    STRINGS,
                    "the actions of its Allow statements as written (`!x` for NotAction x), "
                    "an unknown item where a statement is not known",
                ),
                Field(
                    "grants_admin",
                    BOOLEAN,
                    "an Allow statement allows `*` on Resource `*`",
                ),
                Field(
                    "grants_iam_write",
                    BOOLEAN,
                    "an Allow statement with Resource `*` allows `iam:PassRole` or an action "
                    "of `iam:Create*`, `iam:Put*`, `iam:Attach*` or `iam:Update*`",
                ),
            ),
            links=(Link("roles", "iam_role", "the roles it is attached to or belongs to"),),
        ),
        Kind(
            "iam_policy_attachment",
            "A managed policy attached to a role: `aws_iam_role_policy_attachment`, "
            "`aws_iam_policy_attachment`, `aws_iam_role_policy_attachments_exclusive`, "
            "`managed_policy_arns`, `AttachedManagedPolicies`, "
            "`list-attached-role-policies` output.",
            (
                *_address("the Terraform address; null for IAM JSON and `managed_policy_arns`"),
                _resource_type("the Terraform resource type, else null"),
                Field("role_name", STRING, "the role's name as written; null when not said"),
                Field(
                    "role_ref",
                    STRING,
                    "`<module dir>:<address>` of the Terraform role it names; else null",
                ),
                Field(
                    "role_key",
                    STRING,
                    "the `role_key` of the role it is written in; else null (none of the three: "
                    "the only role of a `get-role` output in the same directory)",
                ),
                Field("policy_arn", STRING, "the managed policy's ARN"),
                Field(
                    "policy_ref",
                    STRING,
                    "`<module dir>:<address>` of the `aws_iam_policy` a not yet known "
                    "`policy_arn` refers to; else null",
                ),
                Field("policy_name", STRING, "the policy's name (from its ARN)"),
                Field("aws_managed", BOOLEAN, "an AWS managed policy (`arn:aws:iam::aws:...`)"),
                Field("source", STRING, "what it was read from (as `iam_role.source`)"),
            ),
            links=(
                Link("role", "iam_role", "the role it attaches to"),
                Link("policy", "iam_policy", "the managed policy, when in the scan"),
            ),
        ),
        Kind(
            "aws_auth_document",
            "The aws-auth ConfigMap as a whole (Kubernetes, Terraform, eksctl "
            "`iamIdentityMappings`, module inputs).",
            (
                Field("name", STRING, "`aws-auth`"),
                Field("accounts", STRINGS, "`mapAccounts`: accounts all of whose principals map"),
                Field(
                    "problems",
                    STRINGS,
                    "what makes a `map*` value unreadable (not a YAML string holding a list)",
                ),
                Field(
                    "ignored_by_cluster",
                    BOOLEAN,
                    "the scan's only cluster does not read aws-auth (authentication mode `API`, "
                    "or Auto Mode); null unless the scan holds exactly one cluster",
                    set_by="link",
                ),
                Field(
                    "cluster_name",
                    STRING,
                    "the name of the scan's only cluster; null unless there is exactly one",
                    set_by="link",
                ),
                Field(
                    "ignored_because",
                    STRING,
                    "why the cluster ignores aws-auth, in words; null when it does not",
                    set_by="link",
                ),
            ),
            links=(Link("cluster", "cluster", "the scan's only cluster"),),
        ),
        Kind(
            "aws_auth_key",
            "A `data` key of the aws-auth ConfigMap that is `mapRoles`, `mapUsers` or "
            "`mapAccounts` only when case is ignored (`maproles`): the authenticator reads its "
            "data keys exactly, so it ignores this one and every entry under it.",
            (
                Field("name", STRING, "the key as written"),
                Field("reads_as", STRING, "the key the authenticator reads (`mapRoles`)"),
                Field("problems", STRINGS, "why the authenticator does not read it"),
            ),
        ),
        Kind(
            "identity_provider",
            "An OIDC identity provider of a cluster (`aws_eks_identity_provider_config`, "
            "eksctl `identityProviders`, `aws eks describe-identity-provider-config` output).",
            (
                *_address(
                    "the Terraform address of an `aws_eks_identity_provider_config`; "
                    "null for eksctl and live exports"
                ),
                _resource_type("`aws_eks_identity_provider_config`, else null"),
                _CLUSTER_NAME,
                Field("name", STRING, "`identity_provider_config_name`"),
                Field("issuer_url", STRING, "the issuer URL"),
                Field("groups_claim", STRING, "the token claim read as groups; null when none"),
                Field(
                    "groups_prefix",
                    STRING,
                    "the prefix put before group names; null when none",
                ),
                Field(
                    "username_claim",
                    STRING,
                    "the token claim read as the user name",
                    default="sub",
                    default_origin=AWS_DEFAULT,
                ),
                Field(
                    "username_prefix",
                    STRING,
                    "the prefix put before user names; null when none",
                ),
                Field(
                    "earlier_identity_provider",
                    STRING,
                    "an OIDC identity provider config written before it (by file and line) for "
                    "the same cluster, in words; null when there is none; unknown when a "
                    "cluster that is not known may make one the same",
                    set_by="link",
                ),
            ),
            links=(
                Link(
                    "earlier_identity_provider",
                    "identity_provider",
                    "the first OIDC identity provider config of the same cluster",
                ),
            ),
            lines={"oidc": "the `oidc` block"},
        ),
        Kind(
            "addon",
            "An EKS add-on (`aws_eks_addon`, eksctl `addons`, `aws eks describe-addon` output) "
            "and the IAM role its service "
            "account gets.",
            (
                *_address(
                    "the Terraform address of an `aws_eks_addon`; null for eksctl and live exports"
                ),
                _resource_type("`aws_eks_addon` or `eksctl:addons`; null for live exports"),
                _CLUSTER_NAME,
                Field("name", STRING, "the add-on's name (`vpc-cni`, `coredns`...)"),
                Field(
                    "service_account_role_arn",
                    STRING,
                    "the IRSA role of the add-on's service account "
                    "(`service_account_role_arn`, eksctl `serviceAccountRoleARN` or the role "
                    "eksctl creates for it); null when none",
                ),
                Field(
                    "service_account_role_ref",
                    STRING,
                    "`<module dir>:<address>` of the Terraform role (`aws_iam_role.x`, or a "
                    "module call `module.x` whose output it is) or `<template>:<logical id>` of "
                    "the CloudFormation role an unknown `service_account_role_arn` refers to; "
                    "else null",
                ),
                Field(
                    "pod_identity_associations",
                    list_of(
                        object_of(
                            Field("service_account", STRING, "the add-on's ServiceAccount"),
                            Field("role_arn", STRING, "the role it gets"),
                        )
                    ),
                    "the pod identity associations the add-on creates (`pod_identity_association` "
                    "blocks, eksctl `podIdentityAssociations` and the ones eksctl creates with "
                    "`useDefaultPodIdentityAssociations`)",
                    default=[],
                ),
                Field(
                    "aws_node_role",
                    STRING,
                    "for the `vpc-cni` add-on: the role of its own that the `aws-node` "
                    "ServiceAccount gets, in words (the add-on's IRSA role or pod identity "
                    "association, a pod identity association for `kube-system/aws-node` of the "
                    "same cluster, or a scanned `kube-system/aws-node` ServiceAccount's "
                    "`eks.amazonaws.com/role-arn`); null when none, so aws-node runs on the node "
                    "role; null for other add-ons",
                    set_by="link",
                ),
            ),
        ),
    )
}

# The kinds whose `module_dir` is the configuration that makes them (`CONFIGURATION`)
CONFIGURATION_KINDS = frozenset(k.name for k in KINDS.values() if CONFIGURATION in k.fields)


def hop_fields(kind: Kind) -> list[str]:
    """The fields of a kind that hold access path hops (a rule's `path` names them)."""
    return [f.name for f in kind.fields if f.type.name == "list" and f.type.item is HOP]


def catalog_field(kind: str, name: str) -> Field:
    """The declared field `name` of `kind` (a KeyError names a field the catalog lacks)."""
    found = KINDS[kind].field_named(name)
    if found is None:
        raise KeyError(f"{kind} has no field {name!r}")
    return found


def default_value(kind: str, name: str) -> Any:
    """A fresh copy of a field's default value (lists are never shared between entities)."""
    return copy.copy(catalog_field(kind, name).default)


# ---- instance_metadata.node_roles: what every reader of nodes builds ---------------------------
def node_role(role: Any, role_ref: str | None, via: str, file: str, span: tuple[int, int]) -> dict:
    """One item of `instance_metadata.node_roles`, with the fields declared above."""
    return {
        "role": role,
        "role_ref": role_ref,
        "via": via,
        "file": file,
        "start_line": span[0],
        "end_line": span[1],
    }


def profile_role(profile: str) -> Unknown:
    """The role of an instance profile the scan does not declare: not known."""
    return Unknown(f"the role of instance profile {profile}", f"the role of {profile}")


# ---- the launch template EKS creates for a managed node group given none ---------------------
# Its instance metadata options by AMI family, as AWS documents them (AL2: the 2020
# announcement; AL2023: the EKS user guide's AL2023 page): (http_tokens, hop limit). AWS
# documents no other AMI type's. Every reader of node groups (Terraform modules, CloudFormation,
# live exports) takes them from here.
EKS_NODE_GROUP_IMDS = {"AL2": ("optional", 2), "AL2023": ("required", 1)}


def ami_family(ami_type: Any) -> str | None:
    """`AL2` or `AL2023` for an AMI type of those families (`AL2_x86_64`,
    `AL2023_ARM_64_STANDARD`...), else None."""
    if isinstance(ami_type, str):
        if ami_type.startswith("AL2023_"):
            return "AL2023"
        if ami_type.startswith("AL2_"):
            return "AL2"
    return None


def eks_ami_type(kubernetes_version: Any) -> str | None:
    """The AMI type EKS picks for a managed node group that names none, by the cluster's
    Kubernetes version (`1.30` or `1.30.x`): AL2023 from 1.30 on; None when not known."""
    found = (
        re.fullmatch(r"\s*1\.(\d+)(?:\.\d+)?\s*", kubernetes_version)
        if isinstance(kubernetes_version, str)
        else None
    )
    if found is None:
        return None
    return "AL2023_x86_64_STANDARD" if int(found.group(1)) >= 30 else "AL2_x86_64"


def set_default(entity: Entity, name: str, span: tuple[int, int] | None = None) -> Any:
    """Give `entity` the field's default, noting its origin; returns the value."""
    declared = catalog_field(entity.kind, name)
    value = copy.copy(declared.default)
    entity.set(name, value, span=span, default=declared.default_origin)
    return value


def empty_to_default(entity: Entity, name: str) -> None:
    """A field whose empty list means its default (AWS reads `public_access_cidrs = []` as
    open to the world) gets that default, noted as such."""
    declared = catalog_field(entity.kind, name)
    value = entity.fields.get(name)
    if declared.empty_means_default and isinstance(value, list) and not value:
        origin = f"{declared.default_origin} (empty list)"
        entity.set(name, copy.copy(declared.default), default=origin)
