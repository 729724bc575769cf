"""Every rule folder under fixtures/rules: findings must be exactly what the markers say.

`# ruleid: X` on the line(s) above a line: rule X reports exactly that line.
`# ok: X`: rule X does not report that line. JSON fixtures cannot hold comments: their
findings are listed in `expected.json` beside them.
"""

from __future__ import annotations

import pytest

from checks.rules import load_bundled
from conftest import FIXTURES, load_json, markers, run

RULE_DIRS = sorted(p for p in (FIXTURES / "rules").iterdir() if p.is_dir())


def test_every_bundled_rule_has_fixtures_that_fire_and_stay_quiet():
    ids = {r.id for r in load_bundled()}
    dirs = {p.name for p in RULE_DIRS}
    assert ids <= dirs, f"rules without fixtures: {sorted(ids - dirs)}"
    for d in RULE_DIRS:
        names = [p.name for p in d.iterdir()]
        assert any(n.startswith("fail") for n in names), d
        assert any(n.startswith("pass") for n in names), d


@pytest.mark.parametrize("folder", RULE_DIRS, ids=lambda p: p.name)
def test_rule_fixture_folder(folder):
    expected: set = set()
    forbidden: set = set()
    for path in sorted(folder.iterdir()):
        if path.suffix in (".tf", ".yaml", ".yml"):
            exp, forb = markers(path)
            expected |= exp
            forbidden |= forb
    expected_file = folder / "expected.json"
    if expected_file.exists():
        for name, items in load_json(expected_file).items():
            for item in items:
                expected.add((name, item["line"], item["rule"]))
    considered = {folder.name} | {r for _, _, r in expected | forbidden}
    result = run([folder])
    assert result.problems == []
    actual = {
        (f.location.file.rsplit("/", 1)[-1], f.location.start_line, f.rule_id)
        for f in result.findings
        if f.rule_id in considered
    }
    assert sorted(actual) == sorted(expected)
    assert not (actual & forbidden)
    assert any(r == folder.name for _, _, r in expected), "a fixture must make the rule fire"
