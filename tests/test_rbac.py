"""What RBAC lets a subject do (RULES.md 6xx, "capabilities"): how one rule is matched, the
built-in ClusterRoles and their aggregation, a binding's scope, and which ServiceAccounts and
pods hold a binding's capabilities. Each case is the model of a small manifest."""

from __future__ import annotations

from pathlib import Path

import pytest

from checks.discover import discover
from checks.model import Unknown
from checks.normalize import rbac
from checks.scan import build
from checks.sources import classify
from checks.sources.base import Options

ALL = [
    "cluster_admin",
    "read_secrets",
    "create_workloads",
    "exec_pods",
    "node_proxy",
    "escalate_bind",
    "impersonate",
    "create_tokens",
    "approve_csrs",
    "edit_webhooks",
    "edit_aws_auth",
]
# the built-in roles after aggregation, scope not applied (bootstrap policy v1.32)
EDIT = [
    "read_secrets",
    "create_workloads",
    "exec_pods",
    "impersonate",
    "create_tokens",
    "edit_aws_auth",
]


def _model(tmp_path, text: str, name: str = "rbac.yaml") -> dict:
    (tmp_path / name).write_text(text)
    files, _ = discover([str(tmp_path)], classify)
    entities, problems, *_ = build(files, Options(prefilter=False, roots=[str(tmp_path)]))
    assert problems == []
    return {e.key: e for e in entities}


def _rule(**fields) -> dict:
    rule = {"api_groups": [""], "resources": [], "verbs": [], "resource_names": []}
    rule.update(fields)
    return rule


def _facts(**fields) -> dict:
    return rbac.rule_facts(_rule(**fields))


@pytest.mark.parametrize(
    "rule,facts",
    [
        ({"resources": ["secrets"], "verbs": ["get"]}, {"read_secrets"}),
        ({"resources": ["secrets"], "verbs": ["create", "update", "delete"]}, set()),
        ({"api_groups": ["apps"], "resources": ["secrets"], "verbs": ["get"]}, set()),
        ({"api_groups": ["*"], "resources": ["secrets"], "verbs": ["*"]}, {"read_secrets"}),
        # `*` alone covers subresources; `*/<sub>` is a real wildcard; `pods/*` is not
        (
            {"resources": ["*"], "verbs": ["create"]},
            {"create_workloads", "exec_pods", "node_proxy", "create_tokens", "edit_configmaps"},
        ),
        ({"resources": ["*/exec"], "verbs": ["create"]}, {"exec_pods"}),
        ({"resources": ["pods/*"], "verbs": ["create"]}, set()),
        (
            {"api_groups": ["apps"], "resources": ["deployments"], "verbs": ["create"]},
            {"create_workloads"},
        ),
        ({"api_groups": [""], "resources": ["deployments"], "verbs": ["create"]}, set()),
        (
            {"api_groups": ["batch"], "resources": ["cronjobs"], "verbs": ["create"]},
            {"create_workloads"},
        ),
        ({"resources": ["pods"], "verbs": ["update", "patch"]}, set()),
        ({"resources": ["pods/attach"], "verbs": ["get"]}, {"exec_pods"}),
        ({"resources": ["pods/portforward"], "verbs": ["create"]}, set()),
        ({"resources": ["nodes/proxy"], "verbs": ["get"]}, {"node_proxy"}),
        (
            {
                "api_groups": ["rbac.authorization.k8s.io"],
                "resources": ["clusterroles"],
                "verbs": ["bind"],
            },
            {"escalate_bind"},
        ),
        # `bind` on bindings is no escalation (the API server checks the role bound)
        (
            {
                "api_groups": ["rbac.authorization.k8s.io"],
                "resources": ["rolebindings"],
                "verbs": ["bind"],
            },
            set(),
        ),
        (
            {"resources": ["serviceaccounts"], "verbs": ["impersonate"]},
            {"impersonate_serviceaccounts"},
        ),
        ({"resources": ["users", "groups"], "verbs": ["impersonate"]}, {"impersonate_identities"}),
        (
            {
                "api_groups": ["authentication.k8s.io"],
                "resources": ["uids"],
                "verbs": ["impersonate"],
            },
            {"impersonate_identities"},
        ),
        ({"api_groups": ["aaa"], "resources": ["groups"], "verbs": ["impersonate"]}, set()),
        ({"resources": ["serviceaccounts/token"], "verbs": ["create"]}, {"create_tokens"}),
        (
            {
                "api_groups": ["certificates.k8s.io"],
                "resources": ["*/approval"],
                "verbs": ["patch"],
            },
            {"csr_approval"},
        ),
        (
            {"api_groups": ["certificates.k8s.io"], "resources": ["signers"], "verbs": ["approve"]},
            {"approve_signers"},
        ),
        (
            {
                "api_groups": ["admissionregistration.k8s.io"],
                "resources": ["validatingwebhookconfigurations"],
                "verbs": ["patch"],
            },
            {"edit_webhooks"},
        ),
        ({"resources": ["configmaps"], "verbs": ["update"]}, {"edit_configmaps"}),
        # a rule limited to names grants nothing but aws-auth editing
        ({"resources": ["secrets"], "verbs": ["get"], "resource_names": ["tls"]}, set()),
        ({"resources": ["configmaps"], "verbs": ["patch"], "resource_names": ["other"]}, set()),
        (
            {"resources": ["configmaps"], "verbs": ["patch"], "resource_names": ["x", "aws-auth"]},
            {"edit_configmaps"},
        ),
        ({"api_groups": ["*"], "resources": ["*"], "verbs": ["*"], "resource_names": ["x"]}, set()),
    ],
)
def test_what_one_rule_allows(rule, facts):
    assert set(_facts(**rule)) == facts
    assert all(v is True for v in _facts(**rule).values())


def test_a_rule_of_every_verb_resource_and_group_allows_everything():
    facts = _facts(api_groups=["*"], resources=["*"], verbs=["*"])
    assert rbac.capabilities(facts) == ALL


def test_an_unknown_value_makes_what_it_could_grant_unknown():
    verbs = Unknown("var.verbs has no default", "var.verbs")
    facts = _facts(resources=["secrets"], verbs=verbs)
    assert facts == {"read_secrets": verbs}
    named = Unknown("module output", "module.x.names")
    facts = _facts(resources=["configmaps"], verbs=["update"], resource_names=["x", named])
    assert facts == {"edit_configmaps": named}
    # a known miss stays a miss, whatever is unknown
    assert _facts(api_groups=["apps"], resources=["secrets"], verbs=verbs) == {}


def test_approving_csrs_takes_both_halves():
    assert rbac.capabilities(["csr_approval"]) == []
    assert rbac.capabilities(["csr_approval", "approve_signers"]) == ["approve_csrs"]
    assert rbac.contributes(["approve_signers"]) == ["approve_csrs"]


@pytest.mark.parametrize(
    "fact,scope,granted",
    [
        ("node_proxy", "shop", False),
        ("node_proxy", "cluster", True),
        ("impersonate_identities", "shop", False),
        ("impersonate_serviceaccounts", "shop", True),
        ("edit_webhooks", "kube-system", False),
        ("edit_configmaps", "shop", False),
        ("edit_configmaps", "kube-system", True),
        ("edit_configmaps", "cluster", True),
        ("read_secrets", "shop", True),
    ],
)
def test_what_a_binding_scope_grants(fact, scope, granted):
    assert rbac.in_scope(fact, scope) is granted


@pytest.mark.parametrize(
    "selector,labels,matches",
    [
        ({"match_labels": ["a=1"], "match_expressions": []}, ["a=1", "b=2"], True),
        ({"match_labels": ["a=1", "b=3"], "match_expressions": []}, ["a=1", "b=2"], False),
        ({"match_labels": [], "match_expressions": []}, [], True),
        (
            {
                "match_labels": [],
                "match_expressions": [{"key": "a", "operator": "In", "values": ["1", "2"]}],
            },
            ["a=2"],
            True,
        ),
        (
            {
                "match_labels": [],
                "match_expressions": [{"key": "a", "operator": "NotIn", "values": ["1"]}],
            },
            [],
            True,
        ),
        (
            {
                "match_labels": [],
                "match_expressions": [{"key": "a", "operator": "NotIn", "values": ["1"]}],
            },
            ["a=1"],
            False,
        ),
        (
            {
                "match_labels": [],
                "match_expressions": [{"key": "a", "operator": "Exists", "values": []}],
            },
            ["a="],
            True,
        ),
        (
            {
                "match_labels": [],
                "match_expressions": [{"key": "a", "operator": "DoesNotExist", "values": []}],
            },
            ["a=1"],
            False,
        ),
        (
            {
                "match_labels": [],
                "match_expressions": [{"key": "a", "operator": "Near", "values": []}],
            },
            ["a=1"],
            False,
        ),
    ],
)
def test_label_selectors(selector, labels, matches):
    assert rbac.selector_matches(selector, labels) is matches


BUILTIN_BINDINGS = """
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: b-cluster-admin}
roleRef: {kind: ClusterRole, name: cluster-admin}
subjects: [{kind: Group, name: g}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: b-admin}
roleRef: {kind: ClusterRole, name: admin}
subjects: [{kind: Group, name: g}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: b-edit}
roleRef: {kind: ClusterRole, name: edit}
subjects: [{kind: Group, name: g}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: b-view}
roleRef: {kind: ClusterRole, name: view}
subjects: [{kind: Group, name: g}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: b-edit, namespace: shop}
roleRef: {kind: ClusterRole, name: edit}
subjects: [{kind: Group, name: g}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: b-cluster-admin, namespace: shop}
roleRef: {kind: ClusterRole, name: cluster-admin}
subjects: [{kind: Group, name: g}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: b-other}
roleRef: {kind: ClusterRole, name: system:auth-delegator}
subjects: [{kind: Group, name: g}]
"""


def test_built_in_roles_as_the_bootstrap_policy_defines_them(tmp_path):
    model = _model(tmp_path, BUILTIN_BINDINGS)

    def binding(key):
        return model[f"k8s:{key}"].fields

    assert binding("ClusterRoleBinding/b-cluster-admin")["capabilities"] == ALL
    # admin adds RBAC objects to edit, but not the escalate or bind verbs
    assert binding("ClusterRoleBinding/b-admin")["capabilities"] == EDIT
    assert binding("ClusterRoleBinding/b-edit")["capabilities"] == EDIT
    assert binding("ClusterRoleBinding/b-view")["capabilities"] == []
    assert binding("ClusterRoleBinding/b-edit")["role_text"] == "built-in ClusterRole edit"
    # in a namespace: no aws-auth (not kube-system); ServiceAccounts are still impersonated
    assert binding("shop/RoleBinding/b-edit")["capabilities"] == EDIT[:-1]
    assert binding("shop/RoleBinding/b-edit")["grants_text"].endswith(
        "impersonate (impersonate on serviceaccounts); create_tokens (create on "
        "serviceaccounts/token)"
    )
    assert binding("shop/RoleBinding/b-cluster-admin")["capabilities"] == [
        "cluster_admin",
        "read_secrets",
        "create_workloads",
        "exec_pods",
        "escalate_bind",
        "impersonate",
        "create_tokens",
    ]
    other = binding("ClusterRoleBinding/b-other")
    assert isinstance(other["capabilities"], Unknown)
    assert other["role_text"] == "ClusterRole system:auth-delegator (not in the scan)"


AGGREGATION = """
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: crd-view
  labels: {rbac.authorization.k8s.io/aggregate-to-view: "true"}
rules:
  - {apiGroups: [""], resources: [nodes/proxy], verbs: [get]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: crd-admin
  labels: {rbac.authorization.k8s.io/aggregate-to-admin: "true"}
rules:
  - {apiGroups: [rbac.authorization.k8s.io], resources: [roles], verbs: [escalate]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: team}
aggregationRule:
  clusterRoleSelectors:
    - matchLabels: {rbac.authorization.k8s.io/aggregate-to-edit: "true"}
rules:
  - {apiGroups: ["*"], resources: ["*"], verbs: ["*"]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: loop-a, labels: {loop: a}}
aggregationRule:
  clusterRoleSelectors: [{matchLabels: {loop: b}}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: loop-b, labels: {loop: b}}
aggregationRule:
  clusterRoleSelectors: [{matchLabels: {loop: a}}, {matchLabels: {leaf: "yes"}}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: leaf, labels: {leaf: "yes"}}
rules:
  - {apiGroups: [""], resources: [serviceaccounts/token], verbs: [create]}
"""


def test_aggregation_into_built_in_and_scanned_roles(tmp_path):
    model = _model(tmp_path, AGGREGATION)

    def role(name):
        return model[f"k8s:ClusterRole/{name}"]

    # the built-in edit selects aggregate-to-edit: system:aggregate-to-edit and view, which
    # has crd-view; the role's own written rules are replaced by the aggregated ones
    team = role("team")
    assert team.fields["capabilities"] == [*EDIT[:3], "node_proxy", *EDIT[3:]]
    assert team.links == {"aggregated_roles": ["k8s:ClusterRole/crd-view"]}
    # a cycle of aggregated roles converges on what they reach
    assert role("loop-a").fields["capabilities"] == ["create_tokens"]
    assert role("loop-b").fields["capabilities"] == ["create_tokens"]
    assert role("loop-a").links == {"aggregated_roles": ["k8s:ClusterRole/leaf"]}


def test_aggregate_to_edit_flows_into_admin_and_to_view_into_both(tmp_path):
    bindings = "\n---\n".join(
        f"apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\n"
        f"metadata: {{name: b-{name}}}\nroleRef: {{kind: ClusterRole, name: {name}}}\n"
        "subjects: [{kind: Group, name: g}]"
        for name in ("admin", "edit", "view")
    )
    model = _model(tmp_path, AGGREGATION + "---\n" + bindings)
    caps = {
        name: model[f"k8s:ClusterRoleBinding/b-{name}"].fields["capabilities"]
        for name in ("admin", "edit", "view")
    }
    assert caps["view"] == ["node_proxy"]
    assert caps["edit"] == [*EDIT[:3], "node_proxy", *EDIT[3:]]
    assert caps["admin"] == [*EDIT[:3], "node_proxy", "escalate_bind", *EDIT[3:]]
    admin = model["k8s:ClusterRoleBinding/b-admin"]
    assert admin.links == {
        "node_proxy_rules": ["k8s:ClusterRole/crd-view/rule[0]"],
        "escalate_bind_rules": ["k8s:ClusterRole/crd-admin/rule[0]"],
    }


SERVICE_ACCOUNTS = """
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: exec, namespace: shop}
rules:
  - {apiGroups: [""], resources: [pods/exec], verbs: [create]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: exec, namespace: shop}
roleRef: {kind: Role, name: exec}
subjects:
  - {kind: ServiceAccount, name: cart}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: all-accounts-edit}
roleRef: {kind: ClusterRole, name: edit}
subjects:
  - {kind: Group, name: "system:serviceaccounts:shop"}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: as-user, namespace: kube-system}
roleRef: {kind: ClusterRole, name: edit}
subjects:
  - {kind: User, name: "system:serviceaccount:web:front"}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: cart, namespace: shop}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: front, namespace: web}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: quiet, namespace: web}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: cart, namespace: shop}
spec:
  template:
    spec:
      serviceAccountName: cart
      containers: [{name: c, image: c}]
"""


def test_service_accounts_and_pods_hold_what_their_bindings_give(tmp_path):
    model = _model(tmp_path, SERVICE_ACCOUNTS)
    cart = model["k8s:shop/ServiceAccount/cart"]
    # the RoleBinding's subject has no namespace: it is in the binding's
    assert model["k8s:shop/RoleBinding/exec"].fields["capabilities"] == ["exec_pods"]
    assert cart.fields["capabilities"] == EDIT
    assert cart.fields["cluster_capabilities"] == EDIT
    assert cart.links == {
        "bindings": ["k8s:shop/RoleBinding/exec", "k8s:ClusterRoleBinding/all-accounts-edit"]
    }
    front = model["k8s:web/ServiceAccount/front"]
    # a binding of the ServiceAccount's user name, in kube-system: aws-auth too
    assert front.fields["capabilities"] == EDIT
    assert front.fields["cluster_capabilities"] == []
    assert model["k8s:web/ServiceAccount/quiet"].fields["capabilities"] == []
    pod = model["k8s:shop/Deployment/cart"]
    assert pod.fields["service_account_cluster_capabilities"] == EDIT
    assert pod.fields["service_account_grants"] == [
        "RoleBinding shop/exec: exec_pods in namespace shop through Role shop/exec",
        "ClusterRoleBinding all-accounts-edit: " + ", ".join(EDIT) + " cluster-wide through "
        "built-in ClusterRole edit",
    ]
    assert pod.links["token_bindings"] == cart.links["bindings"]
    assert pod.links["token_roles"] == ["k8s:shop/Role/exec"]


def test_a_scanned_cluster_role_hides_the_built_in_one_of_its_name(tmp_path):
    model = _model(
        tmp_path,
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: edit}\n"
        "rules: [{apiGroups: [''], resources: [pods], verbs: [get]}]\n---\n"
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\n"
        "metadata: {name: b}\nroleRef: {kind: ClusterRole, name: edit}\n"
        "subjects: [{kind: Group, name: g}]\n",
    )
    binding = model["k8s:ClusterRoleBinding/b"]
    assert (binding.fields["capabilities"], binding.fields["role_text"]) == ([], "ClusterRole edit")
    assert binding.links == {"role": ["k8s:ClusterRole/edit"]}


def test_aggregation_work_is_bounded(tmp_path, monkeypatch):
    """Aggregated ClusterRoles that all select each other (an empty selector matches every
    ClusterRole): past the work bound, what they grant is unknown instead of a long wait."""
    from checks import link

    monkeypatch.setattr(link, "MAX_AGGREGATION_STEPS", 40_000)
    roles = "\n---\n".join(
        f"apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {{name: r{i}}}\n"
        "aggregationRule: {clusterRoleSelectors: [{}]}"
        for i in range(100)
    )
    model = _model(tmp_path, roles)
    found = [model[f"k8s:ClusterRole/r{i}"].fields["capabilities"] for i in range(100)]
    # the first roles are resolved: every built-in role, cluster-admin included
    assert found[0] == ALL
    assert isinstance(found[-1], Unknown)
    assert found[-1].reason == "too many aggregated ClusterRoles to resolve"


def _findings(path, select):
    from conftest import run

    result = run([path], select=select)
    assert result.problems == []
    return sorted(result.findings, key=lambda f: (f.rule_id, f.location.start_line))


def _where(location) -> tuple:
    return (location.file.rsplit("/", 1)[-1], location.start_line, location.end_line)


def test_a_binding_finding_names_subjects_capability_scope_and_role_and_points_at_the_rule(
    tmp_path,
):
    (tmp_path / "rbac.yaml").write_text(
        "apiVersion: rbac.authorization.k8s.io/v1\n"
        "kind: ClusterRole\n"
        "metadata: {name: reader}\n"
        "rules:\n"
        "  - apiGroups: ['']\n"
        "    resources: [configmaps]\n"
        "    verbs: [get]\n"
        "  - apiGroups: ['']\n"
        "    resources: [secrets, pods/exec]\n"
        "    verbs: [get, create]\n"
        "---\n"
        "apiVersion: rbac.authorization.k8s.io/v1\n"
        "kind: ClusterRoleBinding\n"
        "metadata: {name: reader}\n"
        "roleRef: {kind: ClusterRole, name: reader}\n"
        "subjects:\n"
        "  - {kind: Group, name: 'system:masters'}\n"
        "  - {kind: ServiceAccount, name: app, namespace: shop}\n"
        "  - {kind: User, name: 'eks:bot'}\n"
        "  - {kind: Group, name: devs}\n"
        "---\n"
        "apiVersion: rbac.authorization.k8s.io/v1\n"
        "kind: RoleBinding\n"
        "metadata: {name: devs, namespace: kube-system}\n"
        "roleRef: {kind: ClusterRole, name: edit}\n"
        "subjects:\n"
        "  - {kind: Group, name: devs}\n"
    )
    found = _findings(tmp_path, {"EKS604", "EKS606", "EKS612"})
    assert [(f.rule_id, _where(f.location)) for f in found] == [
        ("EKS604", ("rbac.yaml", 18, 18)),
        ("EKS606", ("rbac.yaml", 18, 18)),
        ("EKS606", ("rbac.yaml", 27, 27)),
        ("EKS612", ("rbac.yaml", 27, 27)),
    ]
    read = found[0]
    assert read.message == (
        "ClusterRoleBinding reader lets [ServiceAccount shop/app, Group devs] read every Secret "
        "in every namespace (read_secrets cluster-wide) through ClusterRole reader; in all it "
        "grants read_secrets (get on secrets); exec_pods (get, create on pods/exec)"
    )
    assert [(_where(r.location), r.message) for r in read.related] == [
        (
            ("rbac.yaml", 8, 10),
            "ClusterRole reader, rule 1: [get, create] on [secrets, pods/exec] (read_secrets)",
        )
    ]
    aws_auth = found[3]
    assert aws_auth.message.startswith(
        "RoleBinding kube-system/devs lets [Group devs] edit the aws-auth ConfigMap "
        "(edit_aws_auth: write configmaps in namespace kube-system), and so map any IAM "
        "principal to system:masters, through built-in ClusterRole edit; in all it grants "
        "read_secrets (get, list, watch on secrets); "
    )
    assert aws_auth.message.endswith("edit_aws_auth (create, patch, update on configmaps)")
    # a built-in role has no place in the repository to point at
    assert aws_auth.related == []


def test_a_pod_finding_points_at_the_binding_and_the_role(tmp_path):
    (tmp_path / "app.yaml").write_text(
        "apiVersion: rbac.authorization.k8s.io/v1\n"
        "kind: Role\n"
        "metadata: {name: tokens, namespace: ci}\n"
        "rules: [{apiGroups: [''], resources: [serviceaccounts/token], verbs: [create]}]\n"
        "---\n"
        "apiVersion: rbac.authorization.k8s.io/v1\n"
        "kind: RoleBinding\n"
        "metadata: {name: tokens, namespace: ci}\n"
        "roleRef: {kind: Role, name: tokens}\n"
        "subjects: [{kind: ServiceAccount, name: runner}]\n"
        "---\n"
        "apiVersion: v1\n"
        "kind: Pod\n"
        "metadata: {name: runner, namespace: ci}\n"
        "spec:\n"
        "  serviceAccountName: runner\n"
        "  containers: [{name: r, image: r}]\n"
    )
    (finding,) = _findings(tmp_path, {"EKS704"})
    assert _where(finding.location) == ("app.yaml", 16, 16)
    assert finding.message == (
        "Pod ci/runner mounts the token of ServiceAccount ci/runner, which scanned bindings "
        "give [RoleBinding ci/tokens: create_tokens in namespace ci through Role ci/tokens]: "
        "whoever compromises the pod holds the same"
    )
    assert [(_where(r.location), r.message) for r in finding.related] == [
        (
            ("app.yaml", 6, 10),
            "RoleBinding ci/tokens gives [create_tokens] in namespace ci through Role ci/tokens",
        ),
        (("app.yaml", 1, 4), "Role ci/tokens grants [create_tokens]"),
    ]


def test_an_aggregated_role_gets_the_labelled_roles_of_its_own_environment(tmp_path):
    # one aggregated ClusterRole and one labelled ClusterRole by name in each environment
    # directory: of copies of the labelled role, the nearest is aggregated, as a binding finds
    # its role (prod's reads secrets, dev's execs in pods)
    for env, resource, verb in (("prod", "secrets", "get"), ("dev", "pods/exec", "create")):
        folder = tmp_path / "envs" / env
        folder.mkdir(parents=True)
        (folder / "rbac.yaml").write_text(
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\n"
            "metadata: {name: monitoring}\naggregationRule:\n  clusterRoleSelectors:\n"
            "    - matchLabels: {acme.io/monitoring: 'true'}\nrules: []\n---\n"
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\n"
            "metadata: {name: metrics, labels: {acme.io/monitoring: 'true'}}\n"
            f"rules:\n  - {{apiGroups: [''], resources: [{resource}], verbs: [{verb}]}}\n---\n"
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\n"
            "metadata: {name: monitoring}\nroleRef: {kind: ClusterRole, name: monitoring}\n"
            "subjects: [{kind: Group, name: monitoring}]\n"
        )
    files, _ = discover([str(tmp_path)], classify)
    entities, problems, *_ = build(files, Options(prefilter=False, roots=[str(tmp_path)]))
    assert problems == []
    found = {
        (e.fields["object_kind"], Path(e.location.file).relative_to(tmp_path).as_posix()): (
            e.fields["capabilities"],
            e.links,
        )
        for e in entities
        if e.kind in ("rbac_role", "rbac_binding") and e.fields["name"] == "monitoring"
    }
    metrics = {"aggregated_roles": ["k8s:ClusterRole/metrics"]}
    role = {"role": ["k8s:ClusterRole/monitoring"]}
    assert found == {
        ("ClusterRole", "envs/prod/rbac.yaml"): (["read_secrets"], metrics),
        ("ClusterRole", "envs/dev/rbac.yaml"): (["exec_pods"], metrics),
        ("ClusterRoleBinding", "envs/prod/rbac.yaml"): (
            ["read_secrets"],
            {**role, "read_secrets_rules": ["k8s:ClusterRole/metrics/rule[0]"]},
        ),
        ("ClusterRoleBinding", "envs/dev/rbac.yaml"): (
            ["exec_pods"],
            {**role, "exec_pods_rules": ["k8s:ClusterRole/metrics/rule[0]"]},
        ),
    }


def test_the_built_in_roles_file_is_yaml_that_json_reads_alike():
    """The built-in ClusterRoles are read without a YAML parser (YAML's JSON form under a
    header of comments): a YAML reader finds the same seven objects in the file."""
    import yaml

    doc = yaml.safe_load(rbac.DATA.read_text(encoding="utf-8"))
    names = [item["metadata"]["name"] for item in doc["items"]]
    assert names == [
        "admin",
        "cluster-admin",
        "edit",
        "system:aggregate-to-admin",
        "system:aggregate-to-edit",
        "system:aggregate-to-view",
        "view",
    ]
    builtins = rbac.builtin_cluster_roles()
    assert list(builtins) == names
    for item in doc["items"]:
        role = builtins[item["metadata"]["name"]]
        assert role.labels == rbac.label_pairs(item["metadata"].get("labels"))
        assert role.rules == [rbac.rule_fields(r) for r in item.get("rules") or []]
