"""What the tool writes can be neither broken nor turned against its reader: a write error or
a terminal that cannot show a character is one line and exit 2, never a traceback; no value
or file name starts a line that a terminal or GitHub's runner acts on; JSON is always JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import jsonschema
import pytest

from conftest import ROOT, cli, load_json

LAUNCH_TEMPLATE = (
    'resource "aws_launch_template" "n" {\n  metadata_options {\n'
    '    http_tokens = "required"\n    http_put_response_hop_limit = 2\n  }\n}\n'
)
FAKE_COMMAND = "a\n::error file=x::fake"


def _eks_checks(*args: str, cwd, stdout=subprocess.PIPE, env=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "checks", *args],
        cwd=cwd,
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def _strict_json(text: str):
    def refuse(constant: str):
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


# ---- item 21: write errors and encodings ------------------------------------------------------
@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize(
    "args",
    [
        ("scan", "lt.tf"),
        ("scan", "lt.tf", "--format", "json"),
        ("rules",),
        ("explain", "EKS202"),
        ("validate-policies", "p"),
    ],
)
def test_a_full_disk_is_one_line_and_exit_2(in_tmp, args):
    (in_tmp / "lt.tf").write_text(LAUNCH_TEMPLATE)
    (in_tmp / "p").mkdir()
    with open("/dev/full", "w") as full:
        proc = _eks_checks(*args, cwd=in_tmp, stdout=full)
    assert (proc.returncode, proc.stderr) == (
        2,
        "eks-checks: error: cannot write to standard output: No space left on device\n",
    )


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_an_output_file_that_cannot_be_written_is_one_line(in_tmp):
    (in_tmp / "lt.tf").write_text(LAUNCH_TEMPLATE)
    proc = _eks_checks("scan", "lt.tf", "--output", "/dev/full", cwd=in_tmp)
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr == "eks-checks: error: cannot write /dev/full: No space left on device\n"


def test_an_ascii_terminal_gets_escapes_never_a_traceback(in_tmp):
    (in_tmp / "p").mkdir()
    (in_tmp / "p" / "ACME001.yaml").write_text(
        "id: ACME001\nslug: acme\ntitle: Zugriff f\u00fcr alle \u2013 \u2603\nseverity: low\n"
        "entity: service_account\nwhen: {field: name, equals: caf\u00e9}\n"
        "message: 'ServiceAccount {name} \u2013 non-ASCII'\nremediation: r\n",
        encoding="utf-8",
    )
    (in_tmp / "sa.yaml").write_text(
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: caf\u00e9\n", encoding="utf-8"
    )
    ascii_terminal = {"PYTHONIOENCODING": "ascii"}
    proc = _eks_checks("rules", "--policy-dir", "p", cwd=in_tmp, env=ascii_terminal)
    assert (proc.returncode, proc.stderr) == (0, "")
    (line,) = [line for line in proc.stdout.splitlines() if line.startswith("ACME001  low")]
    assert line.endswith("  Zugriff f\\xfcr alle \\u2013 \\u2603")
    proc = _eks_checks(
        "scan", "sa.yaml", "--policy-dir", "p", "--select", "ACME", cwd=in_tmp, env=ascii_terminal
    )
    assert (proc.returncode, proc.stderr) == (1, "")
    assert "  sa.yaml:1  ACME001  low  ServiceAccount caf\\xe9 \\u2013 non-ASCII\n" in proc.stdout
    proc = _eks_checks("scan", "caf\u00e9.tf", cwd=in_tmp, env=ascii_terminal)
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr == "eks-checks: error: caf\\xe9.tf: no such file or directory\n"
    # --output files are UTF-8 whatever the terminal
    proc = _eks_checks(
        "scan", "sa.yaml", "--policy-dir", "p", "--output", "r.txt", cwd=in_tmp, env=ascii_terminal
    )
    assert proc.returncode == 1
    assert "ServiceAccount caf\u00e9 \u2013 non-ASCII" in (in_tmp / "r.txt").read_text("utf-8")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            {"findings": [{"rule_id": ["EKS202"], "entity_key": "k", "fingerprint": "f"}]},
            "$.findings[0].rule_id: a string is expected, not a list",
        ),
        (
            {"findings": [{"rule_id": "EKS202", "entity_key": 7, "fingerprint": "f"}]},
            "$.findings[0].entity_key: a string is expected, not a number",
        ),
        (
            {"findings": [{"rule_id": "EKS202", "entity_key": "k"}]},
            "$.findings[0].fingerprint: missing",
        ),
        ({"findings": ["EKS202"]}, "$.findings[0]: an object is expected, not a string"),
        ({"findings": {"EKS202": 1}}, "$.findings: a list is expected, not an object"),
        ([], "$: an object with a findings list is expected, not a list"),
        ({"version": 1}, "$.findings: missing (not an eks-checks baseline or JSON report)"),
    ],
)
def test_a_baseline_of_the_wrong_shape_names_the_file_and_path(in_tmp, content, message):
    (in_tmp / "lt.tf").write_text(LAUNCH_TEMPLATE)
    (in_tmp / "b.json").write_text(json.dumps(content))
    code, out, err = cli("scan", "lt.tf", "--baseline", "b.json")
    assert (code, out) == (2, "")
    assert err == f"eks-checks: error: invalid baseline: b.json: {message}\n"


# ---- item 23: nothing a reader acts on ----------------------------------------------------------
def _service_account(namespace: str) -> str:
    return (
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: default\n"
        f"  namespace: {json.dumps(namespace)}\n"
    )


def test_a_value_never_starts_a_line_in_text_github_or_junit(in_tmp):
    (in_tmp / "sa.yaml").write_text(_service_account(FAKE_COMMAND + " 100% \u202eevil\u2066"))
    code, text, _ = cli("scan", ".", "--no-color", "--select", "EKS302")
    assert code == 1
    assert not any(line.startswith("::") for line in text.splitlines())
    assert (
        "  sa.yaml:1  EKS302  medium  ServiceAccount a\\n::error file=x::fake 100% "
        "\\u202eevil\\u2066/default does not set automountServiceAccountToken: false\n"
    ) in text
    _, github, _ = cli("scan", ".", "--format", "github", "--select", "EKS302")
    lines = github.splitlines()
    assert [line[:40] for line in lines if line.startswith("::")] == [
        "::warning file=sa.yaml,line=1,endLine=5,"
    ]
    assert lines[0].endswith(
        "::ServiceAccount a\\n::error file=x::fake 100%25 \\u202eevil\\u2066/default does not "
        "set automountServiceAccountToken: false"
    )
    _, junit, _ = cli("scan", ".", "--format", "junit", "--select", "EKS302")
    (failure,) = ET.fromstring(junit).iter("failure")
    assert failure.get("message").startswith("ServiceAccount a\\n::error file=x::fake 100% \\u202e")
    assert "\n::error" not in junit and "\u202e" not in junit


def test_json_and_sarif_carry_the_raw_value(in_tmp):
    (in_tmp / "sa.yaml").write_text(_service_account(FAKE_COMMAND + "\u202e"))
    for fmt, message in (
        ("json", lambda d: d["findings"][0]["message"]),
        ("sarif", lambda d: d["runs"][0]["results"][0]["message"]["text"]),
    ):
        _, out, _ = cli("scan", ".", "--format", fmt, "--select", "EKS302")
        assert message(_strict_json(out)).startswith(f"ServiceAccount {FAKE_COMMAND}\u202e/default")


@pytest.mark.skipif(sys.platform == "win32", reason="file names with a newline")
def test_a_file_name_never_starts_a_line(in_tmp):
    name = "evil\n::error file=x::fake\u202e.yaml"
    (in_tmp / name).write_text(_service_account("shop"))
    for fmt in ("text", "github", "junit"):
        _, out, _ = cli("scan", ".", "--format", fmt, "--select", "EKS302", "--no-color")
        assert "::error file=x" not in [line[:14] for line in out.splitlines()], fmt
        assert "\u202e" not in out, fmt
    _, text, _ = cli("scan", ".", "--no-color", "--select", "EKS302")
    assert text.startswith("evil\\n::error file=x::fake\\u202e.yaml\n")
    _, github, _ = cli("scan", ".", "--format", "github", "--select", "EKS302")
    assert github.startswith("::warning file=evil\\n%3A%3Aerror file=x%3A%3Afake\\u202e.yaml,")


def test_rules_and_explain_escape_what_a_rule_file_says(in_tmp):
    (in_tmp / "p").mkdir()
    (in_tmp / "p" / "ACME001.yaml").write_text(
        'id: ACME001\nslug: acme\ntitle: "t\\n::error::fake \\u202e\\e[2J"\nseverity: low\n'
        "entity: cluster\nwhen: {field: name, exists: true}\nmessage: m\n"
        'remediation: "line one\\nline two \\u2067x\\r::warning::y"\n'
    )
    code, out, _ = cli("rules", "--policy-dir", "p")
    assert code == 0
    (line,) = [line for line in out.splitlines() if line.startswith("ACME001")]
    assert line.startswith("ACME001  low       acme  ")
    assert line.endswith("  t\\n::error::fake \\u202e\\x1b[2J")
    code, out, _ = cli("explain", "ACME001", "--policy-dir", "p")
    assert code == 0
    assert out.splitlines()[:2] == ["ACME001 acme (low)", "t\\n::error::fake \\u202e\\x1b[2J"]
    assert "line one\nline two \\u2067x\\r::warning::y\n" in out  # its own lines stay lines


# ---- item 24: no Infinity or NaN ----------------------------------------------------------------
def test_json_outputs_never_hold_infinity_or_nan(in_tmp):
    (in_tmp / "pod.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: n\nspec:\n"
        "  volumes:\n    - name: t\n      projected:\n        sources:\n"
        "          - serviceAccountToken: {expirationSeconds: .inf}\n"
        "          - serviceAccountToken: {expirationSeconds: .nan}\n"
        "          - serviceAccountToken: {expirationSeconds: -.inf}\n"
    )
    (in_tmp / "lt.tf").write_text(LAUNCH_TEMPLATE.replace("= 2", "= 1e999"))
    (in_tmp / "iam.json").write_text(
        '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Sid": NaN, '
        '"Principal": {"AWS": "*"}, "Action": "sts:AssumeRole", "Condition": Infinity}]}'
    )
    code, out, _ = cli("model", ".")
    model = _strict_json(out)
    # the parsers read an infinity or a NaN as an unknown value (tests/test_numbers.py)
    (pod,) = [e for e in model["entities"] if e["kind"] == "workload"]
    assert pod["fields"]["projected_token_expirations"] == [
        {"unknown": ".inf"},
        {"unknown": ".nan"},
        {"unknown": "-.inf"},
    ]
    (lt,) = [e for e in model["entities"] if e["kind"] == "instance_metadata"]
    assert lt["unknown"]["hop_limit"] == "1e999"
    for fmt in ("json", "sarif", "conftest"):
        _, out, _ = cli("scan", ".", "--format", fmt)
        _strict_json(out)
    cli("scan", ".", "--write-baseline", "b.json")
    _strict_json((in_tmp / "b.json").read_text())


def test_a_reader_that_goes_away_is_exit_2_without_a_traceback(in_tmp):
    (in_tmp / "lt.tf").write_text(LAUNCH_TEMPLATE)
    for args in (("scan", "lt.tf"), ("rules",)):
        proc = subprocess.Popen(
            [sys.executable, "-m", "checks", *args],
            cwd=in_tmp,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        proc.stdout.close()  # gone before the report comes, as `| head` can be
        err = proc.stderr.read()
        assert (proc.wait(60), err) == (2, b""), args


def test_conftest_format_follows_conftests_meaning(in_tmp):
    (in_tmp / "lt.tf").write_text(
        'variable "hops" {}\n'
        'resource "aws_launch_template" "a" {\n  metadata_options {\n'
        '    http_tokens = "optional"\n'
        "    # eks-checks: ignore[EKS202] the GPU operator reads IMDS\n"
        "    http_put_response_hop_limit = 2\n  }\n}\n"
        'resource "aws_launch_template" "b" {\n  metadata_options {\n'
        '    http_tokens = "required"\n    http_put_response_hop_limit = var.hops\n  }\n}\n'
    )
    (in_tmp / "sa.yaml").write_text(
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: default\n  namespace: shop\n"
        "automountServiceAccountToken: false\n"
    )
    (in_tmp / "broken.yaml").write_text("apiVersion: v1\nkind: Pod\nspec: [1, 2\n")
    code, out, _ = cli("scan", ".", "--format", "conftest", "--fail-on", "critical")
    assert code == 2
    by_file = {entry["filename"]: entry for entry in json.loads(out)}
    broken = by_file["broken.yaml"]
    assert broken["successes"] == 0
    assert [(f["loc"], f["metadata"]) for f in broken["failures"]] == [
        ({"file": "broken.yaml", "line": 3}, {"error": True})
    ]
    assert "exceptions" not in broken
    lt = by_file["lt.tf"]
    # below --fail-on: a warning; suppressed: an exception; undecided: skipped, no success
    assert "failures" not in lt
    assert [w["msg"][:7] for w in lt["warnings"]] == ["EKS201:"]
    assert [(e["metadata"]["id"], e["metadata"]["suppressed"]) for e in lt["exceptions"]] == [
        ("EKS202", "the GPU operator reads IMDS")
    ]
    assert [s["msg"] for s in lt["skipped"]] == ["EKS202: not decided: var.hops has no default"]
    # EKS201 and EKS202 both ran on it, neither passed; EKS802 passed (its nodes' role is not
    # in the scan: no path to AWS admin)
    assert lt["successes"] == 1
    sa = by_file["sa.yaml"]
    # the rules on ServiceAccounts ran and passed; none on other kinds counts
    assert sa == {"filename": "sa.yaml", "namespace": "eks-checks", "successes": sa["successes"]}
    assert sa["successes"] == 3  # EKS302, EKS305, EKS701
    code, out, _ = cli("scan", "lt.tf", "--format", "conftest", "--fail-on", "high")
    (lt,) = json.loads(out)
    assert [f["msg"][:7] for f in lt["failures"]] == ["EKS201:"] and "warnings" not in lt


def test_text_shows_the_offending_lines_escaped_and_sarif_carries_them(in_tmp):
    (in_tmp / "lt.tf").write_text(
        'resource "aws_launch_template" "n" {\n'
        "  metadata_options {\n"
        '    http_tokens = "required"\n'
        "\thttp_put_response_hop_limit = 2 # \x1b[2Jgone " + "x" * 200 + "\n"
        "  }\n"
        "}\n"
    )
    code, out, _ = cli("scan", ".", "--snippets", "--no-color")
    assert code == 1
    shown = "    http_put_response_hop_limit = 2 # \\x1b[2Jgone " + "x" * 110
    assert len(shown) == 160
    assert out.splitlines()[1:4] == [
        "  lt.tf:4  EKS202  high  aws_launch_template.n sets http_put_response_hop_limit = 2 "
        "(more than 1): pods can reach the node role's credentials",
        f"    4 | {shown}...",
        "      |     " + "^" * (len(shown) - 1),
    ]
    assert "\x1b" not in out
    # off a terminal (as here) no snippet unless asked; --no-snippets never
    assert cli("scan", ".", "--no-color")[1].splitlines()[2] == ""
    _, out, _ = cli("scan", ".", "--format", "sarif", "--select", "EKS202")
    (location,) = json.loads(out)["runs"][0]["results"][0]["locations"]
    physical = location["physicalLocation"]
    assert physical["region"]["snippet"]["text"].startswith("\thttp_put_response_hop_limit = 2 #")
    assert physical["contextRegion"]["startLine"] == 2 and physical["contextRegion"]["endLine"] == 6
    assert physical["contextRegion"]["snippet"]["text"].startswith("  metadata_options {\n")


def test_a_snippet_of_a_block_shows_its_first_lines_and_counts_the_rest(in_tmp):
    (in_tmp / "c.tf").write_text(
        'resource "aws_eks_cluster" "c" {\n'
        + "".join(f"  # line {n}\n" for n in range(2, 9))
        + '  name = "c"\n}\n'
    )
    _, out, _ = cli("scan", "c.tf", "--snippets", "--no-color", "--select", "EKS103")
    assert out.splitlines()[2:9] == [
        '    1 | resource "aws_eks_cluster" "c" {',
        "      | ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^",
        "    2 |   # line 2",
        "    3 |   # line 3",
        "    4 |   # line 4",
        "    5 |   # line 5",
        "      | ... 5 more lines",
    ]


GITLAB = ROOT / "tests" / "vendor" / "gitlab"


def _gitlab_repo(tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    (repo / "infra").mkdir(parents=True)
    (repo / ".git").mkdir()
    (repo / "infra" / "lt.tf").write_text(
        'resource "aws_launch_template" "n" {\n  metadata_options {\n'
        '    http_tokens = "optional"\n    http_put_response_hop_limit = 2\n  }\n}\n'
        "# eks-checks: ignore[EKS202] the GPU operator\n"
        'resource "aws_launch_template" "gpu" {\n  metadata_options {\n'
        '    http_tokens = "required"\n    http_put_response_hop_limit = 2\n  }\n}\n'
    )
    (repo / "infra" / "broken.yaml").write_text("apiVersion: v1\nkind: Pod\nspec: [1, 2\n")
    monkeypatch.chdir(repo / "infra")
    return repo


def test_gitlab_sast_report_is_valid_against_gitlabs_schema(tmp_path, monkeypatch):
    _gitlab_repo(tmp_path, monkeypatch)
    code, out, _ = cli("scan", ".", "--format", "gitlab-sast")
    assert code == 2
    doc = json.loads(out)
    schema = load_json(GITLAB / "sast-report-format-15.0.7.json")
    jsonschema.Draft7Validator(schema).validate(doc)
    assert (doc["version"], doc["scan"]["type"], doc["scan"]["status"]) == (
        "15.0.7",
        "sast",
        "failure",
    )
    assert [
        (v["identifiers"][0]["value"], v["severity"], v["location"]) for v in doc["vulnerabilities"]
    ] == [
        ("EKS201", "High", {"file": "infra/lt.tf", "start_line": 3, "end_line": 3}),
        ("EKS202", "High", {"file": "infra/lt.tf", "start_line": 4, "end_line": 4}),
    ]  # relative to the repository root; the suppressed finding is not a vulnerability
    assert doc["scan"]["messages"][0]["level"] == "fatal"
    assert doc["scan"]["messages"][0]["value"].startswith("broken.yaml: invalid YAML")
    # the same finding keeps its id from another working directory
    ids = [v["id"] for v in doc["vulnerabilities"]]
    monkeypatch.chdir(tmp_path)
    _, out, _ = cli("scan", "repo", "--format", "gitlab-sast")
    assert [v["id"] for v in json.loads(out)["vulnerabilities"]] == ids


def test_codequality_report_is_valid_against_gitlabs_documented_format(tmp_path, monkeypatch):
    _gitlab_repo(tmp_path, monkeypatch)
    code, out, _ = cli("scan", ".", "--format", "codequality")
    assert code == 2
    issues = json.loads(out)
    jsonschema.Draft202012Validator(load_json(GITLAB / "codequality.schema.json")).validate(issues)
    assert [(i["check_name"], i["severity"], i["location"]) for i in issues] == [
        ("EKS201", "critical", {"path": "infra/lt.tf", "lines": {"begin": 3, "end": 3}}),
        ("EKS202", "critical", {"path": "infra/lt.tf", "lines": {"begin": 4, "end": 4}}),
        ("eks-checks/unreadable", "blocker", {"path": "infra/broken.yaml", "lines": {"begin": 3}}),
    ]
    assert len({i["fingerprint"] for i in issues}) == 3


def test_a_report_written_in_pieces_is_json_made_whole():
    from checks.report import Each, json_chunks, json_text

    doc = {
        "version": 1,
        "findings": Each([1, 2], lambda n: {"n": n, "ratio": float("nan") if n == 2 else 0.5}),
        "nested": [{"empty": Each([], str)}, "\ud800x"],
        "plain": {"inf": float("inf")},
    }
    expected = (
        '{"version": 1, "findings": [{"n": 1, "ratio": 0.5}, {"n": 2, "ratio": "nan"}], '
        '"nested": [{"empty": []}, "\ufffdx"], "plain": {"inf": "inf"}}\n'
    )
    assert "".join(json_chunks(doc)) == expected
    assert json_text(doc) == expected
    assert json.loads(expected)["findings"][1] == {"n": 2, "ratio": "nan"}


def test_a_report_makes_each_finding_only_as_it_writes_it():
    from checks.report import Each, json_chunks

    made = []

    def to_json(n):
        made.append(n)
        return {"n": n}

    pieces = json_chunks({"findings": Each(range(1000), to_json)})
    written = [next(pieces) for _ in range(4)]  # "{", the key, "[", the first finding
    assert written == ["{", '"findings": ', "[", '{"n": 0}']
    assert made == [0]
    assert "".join(pieces).endswith(', {"n": 999}]}\n') and len(made) == 1000
