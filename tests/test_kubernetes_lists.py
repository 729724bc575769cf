"""Kubernetes lists as kubectl and the API write them: `kind: List` with items of their own
kinds, and typed lists (`RoleList`...) whose items carry no apiVersion or kind."""

from __future__ import annotations

import json

from conftest import cli, run


def _model(path) -> list[dict]:
    code, out, _ = cli("model", str(path))
    assert code == 0
    return json.loads(out)["entities"]


def test_typed_list_items_take_the_lists_kind_and_keep_their_lines(in_tmp):
    (in_tmp / "rbac.yaml").write_text(
        "apiVersion: rbac.authorization.k8s.io/v1\n"
        "kind: ClusterRoleBindingList\n"
        "items:\n"
        "  - metadata:\n"
        "      name: ops\n"
        "    roleRef: {kind: ClusterRole, name: cluster-admin}\n"
        "    subjects: [{kind: Group, name: ops}]\n"
        "  - apiVersion: rbac.authorization.k8s.io/v1\n"
        "    kind: RoleBinding\n"
        "    metadata: {name: own-kind, namespace: ci}\n"
        "    roleRef: {kind: ClusterRole, name: cluster-admin}\n"
        "    subjects: [{kind: Group, name: ci}]\n"
        "---\n"
        "apiVersion: v1\n"
        "kind: List\n"
        "items:\n"
        "  - metadata: {name: no-kind-in-a-plain-list}\n"
    )
    entities = _model(in_tmp / "rbac.yaml")
    assert [(e["key"], e["location"]["start_line"]) for e in entities] == [
        ("k8s:ClusterRoleBinding/ops", 4),
        ("k8s:ci/RoleBinding/own-kind", 8),
    ]
    assert _lines(in_tmp / "rbac.yaml", "EKS602") == [7, 12]


def _lines(path, rule_id) -> list[int]:
    return [f.location.start_line for f in run([path]).findings if f.rule_id == rule_id]


def test_a_typed_list_of_workloads_and_of_configmaps_from_the_raw_api(in_tmp):
    deployments = {
        "kind": "DeploymentList",
        "apiVersion": "apps/v1",
        "metadata": {"resourceVersion": "1"},
        "items": [
            {
                "metadata": {"name": "web", "namespace": "shop"},
                "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}},
            }
        ],
    }
    config_maps = {
        "kind": "ConfigMapList",
        "apiVersion": "v1",
        "items": [
            {
                "metadata": {"name": "aws-auth", "namespace": "kube-system"},
                "data": {"mapUsers": "- userarn: arn:aws:iam::111122223333:user/ci\n"},
            }
        ],
    }
    (in_tmp / "deployments.json").write_text(json.dumps(deployments))
    (in_tmp / "configmaps.json").write_text(json.dumps(config_maps, indent=1))
    keys = sorted(e["key"] for e in _model(in_tmp))
    assert keys == [
        "k8s:kube-system/ConfigMap/aws-auth",
        "k8s:kube-system/ConfigMap/aws-auth/mapUsers[0]",
        "k8s:shop/Deployment/web",
    ]
    assert _lines(in_tmp / "configmaps.json", "EKS502") == [11]
