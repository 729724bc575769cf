"""Docs that are generated from the rules must be current."""

from __future__ import annotations

from checks.docgen import render
from checks.rules import bundled_dir, load_bundled, load_dir
from conftest import ROOT


def test_rules_doc_is_current():
    expected = render(load_bundled())
    actual = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    assert actual == expected, "docs/rules.md is stale: python -m checks.docgen > docs/rules.md"


def test_bundled_rules_pass_the_schema():
    # scans skip schema validation of bundled rules for start-up time; this is where it happens
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
    _, out, _ = cli("scan", "examples", "--no-color")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## What a run looks like", 1)[1].split("```", 2)[1]
    for line in section.strip().splitlines():
        if line != "...":
            assert line in out.splitlines(), line
