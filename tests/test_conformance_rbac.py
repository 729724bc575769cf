"""Conformance with the peers' RBAC test data (tests/fixtures/peer-rbac, see its MANIFEST.md):
Trivy, kubescape, Checkov and kube-linter fixtures for reading secrets, creating pods, exec,
nodes/proxy, escalate/bind/impersonate, token creation, CSR approval and webhooks.

Peers that judge a role alone (Trivy, Checkov CKV_K8S_15x) are compared with the role's
`capabilities`: their fixtures hold no binding, so none of our rules fires there. Peers that
judge a binding or a subject (kubescape, Checkov CKV2_K8S_*, kube-linter) are compared with our
findings on the binding (or, for kubescape C-0267, the workload). Where we deliberately
disagree, the case is listed with the reason, and asserted as such. The reasons come back
again and again; they are named once below."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from checks.discover import discover
from checks.scan import build
from checks.sources import classify
from checks.sources.base import Options
from conftest import FIXTURES, run

PEER = FIXTURES / "peer-rbac"
OURS = {f"EKS{n}" for n in range(601, 615)} | {"EKS704"}

# The deliberate differences, once each.
BINDING_LEVEL = "we report bindings, not roles: a role no binding refers to grants nobody anything"
NAMESPACED = (
    "through a RoleBinding the grant stays in one namespace: reading its Secrets or creating "
    "its pods is what a well-scoped controller does, not a cluster-wide finding (EKS604/EKS605 "
    "need a ClusterRoleBinding)"
)
CLUSTER_SCOPED = (
    "nodes, CSRs, webhook configurations, users and groups are cluster-scoped: a RoleBinding "
    "grants nothing on them"
)
EXEMPT = "subjects named system:... or eks:... are Kubernetes' and EKS's own identities"
SUBJECT_KINDS = "every subject kind counts, not only ServiceAccounts"
API_GROUPS = (
    "API groups count as the authorizer counts them: the resource is in another group than the "
    "rule names"
)
VERBS = "only the verbs of the capability count (read: get/list/watch; create: create)"
BIND_ON_BINDINGS = (
    "`bind` means something only on roles and clusterroles: on (cluster)rolebindings it grants "
    "nothing, and creating bindings is checked against the bound role by the API server"
)
CSR_BOTH_HALVES = (
    "approving a CSR takes update/patch on certificatesigningrequests/approval and approve on "
    "signers, both"
)
WILDCARD_SUBRESOURCE = "`pods/*` is no RBAC wildcard (only `*` and `*/<subresource>` are)"
WIDER = "our rule also covers this grant (the peer's list of verbs or resources is narrower)"
OTHER_RULE = "reported by another of our rules on this binding (named in the reason's suffix)"
ALL_ROLES = (
    "a binding to system:authenticated is reported whatever the role grants (but the discovery "
    "roles)"
)
EVERY_CLUSTER = "EKS613 holds on every cluster, not only on GKE"
DEFAULT_BINDING = (
    "Kubernetes' own binding of system:public-info-viewer (version and health) to everyone is "
    "what every cluster has, not a finding"
)
MALFORMED = "not a Kubernetes manifest as written (misspelled kind, missing apiVersion)"


@dataclass(frozen=True)
class Case:
    """One verdict of a peer: on the object `kind`/`name` of `file`, scanned with `unit`."""

    verdict: str
    unit: Path
    file: str | None = None
    kind: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class Differ:
    """Our verdict where it is not the peer's, why, and the rule of ours that reports the
    case instead, if one does."""

    ours: str
    why: str
    instead: str | None = None


def _same_reason(why: str, ours: str, *cases: str) -> dict[str, Differ]:
    return {case: Differ(ours, why) for case in cases}


# role-level peers: folder -> (the capabilities a peer FAIL stands for, {case: difference})
ROLES: dict[str, tuple[set[str], dict[str, Differ]]] = {
    "trivy/manage-secrets_KSV041": (
        {"read_secrets"},
        _same_reason(VERBS, "PASS", *(f"rego_fail_{n}.json" for n in (2, 4, 5, 6, 7))),
    ),
    "trivy/manage-namespace-secrets_KSV113": (
        {"read_secrets"},
        _same_reason(VERBS, "PASS", *(f"rego_fail_{n}.json" for n in (2, 4, 5, 6, 7))),
    ),
    "trivy/manage-workloads-pods_KSV048": (
        {"create_workloads"},
        _same_reason(VERBS, "PASS", *(f"rego_fail_{n}.json" for n in (1, 2, 3, 4, 5, 6, 14))),
    ),
    "trivy/exec-into-pods_KSV053": ({"exec_pods"}, {}),
    "trivy/attach-to-pods_KSV054": ({"exec_pods"}, {}),
    "trivy/node-proxy_KSV047": ({"node_proxy"}, {}),
    "trivy/impersonate-groups_KSV043": ({"impersonate"}, {}),
    "trivy/rbac-escalate-bind_KSV050": (
        {"escalate_bind", "impersonate"},
        _same_reason(BIND_ON_BINDINGS, "PASS", "rego_fail_3.json", "rego_fail_4.json"),
    ),
    "trivy/manage-webhooks_KSV114": (
        {"edit_webhooks"},
        _same_reason(VERBS, "PASS", *(f"rego_fail_{n}.json" for n in (4, 5, 6))),
    ),
    "trivy/manage-configmaps_KSV049": (
        {"edit_aws_auth"},
        _same_reason(VERBS, "PASS", *(f"rego_fail_{n}.json" for n in (4, 5, 6))),
    ),
    "trivy/wildcard-verb-resource_KSV044": ({"cluster_admin"}, {}),
    "checkov/CKV_K8S_155_RbacControlWebhooks": ({"edit_webhooks"}, {}),
    "checkov/CKV_K8S_156_RbacApproveCertificateSigningRequests": ({"approve_csrs"}, {}),
    "checkov/CKV_K8S_157_RbacBindRoleBindings": (
        {"escalate_bind"},
        _same_reason(BIND_ON_BINDINGS, "PASS", "ClusterRole.test.test-should-fail-1"),
    ),
    "checkov/CKV_K8S_158_RbacEscalateRoles": ({"escalate_bind"}, {}),
}

# binding-level peers: folder -> (our rules, {case: difference})
BINDINGS: dict[str, tuple[set[str], dict[str, Differ]]] = {
    "checkov/CKV2_K8S_1_RoleBindingPE": (
        {"EKS608"},
        {
            "ClusterRoleBinding.default.passing-crb2": Differ("FAIL", SUBJECT_KINDS),
            **_same_reason(
                BIND_ON_BINDINGS,
                "PASS",
                "ClusterRoleBinding.default.failing-crb1",
                "RoleBinding.kube-system.failing-rb3",
            ),
        },
    ),
    "checkov/CKV2_K8S_2_NoCreateNodesProxyOrPodsExec": (
        {"EKS606", "EKS607"},
        {
            # `get` on nodes/proxy opens the kubelet's exec endpoint as well as `create`
            "ClusterRoleBinding.default.passing-crb2": Differ("FAIL", WIDER),
            "ClusterRoleBinding.default.failing-crb4": Differ("PASS", OTHER_RULE, "EKS608"),
            "RoleBinding.kube-system.failing-rb3": Differ("PASS", CLUSTER_SCOPED),
        },
    ),
    "checkov/CKV2_K8S_3_ImpersonatePermissions": ({"EKS608"}, {}),
    "checkov/CKV2_K8S_5_ReadAllSecrets": ({"EKS604"}, {}),
    "kube-linter/access-to-secrets": (
        {"EKS604"},
        {
            "access-to-secrets.yml:RoleBinding/namespace-dev/role-binding1": Differ(
                "PASS", NAMESPACED
            )
        },
    ),
    "kube-linter/access-to-create-pods": (
        {"EKS605"},
        {
            "access-to-create-pods.yml:RoleBinding/namespace-dev/role-binding1": Differ(
                "PASS", NAMESPACED
            )
        },
    ),
    "kube-linter/cluster-admin-role-binding": ({"EKS602"}, {}),
    "kube-linter/access-to-resources_template_test": (
        {"EKS604", "EKS605"},
        {
            "TestRoleWithNoAccessToSecrets.yaml": Differ("PASS", NAMESPACED),
            "TestRoleWithNoAccessToDeployments.yaml": Differ(
                "PASS", f"{NAMESPACED}; and {API_GROUPS} (deployments in the core group)"
            ),
        },
    ),
    "kubescape/C-0015_C-0186_rule-can-list-get-secrets-v1": (
        {"EKS604"},
        _same_reason(NAMESPACED, "PASS", "clusterrole-rolebinding", "role-rolebinding"),
    ),
    "kubescape/C-0188_rule-can-create-pod": (
        {"EKS605"},
        _same_reason(NAMESPACED, "PASS", "clusterrole-rolebinding", "role-rolebinding"),
    ),
    "kubescape/C-0002_exec-into-container-v1": (
        {"EKS606"},
        {
            "clusterrole": Differ("PASS", WILDCARD_SUBRESOURCE),
            "role": Differ("PASS", OTHER_RULE, "EKS614"),
        },
    ),
    "kubescape/C-0279_rule-can-access-proxy-subresource": (
        {"EKS607"},
        _same_reason(CLUSTER_SCOPED, "PASS", "clusterrole-rolebinding", "role-rolebinding"),
    ),
    "kubescape/C-0280_rule-can-approve-cert-signing-request": (
        {"EKS610"},
        _same_reason(
            f"{CLUSTER_SCOPED}; and {CSR_BOTH_HALVES} (these roles have no approve on signers)",
            "PASS",
            "clusterrole-rolebinding",
            "role-rolebinding",
        ),
    ),
    "kubescape/C-0281_rule-can-modify-admission-webhooks": (
        {"EKS611"},
        _same_reason(CLUSTER_SCOPED, "PASS", "clusterrole-rolebinding", "role-rolebinding"),
    ),
    "kubescape/C-0282_rule-can-create-service-account-token": ({"EKS609"}, {}),
    "kubescape/C-0065_C-0191_rule-can-impersonate-users-groups-v1": (
        {"EKS608"},
        {"role-rolebinding": Differ("PASS", OTHER_RULE, "EKS614")},
    ),
    "kubescape/C-0191_rule-can-bind-escalate": ({"EKS608"}, {}),
    "kubescape/C-0265_system-authenticated-allowed-to-take-over-cluster": (
        {"EKS613"},
        {"success": Differ("FAIL", ALL_ROLES)},
    ),
    "kubescape/C-0267_workload-with-cluster-takeover-roles": ({"EKS704"}, {}),
    "kubescape/C-0262_anonymous-access-enabled": (
        {"EKS601", "EKS613"},
        {"fail": Differ("PASS", DEFAULT_BINDING)},
    ),
    "trivy/masters-group-bind_KSV123": (
        OURS - {"EKS601", "EKS603", "EKS613", "EKS704"},
        {
            # a group that aws-auth maps IAM principals to is EKS501's
            "rego_fail_1.json": Differ("PASS", EXEMPT, "EKS601"),
            "rego_fail_2.json": Differ("PASS", MALFORMED),
        },
    ),
    "trivy/authenticated-group-bind_KSV01011": (
        {"EKS613"},
        {
            "rego_fail_2.json": Differ("PASS", MALFORMED),
            "rego_pass_3.json": Differ("FAIL", EVERY_CLUSTER),
        },
    ),
}


def _expected(folder: Path) -> dict:
    return json.loads((folder / "EXPECTED.json").read_text(encoding="utf-8"))


def _cases(folder: Path) -> dict[str, Case]:
    """The peer's verdicts in `folder`, by case id."""
    doc = _expected(folder)
    out: dict[str, Case] = {}
    if "resource_to_file" in doc:  # Checkov: Kind.namespace.name
        verdicts = {r: "PASS" for r in doc["expected_passed"]}
        verdicts.update({r: "FAIL" for r in doc["expected_failed"]})
        for resource, verdict in verdicts.items():
            kind, _, name = resource.split(".", 2)
            (file,) = doc["resource_to_file"][resource]
            out[resource] = Case(verdict, folder, file, kind, name)
    elif "files" in doc:  # kube-linter e2e files: the per-object verdicts of bindings
        for file, found in doc["files"].items():
            for obj, verdict in found["per_object_DERIVED"].items():
                kind, *_, name = obj.split(" ", 1)[0].split("/")
                if kind.endswith("Binding"):
                    out[f"{file}:{obj.split(' ', 1)[0]}"] = Case(verdict, folder, file, kind, name)
    elif folder.parts[-2] == "kube-linter":  # kube-linter template tests: one file each
        for case in doc["cases"]:
            (name,) = case["expected"]
            out[case["file"]] = Case(case["verdict"].split()[0], folder, case["file"], None, name)
    elif folder.parts[-2] == "kubescape":  # a folder of inputs per case
        for case in doc["cases"]:
            out[case["case"]] = Case(case["verdict"], folder / case["case"])
    else:  # Trivy: one object per file
        for case in doc["cases"]:
            out[case["file"]] = Case(case["expected"], folder, case["file"])
    return out


def _model(path: Path):
    files, _ = discover([str(path)], classify)
    entities, problems, *_ = build(files, Options(prefilter=False, roots=[str(path)]))
    return entities, problems


def _in(entity, folder: Path, case: Case) -> bool:
    here = Path(entity.location.file)
    if (
        case.file is not None
        and here != (folder / case.file).resolve()
        and not str(here).endswith("/" + case.file)
    ):
        return False
    if case.kind is not None and entity.fields.get("object_kind") != case.kind:
        return False
    return case.name is None or entity.fields.get("name") == case.name


def _role_verdicts(folder: Path, capabilities: set[str]) -> dict[str, str]:
    entities, problems = _model(folder)
    assert [p for p in problems if p.level == "error"] == []
    roles = [e for e in entities if e.kind == "rbac_role"]
    out = {}
    for case_id, case in _cases(folder).items():
        mine = [r for r in roles if _in(r, folder, case)]
        granted = {c for r in mine for c in r.fields["capabilities"] if isinstance(c, str)}
        out[case_id] = "FAIL" if granted & capabilities else "PASS"
    return out


def _binding_verdicts(folder: Path, rules: set[str]) -> dict[str, str]:
    out = {}
    results: dict[Path, list] = {}
    for case_id, case in _cases(folder).items():
        if case.unit not in results:
            result = run([case.unit], select=rules)
            assert [p for p in result.problems if p.level == "error"] == []
            results[case.unit] = result.findings
        findings = results[case.unit]
        if case.file is None:
            hit = bool(findings)
        else:
            # copies of an object in several files share its key: the finding's file tells
            entities, _ = _model(case.unit)
            keys = {e.key for e in entities if _in(e, case.unit, case)}
            hit = any(
                f.entity_key in keys and f.location.file.endswith("/" + case.file) for f in findings
            )
        out[case_id] = "FAIL" if hit else "PASS"
    return out


@pytest.mark.parametrize("name", sorted(ROLES))
def test_role_level_peer(name):
    capabilities, differences = ROLES[name]
    folder = PEER / name
    peer = {case_id: case.verdict for case_id, case in _cases(folder).items()}
    assert peer and set(differences) <= set(peer), "a difference names an unknown case"
    wanted = {c: differences[c].ours if c in differences else v for c, v in peer.items()}
    assert _role_verdicts(folder, capabilities) == wanted
    # their fixtures bind the roles to nobody, so nobody is reported
    result = run([folder], select=OURS - {"EKS603"})
    assert result.findings == [], BINDING_LEVEL


@pytest.mark.parametrize("name", sorted(BINDINGS))
def test_binding_level_peer(name):
    rules, differences = BINDINGS[name]
    folder = PEER / name
    cases = _cases(folder)
    peer = {case_id: case.verdict for case_id, case in cases.items()}
    assert peer and set(differences) <= set(peer), "a difference names an unknown case"
    wanted = {c: differences[c].ours if c in differences else v for c, v in peer.items()}
    assert _binding_verdicts(folder, rules) == wanted
    for case_id, differ in differences.items():
        if differ.instead:
            assert _binding_verdicts(folder, {differ.instead})[case_id] == "FAIL", case_id


def test_every_peer_folder_is_compared():
    folders = {str(p.parent.relative_to(PEER)) for p in PEER.glob("*/*/EXPECTED.json")}
    assert folders == set(ROLES) | set(BINDINGS)
