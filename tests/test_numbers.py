"""Numbers out of the usual range are values like any other: compared exactly however large,
or, past what can be read (more than 600 digits, infinities, NaN), unknown with a note naming
the line. Never an exception, in HCL, YAML and JSON alike."""

from __future__ import annotations

import json

import pytest

from conftest import cli

BIG = "9" * 400  # compared exactly
HUGE = "9" * 5000  # past Python's int/str conversion limit: unknown


def _launch_template(hop_limit: str) -> str:
    return (
        'resource "aws_launch_template" "n" {\n  metadata_options {\n'
        f'    http_tokens = "required"\n    http_put_response_hop_limit = {hop_limit}\n  }}\n}}\n'
    )


def _pod_yaml(seconds: str) -> str:
    return (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: n}\nspec:\n"
        "  automountServiceAccountToken: false\n  containers: [{name: c, image: i}]\n"
        "  volumes:\n  - name: t\n    projected:\n      sources:\n"
        f"      - serviceAccountToken: {{path: t, expirationSeconds: {seconds}}}\n"
    )


def _pod_json(seconds: str) -> str:
    return (
        '{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "n"},\n'
        '"spec": {"automountServiceAccountToken": false, "containers": [{"name": "c"}],\n'
        '"volumes": [{"name": "t", "projected": {"sources": [{"serviceAccountToken":\n'
        f'{{"path": "t", "expirationSeconds": {seconds}}}}}]}}}}]}}}}\n'
    )


# file name -> (content for a number, the rule it feeds, the line the number is on)
FORMS = {
    "main.tf": (_launch_template, "EKS202", 4),
    "pod.yaml": (_pod_yaml, "EKS304", 11),
    "pod.json": (_pod_json, "EKS304", 4),
}


def _scan(in_tmp, name: str, content: str, *args: str):
    (in_tmp / name).write_text(content)
    code, out, err = cli("scan", name, "--format", "json", *args)
    assert err == ""
    return code, json.loads(out)


@pytest.mark.parametrize("name", sorted(FORMS))
def test_a_400_digit_integer_is_compared_exactly(in_tmp, name):
    make, rule, line = FORMS[name]
    code, report = _scan(in_tmp, name, make(BIG))
    ((rule_id, start, message),) = [
        (f["rule_id"], f["location"]["start_line"], f["message"]) for f in report["findings"]
    ]
    assert (code, rule_id, start, report["problems"]) == (1, rule, line, [])
    assert BIG in message


@pytest.mark.parametrize(
    "hop_limit, fires", [(BIG, False), (BIG[:-1] + "8", False), ("1" + "0" * 400, True)]
)
def test_a_threshold_of_400_digits_is_exact(in_tmp, hop_limit, fires):
    """Converted to floats, all three would be equal."""
    (in_tmp / ".eks-checks.yaml").write_text(
        f"rules:\n  EKS202:\n    params:\n      max_hop_limit: {BIG}\n"
    )
    code, report = _scan(in_tmp, "main.tf", _launch_template(hop_limit))
    assert [f["rule_id"] for f in report["findings"]] == (["EKS202"] if fires else [])
    assert code == (1 if fires else 0)


def test_a_number_written_as_text_is_compared_exactly(in_tmp):
    code, report = _scan(in_tmp, "main.tf", _launch_template('"1.00000000000000000001"'))
    assert [f["rule_id"] for f in report["findings"]] == ["EKS202"]
    assert code == 1


# (the number as written, the note's wording)
UNREADABLE = {
    "main.tf": [
        (HUGE, f"the number {'9' * 20}...(5000 characters) has more than 600 digits"),
        ("1e999", "the number 1e999 is not a finite number"),
        ("-" + HUGE, f"the number -{'9' * 19}...(5001 characters) has more than 600 digits"),
    ],
    "pod.yaml": [
        (HUGE, f"the number {'9' * 20}...(5000 characters) has more than 600 digits"),
        (".inf", "the number .inf is not a finite number"),
        ("-.Inf", "the number -.Inf is not a finite number"),
        (".nan", "the number .nan is not a finite number"),
        ("0x" + "f" * 600, f"the number 0x{'f' * 18}...(602 characters) has more than 600 digits"),
        ("1.0e+999", "the number 1.0e+999 is not a finite number"),
    ],
    "pod.json": [
        (HUGE, f"the number {'9' * 20}...(5000 characters) has more than 600 digits"),
        ("1e999", "the number 1e999 is not a finite number"),
        ("NaN", "the number NaN is not a JSON number"),
        ("-Infinity", "the number -Infinity is not a JSON number"),
    ],
}


@pytest.mark.parametrize(
    "name, written, reason",
    [(name, w, r) for name, cases in sorted(UNREADABLE.items()) for w, r in cases],
)
def test_a_number_that_cannot_be_read_is_unknown_with_a_note(in_tmp, name, written, reason):
    make, rule, line = FORMS[name]
    code, report = _scan(in_tmp, name, make(written))
    assert report["findings"] == []
    assert report["problems"] == [
        {"file": name, "level": "note", "line": line, "message": f"{reason}: read as unknown"}
    ]
    (undecided,) = report["unknown"]
    assert (undecided["rule_id"], undecided["reasons"]) == (rule, [reason])
    assert code == 0


def test_out_of_range_numbers_in_variable_files_are_unknown_with_a_note(in_tmp):
    (in_tmp / "main.tf").write_text('variable "hop" {}\n' + _launch_template("var.hop"))
    (in_tmp / "terraform.tfvars").write_text(f"hop = {HUGE}\n")
    (in_tmp / "a.auto.tfvars.json").write_text('{\n  "hop": 1e999\n}\n')
    code, out, _ = cli("scan", ".", "--format", "json")
    report = json.loads(out)
    assert [(p["file"], p["line"], p["level"]) for p in report["problems"]] == [
        ("a.auto.tfvars.json", 2, "note"),
        ("terraform.tfvars", 1, "note"),
    ]
    assert report["findings"] == []
    assert code == 0


def test_a_number_string_past_any_exponent_is_undecided(in_tmp):
    hop_limit = '"1e99999999999999999999999"'
    code, report = _scan(in_tmp, "main.tf", _launch_template(hop_limit))
    (undecided,) = report["unknown"]
    assert undecided["reasons"] == [
        "1e99999999999999999999999 is not a number that can be compared"
    ]
    assert (code, report["findings"], report["problems"]) == (0, [], [])


@pytest.mark.parametrize(
    "text",
    [
        # a module version that no regex group can turn into an int: read as unpinned
        'module "eks" {\n  source = "terraform-aws-modules/eks/aws"\n'
        f'  version = "{HUGE}"\n  name = "c"\n}}\n',
        # an index too long to be an integer, in a heredoc and as a legacy index
        f'locals {{\n  l = ["a"]\n  s = <<EOT\n${{local.l[{HUGE}]}}\nEOT\n  t = local.l.{HUGE}\n}}\n'
        'resource "aws_eks_cluster" "c" {\n  name = "${local.s}${local.t}"\n}\n',
    ],
)
def test_huge_integers_elsewhere_in_terraform_are_no_crash(in_tmp, text):
    (in_tmp / "main.tf").write_text(text)
    code, out, err = cli("model", ".")
    model = json.loads(out)
    assert [e["kind"] for e in model["entities"]] == ["cluster"]
    assert (code, err) == (0, "")


def test_the_model_of_a_400_digit_number_is_json(in_tmp):
    (in_tmp / "main.tf").write_text(_launch_template(BIG))
    code, out, _ = cli("model", ".")
    (entity,) = json.loads(out)["entities"]
    assert entity["fields"]["hop_limit"] == int(BIG)
    assert code == 0


@pytest.mark.parametrize("digits", [700, 5000])
def test_a_hop_limit_written_as_a_long_string_of_digits_is_compared_exactly(in_tmp, digits):
    code, report = _scan(in_tmp, "main.tf", _launch_template(f'"{"9" * digits}"'))
    ((rule, message),) = [(f["rule_id"], f["message"]) for f in report["findings"]]
    assert (rule, code, report["problems"]) == ("EKS202", 1, [])
    assert "9" * digits in message
