"""Evaluation, one condition at a time: three-valued logic (an unknown value makes a check
undecided, never a finding, unless the rest decides it), list quantifiers over unknown items,
where a finding points, and the operators no bundled rule uses."""

from __future__ import annotations

import pytest

from checks.evaluate import evaluate
from checks.model import Entity, LList, Location, PartialList, Unknown
from checks.rules import Rule

VAR = Unknown("var.x has no default", "var.x")


def _rule(when: dict, params: dict | None = None, location: list | None = None) -> Rule:
    data = {
        "id": "T001",
        "slug": "t",
        "title": "t",
        "severity": "low",
        "entity": "cluster",
        "when": when,
        "message": "{name}",
        "remediation": "r",
        "params": params or {},
        "location": location or [],
    }
    return Rule.from_data(data, "test")


def _verdict(when: dict, fields: dict, params: dict | None = None, config=None) -> str:
    """fires, quiet, or `unknown: reasons` for one entity with `fields`."""
    entity = Entity(
        "cluster", "k", "test", Location("main.tf", 1, 9), fields={"name": "c", **fields}
    )
    findings, skipped = evaluate([_rule(when, params)], [entity], config)
    if findings:
        return "fires"
    if skipped:
        return "unknown: " + "; ".join(skipped[0].reasons)
    return "quiet"


YES = {"field": "a", "equals": 1}
NO = {"field": "a", "equals": 2}
UNDECIDED = {"field": "u", "equals": 1}


@pytest.mark.parametrize(
    "when, verdict",
    [
        ({"all": [YES, UNDECIDED]}, "unknown: var.x has no default"),
        ({"all": [NO, UNDECIDED]}, "quiet"),
        ({"all": [YES, YES]}, "fires"),
        ({"any": [YES, UNDECIDED]}, "fires"),
        ({"any": [NO, UNDECIDED]}, "unknown: var.x has no default"),
        ({"any": [NO, NO]}, "quiet"),
        ({"not": UNDECIDED}, "unknown: var.x has no default"),
        ({"not": NO}, "fires"),
        ({"not": {"all": [NO, UNDECIDED]}}, "fires"),
        ({"field": "u", "exists": True}, "fires"),  # an unknown value is there, only not known
        ({"field": "missing", "missing": True}, "fires"),
        ({"field": "missing", "equals": None}, "fires"),
        ({"all": [UNDECIDED, NO]}, "quiet"),  # a false one decides, wherever it is
        ({"any": [UNDECIDED, YES]}, "fires"),
        ({"all": [YES, {"any": [UNDECIDED, NO]}]}, "unknown: var.x has no default"),
        ({"not": {"any": [NO, {"not": YES}]}}, "fires"),
        # two conditions left undecided by one value: its reason is given once
        ({"all": [UNDECIDED, {"field": "u", "not_equals": 2}]}, "unknown: var.x has no default"),
        ({"any": [{"not": UNDECIDED}, UNDECIDED]}, "unknown: var.x has no default"),
    ],
)
def test_three_valued_logic(when, verdict):
    assert _verdict(when, {"a": 1, "u": VAR}) == verdict


@pytest.mark.parametrize(
    "quantifier, items, verdict",
    [
        ("any_item", ["x", VAR], "fires"),
        ("any_item", ["y", VAR], "unknown: var.x has no default"),
        ("any_item", ["y"], "quiet"),
        ("any_item", [], "quiet"),
        ("no_item", ["y", VAR], "unknown: var.x has no default"),
        ("no_item", ["y", "z"], "fires"),
        ("no_item", ["y", "x"], "quiet"),
        ("no_item", [], "fires"),
        ("every_item", ["x", VAR], "unknown: var.x has no default"),
        ("every_item", ["x", "y", VAR], "quiet"),
        ("every_item", ["x", "x"], "fires"),
        ("every_item", [], "fires"),
        ("any_item", VAR, "unknown: var.x has no default"),
        ("every_item", "x", "fires"),  # a single value is a list of one
    ],
)
def test_quantifiers_over_unknown_items(quantifier, items, verdict):
    when = {"field": "items", quantifier: {"equals": "x"}}
    assert _verdict(when, {"items": items}) == verdict


def _partial(known: list, maybe: frozenset = frozenset(), rest: list | None = None):
    """A list known in part (`concat(known, var.x)`): `known`, the positions of `maybe`
    possibly absent, and a rest not known unless `rest` says otherwise (`[]`: none)."""
    return PartialList(VAR.reason, "concat(...)", None, LList(known), rest, maybe)


REST = "unknown: var.x has no default"


@pytest.mark.parametrize(
    "condition, items, verdict",
    [
        # an item surely held decides what any number of other items cannot change
        ({"contains": "x"}, _partial(["x"]), "fires"),
        ({"contains": "x"}, _partial(["y"]), REST),
        ({"contains": "x"}, _partial(["x"], maybe=frozenset({0})), REST),
        ({"contains": "x"}, _partial(["y", "x"], maybe=frozenset({0})), "fires"),
        # no item surely held: it may be empty, and is unknown whole (as OPA is told)
        ({"contains": "x"}, _partial(["y"], maybe=frozenset({0}), rest=[]), REST),
        ({"contains": "x"}, _partial([VAR], rest=[]), REST),
        ({"not": {"contains": "x"}}, _partial(["x"]), "quiet"),
        ({"not": {"contains": "x"}}, _partial(["y"]), REST),
        ({"contains_any": ["x", "z"]}, _partial(["z"]), "fires"),
        ({"contains_any": ["x", "z"]}, _partial(["y"]), REST),
        ({"contains_all": ["x", "z"]}, _partial(["z", "x"]), "fires"),
        ({"contains_all": ["x", "z"]}, _partial(["z"]), REST),
        ({"empty": False}, _partial(["y"]), "fires"),
        ({"empty": True}, _partial(["y"]), "quiet"),
        ({"empty": True}, _partial([]), REST),
        ({"empty": True}, _partial(["y"], maybe=frozenset({0})), REST),
        ({"any_item": {"equals": "x"}}, _partial(["y", "x"]), "fires"),
        ({"any_item": {"equals": "x"}}, _partial(["y"]), REST),
        ({"any_item": {"equals": "x"}}, _partial(["x"], maybe=frozenset({0})), REST),
        ({"no_item": {"equals": "x"}}, _partial(["x"]), "quiet"),
        ({"no_item": {"equals": "x"}}, _partial(["y"]), REST),
        ({"every_item": {"equals": "x"}}, _partial(["x", "y"]), "quiet"),
        ({"every_item": {"equals": "x"}}, _partial(["x"]), REST),
        ({"every_item": {"equals": "x"}}, _partial(["y", "x"], maybe=frozenset({0})), REST),
        ({"every_item": {"equals": "x"}}, _partial(["x"], rest=[]), "fires"),
        # what compares the list whole cannot know it
        ({"equals": ["x"]}, _partial(["x"]), REST),
        ({"in": [["x"]]}, _partial(["x"]), REST),
    ],
)
def test_a_list_known_in_part_is_judged_by_the_items_it_surely_holds(condition, items, verdict):
    negated = condition.get("not")
    when = {"not": {"field": "items", **negated}} if negated else {"field": "items", **condition}
    assert _verdict(when, {"items": items}) == verdict


def test_a_finding_on_an_item_of_a_list_known_in_part_points_at_that_item():
    known = LList(["y", "x"], line=4, end_line=9)
    known.item_lines = [(5, 5), (6, 7)]
    items = PartialList(VAR.reason, "concat(...)", None, known)
    when = {"field": "items", "any_item": {"equals": "x"}}
    assert _located(when, ["items"], {"items": items}) == (6, 7)


def test_quantifiers_test_fields_of_object_items():
    subjects = [{"kind": "Group", "name": "devs"}, {"kind": "User", "name": "system:anonymous"}]
    anonymous = {
        "all": [{"field": "kind", "equals": "User"}, {"field": "name", "matches": "^system:anon"}]
    }
    assert _verdict({"field": "subjects", "any_item": anonymous}, {"subjects": subjects}) == "fires"
    assert _verdict({"field": "subjects", "no_item": anonymous}, {"subjects": subjects}) == "quiet"
    named = {"field": "name", "exists": True}
    assert _verdict({"field": "subjects", "every_item": named}, {"subjects": subjects}) == "fires"


def _located(when: dict, location: list, fields: dict) -> tuple[int, int]:
    entity = Entity(
        "cluster", "k", "test", Location("main.tf", 1, 20), fields={"name": "c", **fields}
    )
    entity.field_lines = {"items": (4, 9), "a": (12, 12)}
    findings, _ = evaluate([_rule(when, location=location)], [entity])
    (finding,) = findings
    return finding.location.start_line, finding.location.end_line


def test_a_finding_points_at_the_item_that_made_any_item_true():
    items = LList(["y", "x", "x"], line=4, end_line=9)
    items.item_lines = [(5, 5), (6, 7), (8, 9)]
    when = {"field": "items", "any_item": {"equals": "x"}}
    assert _located(when, ["items"], {"items": items}) == (6, 7)
    # inside `not`, what made the inner condition true does not locate the finding
    negated = {"not": {"field": "items", "any_item": {"equals": "z"}}}
    assert _located(negated, ["items"], {"items": items}) == (4, 9)
    # every_item has no single witness: the field's own lines
    assert _located(
        {"field": "items", "every_item": {"not": {"equals": "z"}}}, ["items"], {"items": items}
    ) == (4, 9)


def test_a_finding_points_at_the_first_location_field_the_input_set():
    when = {"field": "a", "equals": 1}
    assert _located(when, ["unset", "a"], {"a": 1}) == (12, 12)
    assert _located(when, ["unset"], {"a": 1}) == (1, 20)


@pytest.mark.parametrize(
    "when, value, verdict",
    [
        ({"in": ["API", "API_AND_CONFIG_MAP"]}, "API", "fires"),
        ({"in": ["API", "API_AND_CONFIG_MAP"]}, "CONFIG_MAP", "quiet"),
        ({"in": ["API"]}, None, "quiet"),
        ({"in": ["API"]}, VAR, "unknown: var.x has no default"),
        ({"in": {"param": "modes"}}, "API", "fires"),
        ({"not_in": ["API", "API_AND_CONFIG_MAP"]}, "CONFIG_MAP", "fires"),
        ({"not_in": ["API", "API_AND_CONFIG_MAP"]}, "API", "quiet"),
        ({"not_in": ["API"]}, None, "fires"),
        ({"not_in": ["API"]}, VAR, "unknown: var.x has no default"),
        ({"less_than": 2}, 1, "fires"),
        ({"less_than": 2}, 2, "quiet"),
        ({"less_than": 2}, "1", "fires"),  # a number written as text compares as the number
        ({"less_than": 2}, "one", "quiet"),
        ({"less_than": 2}, True, "quiet"),  # a boolean is no number
        ({"less_than": 2}, None, "quiet"),
        ({"less_than": 2}, VAR, "unknown: var.x has no default"),
        ({"less_than": {"param": "limit"}}, 2, "fires"),
    ],
)
def test_operators_no_bundled_rule_uses(when, value, verdict):
    params = {"modes": ["API"], "limit": 3}
    assert _verdict({"field": "v", **when}, {"v": value}, params) == verdict


def test_configured_params_replace_the_defaults():
    when = {"field": "v", "less_than": {"param": "limit"}}
    assert _verdict(when, {"v": 2}, {"limit": 3}) == "fires"
    assert _verdict(when, {"v": 2}, {"limit": 3}, {"T001": {"limit": 2}}) == "quiet"
