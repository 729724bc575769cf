"""Every rule folder under fixtures/rules: findings must be exactly what the markers say.

`# ruleid: X` on the line(s) above a line: rule X reports exactly that line.
`# ok: X`: rule X does not report that line. JSON fixtures cannot hold comments: their
findings are listed in `expected.json` beside them, and `{"rule": X, "line": N, "ok": true}`
there is the `# ok: X` of line N. A rule folder with sub-folders holds
separate scenarios (each scanned on its own, e.g. "the scan holds exactly one cluster").
"""

from __future__ import annotations

from pathlib import Path

import pytest

from checks.rules import load_bundled
from conftest import FIXTURES, load_json, markers, run

RULE_DIRS = sorted(p for p in (FIXTURES / "rules").iterdir() if p.is_dir())


def _units(folder: Path) -> list[Path]:
    subdirs = sorted(p for p in folder.iterdir() if p.is_dir())
    has_files = any(p.is_file() for p in folder.iterdir())
    return ([folder] if has_files or not subdirs else []) + subdirs


UNITS = [(folder.name, unit) for folder in RULE_DIRS for unit in _units(folder)]


def _expectations(unit: Path) -> tuple[set, set]:
    expected: set = set()
    forbidden: set = set()
    for path in sorted(p for p in unit.iterdir() if p.is_file()):
        if path.suffix in (".tf", ".yaml", ".yml"):
            exp, forb = markers(path)
            expected |= exp
            forbidden |= forb
    expected_file = unit / "expected.json"
    if expected_file.exists():
        for name, items in load_json(expected_file).items():
            for item in items:
                marker = (name, item["line"], item["rule"])
                (forbidden if item.get("ok") else expected).add(marker)
    return expected, forbidden


def test_every_bundled_rule_has_fixtures_that_fire_and_stay_quiet():
    ids = {r.id for r in load_bundled()}
    assert ids <= {p.name for p in RULE_DIRS}, "rules without fixtures"
    for folder in RULE_DIRS:
        fires = quiet = False
        for unit in _units(folder):
            expected, forbidden = _expectations(unit)
            fires |= any(rule == folder.name for _, _, rule in expected)
            quiet |= any(rule == folder.name for _, _, rule in forbidden)
        assert fires and quiet, f"{folder.name}: needs a fixture that fires and one that does not"


@pytest.mark.parametrize(
    "rule_id,unit", UNITS, ids=[str(u.relative_to(FIXTURES / "rules")) for _, u in UNITS]
)
def test_rule_fixture_folder(rule_id, unit):
    expected, forbidden = _expectations(unit)
    considered = {rule_id} | {r for _, _, r in expected | forbidden}
    result = run([unit])
    assert result.problems == []
    actual = {
        (f.location.file.rsplit("/", 1)[-1], f.location.start_line, f.rule_id)
        for f in result.findings
        if f.rule_id in considered
    }
    assert sorted(actual) == sorted(expected)
    assert not (actual & forbidden)
