"""Kubernetes objects inside Terraform (kubectl_manifest and kubernetes_* resources) become
the same entities as YAML manifests, with lines in the file that holds them."""

from __future__ import annotations

from conftest import FIXTURES, run

FOLDER = FIXTURES / "terraform-kubernetes"


def test_kubernetes_in_terraform_gives_the_manifest_findings(monkeypatch):
    monkeypatch.chdir(FOLDER)
    result = run(["."])
    found = sorted(
        (f.location.file.rsplit("/", 1)[-1], f.location.start_line, f.rule_id, f.message)
        for f in result.findings
    )
    assert found == [
        (
            "binding.yaml",
            7,
            "EKS601",
            "ClusterRoleBinding anonymous-view grants ClusterRole view to [Group system:unauthenticated]: "
            "anyone who can reach the API server gets it",
        ),
        (
            "manifests.tf",
            8,
            "EKS303",
            "Secret tools/legacy-token has type kubernetes.io/service-account-token: a token that never expires",
        ),
        (
            "resources.tf",
            3,
            "EKS302",
            "ServiceAccount tools/default does not set automountServiceAccountToken: false",
        ),
        (
            "resources.tf",
            22,
            "EKS301",
            "Deployment tools/web mounts a service-account token: ServiceAccount tools/builder "
            "(resources.tf:43) does not set automountServiceAccountToken: false",
        ),
        (
            "resources.tf",
            23,
            "EKS307",
            "Deployment tools/web gets AWS role arn:aws:iam::1:role/builder through the IRSA "
            "annotation of ServiceAccount tools/builder, and container(s) [web] may run as root: "
            "any process in them can read the token and the role's credentials",
        ),
        (
            "resources.tf",
            33,
            "EKS304",
            "Deployment tools/web projects a service-account token with expirationSeconds [172800] "
            "(more than 86400)",
        ),
        (
            "resources.tf",
            62,
            "EKS602",
            "ClusterRoleBinding admins binds ClusterRole cluster-admin to [Group platform]",
        ),
    ]
    # yamlencode({...}) with automount false: the default ServiceAccount of `jobs` is fine,
    # and the templatefile() body that depends on a variable is unknown, not an error
    assert result.problems == []
    keys = {e.key for e in result.entities}
    assert "k8s:jobs/ServiceAccount/default" in keys
    assert "k8s:tools/ServiceAccount/builder" in keys


def test_references_to_kubernetes_resources_metadata_resolve(tmp_path):
    """`role_ref.name = kubernetes_cluster_role_v1.X.metadata[0].name` (and a subject's name
    or namespace from another resource's metadata) read the value that block sets."""
    (tmp_path / "rbac.tf").write_text(
        'resource "kubernetes_namespace_v1" "ci" {\n'
        "  metadata {\n"
        '    name = "ci"\n'
        "  }\n"
        "}\n"
        'resource "kubernetes_service_account_v1" "deployer" {\n'
        "  metadata {\n"
        '    name      = "deployer"\n'
        "    namespace = kubernetes_namespace_v1.ci.metadata[0].name\n"
        "  }\n"
        "}\n"
        'resource "kubernetes_cluster_role_v1" "everything" {\n'
        "  metadata {\n"
        '    name = "everything"\n'
        "  }\n"
        "  rule {\n"
        '    api_groups = ["*"]\n'
        '    resources  = ["*"]\n'
        '    verbs      = ["*"]\n'
        "  }\n"
        "}\n"
        'resource "kubernetes_cluster_role_binding_v1" "deployer" {\n'
        "  metadata {\n"
        '    name = "deployer"\n'
        "  }\n"
        "  role_ref {\n"
        '    api_group = "rbac.authorization.k8s.io"\n'
        '    kind      = "ClusterRole"\n'
        "    name      = kubernetes_cluster_role_v1.everything.metadata[0].name\n"
        "  }\n"
        "  subject {\n"
        '    kind      = "ServiceAccount"\n'
        "    name      = kubernetes_service_account_v1.deployer.metadata.0.name\n"
        "    namespace = kubernetes_service_account_v1.deployer.metadata[0].namespace\n"
        "  }\n"
        "}\n"
    )
    result = run([tmp_path], select={"EKS614"})
    assert result.problems == []
    assert [(f.rule_id, f.location.start_line) for f in result.findings] == [("EKS614", 31)]
    (binding,) = [e for e in result.entities if e.kind == "rbac_binding"]
    assert binding.fields["role_ref_name"] == "everything"
    assert [(s["kind"], s["name"], s["namespace"]) for s in binding.fields["subjects"]] == [
        ("ServiceAccount", "deployer", "ci")
    ]


BINDING_TEMPLATE = (
    "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n"
    "  name: ${name}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, "
    'name: view}\nsubjects:\n  - {kind: Group, name: "system:unauthenticated"}\n'
)


def test_a_manifest_rendered_with_templatefile_is_reported_once(tmp_path):
    """A manifest a kubectl_manifest renders with templatefile() is that resource's when
    Terraform makes something of it (its findings once, with the rendered name); when the
    render is not known (a variable without a value), the file is still read on its own:
    its findings were dropped as if Terraform had reported them."""
    (tmp_path / "binding.yaml").write_text(BINDING_TEMPLATE)
    (tmp_path / "main.tf").write_text(
        'variable "name" {}\n'
        'resource "kubectl_manifest" "binding" {\n'
        '  yaml_body = templatefile("${path.module}/binding.yaml", { name = var.name })\n'
        "}\n"
    )
    found = [(f.location.file, f.location.start_line, f.rule_id) for f in run([tmp_path]).findings]
    assert found == [(f"{tmp_path}/binding.yaml", 7, "EKS601")]
    assert "ClusterRoleBinding ${name} grants" in run([tmp_path]).findings[0].message

    (tmp_path / "main.tf").write_text(
        'resource "kubectl_manifest" "binding" {\n'
        '  yaml_body = templatefile("${path.module}/binding.yaml", { name = "anonymous" })\n'
        "}\n"
    )
    findings = run([tmp_path]).findings
    assert [(f.location.file, f.location.start_line, f.rule_id) for f in findings] == [
        (f"{tmp_path}/binding.yaml", 7, "EKS601")
    ]
    assert "ClusterRoleBinding anonymous grants" in findings[0].message


def test_kubernetes_manifest_objects_are_read_as_kubectl_manifests_are(tmp_path):
    """The kubernetes provider's own `kubernetes_manifest` (an HCL object, or yamldecode() of
    YAML) writes any object: a ClusterRoleBinding, a ServiceAccount, the aws-auth ConfigMap
    (before: none was read, every finding on them missed)."""
    (tmp_path / "main.tf").write_text(
        'resource "kubernetes_manifest" "admins" {\n'
        "  manifest = {\n"
        '    apiVersion = "rbac.authorization.k8s.io/v1"\n'
        '    kind       = "ClusterRoleBinding"\n'
        '    metadata   = { name = "platform-admins" }\n'
        '    roleRef    = { apiGroup = "rbac.authorization.k8s.io", kind = "ClusterRole", name = "cluster-admin" }\n'
        '    subjects   = [{ kind = "Group", name = "platform-admins" }]\n'  # 7
        "  }\n"
        "}\n\n"
        'resource "kubernetes_manifest" "sa" {\n'  # 11
        "  manifest = yamldecode(<<-YAML\n"
        "    apiVersion: v1\n"
        "    kind: ServiceAccount\n"
        "    metadata:\n"
        "      name: default\n"
        "      namespace: apps\n"
        "      annotations:\n"
        "        eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/apps\n"  # 19
        "    YAML\n"
        "  )\n"
        "}\n\n"
        'resource "kubernetes_manifest" "aws_auth" {\n'  # 24
        "  manifest = {\n"
        '    apiVersion = "v1"\n'
        '    kind       = "ConfigMap"\n'
        '    metadata   = { name = "aws-auth", namespace = "kube-system" }\n'
        "    data = {\n"
        "      mapRoles = yamlencode([{\n"
        '        rolearn  = "arn:aws:iam::111122223333:role/ops"\n'
        '        username = "ops"\n'
        '        groups   = ["system:masters"]\n'  # 33
        "      }])\n"
        "    }\n"
        "  }\n"
        "}\n"
    )
    result = run([tmp_path], select={"EKS302", "EKS305", "EKS501", "EKS504", "EKS602"})
    assert result.problems == []
    assert sorted((f.rule_id, f.location.start_line, f.message) for f in result.findings) == [
        (
            "EKS302",
            13,
            "ServiceAccount apps/default does not set automountServiceAccountToken: false",
        ),
        (
            "EKS305",
            19,
            "ServiceAccount apps/default gets IAM role arn:aws:iam::111122223333:role/apps: "
            "every pod of the namespace that names no ServiceAccount gets it too",
        ),
        (
            "EKS501",
            33,
            "aws-auth maps arn:aws:iam::111122223333:role/ops to group system:masters: it "
            "bypasses RBAC and cannot be limited or audited by RBAC",
        ),
        (
            "EKS602",
            7,
            "ClusterRoleBinding platform-admins binds ClusterRole cluster-admin to "
            "[Group platform-admins]",
        ),
    ]


def test_an_aws_auth_map_yamlencode_gives_a_manifest_is_its_yaml_text(tmp_path):
    """`mapRoles = yamlencode([...])` inside a kubectl_manifest's yamlencode({...}) body is a
    string in Terraform, the YAML of that list, as in a kubernetes_config_map (before: a
    false critical EKS504, "must be a YAML string holding a list, not a list", and the
    system:masters entry missed)."""
    (tmp_path / "main.tf").write_text(
        'resource "kubectl_manifest" "aws_auth" {\n'
        "  yaml_body = yamlencode({\n"
        '    apiVersion = "v1"\n'
        '    kind       = "ConfigMap"\n'
        '    metadata   = { name = "aws-auth", namespace = "kube-system" }\n'
        "    data = {\n"
        "      mapRoles = yamlencode([{\n"
        '        rolearn  = "arn:aws:iam::111122223333:role/ops"\n'
        '        groups   = ["system:masters"]\n'  # 9
        "      }])\n"
        '      mapUsers = jsonencode({ userarn = "arn:aws:iam::111122223333:user/u" })\n'
        "    }\n"
        "  })\n"
        "}\n"
    )
    result = run([tmp_path], select={"EKS501", "EKS504"})
    assert result.problems == []
    assert sorted((f.rule_id, f.location.start_line, f.message) for f in result.findings) == [
        (
            "EKS501",
            9,
            "aws-auth maps arn:aws:iam::111122223333:role/ops to group system:masters: it "
            "bypasses RBAC and cannot be limited or audited by RBAC",
        ),
        ("EKS504", 11, "aws-auth: [mapUsers is not a YAML list]"),
    ]


def test_what_yamldecode_or_jsondecode_reads_from_a_file_is_located_in_that_file(tmp_path):
    """A structure decoded from a file's text has that file's lines, so it is located in that
    file (before: at those line numbers in the .tf file that decodes it)."""
    (tmp_path / "sa.yaml").write_text(
        "# the apps namespace\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n"
        "  name: default\n  namespace: apps\n"
    )
    (tmp_path / "trust.json").write_text(
        '{\n  "Statement": [\n    {\n      "Effect": "Allow",\n      "Action": "sts:AssumeRole",\n'
        '      "Principal": {"AWS": "*"}\n    }\n  ]\n}\n'
    )
    (tmp_path / "main.tf").write_text(
        'resource "kubernetes_manifest" "sa" {\n'
        '  manifest = yamldecode(file("${path.module}/sa.yaml"))\n'
        "}\n\n"
        'resource "aws_iam_role" "open" {\n'
        '  name               = "open"\n'
        '  assume_role_policy = jsonencode(jsondecode(file("${path.module}/trust.json")))\n'
        "}\n"
    )
    result = run([tmp_path], select={"EKS302", "EKS401"})
    assert result.problems == []
    assert sorted(
        (f.rule_id, f.location.file.rsplit("/", 1)[-1], f.location.start_line)
        for f in result.findings
    ) == [("EKS302", "sa.yaml", 2), ("EKS401", "trust.json", 6)]
