"""Conformance with the peers' own fixtures (tests/vendor/peer), folder by folder, as
tests/vendor/peer/MAPPING.md maps them to our rules. Where we deliberately disagree with
a peer, the difference is listed here with the reason and asserted as such."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import PEER, run

_OTHER_PROVIDER = (
    "its :sub key names the provider token.actions.githubusercontent.com/github-org, the "
    "principal is token.actions.githubusercontent.com: a condition scopes its own provider only"
)

# folder -> (our rules, {case: (our verdict, why we differ)})
FOLDERS: dict[str, tuple[set[str], dict[str, tuple[str, str]]]] = {
    "checkov/CKV_AWS_39_EKSPublicAccess": ({"EKS101"}, {}),
    "kics/terraform-aws/eks_cluster_has_public_access": ({"EKS101"}, {}),
    "trivy/aws-eks-no-public-cluster-access_AWS-0040": ({"EKS101"}, {}),
    "checkov/CKV_AWS_38_EKSPublicAccessCIDR": ({"EKS101"}, {}),
    "kics/terraform-aws/eks_cluster_has_public_access_cidrs": ({"EKS101"}, {}),
    "trivy/aws-eks-no-public-cluster-access-to-cidr_AWS-0041": ({"EKS101"}, {}),
    "checkov/CKV_AWS_37_EKSControlPlaneLogging": ({"EKS103"}, {}),
    "kics/terraform-aws/eks_cluster_log_disabled": ({"EKS103"}, {}),
    "trivy/aws-eks-enable-control-plane-logging_AWS-0038": ({"EKS103"}, {}),
    "checkov/CKV_AWS_79_IMDSv1Disabled": ({"EKS201"}, {}),
    "trivy/aws-ec2-enforce-http-token-imds_AWS-0028": ({"EKS201"}, {}),
    "trivy/aws-ec2-enforce-launch-config-http-token-imds_AWS-0130": ({"EKS201"}, {}),
    "checkov/CKV_AWS_341_LaunchTemplateMetadataHop": ({"EKS202"}, {}),
    "checkov/CKV_AWS_60_IAMRoleAllowsPublicAssume": ({"EKS401"}, {}),
    "kics/terraform-aws/iam_role_allows_all_principals_to_assume": (
        {"EKS401"},
        {
            "positive.tf": (
                "PASS",
                'its principal is the malformed ARN arn:aws:iam::root, not "*"',
            ),
        },
    ),
    "checkov/CKV_AWS_61_IAMRoleAllowAssumeFromAccount": ({"EKS407"}, {}),
    "kics/terraform-aws/cross_account_iam_assume_role_policy_without_external_id_or_mfa": (
        {"EKS407"},
        {
            "positive2.tf": ("PASS", "a condition (here MultiFactorAuthPresent) clears EKS407"),
            "positive3.tf": ("PASS", "a condition (here an empty ExternalId) clears EKS407"),
        },
    ),
    "checkov/CKV_AWS_358_GithubActionsOIDCTrustPolicy_data": (
        {"EKS405"},
        {
            **{
                f"aws_iam_policy_document.{name}": (
                    "PASS",
                    "StringEquals is literal: the value matches no real token",
                )
                for name in (
                    "fail-abusable",
                    "fail-misused-repo",
                    "fail-wildcard",
                    "fail-wildcard-assertion",
                    "fail2",
                )
            },
            "aws_iam_policy_document.pass-gh-org": ("FAIL", _OTHER_PROVIDER),
        },
    ),
    "checkov/CKV_AWS_393_GithubActionsOIDCTrustPolicyOnRole": (
        {"EKS405"},
        {
            **{
                f"aws_iam_role.{name}": (
                    "PASS",
                    "StringEquals is literal: the value matches no real token",
                )
                for name in (
                    "fail-abusable",
                    "fail-misused-repo",
                    "fail-wildcard",
                    "fail-wildcard-assertion",
                    "fail2",
                )
            },
            "aws_iam_role.pass-fm-customer": (
                "FAIL",
                "repo:org/* under StringLike admits every repository of the org",
            ),
            "aws_iam_role.pass-gh-org": ("FAIL", _OTHER_PROVIDER),
        },
    ),
    "checkov/CKV_K8S_38_ServiceAccountTokens": ({"EKS301"}, {}),
    "kics/k8s/service_account_token_automount_not_disabled": ({"EKS301"}, {}),
    "trivy/kubernetes-no-auto-mount-service-token_KSV036": (
        {"EKS301"},
        {
            "pass_1.yaml": (
                "FAIL",
                "automount unset and no ServiceAccount in the scan: Kubernetes mounts the token",
            ),
            "rego_fail_1.json": ("PASS", "kind 'pod' and no apiVersion: not a Kubernetes manifest"),
            "rego_fail_2.json": ("PASS", "kind 'pod' and no apiVersion: not a Kubernetes manifest"),
        },
    ),
    "checkov/CKV_K8S_41_DefaultServiceAccount": ({"EKS302"}, {}),
    "checkov/CKV_K8S_41_tf_DefaultServiceAccount": ({"EKS302"}, {}),
    "kics/terraform-kubernetes/default_service_account_in_use": ({"EKS302"}, {}),
    "kics/terraform-kubernetes/service_account_token_automount_not_disabled": ({"EKS301"}, {}),
    "kics/terraform-kubernetes/cluster_admin_role_binding_with_super_user_permissions": (
        {"EKS602"},
        {},
    ),
    "trivy/anonymous-user-bind_KSV122": (
        {"EKS601"},
        {
            "rego_fail_2.json": (
                "PASS",
                "kind 'ClusterRolebinding' is misspelled: not an RBAC object",
            ),
        },
    ),
    "kics/k8s/cluster_admin_role_binding_with_super_user_permissions": ({"EKS602"}, {}),
    "trivy/cluster-admin-role-only-where-required_KSV111": (
        {"EKS602"},
        {
            "rego_fail_1.json": (
                "PASS",
                "roleRef is a Role named cluster-admin, not the ClusterRole",
            ),
            "rego_fail_2.json": ("PASS", "roleRef is a Role, and the subject is a system: name"),
            "rego_fail_3.json": ("PASS", "roleRef is the Role admin: we only flag cluster-admin"),
        },
    ),
}

# Folders whose peer check is not in our catalog: no error, and exactly the findings our own
# rules make there.
_POD_EKS301 = "EKS301"  # their static pods name no ServiceAccount and leave automount unset
QUIET: dict[str, set[tuple[str, str, int]]] = {
    # a Role with verbs ["*"] is our EKS603, whatever it is about
    "trivy/manage-eks-iam-auth-configmap_KSV115": {("EKS603", "rego_fail_7.json", 8)},
    "kics/k8s/role_binding_to_default_service_account": set(),
    # the default ServiceAccount bound to cluster-admin is our EKS602
    "checkov/CKV_K8S_42_DefaultServiceAccountBinding": {
        ("EKS602", "DefaultServiceAccountBinding-FAILED.yaml", 37)
    },
    "checkov/CKV_K8S_68_ApiServerAnonymousAuth": {
        (_POD_EKS301, f"ApiServer-AnonymousAuth-{n}.yaml", 10)
        for n in ("False-PASSED", "Missing-FAILED", "True-FAILED")
    },
    "checkov/CKV_K8S_138_KubeletAnonymousAuth": {
        (_POD_EKS301, f"KubeletAnonymousAuth-{n}.yaml", 10) for n in ("FAILED", "PASSED")
    },
    "kics/k8s/anonymous_auth_is_not_set_to_false": {
        (_POD_EKS301, f"{kind}{n}.yaml", 7)
        for kind in ("positive", "negative")
        for n in range(1, 5)
    },
    "kics/terraform-kubernetes/role_binding_to_default_service_account": set(),
    # its fixtures bind cluster-admin to users and ServiceAccounts: our EKS602
    "checkov/CKV_K8S_42_tf_DefaultServiceAccountBinding": {
        ("EKS602", "main.tf", line) for line in (108, 134, 160, 181)
    },
}


def _cases(folder: Path) -> dict[str, str]:
    """The peer's verdicts: case id (resource address, file, or Kind/name) -> PASS/FAIL."""
    expected = folder / "EXPECTED.json"
    if expected.exists():
        doc = json.loads(expected.read_text(encoding="utf-8"))
        out: dict[str, str] = {}
        for addr in doc.get("expected_passed", []):
            out[addr] = "PASS"
        for addr in doc.get("expected_failed", []):
            out[addr] = "FAIL"
        for case in doc.get("cases", []):
            verdict = case["expected"].replace("PASSED", "PASS").replace("FAILED", "FAIL")
            out[case["file"]] = verdict
        for case in doc.get("per_resource_expected_DERIVED", []):
            if case["expected"] in ("PASSED", "FAILED"):
                out[f"{case['file']}:{case['resource']}"] = case["expected"][:4]
        return out
    tests = folder / "test"
    return {
        p.name: ("FAIL" if p.name.startswith("positive") else "PASS")
        for p in tests.iterdir()
        if p.name.startswith(("positive", "negative"))
        and not p.name.endswith("expected_result.json")
    }


def _resource_lines(folder: Path, address: str) -> tuple[str, int, int] | None:
    """(file, first line, last line) of `resource "type" "name"` in the folder's .tf files."""
    rtype, _, name = address.partition(".")
    for tf in sorted(folder.rglob("*.tf")):
        lines = tf.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            if line.startswith(f'resource "{rtype}" "{name}"'):
                end = next(
                    (j for j in range(i + 1, len(lines)) if lines[j].startswith("resource ")),
                    len(lines),
                )
                return tf.name, i + 1, end
    return None


def _ours(case: str, findings: list, folder: Path) -> str:
    block = _resource_lines(folder, case) if case.startswith("kubernetes_") else None
    for f in findings:
        if block is not None:
            name, first, last = block
            if Path(f.location.file).name == name and first <= f.location.start_line <= last:
                return "FAIL"
            continue
        file = Path(f.location.file).name
        key = f.entity_key
        if ":" in case and case.split(":", 1)[0] == file:  # file:Kind/name from derived cases
            kind_name = case.split(":", 1)[1].split("/")
            kind, name = kind_name[0], kind_name[-1]
            ns = kind_name[1] if len(kind_name) == 3 else "default"
            if key in (f"k8s:{ns}/{kind}/{name}", f"k8s:{kind}/{name}"):
                return "FAIL"
        elif case.endswith((".tf", ".yaml", ".yml", ".json")):
            if file == case:
                return "FAIL"
        else:
            address = case if not case.startswith("aws_iam_policy_document") else "data." + case
            tail = key.split(":", 2)[-1]
            if tail == address or tail.startswith(address + "/"):
                return "FAIL"
    return "PASS"


DECLARED_TWICE = "Terraform refuses a module that declares one name twice"


def _alone(path: Path, folder: Path) -> Path:
    """A copy of `path` in a folder of its own, under its own name."""
    folder.mkdir()
    shutil.copyfile(path, folder / path.name)
    return folder / path.name


@pytest.mark.parametrize("name", sorted(FOLDERS))
def test_peer_folder(name, tmp_path):
    rules, differences = FOLDERS[name]
    folder = PEER / name
    result = run([folder], select=rules)
    problems = result.problems
    findings = result.findings
    if any(DECLARED_TWICE in p.message for p in problems):
        # the peer's cases are files that repeat each other's names: as one module Terraform
        # refuses them, so each is scanned as the module it stands for: alone in a folder
        cases = [
            run([_alone(path, tmp_path / str(i))], select=rules)
            for i, path in enumerate(sorted(folder.rglob("*.tf")))
        ]
        problems = [p for p in problems if not p.file.endswith(".tf")]
        problems += [p for case in cases for p in case.problems]
        findings = [f for f in findings if not f.location.file.endswith(".tf")]
        findings += [f for case in cases for f in case.findings]
    findings = [f for f in findings if f.rule_id in rules]
    peer = _cases(folder)
    peer = {case: verdict for case, verdict in peer.items() if not case.endswith("tfplan.json")}
    assert peer, "no cases read"
    for case in differences:
        assert case in peer, f"deliberate difference names an unknown case {case}"
    verdicts = {case: _ours(case, findings, folder) for case in peer}
    wanted = {case: differences.get(case, (verdict, ""))[0] for case, verdict in peer.items()}
    assert verdicts == wanted
    # a malformed peer fixture is not our error: nothing in these folders makes the scan fail
    assert [p for p in problems if p.level == "error"] == []


@pytest.mark.parametrize("name", sorted(QUIET))
def test_peer_folder_outside_our_catalog(name):
    result = run([PEER / name])
    assert [p for p in result.problems if p.level == "error"] == []
    found = {
        (f.rule_id, Path(f.location.file).name, f.location.start_line) for f in result.findings
    }
    assert found == QUIET[name]


def test_every_peer_folder_is_mapped():
    folders = {str(p.relative_to(PEER)) for p in PEER.glob("*/*") if p.is_dir()}
    folders |= {str(p.relative_to(PEER)) for p in PEER.glob("kics/*/*") if p.is_dir()}
    folders = {f for f in folders if not f.startswith("kics/") or f.count("/") == 2}
    assert folders == set(FOLDERS) | set(QUIET)
