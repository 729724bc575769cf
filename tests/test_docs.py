"""Docs that are generated from the rules must be current."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

from checks.docgen import render, render_model
from checks.rules import bundled_dir, load_bundled, load_dir
from conftest import ROOT


def test_rules_doc_is_current():
    expected = render(load_bundled())
    actual = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    assert actual == expected, "docs/rules.md is stale: python -m checks.docgen > docs/rules.md"


def test_model_doc_is_current_and_linked_from_writing_rules():
    expected = render_model()
    actual = (ROOT / "docs" / "model.md").read_text(encoding="utf-8")
    assert actual == expected, (
        "docs/model.md is stale: python -m checks.docgen model > docs/model.md"
    )
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    writing_rules = readme.split("## Writing rules", 1)[1].split("\n## ", 1)[0]
    assert "[docs/model.md](docs/model.md)" in writing_rules


def test_bundled_rules_pass_the_schema():
    # scans skip schema validation of bundled rules for start-up time; this is where it
    # happens, and where their fields, locations, links and placeholders meet the catalog
    rules = load_dir(bundled_dir(), validate=True)
    assert [r.id for r in rules] == sorted(r.id for r in rules)
    for rule in rules:
        assert rule.source.endswith(f"{rule.id}.yaml")
        assert rule.description and rule.examples.get("fail") and rule.examples.get("pass")
        assert rule.references


def test_readme_rules_table_lists_every_rule():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for rule in load_bundled():
        assert f"| {rule.id} | `{rule.slug}` | {rule.severity} |" in readme, rule.id


def test_readme_run_example_is_what_the_tool_prints(monkeypatch):
    from conftest import cli

    monkeypatch.chdir(ROOT)
    _, out, _ = cli("scan", "examples", "--no-color", "--snippets")  # as on a terminal
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## What a run looks like", 1)[1].split("```", 2)[1]
    for line in section.strip().splitlines():
        if line != "...":
            assert line in out.splitlines(), line


def test_coverage_page_is_current_and_in_sync_with_policies():
    from checks.docgen import render_coverage
    from checks.recommendations import SOURCES, VERDICTS, load

    rules = load_bundled()
    assert (ROOT / "docs" / "coverage.md").read_text(encoding="utf-8") == render_coverage(rules), (
        "docs/coverage.md is stale: python -m checks.docgen coverage > docs/coverage.md"
    )
    rows = load()
    recommendations = {r["id"]: r for r in rows}
    assert len(recommendations) == len(rows), "a recommendation id is used twice"
    implemented = {rec for rule in rules for rec in rule.implements}
    for rule in rules:
        assert rule.implements, f"{rule.id} implements no recommendation"
        assert set(rule.implements) <= recommendations.keys(), rule.id
    for rec_id, rec in recommendations.items():
        assert rec["text"] and rec["sources"], rec_id
        assert set(rec["sources"]) <= SOURCES.keys(), rec_id
        if rec_id in implemented:  # a verdict of rules, perhaps with what they leave out
            assert "static" not in rec and "why" not in rec, rec_id
        else:  # no blank verdict: say why, and what to do meanwhile
            assert rec.get("static") in VERDICTS and rec["why"] and rec["instead"], rec_id
            assert bool(rec.get("planned")) == (rec["static"] == "planned"), rec_id
    # every one of the five guides is read: each gives at least one recommendation
    assert {s for rec in rows for s in rec["sources"]} == SOURCES.keys()
    page = (ROOT / "docs" / "coverage.md").read_text(encoding="utf-8")
    for rule in rules:
        assert f"[{rule.id}](rules.md#" in page
    for rec_id in recommendations:
        assert f"(`{rec_id}`)" in page


def test_coverage_page_gives_each_kind_of_verdict_in_words():
    page = (ROOT / "docs" / "coverage.md").read_text(encoding="utf-8")
    rows = {line.split("(`", 1)[1].split("`)", 1)[0]: line for line in page.splitlines()
            if line.startswith("| ") and "(`" in line}  # fmt: skip
    assert "[EKS306](rules.md#eks306-sts-legacy-endpoint)" in rows["api-regional-sts"]
    assert "| api |" in rows["api-regional-sts"]
    assert (
        rows["bp-audit-access"]
        .split(" | ")[2]
        .startswith(
            "[EKS801](rules.md#eks801-unpinned-path-to-cluster-admin), "
            "[EKS802](rules.md#eks802-pod-path-to-aws-admin); every path, from every entry point "
            "to every power, with `eks-checks access` ([docs/access.md](access.md))"
        )
    )
    assert "| bp, api, chain |" in rows["bp-audit-access"]
    assert " | not statically checkable: " in rows["bp-sdk-sessions"]
    assert " | not checked yet: " in rows["bp-permissions-boundary"]
    assert " | not a rule by design: " in rows["bp-prefer-pod-identity"]
    assert " | no longer needed: " in rows["bp-session-name"]
    assert ". Not covered: " in rows["bp-audit-logs"]


def test_explain_names_the_recommendations():
    from conftest import cli

    code, out, _ = cli("explain", "EKS510")
    assert code == 0
    assert (
        "Implements these recommendations of the EKS guides:\n"
        "  - Before switching a cluster to authentication mode API (or to Auto Mode, which never "
        "reads aws-auth), move every aws-auth entry to an access entry. (EKS user guide, grant "
        "access to Kubernetes APIs; EKS API server authentication and authorization guide; "
        "ga-migrate-access-entries)\n"
    ) in out


@pytest.mark.parametrize("rule_id", ["EKS306", "EKS307", "EKS511", "EKS512", "EKS513", "EKS705"])
def test_explain_and_sarif_help_name_the_new_rules_recommendations(rule_id):
    from checks.recommendations import by_id, guides
    from checks.report.sarif import rule_descriptor
    from conftest import cli

    rule = next(r for r in load_bundled() if r.id == rule_id)
    (rec_id,) = [r for r in rule.implements if r in by_id()][:1]
    rec = by_id()[rec_id]
    code, out, _ = cli("explain", rule_id)
    assert code == 0
    assert f"  - {rec['text']} ({guides(rec)}; {rec_id})\n" in out
    help_ = rule_descriptor(rule)["help"]
    assert f"- {rec['text']} ({guides(rec)}; {rec_id})" in help_["text"]
    assert f"- {rec['text']} ({guides(rec)}; `{rec_id}`)" in help_["markdown"]


def test_sarif_help_names_the_recommendations_of_every_rule():
    from checks.recommendations import by_id
    from checks.report.sarif import rule_descriptor

    known = by_id()
    for rule in load_bundled():
        help_ = rule_descriptor(rule)["help"]
        assert "Recommendations of the EKS guides it checks:" in help_["text"], rule.id
        for rec_id in rule.implements:
            assert known[rec_id]["text"] in help_["text"], (rule.id, rec_id)
            assert f"`{rec_id}`" in help_["markdown"], (rule.id, rec_id)


def _readme_block(heading: str, lang: str) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index(heading) :]
    start = section.index(f"```{lang}\n") + len(f"```{lang}\n")
    return section[start : section.index("```", start)]


def test_the_readme_workflow_scans_once_pins_its_actions_and_passes_zizmor(tmp_path):
    workflow = _readme_block("### GitHub Actions, with code scanning", "yaml")
    assert "|| true" not in workflow
    assert workflow.count("eks-checks scan") == 1
    assert "persist-credentials: false" in workflow
    for line in workflow.splitlines():
        if "uses:" in line:
            assert re.search(r"@[0-9a-f]{40}  # v\d+\.\d+\.\d+$", line), line
    folder = tmp_path / ".github" / "workflows"
    folder.mkdir(parents=True)
    (folder / "eks-checks.yml").write_text(workflow)
    here = os.path.dirname(sys.executable)
    zizmor = shutil.which("zizmor", path=here + os.pathsep + os.environ.get("PATH", ""))
    assert zizmor, "zizmor is a test extra: pip install -e '.[test]'"
    env = {k: v for k, v in os.environ.items() if "TOKEN" not in k}
    run = subprocess.run(
        [zizmor, "--offline", "--no-progress", "--color", "never", str(folder / "eks-checks.yml")],
        capture_output=True, text=True, check=False, env=env, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.startswith("No findings to report."), run.stdout
