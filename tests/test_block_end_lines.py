"""A YAML block (a mapping or a list written one item a line) ends on the line of its last
value, not on the line of the key or item after it: the parser's end mark sits on that next
token, also when it is indented (`- apiGroups` of the next rule, `userarn:` after `groups:`)."""

from __future__ import annotations

from checks.parse.yamlsafe import load_all
from conftest import run


def _found(result) -> list[tuple[str, int, int]]:
    return sorted((f.rule_id, f.location.start_line, f.location.end_line) for f in result.findings)


def test_a_rule_followed_by_another_ends_on_its_last_line(tmp_path):
    (tmp_path / "role.yaml").write_text(
        "apiVersion: rbac.authorization.k8s.io/v1\n"
        "kind: ClusterRole\n"
        "metadata:\n"
        "  name: deployer\n"
        "rules:\n"
        '  - apiGroups: ["apps"]\n'
        '    resources: ["deployments"]\n'
        "    verbs:\n"
        '      - "*"\n'
        '  - apiGroups: [""]\n'
        '    resources: ["pods"]\n'
        '    verbs: ["get"]\n'
    )
    result = run([tmp_path], select={"EKS603"})
    assert result.problems == []
    assert _found(result) == [("EKS603", 6, 9)]


def test_aws_auth_groups_written_before_the_arn_end_before_it(tmp_path):
    (tmp_path / "aws-auth.yaml").write_text(
        "apiVersion: v1\n"
        "kind: ConfigMap\n"
        "metadata:\n"
        "  name: aws-auth\n"
        "  namespace: kube-system\n"
        "data:\n"
        "  mapUsers: |\n"
        "    - groups:\n"
        "      - system:masters\n"
        "      userarn: arn:aws:iam::111122223333:user/ana\n"
        "      username: ana\n"
        "    - groups:\n"
        "        - system:masters\n"
        "\n"
        "      userarn: arn:aws:iam::111122223333:user/bo\n"
        "      username: bo\n"
    )
    result = run([tmp_path], select={"EKS501", "EKS502"})
    assert result.problems == []
    assert _found(result) == [
        ("EKS501", 8, 9),
        ("EKS501", 12, 13),
        ("EKS502", 10, 10),
        ("EKS502", 15, 15),
    ]


def test_eksctl_identity_mapping_groups_end_on_their_last_group(tmp_path):
    (tmp_path / "cluster.yaml").write_text(
        "apiVersion: eksctl.io/v1alpha5\n"
        "kind: ClusterConfig\n"
        "metadata:\n"
        "  name: shop\n"
        "  region: eu-west-1\n"
        "iamIdentityMappings:\n"
        "  - arn: arn:aws:iam::111122223333:role/Admin\n"
        "    groups:\n"
        "      - system:masters\n"
        "    # who runs the cluster\n"
        "    username: admin\n"
    )
    result = run([tmp_path], select={"EKS501"})
    assert result.problems == []
    assert _found(result) == [("EKS501", 8, 9)]


def test_block_lines_stop_at_the_last_value():
    (doc,) = load_all(
        "top:\n"
        "  first:\n"
        "    - a\n"
        "    - b: 1\n"
        "      c: 2\n"
        "\n"
        "  # a comment\n"
        "  second: [x,\n"
        "    y]\n"
        "  third: |\n"
        "    text\n"
        "  fourth: end\n"
    )
    top = doc["top"]
    assert doc.key_lines["top"] == (1, 12)
    assert (top.line, top.end_line) == (2, 12)
    assert top.key_lines == {
        "first": (2, 5),
        "second": (8, 9),
        "third": (10, 11),
        "fourth": (12, 12),
    }
    assert top["first"].item_lines == [(3, 3), (4, 5)]
    assert (top["first"].line, top["first"].end_line) == (3, 5)


def test_a_block_whose_last_value_is_an_alias_ends_where_it_is_written():
    # an alias's node is the anchor's, written earlier: the block ends where its end mark says
    (doc,) = load_all(
        "base: &base\n  x: 1\nchild:\n  y: 2\n  <<: *base\nlist:\n  - 2\n  - *base\nend: 1\n"
    )
    assert doc.key_lines["child"] == (3, 5)
    assert (doc["child"].line, doc["child"].end_line) == (4, 5)
    assert doc.key_lines["list"] == (6, 8)
    assert (doc["list"].line, doc["list"].end_line) == (7, 8)
