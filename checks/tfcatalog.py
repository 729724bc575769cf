"""What eks-checks reads of Terraform, by block type: the one table that the pre-filter (parse
stage: which blocks to parse at all) and the Terraform normalizer (which blocks become which
entities, what the evaluator computes) both read, so that neither copies the other.

- `RESOURCE_BUILDERS`: resource type -> the builder (`checks/normalize/terraform.py`) that
  turns it into entities; `kubernetes_*` resources (`KUBERNETES_RESOURCES`) all have one.
- `CONTEXT_RESOURCES`: resources read for what they say about another block (the node group
  that names a launch template).
- `DESCRIBED_ATTRIBUTES`: attributes AWS computes whose unknown value the evaluator describes
  by another attribute of the block (an OIDC provider's ARN by its URL).
- `DATA_SOURCES`: data sources the evaluator renders, and the attributes that hold it.
- `KNOWN_MODULE_SOURCES`: module sources whose inputs a reader of `tf_modules` reads (the
  pre-filter keeps their calls; the readers tell them apart).
- `NULL_LABEL_SOURCE`: cloudposse's label module, whose `enabled` and `context` outputs a
  call's arguments decide even when the module is not on disk.
"""

from __future__ import annotations

import re

RESOURCE_BUILDERS: dict[str, str] = {
    "aws_eks_cluster": "cluster",
    "aws_launch_template": "instance_metadata",
    "aws_launch_configuration": "instance_metadata",
    "aws_instance": "instance_metadata",
    "aws_iam_role": "iam_role",
    "aws_iam_role_policy": "iam_role_policy",
    "aws_iam_policy": "iam_policy",
    "aws_iam_role_policy_attachment": "iam_role_policy_attachment",
    "aws_iam_policy_attachment": "iam_policy_attachment",
    "aws_iam_role_policy_attachments_exclusive": "iam_role_policy_attachments_exclusive",
    "aws_eks_pod_identity_association": "pod_identity_association",
    "aws_eks_access_entry": "access_entry",
    "aws_eks_access_policy_association": "access_policy_association",
    "aws_eks_identity_provider_config": "identity_provider",
    "aws_eks_addon": "addon",
    "helm_release": "helm_release",
    "kubectl_manifest": "kubectl_manifest",
    "kubernetes_manifest": "kubernetes_manifest",
    "kubernetes_config_map": "config_map",
    "kubernetes_config_map_v1": "config_map",
    "kubernetes_config_map_v1_data": "config_map",
}
KUBERNETES_BUILDER = "kubernetes_resource"

# resource type (without a `_v1` suffix) -> the (apiVersion, kind) of the manifest it stands for
KUBERNETES_RESOURCES: dict[str, tuple[str, str]] = {
    "kubernetes_pod": ("v1", "Pod"),
    "kubernetes_deployment": ("apps/v1", "Deployment"),
    "kubernetes_stateful_set": ("apps/v1", "StatefulSet"),
    "kubernetes_daemonset": ("apps/v1", "DaemonSet"),
    "kubernetes_daemon_set": ("apps/v1", "DaemonSet"),
    "kubernetes_replication_controller": ("v1", "ReplicationController"),
    "kubernetes_job": ("batch/v1", "Job"),
    "kubernetes_cron_job": ("batch/v1", "CronJob"),
    "kubernetes_service_account": ("v1", "ServiceAccount"),
    "kubernetes_secret": ("v1", "Secret"),
    "kubernetes_role": ("rbac.authorization.k8s.io/v1", "Role"),
    "kubernetes_cluster_role": ("rbac.authorization.k8s.io/v1", "ClusterRole"),
    "kubernetes_role_binding": ("rbac.authorization.k8s.io/v1", "RoleBinding"),
    "kubernetes_cluster_role_binding": ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
}

# resource types read only for what they say about a block the normalizer reads: the node
# group that names a launch template gives its nodes' role, so does an instance profile
CONTEXT_RESOURCES = ("aws_eks_node_group", "aws_iam_instance_profile")

# (resource or data source type, attribute AWS computes) -> (the attribute that says what it
# will be, and how an unknown value's reason names it: `(provider url <url>)`, an expression
# written `${...}`)
DESCRIBED_ATTRIBUTES: dict[tuple[str, str], tuple[str, str]] = {
    # the provider's URL says which issuer it is: an EKS cluster's, GitHub's, GitLab's...
    ("aws_iam_openid_connect_provider", "arn"): ("url", "provider url"),
}
# (type, attribute) whose value AWS stores without its `https://` (IAM's OIDC provider URL:
# condition keys start with it so)
STORED_WITHOUT_SCHEME: frozenset[tuple[str, str]] = frozenset(
    {("aws_iam_openid_connect_provider", "url")}
)
# data sources (other than DATA_SOURCES) whose arguments a reference reads, as a resource's
DATA_ATTRIBUTES_READ: frozenset[str] = frozenset(
    {"aws_iam_openid_connect_provider", "aws_iam_policy"}
)

# data source type -> the attributes whose value is what it renders
DATA_SOURCES: dict[str, tuple[str, ...]] = {
    "aws_iam_policy_document": ("json", "minified_json"),
    "template_file": ("rendered",),
    "aws_service_principal": ("name",),
}


# registry and git addresses of the modules whose inputs the normalizer reads
KNOWN_MODULE_SOURCES = re.compile(
    r"terraform-aws-modules/(?:eks|iam)/aws|terraform-aws-(?:eks|iam)(?:\.git)?(?://|\?|$)"
    r"|cloudposse/(?:terraform-aws-)?eks-(?:cluster|node-group)"
    r"|aws-ia/(?:terraform-aws-)?eks-blueprints-addons"
    r"|terraform-aws-modules/eks-pod-identity/aws|terraform-aws-eks-pod-identity"
)


# cloudposse/label/null: every cloudposse module gates what it creates on this module's
# `enabled` output, which the call's arguments decide (checks/normalize/tf_calls.py)
NULL_LABEL_SOURCE = re.compile(r"cloudposse/label/null|cloudposse/terraform-null-label")
# the attributes of the `context` it outputs
NULL_LABEL_CONTEXT = (
    "enabled",
    "namespace",
    "tenant",
    "environment",
    "stage",
    "name",
    "delimiter",
    "attributes",
    "tags",
    "additional_tag_map",
    "regex_replace_chars",
    "label_order",
    "id_length_limit",
    "label_key_case",
    "label_value_case",
    "descriptor_formats",
    "labels_as_tags",
)


def is_local_module(source: str) -> bool:
    """A module source that is a local path: Terraform reads one that begins with `./` or
    `../` as a directory, anything else as a registry or remote address."""
    return source.startswith(("./", "../"))


def kubernetes_kind(resource_type: str) -> tuple[str, str] | None:
    """The (apiVersion, kind) a `kubernetes_*` resource (`_v1` or not) stands for."""
    base = resource_type[:-3] if resource_type.endswith("_v1") else resource_type
    return KUBERNETES_RESOURCES.get(base)


def builder_of(resource_type: str) -> str | None:
    """The name of the builder that turns a resource of this type into entities, if any."""
    found = RESOURCE_BUILDERS.get(resource_type)
    if found is None and kubernetes_kind(resource_type) is not None:
        return KUBERNETES_BUILDER
    return found


def resource_is_read(resource_type: str) -> bool:
    """Whether the normalizer reads resources of this type by themselves (with a builder), or
    for what they say about a reference to them (DESCRIBED_ATTRIBUTES)."""
    return (
        builder_of(resource_type) is not None
        or resource_type in CONTEXT_RESOURCES
        or any(rtype == resource_type for rtype, _ in DESCRIBED_ATTRIBUTES)
    )


def data_is_read(data_type: str) -> bool:
    """Whether the normalizer reads a data source of this type even when nothing refers to it
    (an `aws_iam_policy_document` no role uses is judged on its own)."""
    return data_type in DATA_SOURCES
