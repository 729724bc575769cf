"""Exported live state (docs/live.md): AWS CLI output of EKS and EC2 and kubectl exports read
into the same entities as the repository's files, alone, combined in one file keyed by
command, and beside the repository; the export script of the docs calls nothing but
read-only commands."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from checks.discover import discover
from checks.model import Unknown
from checks.scan import build
from checks.sources import classify
from checks.sources.base import Options
from conftest import FIXTURES, ROOT, run

EXPORT = FIXTURES / "live" / "export"


def _entities(*paths: Path) -> list:
    files, _ = discover([str(p) for p in paths], classify)
    entities, problems, *_ = build(files, Options(roots=[str(p) for p in paths]))
    assert problems == []
    return entities


def _findings(*paths: Path) -> set[tuple[str, int, str]]:
    result = run(list(paths))
    assert result.problems == []
    return {
        (f.location.file.rsplit("/", 1)[-1], f.location.start_line, f.rule_id)
        for f in result.findings
    }


def _write(path: Path, doc) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=4) + "\n")
    return path


def _script() -> str:
    text = (ROOT / "docs" / "live.md").read_text(encoding="utf-8")
    (script,) = re.findall(r"```sh\n(#!/bin/sh\n.*?)```", text, re.S)
    return script


def test_the_docs_script_calls_only_read_only_commands():
    """Every `aws` call of the script is a describe-, list- or get- operation, every kubectl
    call a `get`, and nothing else reaches AWS or the cluster."""
    script = _script()
    aws = re.findall(r"(?<![\w.])aws\s+(\S+)\s+(\S+)", script)
    assert {service for service, _ in aws} == {"eks", "ec2", "iam"}
    # `eks` and `ids` are the script's wrappers of `aws eks "$@"`
    operations = [op for _, op in aws if op != '"$@"']
    operations += re.findall(r"\b(?:eks|ids)\s+([a-z][a-z-]+)", script)
    assert operations and all(re.match(r"(describe|list|get)-", op) for op in operations)
    assert set(re.findall(r"\bkubectl\s+(\S+)", script)) == {"get"}
    assert not re.search(r"\b(curl|wget|ssh|helm|eksctl|terraform)\b", script)


@pytest.fixture
def exported(tmp_path) -> tuple[Path, list[list[str]]]:
    """The folder the docs' script writes, with `aws` and `kubectl` answering from
    fixtures/live/export, and every call it made."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = (FIXTURES / "live" / "fake_cli.py").read_text()
    for name in ("aws", "kubectl"):
        (bin_dir / name).write_text(f"#!{sys.executable}\n{fake}")
        (bin_dir / name).chmod(0o755)
    (tmp_path / "export.sh").write_text(_script())
    log = tmp_path / "calls.jsonl"
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "FAKE_CLI_OUTPUTS": str(EXPORT),
        "FAKE_CLI_LOG": str(log),
    }
    subprocess.run(
        ["sh", str(tmp_path / "export.sh"), "prod-eks", str(tmp_path / "live")],
        env=env,
        check=True,
        timeout=120,
    )
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    return tmp_path / "live", calls


def test_the_docs_script_exports_a_folder_eks_checks_reads(exported):
    folder, calls = exported
    for program, *args in calls:
        if program == "aws":
            assert re.match(r"(describe|list|get)-", args[1]), args
        else:
            assert args[0] == "get", args
    assert sorted(p.name for p in folder.iterdir()) == [
        "ec2-describe-instances.json",
        "eks-describe-access-entry-arn_aws_iam__111122223333_role_Developer.json",
        "eks-describe-access-entry-arn_aws_iam__111122223333_role_PlatformAdmin.json",
        "eks-describe-access-entry-arn_aws_iam__111122223333_role_prod-eks-node-role.json",
        "eks-describe-access-entry-arn_aws_iam__111122223333_user_ops-alice.json",
        "eks-describe-addon-vpc-cni.json",
        "eks-describe-cluster.json",
        "eks-describe-identity-provider-config-corp-sso.json",
        "eks-describe-nodegroup-general.json",
        "eks-describe-pod-identity-association-a-1a2b3c4d5e6f7g8h9.json",
        "eks-describe-pod-identity-association-a-9z8y7x6w5v4u3t2s1.json",
        "eks-list-access-entries.json",
        "eks-list-associated-access-policies-arn_aws_iam__111122223333_role_Developer.json",
        "eks-list-associated-access-policies-arn_aws_iam__111122223333_role_PlatformAdmin.json",
        "eks-list-associated-access-policies-arn_aws_iam__111122223333_role_prod-eks-node-role.json",
        "eks-list-associated-access-policies-arn_aws_iam__111122223333_user_ops-alice.json",
        "eks-list-pod-identity-associations.json",
        "iam-get-account-authorization-details.json",
        "kubectl-get-aws-auth.yaml",
        "kubectl-get-iamidentitymappings.yaml",
        "kubectl-get-rbac.yaml",
        "kubectl-get-workloads.yaml",
    ]
    entities = _entities(folder)
    mappings = [e for e in entities if e.kind == "identity_mapping" and e.origin == "aws-cli"]
    # each principal once, described: the list output gave way to the describe outputs
    assert sorted(e.fields["principal_arn"] for e in mappings) == [
        "arn:aws:iam::111122223333:role/Developer",
        "arn:aws:iam::111122223333:role/PlatformAdmin",
        "arn:aws:iam::111122223333:role/prod-eks-node-role",
        "arn:aws:iam::111122223333:user/ops-alice",
    ]
    assert not [e for e in entities if e.origin == "aws-cli-list"]
    ae = "eks-describe-access-entry-arn_aws_iam__111122223333"
    policies = "eks-list-associated-access-policies-arn_aws_iam__111122223333_role_PlatformAdmin"
    assert _findings(folder) == {
        ("ec2-describe-instances.json", 74, "EKS201"),
        ("ec2-describe-instances.json", 75, "EKS202"),
        ("eks-describe-nodegroup-general.json", 24, "EKS201"),
        ("eks-describe-nodegroup-general.json", 24, "EKS202"),
        # its pods reach the node role (nodeRole), which the account's export shows is admin
        ("eks-describe-nodegroup-general.json", 2, "EKS802"),
        ("eks-describe-cluster.json", 21, "EKS102"),
        ("eks-describe-cluster.json", 22, "EKS101"),
        ("eks-describe-cluster.json", 34, "EKS103"),
        ("eks-describe-cluster.json", 70, "EKS508"),
        ("eks-describe-identity-provider-config-corp-sso.json", 10, "EKS509"),
        ("eks-describe-pod-identity-association-a-1a2b3c4d5e6f7g8h9.json", 5, "EKS305"),
        (f"{ae}_user_ops-alice.json", 4, "EKS502"),
        (f"{ae}_user_ops-alice.json", 5, "EKS703"),
        (f"{policies}.json", 6, "EKS506"),
        ("iam-get-account-authorization-details.json", 137, "EKS403"),
        ("kubectl-get-iamidentitymappings.yaml", 13, "EKS501"),
        ("kubectl-get-iamidentitymappings.yaml", 28, "EKS502"),
        ("kubectl-get-rbac.yaml", 91, "EKS602"),
        ("kubectl-get-rbac.yaml", 117, "EKS302"),
        ("kubectl-get-rbac.yaml", 133, "EKS501"),
        ("kubectl-get-rbac.yaml", 135, "EKS505"),
        ("kubectl-get-rbac.yaml", 138, "EKS703"),
        ("kubectl-get-rbac.yaml", 140, "EKS502"),
    }


def _cluster_output(name: str, **access) -> dict:
    doc = json.loads((EXPORT / "eks-describe-cluster.json").read_text())
    doc["cluster"]["name"] = name
    doc["cluster"]["accessConfig"] = access
    return doc


def test_a_file_of_outputs_keyed_by_command_reads_as_the_folder(tmp_path):
    """The same outputs in one file keyed by command (IAM and kubectl ones too) give the same
    entities and findings as a file each; an unknown command is a note."""
    outputs = {
        "eks describe-cluster": "eks-describe-cluster.json",
        "aws eks list-access-entries --cluster-name prod-eks": "eks-list-access-entries.json",
        "eks describe-access-entry": "eks-describe-access-entry.json",
        "eks list-associated-access-policies": "eks-list-associated-access-policies.json",
        "eks describe-identity-provider-config": "eks-describe-identity-provider-config.json",
        "eks describe-nodegroup": "eks-describe-nodegroup.json",
        "iam get-account-authorization-details": "iam-get-account-authorization-details.json",
        "kubectl get clusterrolebindings -o json": "kubectl-get-raw-clusterrolebindings.json",
    }
    combined = {command: json.loads((EXPORT / f).read_text()) for command, f in outputs.items()}
    _write(tmp_path / "combined" / "prod-eks.json", combined)
    result = run([tmp_path / "combined"])
    assert result.problems == []
    assert sorted((f.rule_id, f.message) for f in result.findings) == sorted(
        (f.rule_id, f.message) for f in run([EXPORT / name for name in outputs.values()]).findings
    )
    entities = _entities(tmp_path / "combined")
    listed = [e for e in entities if e.origin == "aws-cli-list"]
    # the principals described elsewhere are gone; the others keep the file's one cluster
    assert sorted(e.fields["principal_arn"] for e in listed) == [
        "arn:aws:iam::111122223333:role/Developer",
        "arn:aws:iam::111122223333:role/PlatformAdmin",
        "arn:aws:iam::111122223333:role/prod-eks-node-role",
    ]
    assert {e.fields["cluster_name"] for e in listed} == {"prod-eks"}
    assert all(isinstance(e.fields["groups"], Unknown) for e in listed)
    _write(tmp_path / "other" / "x.json", {"eks describe-addon": {"addon": {}}})
    (note,) = run([tmp_path / "other"]).problems
    assert (note.level, note.line, note.message) == (
        "note",
        2,
        "eks describe-addon: not an output eks-checks reads",
    )


def test_what_an_output_does_not_say_is_unknown(tmp_path):
    """A bootstrap flag describe-cluster leaves out, the IMDS of the launch template EKS makes
    for AMI types AWS documents nothing of, the role of a listed association, the details of
    a listed access entry (no cluster named): unknown, never a default."""
    _write(tmp_path / "cluster.json", _cluster_output("old", authenticationMode="CONFIG_MAP"))
    for ami in ("BOTTLEROCKET_x86_64", "AL2023_ARM_64_STANDARD"):
        doc = json.loads((EXPORT / "eks-describe-nodegroup.json").read_text())
        doc["nodegroup"]["amiType"] = ami
        doc["nodegroup"]["nodegroupName"] = ami
        _write(tmp_path / f"{ami}.json", doc)
    shutil.copy(EXPORT / "eks-list-pod-identity-associations.json", tmp_path)
    shutil.copy(EXPORT / "eks-list-access-entries.json", tmp_path)
    entities = {e.key.rsplit("/", 1)[-1]: e for e in _entities(tmp_path)}
    cluster = entities["cluster.json:cluster"]
    assert isinstance(cluster.fields["bootstrap_cluster_creator_admin_permissions"], Unknown)
    bottlerocket = entities["BOTTLEROCKET_x86_64.json:nodegroup"].fields
    assert isinstance(bottlerocket["http_tokens"], Unknown)
    assert isinstance(bottlerocket["hop_limit"], Unknown)
    al2023 = entities["AL2023_ARM_64_STANDARD.json:nodegroup"]
    assert (al2023.fields["http_tokens"], al2023.fields["hop_limit"]) == ("required", 1)
    assert al2023.defaulted["hop_limit"].startswith("EKS default")
    association = entities["eks-list-pod-identity-associations.json:associations[0]"]
    assert isinstance(association.fields["role_arn"], Unknown)
    entry = entities["eks-list-access-entries.json:accessEntries[3]"]
    assert entry.fields["principal_type"] == "user"
    assert isinstance(entry.fields["cluster_name"], Unknown)
    assert isinstance(entry.fields["entry_type"], Unknown)
    result = run([tmp_path])
    assert {f.rule_id for f in result.findings} == {
        "EKS101",
        "EKS102",
        "EKS103",
        "EKS305",
        "EKS502",
        "EKS507",
    }
    assert "EKS508" in {s.rule_id for s in result.skipped}


def test_launch_template_versions_judged_are_the_default_and_the_latest(tmp_path):
    doc = json.loads(
        (FIXTURES / "rules" / "EKS201" / "live_launch_template_versions.json").read_text()
    )
    _write(tmp_path / "all.json", doc)
    _write(tmp_path / "pinned.json", {"LaunchTemplateVersions": [doc["LaunchTemplateVersions"][2]]})
    names = sorted(
        (e.location.file.rsplit("/", 1)[-1], e.fields["name"], e.fields["http_tokens"])
        for e in _entities(tmp_path)
    )
    assert names == [
        ("all.json", "launch template prod-eks-workers version 2", "optional"),
        ("all.json", "launch template prod-eks-workers version 3", "required"),
        ("pinned.json", "launch template prod-eks-workers version 1", "optional"),
    ]


def test_repository_and_live_export_link_across(tmp_path):
    """`scan repo/ live/`: a live ServiceAccount whose IRSA role the repository's Terraform
    defines is judged against that role's trust (EKS701 with the trust as related location);
    the live access entry's group against the live RBAC (EKS703)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "irsa.tf").write_text(
        'resource "aws_iam_role" "app" {\n'
        '  name = "prod-app-irsa"\n'
        "  assume_role_policy = jsonencode({\n"
        '    Version = "2012-10-17"\n'
        "    Statement = [{\n"
        '      Effect    = "Allow"\n'
        '      Action    = "sts:AssumeRoleWithWebIdentity"\n'
        '      Principal = { Federated = "arn:aws:iam::111122223333:oidc-provider/'
        'oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E" }\n'
        "      Condition = { StringEquals = {\n"
        '        "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E:sub" = '
        '"system:serviceaccount:prod:other"\n'
        '        "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E:aud" = '
        '"sts.amazonaws.com"\n'
        "      } }\n"
        "    }]\n"
        "  })\n"
        "}\n"
    )
    live = tmp_path / "live"
    live.mkdir()
    shutil.copy(EXPORT / "kubectl-get-rbac.yaml", live)
    result = run([repo, live])
    (irsa,) = [f for f in result.findings if f.rule_id == "EKS701"]
    assert (irsa.location.file.rsplit("/", 1)[-1], irsa.location.start_line) == (
        "kubectl-get-rbac.yaml",
        111,
    )
    assert {(r.location.file.rsplit("/", 1)[-1], r.location.start_line) for r in irsa.related} == {
        ("irsa.tf", 5)
    }


def test_hostile_outputs_are_read_without_a_traceback(tmp_path):
    """Wrong types anywhere in an output: what can be read is, the rest is not, no error."""
    _write(
        tmp_path / "a.json",
        {
            "cluster": {
                "name": 3,
                "resourcesVpcConfig": "open",
                "logging": {"clusterLogging": [{"types": "api", "enabled": True}, 7]},
                "accessConfig": [],
                "computeConfig": {"enabled": "yes"},
            }
        },
    )
    _write(tmp_path / "b.json", {"nodegroup": {"nodegroupName": ["x"], "amiType": 5}})
    _write(
        tmp_path / "c.json",
        {"LaunchTemplateVersions": [{"VersionNumber": "1", "LaunchTemplateData": []}, 3]},
    )
    _write(tmp_path / "d.json", {"Reservations": [{"Instances": [None, {"MetadataOptions": 1}]}]})
    _write(
        tmp_path / "e.json",
        {"associatedAccessPolicies": [1, {"accessScope": 2}], "principalArn": {}},
    )
    _write(tmp_path / "f.json", {"eks describe-cluster": [None, 1, {"cluster": {"arn": 1}}]})
    _write(tmp_path / "g.json", {"accessEntries": [], "associations": [{"associationId": None}]})
    result = run([tmp_path])
    assert [p for p in result.problems if p.level == "error"] == []
    assert not any("internal error" in p.message for p in result.problems)


def test_server_fields_of_an_export_change_nothing(tmp_path):
    """What the API server adds to an object (`managedFields` with `--show-managed-fields`,
    `status`, `resourceVersion`, the last-applied annotation) is not read as the object."""
    applied = (
        "apiVersion: rbac.authorization.k8s.io/v1\n"
        "kind: ClusterRoleBinding\n"
        "metadata:\n"
        "  name: ops\n"
        "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\n"
        "subjects: [{apiGroup: rbac.authorization.k8s.io, kind: Group, name: ops}]\n"
    )
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "binding.yaml").write_text(applied)
    last_applied = json.dumps(
        {"kind": "ClusterRoleBinding", "subjects": [{"kind": "User", "name": "system:anonymous"}]}
    )
    exported = (
        "apiVersion: v1\n"
        "items:\n"
        "- apiVersion: rbac.authorization.k8s.io/v1\n"
        "  kind: ClusterRoleBinding\n"
        "  metadata:\n"
        "    annotations:\n"
        f"      kubectl.kubernetes.io/last-applied-configuration: '{last_applied}'\n"
        '    creationTimestamp: "2025-02-03T09:45:00Z"\n'
        "    managedFields:\n"
        "    - apiVersion: rbac.authorization.k8s.io/v1\n"
        "      fieldsType: FieldsV1\n"
        "      fieldsV1:\n"
        "        f:roleRef: {}\n"
        "        f:subjects: {}\n"
        "      manager: kubectl-client-side-apply\n"
        "      operation: Update\n"
        "    name: ops\n"
        '    resourceVersion: "20450"\n'
        "    uid: 6f1c2d3e-0005-4a5b-8c9d-0e1f2a3b4c5d\n"
        "  roleRef:\n"
        "    apiGroup: rbac.authorization.k8s.io\n"
        "    kind: ClusterRole\n"
        "    name: cluster-admin\n"
        "  subjects:\n"
        "  - apiGroup: rbac.authorization.k8s.io\n"
        "    kind: Group\n"
        "    name: ops\n"
        "  status: {}\n"
        "kind: List\n"
        "metadata:\n"
        '  resourceVersion: ""\n'
    )
    (tmp_path / "live").mkdir()
    (tmp_path / "live" / "kubectl-get-crb.yaml").write_text(exported)
    (repo,) = _entities(tmp_path / "repo")
    (live,) = _entities(tmp_path / "live")
    assert live.key == repo.key == "k8s:ClusterRoleBinding/ops"
    assert live.fields == repo.fields
    assert _findings(tmp_path / "live") == {("kubectl-get-crb.yaml", 25, "EKS602")}


def test_exported_nodes_carry_their_role_for_the_access_graph(tmp_path):
    """What any pod reaching IMDS gets: a node group's `nodeRole`; an instance's or launch
    template's instance profile, whose role the output does not say (unknown); a managed
    node group's template, which names none, gets its group's role (unknown here)."""
    templates = {
        "LaunchTemplateVersions": [
            {
                "LaunchTemplateName": "with-profile",
                "VersionNumber": 1,
                "LaunchTemplateData": {
                    "IamInstanceProfile": {"Name": "shop-nodes"},
                    "MetadataOptions": {"HttpPutResponseHopLimit": 2},
                },
            },
            {
                "LaunchTemplateName": "for-a-node-group",
                "VersionNumber": 1,
                "LaunchTemplateData": {"MetadataOptions": {"HttpPutResponseHopLimit": 2}},
            },
        ]
    }
    instances = {"Reservations": [{"Instances": [{"InstanceId": "i-1"}]}]}
    (tmp_path / "ec2-describe-launch-template-versions.json").write_text(
        json.dumps(templates, indent=2), encoding="utf-8"
    )
    (tmp_path / "ec2-describe-instances.json").write_text(json.dumps(instances), encoding="utf-8")
    shutil.copy(EXPORT / "eks-describe-nodegroup.json", tmp_path)
    shutil.copy(EXPORT / "ec2-describe-instances.json", tmp_path / "ec2-nodes.json")
    roles = {
        e.fields["name"]: [
            (r["role"] if isinstance(r["role"], str) else r["role"].text, r["via"], r["start_line"])
            for r in e.fields["node_roles"]
        ]
        for e in _entities(tmp_path)
        if e.kind == "instance_metadata"
    }
    profile = "arn:aws:iam::111122223333:instance-profile/eks-3ec8a1f2-5b7d-4c2e-9f10-6a7b8c9d0e1f"
    assert roles == {
        "node group general": [
            ("arn:aws:iam::111122223333:role/prod-eks-node-role", "node group general nodeRole", 25)
        ],
        "instance i-0a1b2c3d4e5f60040 (node group general)": [
            (f"the role of {profile}",
             "instance i-0a1b2c3d4e5f60040 (node group general) IamInstanceProfile", 32),
        ],
        # no instance profile: no role to reach
        "instance i-1": [],
        "launch template with-profile version 1": [
            ("the role of shop-nodes",
             "launch template with-profile version 1 IamInstanceProfile", 7),
        ],
        "launch template for-a-node-group version 1": [
            ("the role of for-a-node-group",
             "launch template for-a-node-group version 1 (its node group's role)", 15),
        ],
    }  # fmt: skip


def test_messages_name_the_keys_of_the_exported_outputs():
    # an export is read as the AWS CLI prints it: its findings name the output's own keys
    names = (
        "eks-describe-cluster.json",
        "eks-describe-identity-provider-config.json",
        "eks-describe-nodegroup.json",
        "ec2-describe-instances.json",
    )
    result = run(
        [EXPORT / name for name in names],
        select={"EKS102", "EKS201", "EKS202", "EKS508", "EKS509"},
    )
    found = sorted(
        (f.location.file.rsplit("/", 1)[-1], f.location.start_line, f.rule_id, f.message)
        for f in result.findings
    )
    assert found == [
        (
            "ec2-describe-instances.json",
            74,
            "EKS201",
            "instance i-0a1b2c3d4e5f60040 (node group general) has MetadataOptions.HttpTokens = "
            "optional: IMDSv1 hands out the node role's credentials to any request",
        ),
        (
            "ec2-describe-instances.json",
            75,
            "EKS202",
            "instance i-0a1b2c3d4e5f60040 (node group general) sets "
            "MetadataOptions.HttpPutResponseHopLimit = 2 (more than 1): pods can reach the node "
            "role's credentials",
        ),
        (
            "eks-describe-cluster.json",
            21,
            "EKS102",
            "cluster prod-eks has resourcesVpcConfig.endpointPrivateAccess = false: nodes reach "
            "the API server through the public endpoint",
        ),
        (
            "eks-describe-cluster.json",
            70,
            "EKS508",
            "cluster prod-eks gives its creator permanent cluster-admin access "
            "(accessConfig.bootstrapClusterCreatorAdminPermissions = true)",
        ),
        (
            "eks-describe-identity-provider-config.json",
            10,
            "EKS509",
            "identity provider corp-sso maps groups claim groups without a groupsPrefix: its "
            "group names land in RBAC as they are",
        ),
        (
            "eks-describe-nodegroup.json",
            24,
            "EKS201",
            "node group general has amiType AL2_x86_64, so http_tokens = optional: IMDSv1 hands "
            "out the node role's credentials to any request",
        ),
        (
            "eks-describe-nodegroup.json",
            24,
            "EKS202",
            "node group general sets amiType AL2_x86_64, so http_put_response_hop_limit = 2 (more "
            "than 1): pods can reach the node role's credentials",
        ),
    ]
