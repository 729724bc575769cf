"""A rule names only what the catalog of kinds declares: a misspelled field, location, link
or placeholder is refused at load and by `validate-policies`, with the file, the JSON path,
the bad name and the real ones, and every error of a file is reported. Parameters are typed
by their defaults: an operator they do not fit, or a configured value of another type, is an
error, not a TypeError or a rule that silently never fires."""

from __future__ import annotations

import json

import jsonschema
import pytest

from checks.rules import SCHEMA_PATH
from conftest import ROOT, cli

HEAD = "id: ACME{n:03}\nslug: acme-rule\ntitle: t\nseverity: high\nremediation: r\n"


def _rule(directory, body: str, n: int = 1) -> None:
    directory.mkdir(exist_ok=True)
    (directory / f"ACME{n:03}.yaml").write_text(HEAD.format(n=n) + body)


def _errors(in_tmp, body: str) -> list[str]:
    _rule(in_tmp / "p", body)
    code, out, err = cli("validate-policies", "p")
    assert (code, out) == (2, "0 of 1 rule files valid\n")
    return err.splitlines()


def test_misspelled_field_names_the_kinds_fields(in_tmp):
    assert _errors(
        in_tmp,
        "entity: instance_metadata\nwhen: {field: hop_limt, greater_than: 1}\nmessage: m\n",
    ) == [
        "p/ACME001.yaml: $.when.field: instance_metadata has no field 'hop_limt' (did you mean "
        "hop_limit or hop_limit_setting?); fields: address, module_dir, resource_type, name, http_tokens, http_endpoint, "
        "hop_limit, node_roles, pods_reach_imds, reaches_aws_admin, aws_admin_power, aws_admin_path, aws_admin_hops, http_tokens_setting, hop_limit_setting, call_path"
    ]


def test_every_error_of_a_file_is_reported(in_tmp):
    errors = _errors(
        in_tmp,
        "entity: instance_metadata\n"
        "when:\n  all:\n    - {field: hop_limit, greater_than: 1}\n"
        "    - {field: http_tokns, equals: optional}\n"
        "message: '{name} sets {hop_limt}'\n"
        "location: [hop_limit, metadata_option]\n"
        "related:\n  - {link: cluster, message: '{name}'}\n",
    )
    assert errors == [
        "p/ACME001.yaml: $.when.all[1].field: instance_metadata has no field 'http_tokns' (did "
        "you mean http_tokens or http_tokens_setting?); fields: address, module_dir, resource_type, name, http_tokens, "
        "http_endpoint, hop_limit, node_roles, pods_reach_imds, reaches_aws_admin, aws_admin_power, aws_admin_path, aws_admin_hops, http_tokens_setting, hop_limit_setting, call_path",
        "p/ACME001.yaml: $.message: {hop_limt} is neither a param nor a field of "
        "instance_metadata (did you mean hop_limit or hop_limit_setting?); its fields: address, module_dir, resource_type, name, "
        "http_tokens, http_endpoint, hop_limit, node_roles, pods_reach_imds, reaches_aws_admin, aws_admin_power, aws_admin_path, aws_admin_hops, http_tokens_setting, hop_limit_setting, call_path",
        "p/ACME001.yaml: $.location[1]: no field or block 'metadata_option' to point at (did you "
        "mean metadata_options?): instance_metadata has fields address, module_dir, resource_type, name, "
        "http_tokens, http_endpoint, hop_limit, node_roles, pods_reach_imds, reaches_aws_admin, aws_admin_power, aws_admin_path, aws_admin_hops, http_tokens_setting, hop_limit_setting, call_path and blocks metadata_options",
        "p/ACME001.yaml: $.related[0].link: instance_metadata has no link 'cluster'; its links: "
        "node_role_trust",
    ]


def test_related_message_names_fields_of_the_linked_kind(in_tmp):
    assert _errors(
        in_tmp,
        "entity: aws_auth_document\nwhen: {field: ignored_by_cluster, equals: true}\n"
        "message: m\nrelated:\n  - {link: cluster, message: 'cluster {cluster_nme}'}\n",
    ) == [
        "p/ACME001.yaml: $.related[0].message: {cluster_nme} is neither a param nor a field of "
        "cluster; its fields: address, module_dir, resource_type, module_major_version, name, "
        "endpoint_public_access, endpoint_private_access, public_access_cidrs, "
        "enabled_log_types, authentication_mode, bootstrap_cluster_creator_admin_permissions, "
        "auto_mode, endpoint_private_access_setting, authentication_mode_setting, "
        "bootstrap_cluster_creator_admin_permissions_setting, call_path"
    ]


def test_a_rule_on_several_kinds_names_fields_each_of_them_has(in_tmp):
    assert _errors(
        in_tmp,
        "entity: [service_account, workload]\nwhen: {field: role_arn, exists: true}\n"
        "message: '{namespace}/{name}'\n",
    ) == [
        "p/ACME001.yaml: $.when.field: workload has no field 'role_arn'; fields: object_kind, "
        "name, namespace, qualified_name, module_dir, service_account_name, automount, "
        "projected_token_expirations, effective_automount, automount_source, "
        "service_account_capabilities, service_account_cluster_capabilities, "
        "service_account_grants, sts_legacy_endpoint_containers, root_containers, aws_role, "
        "reaches_aws_admin, aws_admin_power, aws_admin_path, aws_admin_hops, call_path "
        "(service_account has it)"
    ]


def test_quantifiers_test_the_fields_of_the_items(in_tmp):
    assert _errors(
        in_tmp,
        "entity: rbac_binding\nwhen:\n  all:\n"
        "    - {field: subjects, any_item: {field: nme, equals: x}}\n"
        "    - {field: subject_names, every_item: {field: kind, equals: User}}\n"
        "message: m\n",
    ) == [
        "p/ACME001.yaml: $.when.all[0].any_item.field: the items of rbac_binding.subjects have "
        "no field 'nme' (did you mean name?); fields: kind, name, namespace",
        "p/ACME001.yaml: $.when.all[1].every_item.field: the items of "
        "rbac_binding.subject_names are plain values with no field 'kind' (leave out `field` to "
        "test the item itself)",
    ]


def test_a_param_must_fit_its_operator(in_tmp):
    assert _errors(
        in_tmp,
        "entity: cluster\nparams: {limit: [1], names: main}\n"
        "when:\n  any:\n    - {field: name, greater_than: {param: limit}}\n"
        "    - {field: name, in: {param: names}}\n    - {field: name, equals: {param: nme}}\n"
        "message: m\n",
    ) == [
        "p/ACME001.yaml: $.when.any[0].greater_than: greater_than needs a number, but param "
        "'limit' is a list of integers",
        "p/ACME001.yaml: $.when.any[1].in: in needs a list, but param 'names' is a string",
        "p/ACME001.yaml: $.when.any[2].equals: unknown param 'nme' (did you mean names?) "
        "(params: limit, names)",
    ]


def test_a_scan_refuses_a_user_rule_with_an_unknown_field(in_tmp):
    _rule(in_tmp / "p", "entity: cluster\nwhen: {field: nmae, equals: x}\nmessage: m\n")
    code, out, err = cli("scan", ".", "--policy-dir", "p")
    assert (code, out) == (2, "")
    assert err == (
        "eks-checks: error: invalid policy: p/ACME001.yaml: $.when.field: cluster has no field "
        "'nmae' (did you mean name?); fields: address, module_dir, resource_type, module_major_version, "
        "name, endpoint_public_access, endpoint_private_access, public_access_cidrs, "
        "enabled_log_types, authentication_mode, bootstrap_cluster_creator_admin_permissions, "
        "auto_mode, endpoint_private_access_setting, authentication_mode_setting, "
        "bootstrap_cluster_creator_admin_permissions_setting, call_path\n"
    )


def test_correct_rules_on_items_and_several_kinds_load(in_tmp):
    _rule(
        in_tmp / "p",
        "entity: [service_account, pod_identity_association]\n"
        "when: {field: role_arn, exists: true}\nmessage: '{namespace} {role_arn}'\n"
        "location: [service_account, role_arn]\n",
    )
    _rule(
        in_tmp / "p",
        "entity: trust_statement\nparams: {ops: [StringLike]}\n"
        "when: {field: conditions, any_item: {field: operator, in: {param: ops}}}\n"
        "message: '{role_name}'\n",
        n=2,
    )
    assert cli("validate-policies", "p") == (0, "2 of 2 rule files valid\n", "")


@pytest.mark.parametrize(
    "override, line",
    [
        (
            "EKS103:\n    params:\n      required_log_types: 5",
            "$.rules.EKS103.params.required_log_types: must be a list of strings, like the "
            'default ["audit", "authenticator"], not 5',
        ),
        (
            "EKS406:\n    params:\n      source_condition_keys: null",
            "$.rules.EKS406.params.source_condition_keys: must be a list of strings, like the "
            'default ["aws:sourceaccount", "aws:sourcearn", "aws:sourceorgid", '
            '"aws:sourceorgpaths"], not null',
        ),
        (
            "EKS202:\n    params:\n      max_hop_limit: [1]",
            "$.rules.EKS202.params.max_hop_limit: must be an integer, like the default 1, not [1]",
        ),
        (
            "EKS202:\n    params:\n      max_hop_limit: true",
            "$.rules.EKS202.params.max_hop_limit: must be an integer, like the default 1, not true",
        ),
        (
            "EKS103:\n    params:\n      required_log_types: [audit, 5]",
            "$.rules.EKS103.params.required_log_types: must be a list of strings, like the "
            'default ["audit", "authenticator"], not ["audit", 5]',
        ),
    ],
)
def test_a_configured_param_of_another_type_is_an_error(in_tmp, override, line):
    (in_tmp / ".eks-checks.yaml").write_text(f"rules:\n  {override}\n")
    code, out, err = cli("scan", str(ROOT / "examples"))
    assert (code, out) == (2, "")
    assert err == f"eks-checks: error: invalid configuration: .eks-checks.yaml: {line}\n"


def test_every_wrong_param_of_the_configuration_is_reported(in_tmp):
    (in_tmp / ".eks-checks.yaml").write_text(
        "rules:\n  EKS103:\n    params:\n      required_log_types: 5\n"
        "  EKS401:\n    params:\n      guard_condition_keys: null\n"
    )
    code, _, err = cli("rules")
    assert code == 2
    assert [line.split(": ")[4] for line in err.splitlines()] == [
        "$.rules.EKS103.params.required_log_types",
        "$.rules.EKS401.params.guard_condition_keys",
    ]


def test_a_configured_param_of_its_type_still_applies(in_tmp):
    (in_tmp / "lt.tf").write_text(
        'resource "aws_launch_template" "n" {\n  metadata_options {\n'
        '    http_tokens = "required"\n    http_put_response_hop_limit = 3\n  }\n}\n'
    )
    (in_tmp / ".eks-checks.yaml").write_text(
        "rules:\n  EKS202:\n    params:\n      max_hop_limit: 2\n"
    )
    code, out, _ = cli("scan", ".")
    assert code == 1
    assert (
        "lt.tf:4  EKS202  high  aws_launch_template.n sets http_put_response_hop_limit = 3 (more than 2)"
        in out
    )


def test_the_generated_schema_refuses_what_the_catalog_refuses():
    """Editors and other tools that read rule.schema.json see the same names."""
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))
    rule = {
        "id": "ACME001",
        "slug": "s",
        "title": "t",
        "severity": "low",
        "remediation": "r",
        "message": "m",
        "entity": "rbac_binding",
        "when": {"field": "subjects", "any_item": {"field": "name", "equals": "x"}},
        "location": ["subjects"],
    }
    assert list(validator.iter_errors(rule)) == []
    bad_item = {**rule, "when": {"field": "subjects", "any_item": {"field": "nme", "equals": "x"}}}
    bad_field = {**rule, "when": {"field": "subject", "equals": "x"}}
    bad_location = {**rule, "location": ["subject"]}
    bad_link = {**rule, "related": [{"link": "cluster", "message": "m"}]}
    for bad in (bad_item, bad_field, bad_location, bad_link):
        assert list(validator.iter_errors(bad)), bad


def test_param_types_follow_their_defaults(in_tmp):
    _rule(
        in_tmp / "p",
        "entity: cluster\nparams: {ratio: 1.5, names: [], mixed: [a, 1]}\n"
        "when: {field: name, in: {param: names}}\nmessage: m\n",
    )
    code, _, err = cli("validate-policies", "p")
    assert code == 2
    assert err == (
        "p/ACME001.yaml: $.params.mixed: a default must be a string, a number, a boolean or a "
        "list of one of those\n"
    )
    _rule(
        in_tmp / "p",
        "entity: cluster\nparams: {ratio: 1.5, names: []}\n"
        "when: {field: name, in: {param: names}}\nmessage: m\n",
    )
    (in_tmp / ".eks-checks.yaml").write_text(
        "policy_dirs: [p]\nrules:\n  ACME001:\n    params:\n      ratio: 2\n      names: [a, 1]\n"
    )
    assert cli("rules")[0] == 0  # an integer is a number; a list of any values fits []
    (in_tmp / ".eks-checks.yaml").write_text(
        "policy_dirs: [p]\nrules:\n  ACME001:\n    params:\n      ratio: '2'\n"
    )
    code, _, err = cli("rules")
    assert (code, err) == (
        2,
        "eks-checks: error: invalid configuration: .eks-checks.yaml: "
        '$.rules.ACME001.params.ratio: must be a number, like the default 1.5, not "2"\n',
    )
