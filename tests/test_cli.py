"""The command line as users meet it: exit codes, formats, selection, config, errors."""

from __future__ import annotations

import json
import subprocess
import sys

import jsonschema
import pytest

from conftest import FIXTURES, ROOT, SARIF_SCHEMA, cli, load_json

EKS202 = FIXTURES / "rules" / "EKS202" / "fail.tf"
CLEAN = FIXTURES / "rules" / "EKS202" / "pass.tf"


def test_findings_exit_1_with_exact_text(in_tmp):
    (in_tmp / "lt.tf").write_text(
        'resource "aws_launch_template" "n" {\n'
        "  metadata_options {\n"
        '    http_tokens = "required"\n'
        "    http_put_response_hop_limit = 2\n"
        "  }\n"
        "}\n"
    )
    code, out, err = cli("scan", "lt.tf", "--no-color")
    assert code == 1
    assert out == (
        "lt.tf\n"
        "  lt.tf:4  EKS202  high  aws_launch_template.n sets http_put_response_hop_limit = 2 "
        "(more than 1): pods can reach the node role's credentials\n"
        "\n"
        "1 finding (1 high) in 1 file scanned\n"
    )


def test_clean_scan_exits_0(in_tmp):
    (in_tmp / "ok.yaml").write_text(
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: default\n"
        "automountServiceAccountToken: false\n"
    )
    code, out, _ = cli("scan", ".")
    assert (code, out) == (0, "0 findings in 1 file scanned\n")


def test_fail_on_select_and_ignore(in_tmp):
    (in_tmp / "c.tf").write_text('resource "aws_eks_cluster" "c" {\n  name = "c"\n}\n')
    # EKS101 high, EKS102 low, EKS103 medium, EKS507/508 may come later: select narrows it
    code, out, _ = cli("scan", ".", "--select", "EKS102", "--fail-on", "medium")
    assert code == 0 and "EKS102" in out and "EKS101" not in out
    code, out, _ = cli(
        "scan", ".", "--select", "EKS1", "--ignore", "EKS101,auth-audit-logs-disabled"
    )
    assert code == 1
    assert [line.split()[1] for line in out.splitlines() if line.startswith("  ")] == ["EKS102"]
    code, _, err = cli("scan", ".", "--select", "EKS999")
    assert code == 2 and "no rule matches 'EKS999'" in err


def test_unparseable_file_is_reported_and_the_rest_still_scanned(in_tmp):
    (in_tmp / "broken.yaml").write_text("apiVersion: v1\nkind: Pod\nspec: [1, 2\n")
    (in_tmp / "lt.tf").write_text(
        'resource "aws_launch_template" "n" {\n  metadata_options {\n'
        "    http_put_response_hop_limit = 3\n  }\n}\n"
    )
    code, out, err = cli("scan", ".", "--no-color", "--select", "EKS202")
    assert code == 2
    # the wording is libyaml's (or PyYAML's without it); the file and line are ours
    assert "  broken.yaml:3  error  invalid YAML: " in out
    assert "  lt.tf:3  EKS202  high" in out
    assert "Traceback" not in out + err
    code, out, _ = cli("scan", ".", "--format", "json", "--select", "EKS202")
    doc = json.loads(out)
    assert code == 2
    (problem,) = doc["problems"]
    assert (problem["file"], problem["level"], problem["line"]) == ("broken.yaml", "error", 3)
    assert problem["message"].startswith("invalid YAML: ")
    assert [(f["rule_id"], f["location"]["start_line"]) for f in doc["findings"]] == [("EKS202", 3)]


def test_json_report_shape(in_tmp):
    (in_tmp / "s.yaml").write_text(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: t\n  namespace: ci\n"
        "type: kubernetes.io/service-account-token\n"
    )
    code, out, _ = cli("scan", ".", "--format", "json")
    doc = json.loads(out)
    assert code == 1 and doc["version"] == 1
    (finding,) = doc["findings"]
    assert finding["rule_id"] == "EKS303"
    assert finding["message"] == (
        "Secret ci/t has type kubernetes.io/service-account-token: a token that never expires"
    )
    assert finding["location"] == {"file": "s.yaml", "start_line": 6, "end_line": 6}
    assert finding["entity_key"] == "k8s:ci/Secret/t"
    assert doc["summary"]["by_severity"] == {"critical": 0, "high": 0, "medium": 1, "low": 0}


def test_sarif_is_valid_against_the_official_schema(monkeypatch):
    monkeypatch.chdir(ROOT)
    code, out, _ = cli("scan", "examples", "--format", "sarif")
    assert code == 1
    doc = json.loads(out)
    schema = load_json(SARIF_SCHEMA)
    jsonschema.Draft4Validator(schema).validate(doc)
    run = doc["runs"][0]
    rule_ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert rule_ids == sorted({r["ruleId"] for r in run["results"]})
    for result in run["results"]:
        assert rule_ids[result["ruleIndex"]] == result["ruleId"]
        location = result["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        assert location["artifactLocation"]["uri"].startswith("examples/")
        assert location["region"]["startLine"] >= 1


def test_sarif_reports_unreadable_files_as_notifications(in_tmp):
    (in_tmp / "bad.json").write_text('{"Statement": [')
    code, out, _ = cli("scan", ".", "--format", "sarif")
    invocation = json.loads(out)["runs"][0]["invocations"][0]
    assert code == 2
    assert invocation["executionSuccessful"] is False
    (note,) = invocation["toolExecutionNotifications"]
    assert note["level"] == "error"
    assert note["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "bad.json"


def test_config_overrides_a_rule_parameter(in_tmp):
    (in_tmp / "lt.tf").write_text(
        'resource "aws_launch_template" "n" {\n  metadata_options {\n'
        '    http_tokens = "required"\n    http_put_response_hop_limit = 2\n  }\n}\n'
    )
    assert cli("scan", ".")[0] == 1
    (in_tmp / ".eks-checks.yaml").write_text(
        "rules:\n  EKS202:\n    params:\n      max_hop_limit: 2\n"
    )
    assert cli("scan", ".")[0] == 0
    (in_tmp / ".eks-checks.yaml").write_text("rules:\n  EKS202:\n    params:\n      max_hops: 2\n")
    code, _, err = cli("scan", ".")
    assert code == 2
    assert "$.rules.EKS202.params: unknown parameter(s) max_hops" in err
    (in_tmp / ".eks-checks.yaml").write_text("fail_on: high\nselcet: [EKS101]\n")
    code, _, err = cli("scan", ".")
    assert code == 2
    assert "Additional properties are not allowed ('selcet' was unexpected)" in err


def test_invalid_user_policy_names_file_and_json_path(in_tmp):
    policies = in_tmp / "policies"
    policies.mkdir()
    (policies / "X100.yaml").write_text(
        "id: X100\nslug: x\ntitle: t\nseverity: urgent\nentity: cluster\n"
        "when: {field: name, equals: a}\nmessage: m\nremediation: r\n"
    )
    code, _, err = cli("scan", ".", "--policy-dir", "policies")
    assert code == 2
    assert "X100.yaml: $.severity: 'urgent' is not one of" in err
    code, out, err = cli("validate-policies", "policies")
    assert code == 2 and out == "0 of 1 rule files valid\n"


def test_user_policy_dir_adds_a_rule(in_tmp):
    policies = in_tmp / "policies"
    policies.mkdir()
    (policies / "ACME001.yaml").write_text(
        "id: ACME001\nslug: cluster-name-prefix\ntitle: Cluster names start with acme-\n"
        "severity: low\nentity: cluster\n"
        "when:\n  not: {field: name, matches: '^acme-'}\n"
        "message: 'cluster {name} does not start with acme-'\nremediation: Rename it.\n"
    )
    (in_tmp / "c.tf").write_text('resource "aws_eks_cluster" "c" {\n  name = "shop"\n}\n')
    code, out, _ = cli("scan", "c.tf", "--policy-dir", "policies", "--select", "ACME001")
    assert code == 1
    assert "  c.tf:1  ACME001  low  cluster shop does not start with acme-" in out


def test_rules_explain_and_model(in_tmp):
    code, out, _ = cli("rules")
    assert code == 0
    assert out.splitlines()[0].split()[:3] == ["EKS101", "high", "public-endpoint-open-to-world"]
    code, out, _ = cli("explain", "EKS202")
    assert code == 0
    assert out.startswith("EKS202 imds-hop-limit-above-one (high)\n")
    assert "  max_hop_limit: 1" in out
    assert cli("explain", "EKS999")[0] == 2
    (in_tmp / "c.tf").write_text(
        'variable "v" {}\nresource "aws_eks_cluster" "c" {\n  name = var.v\n}\n'
    )
    code, out, _ = cli("model", ".")
    (cluster,) = json.loads(out)["entities"]
    assert code == 0
    assert cluster["key"] == "terraform:c.tf:aws_eks_cluster.c"
    assert cluster["unknown"] == {"name": "var.v"}
    assert cluster["defaulted"]["endpoint_public_access"] == "AWS default"


def test_missing_path_is_a_usage_error(in_tmp):
    code, _, err = cli("scan", "nope")
    assert code == 2 and err == "eks-checks: error: nope: no such file or directory\n"


def test_python_dash_m_and_version():
    out = subprocess.run(
        [sys.executable, "-m", "checks", "--version"], capture_output=True, text=True, check=True
    ).stdout
    from checks import __version__

    assert out == f"eks-checks {__version__}\n"


@pytest.mark.parametrize("fmt", ["text", "json", "sarif"])
def test_output_file(in_tmp, fmt):
    (in_tmp / "s.yaml").write_text(
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: default\n"
    )
    code, out, err = cli("scan", ".", "--format", fmt, "--output", "report.out")
    assert code == 1
    assert "EKS302" in (in_tmp / "report.out").read_text()
    assert out == ""


def test_pyproject_tool_section_is_read(in_tmp):
    (in_tmp / "lt.tf").write_text(
        'resource "aws_launch_template" "n" {\n  metadata_options {\n'
        '    http_tokens = "required"\n    http_put_response_hop_limit = 2\n  }\n}\n'
    )
    (in_tmp / "pyproject.toml").write_text(
        '[project]\nname = "infra"\n\n[tool.eks-checks]\nfail-on = "critical"\n'
    )
    assert cli("scan", ".")[0] == 0
    (in_tmp / "pyproject.toml").write_text('[tool.eks-checks]\nfail_onn = "critical"\n')
    code, _, err = cli("scan", ".")
    assert code == 2
    assert "pyproject.toml [tool.eks-checks]: $: Additional properties are not allowed" in err
    # the command line wins over the file
    (in_tmp / "pyproject.toml").write_text('[tool.eks-checks]\nfail-on = "critical"\n')
    assert cli("scan", ".", "--fail-on", "high")[0] == 1


def test_a_scan_imports_no_heavy_parser(tmp_path):
    """Lean start: a scan of valid Terraform and YAML needs neither python-hcl2 (and lark)
    nor jsonschema; python-hcl2 is only for files the fast HCL reader hands over."""
    (tmp_path / "lt.tf").write_text(EKS202.read_text())
    (tmp_path / "sa.yaml").write_text(
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: a\n"
    )
    (tmp_path / "odd").mkdir()  # a module of its own: a .tf file is read with its module
    (tmp_path / "odd" / "odd.tf").write_text(
        'resource "aws_eks_cluster" "c" {\n  x = 1 2\n}\n'
    )  # only python-hcl2 reads it
    probe = (
        "import sys\n"
        "from checks.cli import main\n"
        "try:\n"
        "    main(['scan', '--no-cache', sys.argv[1]])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted(m for m in ('hcl2', 'lark', 'jsonschema') if m in sys.modules))\n"
    )
    clean = subprocess.run(
        [sys.executable, "-c", probe, str(tmp_path / "lt.tf")],
        capture_output=True, text=True, cwd=ROOT, check=False,
    )  # fmt: skip
    assert clean.stdout.strip().splitlines()[-1] == "[]"
    odd = subprocess.run(
        [sys.executable, "-c", probe, str(tmp_path / "odd" / "odd.tf")],
        capture_output=True, text=True, cwd=ROOT, check=False,
    )  # fmt: skip
    assert odd.stdout.strip().splitlines()[-1] == "['hcl2', 'lark']"


def test_help_shows_exit_codes_examples_configuration_and_the_docs():
    for args in (["--help"], ["scan", "--help"]):
        code, out, _ = cli(*args)
        assert code == 0
        assert (
            "exit codes:\n"
            "  0  nothing at or above --fail-on (and with --exit-zero, whatever was found)\n"
            "  1  findings at or above --fail-on\n"
            "  2  usage error, unreadable or unparseable input, invalid policy or configuration\n"
        ) in out
        assert out.count("\n  eks-checks scan ") == 3
        assert out.rstrip().endswith(
            "documentation: https://github.com/eks-checks/eks-checks#readme"
        )
    _, out, _ = cli("scan", "--help")
    assert "configuration: --config FILE; else, in each folder from each PATH" in out
    assert "paths: --exclude and `exclude` patterns" in out
    _, out, _ = cli("model", "--help")
    for flag in ("--var-file", "--exclude", "--context-root", "--config", "--max-file-size"):
        assert flag in out


def test_colour_follows_no_color_and_force_color_when_they_are_not_empty(in_tmp, monkeypatch):
    (in_tmp / "lt.tf").write_text(EKS202.read_text())
    red = "\033[31mhigh\033[0m"
    monkeypatch.setenv("NO_COLOR", "")
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert red in cli("scan", ".")[1]  # off a terminal, but forced; an empty NO_COLOR is unset
    monkeypatch.setenv("NO_COLOR", "1")
    assert red not in cli("scan", ".")[1]
    monkeypatch.delenv("NO_COLOR")
    assert red not in cli("scan", ".", "--no-color")[1]
    monkeypatch.setenv("FORCE_COLOR", "")
    assert red not in cli("scan", ".")[1]  # not a terminal


def test_the_summary_counts_skipped_files_notes_and_undecided_checks_apart(in_tmp):
    (in_tmp / "lt.tf").write_text(
        'variable "hops" {}\n'
        'resource "aws_launch_template" "n" {\n  metadata_options {\n'
        '    # eks-checks: ignore[EKS201]\n    http_tokens = "optional"\n'
        "    http_put_response_hop_limit = var.hops\n  }\n}\n"
    )
    (in_tmp / "stack.yaml").write_text("Resources:\n  B: !Ref X\n  C: [1\n")  # CloudFormation
    code, out, _ = cli("scan", ".", "--no-color")
    assert code == 1
    assert out.splitlines()[-1] == (
        "1 finding (1 high) in 2 files scanned; 1 skipped; 1 note; "
        "1 check undecided (unknown values, see --show-unknown)"
    )
    _, out, _ = cli("scan", ".", "--format", "json")
    summary = json.loads(out)["summary"]
    assert (summary["skipped_files"], summary["notes"], summary["unknown"]) == (1, 1, 1)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--context-root=git", "."],
            "--context-root=git: the working directory is not in a git repository",
        ),
        (["--context-root", "sub", "."], ".: not inside --context-root sub"),
        (["--jobs", "0", "."], "--jobs must be 1 or more, not 0"),
        (["--jobs", "-3", "."], "--jobs must be 1 or more, not -3"),
    ],
)
def test_nonsense_on_the_command_line_is_a_usage_error(in_tmp, args, message):
    (in_tmp / "sub").mkdir()
    (in_tmp / "sub" / "lt.tf").write_text(EKS202.read_text())
    code, out, err = cli("scan", *args)
    assert (code, out, err) == (2, "", f"eks-checks: error: {message}\n")


def test_exit_zero_reports_without_failing_but_errors_still_fail(in_tmp):
    (in_tmp / "lt.tf").write_text(EKS202.read_text())
    code, out, _ = cli("scan", ".", "--exit-zero", "--no-color")
    assert code == 0 and "EKS202" in out
    (in_tmp / "broken.yaml").write_text("apiVersion: v1\nkind: Pod\nspec: [1, 2\n")
    assert cli("scan", ".", "--exit-zero")[0] == 2


def test_several_reports_from_one_scan(in_tmp):
    (in_tmp / "lt.tf").write_text(EKS202.read_text())
    code, out, err = cli(
        "scan", ".", "--no-color", "--output-format", "sarif:out.sarif",
        "--output-format", "json:out.json",
    )  # fmt: skip
    assert code == 1 and err == ""
    assert out.splitlines()[-1] == "2 findings (2 high) in 1 file scanned"
    sarif = json.loads((in_tmp / "out.sarif").read_text())
    assert [r["ruleId"] for r in sarif["runs"][0]["results"]] == ["EKS202", "EKS202"]
    assert json.loads((in_tmp / "out.json").read_text())["summary"]["findings"] == 2
    code, _, err = cli("scan", ".", "--output-format", "yaml:x")
    assert code == 2 and "unknown format 'yaml' (choose from text, json, sarif" in err
    code, _, err = cli("scan", ".", "--output-format", "sarif")
    assert code == 2 and "'sarif' is not FORMAT:FILE" in err


def test_the_conftest_report_counts_its_successes_beside_any_other_report(in_tmp):
    # a scan lets the model go before its reports unless one of them shows it: the
    # conftest report counts the checks that passed on each file's entities
    (in_tmp / "lt.tf").write_text(EKS202.read_text())
    _, alone, _ = cli("scan", ".", "--format", "conftest")
    code, _, err = cli("scan", ".", "--format", "json", "--output-format", "conftest:c.json")
    assert code == 1 and err == ""
    assert json.loads((in_tmp / "c.json").read_text()) == json.loads(alone)
    assert json.loads(alone)[0]["successes"] > 0


def test_only_bundled_rules_link_to_our_docs_and_a_custom_rule_may_name_its_page(in_tmp):
    policies = in_tmp / "policies"
    policies.mkdir()
    rule = (
        "id: ACME00{n}\nslug: cluster-name-prefix-{n}\ntitle: Cluster names start with acme-\n"
        "severity: low\nentity: cluster\nwhen:\n  not: {{field: name, matches: '^acme-'}}\n"
        "message: 'cluster {{name}} does not start with acme-'\nremediation: Rename it.\n"
    )
    (policies / "ACME001.yaml").write_text(rule.format(n=1))
    (policies / "ACME002.yaml").write_text(
        rule.format(n=2) + "help_uri: https://wiki.example.com/rules/ACME002\n"
    )
    (in_tmp / "c.tf").write_text('resource "aws_eks_cluster" "c" {\n  name = "shop"\n}\n')
    code, out, _ = cli(
        "scan", "c.tf", "--policy-dir", "policies", "--select", "ACME,EKS101", "--format", "sarif"
    )
    assert code == 1
    uris = {
        r["id"]: r.get("helpUri") for r in json.loads(out)["runs"][0]["tool"]["driver"]["rules"]
    }
    assert uris == {
        "ACME001": None,
        "ACME002": "https://wiki.example.com/rules/ACME002",
        "EKS101": "https://github.com/eks-checks/eks-checks/blob/main/docs/rules.md"
        "#eks101-public-endpoint-open-to-world",
    }
    (policies / "ACME002.yaml").write_text(rule.format(n=2) + "help_uri: wiki/ACME002\n")
    code, _, err = cli("validate-policies", "policies")
    assert code == 2 and "ACME002.yaml: $.help_uri: 'wiki/ACME002' does not match" in err


@pytest.mark.parametrize("hook", [True, False], ids=["hook", "scan"])
def test_a_hook_run_does_not_collect_and_main_leaves_the_collector_as_it_was(
    hook, tmp_path, monkeypatch
):
    """A scan with --context-root (the pre-commit hook) runs without the garbage collector
    (what it makes it keeps to its end); any other scan with it; `main` gives it back."""
    import gc

    import checks.scan

    monkeypatch.setenv("EKS_CHECKS_CACHE_DIR", str(tmp_path / "cache"))
    collecting: list[bool] = []
    scan = checks.scan.scan

    def watched(*args, **kwargs):
        collecting.append(gc.isenabled())
        return scan(*args, **kwargs)

    monkeypatch.setattr(checks.scan, "scan", watched)
    given = str(ROOT / "examples" / "infra" / "eks.tf")
    args = ["scan", f"--context-root={ROOT / 'examples'}", given] if hook else ["scan", given]
    assert gc.isenabled()
    code, _out, err = cli(*args)
    assert code == 1, err
    assert collecting == [not hook]
    assert gc.isenabled()


def test_the_console_script_ends_at_once_after_its_output_and_exit_handlers(tmp_path):
    """`eks-checks` (`checks.cli:run`) ends the process without tearing down what the scan
    left, after the report is written whole and what asked to run at exit has run; the exit
    code is the scan's."""
    import tomllib

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"eks-checks": "checks.cli:run"}
    said = tmp_path / "at-exit"
    program = (
        "import atexit, sys\n"
        f"atexit.register(lambda: open({str(said)!r}, 'w').write('ran'))\n"
        "from checks.cli import run\n"
        "sys.argv = ['eks-checks', 'scan', '--no-cache', '--format', 'json', 'examples']\n"
        "run()\n"
        "print('after run')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 1, done.stderr
    assert "after run" not in done.stdout
    findings = json.loads(done.stdout)["findings"]
    assert said.read_text() == "ran"
    code, out, _err = cli("scan", "--no-cache", "--format", "json", str(ROOT / "examples"))
    assert code == 1 and json.loads(out)["findings"] == findings and len(findings) == 43
