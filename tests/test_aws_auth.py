"""aws-auth read as the AWS IAM Authenticator reads it, and eksctl's iamIdentityMappings as
eksctl reads them: exact messages, lines and fields."""

from __future__ import annotations

import json

from checks.normalize import aws_auth
from conftest import cli, run

CONFIG_MAP = (
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\n"
)


def _findings(path, rule_id):
    return [
        (f.location.start_line, f.message) for f in run([path]).findings if f.rule_id == rule_id
    ]


def _model(path) -> list[dict]:
    code, out, _ = cli("model", str(path))
    assert code == 0
    return json.loads(out)["entities"]


def test_each_wrong_case_data_key_is_a_finding_naming_the_key_and_its_spelling(in_tmp):
    (in_tmp / "aws-auth.yaml").write_text(
        CONFIG_MAP + "data:\n"
        "  mapRoles: |\n"
        "    - rolearn: arn:aws:iam::111122223333:role/ops\n"
        "      groups: [ops]\n"
        "  MapUsers: |\n"
        "    - userarn: arn:aws:iam::111122223333:user/admin\n"
        "      groups: [system:masters]\n"
        "  mapaccounts: |\n"
        '    - "444455556666"\n'
    )
    assert _findings(in_tmp / "aws-auth.yaml", "EKS504") == [
        (
            10,
            "aws-auth: [data key MapUsers is not read (the authenticator reads mapUsers: data "
            "keys are case-sensitive), so its entries map no one]",
        ),
        (
            13,
            "aws-auth: [data key mapaccounts is not read (the authenticator reads mapAccounts: "
            "data keys are case-sensitive), so its entries map no one]",
        ),
    ]
    # nothing under a key that is not read maps anyone
    assert _findings(in_tmp / "aws-auth.yaml", "EKS501") == []
    assert _findings(in_tmp / "aws-auth.yaml", "EKS503") == []
    keys = [e for e in _model(in_tmp / "aws-auth.yaml") if e["kind"] == "aws_auth_key"]
    assert [(e["key"], e["fields"]["name"], e["fields"]["reads_as"]) for e in keys] == [
        ("k8s:kube-system/ConfigMap/aws-auth/data/MapUsers", "MapUsers", "mapUsers"),
        ("k8s:kube-system/ConfigMap/aws-auth/data/mapaccounts", "mapaccounts", "mapAccounts"),
    ]


def test_arns_mapped_twice_compare_case_insensitively_and_paths_make_another_arn(in_tmp):
    (in_tmp / "aws-auth.yaml").write_text(
        CONFIG_MAP + "data:\n"
        "  mapRoles: |\n"
        "    - rolearn: arn:aws:iam::111122223333:role/Users\n"
        "      groups: [a]\n"
        "    - rolearn: arn:aws:iam::111122223333:role/team/Users\n"
        "      groups: [a]\n"
        "    - roleArn: arn:aws:iam::111122223333:role/USERS\n"
        "      groups: [a]\n"
    )
    assert _findings(in_tmp / "aws-auth.yaml", "EKS504") == [
        (
            12,
            "aws-auth: [arn:aws:iam::111122223333:role/USERS is mapped twice (also at line 8 as "
            "arn:aws:iam::111122223333:role/Users)]",
        )
    ]
    assert [line for line, _ in _findings(in_tmp / "aws-auth.yaml", "EKS505")] == [10]


def test_of_two_spellings_of_a_key_the_last_in_byte_order_is_read():
    entry = {"RoleARN": "a", "rolearn": "b", "rOlEaRn": None, "Groups": None, "x": 1}
    # "RoleARN" < "rOlEaRn" < "rolearn"; a null sets no string but empties groups
    assert aws_auth.read_keys(entry, aws_auth.ENTRY_KEYS["role"]) == {
        "rolearn": "rolearn",
        "groups": "Groups",
    }
    assert aws_auth.read_keys({"RoleARN": "a", "rolearn": None}, ("rolearn",)) == {
        "rolearn": "RoleARN"
    }


def test_keys_fold_one_character_at_a_time_as_go_compares_field_names():
    assert aws_auth.fold("U\u017fer\u0041rn") == "userarn"  # the long s folds to s
    assert aws_auth.fold("permi\u00dfionSetName") != "permissionsetname"  # sharp s is not ss


def test_values_that_hold_nothing_map_nothing_and_break_nothing(in_tmp):
    """What the authenticator skips, trimmed of Unicode white space: nothing, `""`, `''`."""
    empty = ["", '""', "''", "``", " \t\n", "\u00a0\u3000\u2028'' "]
    maps = ("mapRoles", "mapUsers", "mapAccounts")
    documents = [
        CONFIG_MAP
        + "data:\n"
        + "".join(f"  {k}: {json.dumps(v)}\n" for k, v in zip(maps, part, strict=True))
        for part in (empty[:3], empty[3:])
    ]
    (in_tmp / "aws-auth.yaml").write_text("---\n".join(documents))
    entities = _model(in_tmp / "aws-auth.yaml")
    assert [e["kind"] for e in entities] == ["aws_auth_document", "aws_auth_document"]
    assert [e["fields"]["problems"] for e in entities] == [[], []]
    assert run([in_tmp]).findings == []


def test_a_value_that_is_a_quoted_empty_string_inside_is_not_empty(in_tmp):
    """`'""'` is read as the YAML string `""`, not a list: the authenticator fails on it."""
    (in_tmp / "aws-auth.yaml").write_text(CONFIG_MAP + 'data:\n  mapRoles: "\'\\"\\"\'"\n')
    assert _findings(in_tmp / "aws-auth.yaml", "EKS504") == [
        (7, "aws-auth: [mapRoles is not a YAML list]")
    ]


def test_an_sso_entry_maps_its_permission_set_roles(in_tmp):
    (in_tmp / "aws-auth.yaml").write_text(
        CONFIG_MAP + "data:\n"
        "  mapRoles: |\n"
        "    - SSO:\n"
        "        PermissionSetName: AdministratorAccess\n"
        '        AccountID: "012345678912"\n'
        "      groups: [system:masters]\n"
    )
    (entry,) = [e for e in _model(in_tmp / "aws-auth.yaml") if e["kind"] == "identity_mapping"]
    assert entry["fields"]["principal_arn"] == (
        "arn:aws:iam::012345678912:role/AWSReservedSSO_AdministratorAccess_*"
    )
    assert entry["fields"]["role_name"] == "AWSReservedSSO_AdministratorAccess_*"
    assert entry["fields"]["problems"] == []
    assert _findings(in_tmp / "aws-auth.yaml", "EKS501") == [
        (
            11,
            "aws-auth maps arn:aws:iam::012345678912:role/AWSReservedSSO_AdministratorAccess_* "
            "to group system:masters: it bypasses RBAC and cannot be limited or audited by RBAC",
        )
    ]


def test_a_one_line_map_value_holds_its_entries_on_its_line(in_tmp):
    """A JSON manifest writes mapRoles as one string: every entry, and what a finding points
    at inside it, is on that string's line, not on the lines after it."""
    manifest = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "aws-auth", "namespace": "kube-system"},
        "data": {
            "mapRoles": "- groups:\n  - system:masters\n  rolearn: "
            "arn:aws:iam::111122223333:role/team/Admin\n  username: admin\n",
            "mapAccounts": '- "444455556666"\n- "555566667777"\n',
        },
    }
    (in_tmp / "aws-auth.json").write_text(json.dumps(manifest, indent=2))
    findings = sorted(
        (f.rule_id, f.location.start_line, f.location.end_line) for f in run([in_tmp]).findings
    )
    assert findings == [
        ("EKS501", 9, 9),
        ("EKS503", 10, 10),
        ("EKS503", 10, 10),
        ("EKS505", 9, 9),
    ]


def test_each_account_is_a_mapping_of_its_own(in_tmp):
    (in_tmp / "aws-auth.yaml").write_text(
        CONFIG_MAP + 'data:\n  mapAccounts: |\n    - "444455556666"\n    - 555566667777\n'
    )
    entities = _model(in_tmp / "aws-auth.yaml")
    accounts = [e for e in entities if e["kind"] == "identity_mapping"]
    assert [(e["key"], e["location"]["start_line"], e["fields"]["account"]) for e in accounts] == [
        ("k8s:kube-system/ConfigMap/aws-auth/mapAccounts[0]", 8, "444455556666"),
        ("k8s:kube-system/ConfigMap/aws-auth/mapAccounts[1]", 9, "555566667777"),
    ]
    assert {e["fields"]["principal_type"] for e in accounts} == {"account"}
    (document,) = [e for e in entities if e["kind"] == "aws_auth_document"]
    assert document["fields"]["accounts"] == ["444455556666", "555566667777"]
    assert document["item_lines"] == {"accounts": [[8, 8], [9, 9]]}
    assert _findings(in_tmp / "aws-auth.yaml", "EKS503") == [
        (
            8,
            "aws-auth mapAccounts maps every IAM user and role of account 444455556666 into "
            "the cluster",
        ),
        (
            9,
            "aws-auth mapAccounts maps every IAM user and role of account 555566667777 into "
            "the cluster",
        ),
    ]


EKSCTL = "apiVersion: eksctl.io/v1alpha5\nkind: ClusterConfig\nmetadata:\n  name: emr\n"


def test_an_eksctl_service_mapping_maps_the_services_own_role(in_tmp):
    (in_tmp / "cluster.yaml").write_text(
        EKSCTL + "iamIdentityMappings:\n"
        "  - serviceName: emr-containers\n"
        "    namespace: spark\n"
        '  - account: "444455556666"\n'
    )
    mappings = [e for e in _model(in_tmp / "cluster.yaml") if e["kind"] == "identity_mapping"]
    service, account = mappings
    assert service["key"] == "eksctl:cluster.yaml:emr/iamIdentityMappings/mapRoles[0]"
    assert service["location"]["start_line"] == 6
    assert service["fields"]["username"] == "emr-containers"
    assert service["fields"]["role_name"] == "AWSServiceRoleForAmazonEMRContainers"
    assert service["fields"]["problems"] == []
    assert service["unknown"] == {
        "principal_arn": "arn:aws:iam::<cluster account>:role/AWSServiceRoleForAmazonEMRContainers"
    }
    assert account["fields"]["account"] == "444455556666"
    assert account["field_lines"]["account"] == [8, 8]
    assert _findings(in_tmp / "cluster.yaml", "EKS504") == []


def test_eksctl_messages_name_eksctls_own_keys(in_tmp):
    (in_tmp / "cluster.yaml").write_text(
        EKSCTL + "iamIdentityMappings:\n"
        "  - rolearn: arn:aws:iam::111122223333:role/ops\n"
        "    groups: [ops]\n"
        "  - arn: arn:aws:iam::111122223333:role/ops\n"
        "  - arn: arn:aws:iam::111122223333:policy/ops\n"
        "    username: ops\n"
    )
    assert _findings(in_tmp / "cluster.yaml", "EKS504") == [
        (6, "aws-auth: [arn is missing]"),
        (8, "aws-auth: [neither username nor groups is set: eksctl refuses the mapping]"),
        (
            9,
            'aws-auth: [arn "arn:aws:iam::111122223333:policy/ops" is not a valid IAM role or '
            "user ARN]",
        ),
    ]


def test_a_written_value_a_message_quotes_is_shown_as_written_in_double_quotes(in_tmp):
    # a value with a quote or a backslash in it is shown as the file has it, the same way as
    # any other: no escapes doubled, no switch of quote character
    (in_tmp / "aws-auth.yaml").write_text(
        CONFIG_MAP + "data:\n"
        "  mapRoles: |\n"
        "    - rolearn: arn:aws:iam::111122223333:policy/ops\n"
        "      groups: [ops]\n"
        "    - rolearn: arn:aws:iam::111122223333:role/o'brien\n"
        "      groups: [ops]\n"
        "    - rolearn: 'arn:aws:iam::111122223333:role/a\\b'\n"
        "      groups: [ops]\n"
        "    - sso:\n"
        "        permissionSetName: bad name!\n"
        "        accountID: '1234'\n"
        "        partition: aws-moon\n"
        "      groups: [ops]\n"
        "  mapAccounts: |\n"
        "    - '12345'\n"
    )
    assert _findings(in_tmp / "aws-auth.yaml", "EKS504") == [
        (
            8,
            'aws-auth: [rolearn "arn:aws:iam::111122223333:policy/ops" is not a valid IAM role '
            "ARN]",
        ),
        (
            10,
            'aws-auth: [rolearn "arn:aws:iam::111122223333:role/o\'brien" is not a valid IAM '
            "role ARN]",
        ),
        (
            12,
            'aws-auth: [rolearn "arn:aws:iam::111122223333:role/a\\b" is not a valid IAM role ARN]',
        ),
        (
            14,
            'aws-auth: [sso accountID "1234" is not a 12-digit account ID, sso permissionSetName '
            '"bad name!" is not a permission set name, sso partition "aws-moon" is not an AWS '
            "partition]",
        ),
        (20, 'aws-auth: [mapAccounts item "12345" is not a 12-digit AWS account ID]'),
    ]


def test_an_eksctl_service_name_it_does_not_know_is_quoted_as_written(in_tmp):
    (in_tmp / "cluster.yaml").write_text(
        EKSCTL + "iamIdentityMappings:\n  - serviceName: emr\\s\n    namespace: spark\n"
    )
    [(line, message)] = _findings(in_tmp / "cluster.yaml", "EKS504")
    assert line == 6
    assert message.startswith('aws-auth: [serviceName "emr\\s" is not one eksctl knows (')


def test_a_map_known_only_after_apply_is_an_entry_not_known_counted_as_undecided(in_tmp):
    """A whole `map*` value Terraform knows only after apply (a variable without a value, a
    data source's output, as datacube-k8s-eks' `data.template_file.map_user_config.rendered`
    was before template_file was read)
    holds entries that may map anyone to system:masters: the checks of its entries are
    undecided, at the key, never silently passed (before: no entry, nothing counted)."""
    (in_tmp / "main.tf").write_text(
        'variable "roles" {\n  type = string\n}\n\n'
        'data "aws_ssm_parameter" "users" {\n  name = "/eks/map-users"\n}\n\n'
        'resource "kubernetes_config_map" "aws_auth" {\n'
        "  metadata {\n"
        '    name      = "aws-auth"\n'
        '    namespace = "kube-system"\n'
        "  }\n"
        "  data = {\n"
        "    mapRoles    = var.roles\n"
        "    mapUsers    = data.aws_ssm_parameter.users.value\n"
        "    mapAccounts = var.roles\n"
        "  }\n"
        "}\n"
    )
    result = run([in_tmp], select={"EKS501", "EKS502", "EKS503", "EKS504", "EKS505"})
    assert (result.findings, result.problems) == ([], [])
    assert sorted((s.rule_id, s.location.start_line, s.reasons) for s in result.skipped) == [
        ("EKS501", 15, ["var.roles has no default"]),
        ("EKS501", 16, ["data.aws_ssm_parameter.users.value is not known before apply"]),
        ("EKS502", 16, ["data.aws_ssm_parameter.users.value is not known before apply"]),
        ("EKS503", 17, ["var.roles has no default"]),
        ("EKS504", 15, ["var.roles has no default"]),
        ("EKS504", 16, ["data.aws_ssm_parameter.users.value is not known before apply"]),
        ("EKS505", 15, ["var.roles has no default"]),
    ]


def test_a_map_value_that_is_not_a_string_is_named_in_yamls_words(in_tmp):
    """A ConfigMap's data values are strings: a mapping, a number or a boolean under a map*
    key is EKS504, named as YAML names it (before: Python's type names, `not LDict`, `not
    float`); a key with no value (`mapRoles:`, null) holds no entries, as an empty one."""
    (in_tmp / "aws-auth.yaml").write_text(
        CONFIG_MAP + "data:\n  mapRoles:\n    a: 1\n  mapUsers: 1.5\n  mapAccounts: true\n"
        "---\n" + CONFIG_MAP + "data:\n  mapRoles:\n  mapUsers: ~\n"
    )
    assert _findings(in_tmp / "aws-auth.yaml", "EKS504") == [
        (
            7,
            "aws-auth: [mapRoles must be a YAML string holding a list, not a mapping, mapUsers "
            "must be a YAML string holding a list, not a number, mapAccounts must be a YAML "
            "string holding a list, not a boolean]",
        )
    ]


def test_a_user_entry_not_known_at_all_is_no_user_mapped_by_itself(in_tmp):
    """`concat(var.map_users, [...])` (terraform-aws-eks v17's own pattern): the variable's
    part may hold no entry, so the entry that stands for it maps no known user; its checks
    are undecided (before: EKS502 "maps IAM user var.more", a finding from an unknown)."""
    (in_tmp / "main.tf").write_text(
        'variable "more" {\n  type = list(any)\n}\n\n'
        'resource "kubernetes_config_map_v1" "aws_auth" {\n'
        "  metadata {\n"
        '    name      = "aws-auth"\n'
        '    namespace = "kube-system"\n'
        "  }\n"
        "  data = {\n"
        "    mapUsers = yamlencode(concat(var.more, [\n"  # 11
        "      {\n"
        '        userarn  = "arn:aws:iam::111122223333:user/ops"\n'  # 13
        '        username = "ops"\n'
        '        groups   = ["viewers"]\n'
        "      },\n"
        "    ]))\n"
        "  }\n"
        "}\n"
    )
    result = run([in_tmp], select={"EKS502", "EKS505"})
    assert result.problems == []
    assert [(f.rule_id, f.location.start_line, f.message) for f in result.findings] == [
        (
            "EKS502",
            13,
            "aws-auth maps IAM user arn:aws:iam::111122223333:user/ops: map a role that people "
            "assume instead",
        )
    ]
    assert sorted((s.rule_id, s.location.start_line, s.reasons) for s in result.skipped) == [
        ("EKS502", 11, ["var.more has no default"])
    ]


def test_mapaccounts_items_a_list_may_hold_are_undecided_items_it_holds_are_findings(in_tmp):
    """EKS503 fires when `mapAccounts` is not empty. `yamlencode([var.account])` holds one
    item whatever it is: a finding. The item that stands for what a `for` over a collection not
    known makes, or for the rest of a list known in part (`concat`), may stand for none: the
    check is undecided, not fired on the `for`'s variable as if it were an account."""
    (in_tmp / "main.tf").write_text(
        'variable "account" {}\n'
        'variable "accounts" {\n  type = list(string)\n}\n'
        + "".join(
            f'resource "kubernetes_config_map" "{name}" {{\n'
            "  metadata {\n"
            '    name      = "aws-auth"\n'
            '    namespace = "kube-system"\n'
            "  }\n"
            f"  data = {{\n    mapAccounts = yamlencode({accounts})\n  }}\n"
            "}\n"
            for name, accounts in (
                ("one", "[var.account]"),  # 11
                ("each", "[for a in var.accounts : a]"),  # 20
                ("rest", 'concat(["111122223333"], var.accounts)'),  # 29
            )
        )
    )
    result = run([in_tmp], select={"EKS503"})
    assert [(f.location.start_line, f.message) for f in result.findings] == [
        (
            11,
            "aws-auth mapAccounts maps every IAM user and role of account var.account into the "
            "cluster",
        ),
        (
            29,
            "aws-auth mapAccounts maps every IAM user and role of account 111122223333 into the "
            "cluster",
        ),
    ]
    assert sorted((s.location.start_line, s.reasons) for s in result.skipped) == [
        (20, ["var.accounts has no default"]),
        (29, ["var.accounts has no default"]),
    ]
