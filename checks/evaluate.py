"""Evaluate: test each rule's condition tree over the entities of its kind.

Logic is three-valued: True, False, or None for unknown. A comparison with an `Unknown`
value is unknown; a rule fires only on a definite True; unknown results are counted so that
users can see what was not checked (`--show-unknown`). A list known in part (`PartialList`)
that surely holds an item is, to membership, emptiness and the quantifiers, the list of its
known items, each that may be absent an unknown item, followed by an unknown item for what
else it may hold (`checks.model.items_judged`): the same list the model gives OPA as its
`partial` view;
to every other operator it is unknown.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from checks.link import LinkTargets
from checks.model import (
    Entity,
    Finding,
    LList,
    Location,
    PartialList,
    Related,
    Unknown,
    items_judged,
)
from checks.rules import PLACEHOLDER, Rule, regex_search

_MISSING = object()
# a number written as text, as Terraform converts one ("2", "1.5e3")
_NUMERIC = re.compile(r"\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*")
_OUT_OF_RANGE = object()  # a number that cannot be compared (NaN, infinity, a vast exponent)


@dataclass
class Skipped:
    """An evaluation that could not be decided because a value was unknown: why, each reason
    once."""

    rule_id: str
    entity_key: str
    location: Location
    reasons: list[str] = field(default_factory=list)


def evaluate(
    rules: Iterable[Rule],
    entities: list[Entity],
    params: dict[str, dict] | None = None,
    judged: Callable[[Entity, LinkTargets], bool] | None = None,
) -> tuple[list[Finding], list[Skipped]]:
    """The findings of `rules` on `entities`, and what could not be decided. With `judged`,
    only the entities it accepts (given what their links name) are tested; the others are
    still what findings point at (`related`)."""
    by_kind: dict[str, list[Entity]] = {}
    targets = LinkTargets(entities)
    for e in entities:
        if judged is None or judged(e, targets):
            by_kind.setdefault(e.kind, []).append(e)
    findings: list[Finding] = []
    skipped: list[Skipped] = []
    for rule in rules:
        if rule.rego_policy:
            continue  # its Rego policy reports it (checks.rego.policy)
        rule_params = {**rule.params, **((params or {}).get(rule.id) or {})}
        test = compiled(rule.when)
        for kind in rule.entity:
            for entity in by_kind.get(kind, ()):
                reasons: Reasons = {}
                witness: dict[str, int] = {}
                verdict = test(entity.fields, rule_params, reasons, witness)
                if verdict is True:
                    findings.append(_finding(rule, entity, rule_params, witness, targets))
                elif verdict is None:
                    skipped.append(Skipped(rule.id, entity.key, entity.location, list(reasons)))
    return findings, skipped


def locate(names: Iterable[str], entity: Entity, witness: dict[str, int]) -> Location:
    """Where a finding on `entity` points: the first of `names` (a rule's `location`) that
    the entity has lines for, else the entity's own lines. A list written in another file
    (a variable's default) is pointed at where the entity uses it."""
    for name in names:
        value = entity.fields.get(name)
        if isinstance(value, PartialList):
            value = value.known  # an item surely held made the condition true
        elsewhere = getattr(value, "file", "") not in ("", entity.location.file)
        if (
            name in witness
            and isinstance(value, LList)
            and witness[name] < len(value.item_lines)
            and not elsewhere
        ):
            # the list item that made an `any_item` condition true, not the whole list
            start, end = value.item_lines[witness[name]]
            item = f"{name}[{witness[name]}]"
            file = entity.line_files.get(item, entity.location.file)
        elif name in entity.field_lines:
            start, end = entity.field_lines[name]
            file = entity.line_files.get(name, entity.location.file)
        else:
            continue
        return Location(file, start, max(start, end))
    return entity.location


def _finding(
    rule: Rule, entity: Entity, params: dict, witness: dict[str, int], targets: LinkTargets
) -> Finding:
    location = locate(rule.location, entity, witness)
    related = [
        Related(*entity.field_origins[name])
        for name in sorted(entity.field_origins)
        if name in rule_fields(rule)
    ]
    if location.file != entity.location.file:
        # a patch set what the finding is about: the object it patched explains it too
        related.append(Related(entity.location, "the object the patch changes, as written"))
    for spec in rule.related:
        for key in entity.links.get(spec["link"], []):
            other = targets.get(entity, key)
            if other is not None:
                related.append(
                    Related(other.location, format_message(spec["message"], other.fields, params))
                )
    related.extend(entity.related)  # the module calls that made it, the overlay that rendered it
    path: list[Related] = []
    hops: tuple = ()
    if rule.path:
        path = _hop_places(entity.fields.get(rule.path["shortest"]))
        every = entity.fields.get(rule.path.get("all_hops") or rule.path["shortest"])
        related += _hop_places(every)
        hops = _hop_identities(every)
    return Finding(
        rule_id=rule.id,
        slug=rule.slug,
        severity=rule.severity,
        title=rule.title,
        message=format_message(rule.message, entity.fields, params),
        location=location,
        entity_key=entity.key,
        remediation=rule.remediation.strip(),
        references=list(rule.references),
        related=related,
        path=path,
        hops=hops,
        entity=entity,
    )


# by the id of a rule (kept with it), emptied at COMPILED_MAX as `_COMPILED` is
_RULE_FIELDS: dict[int, tuple[Rule, frozenset[str]]] = {}


def rule_fields(rule: Rule) -> frozenset[str]:
    """The fields a rule reads: in its condition, its message and its location."""
    held, found = _RULE_FIELDS.get(id(rule), (None, frozenset()))
    if held is not rule:
        names = set(rule.location) | set(PLACEHOLDER.findall(rule.message))
        stack = [rule.when]
        while stack:
            cond = stack.pop()
            if isinstance(cond, dict):
                if isinstance(cond.get("field"), str):
                    names.add(cond["field"].split(".")[0])
                stack.extend(v for k, v in cond.items() if k in ("all", "any", "not"))
            elif isinstance(cond, list):
                stack.extend(cond)
        found = frozenset(names)
        if len(_RULE_FIELDS) >= COMPILED_MAX:
            _RULE_FIELDS.clear()
        _RULE_FIELDS[id(rule)] = (rule, found)
    return found


def _hop_identities(hops: Any) -> tuple[tuple[str, ...], ...]:
    """What each hop is, whatever its lines: (hop, entity key, file, where it starts, where it
    leads), sorted, each once."""
    names = ("hop", "entity_key", "file", "source", "target")
    found = {
        tuple(str(h.get(name)) for name in names)
        for h in (hops if isinstance(hops, list) else [])
        if isinstance(h, dict)
    }
    return tuple(sorted(found))


def _hop_places(hops: Any) -> list[Related]:
    """The places and words of a field of hops (checks.kinds.HOP), in its order."""
    places = []
    for hop in hops if isinstance(hops, list) else []:
        if not isinstance(hop, dict):
            continue
        start, end = hop.get("start_line"), hop.get("end_line")
        if not isinstance(hop.get("file"), str) or not isinstance(start, int):
            continue
        end = end if isinstance(end, int) and end >= start else start
        places.append(Related(Location(hop["file"], start, end), str(hop.get("message"))))
    return places


def format_message(template: str, fields: dict, params: dict) -> str:
    def repl(m: re.Match) -> str:
        name = m.group(1)
        if name in fields:
            return display(fields[name])
        if name in params:
            return display(params[name])
        return m.group(0)

    return PLACEHOLDER.sub(repl, template)


def display(value: Any) -> str:
    """A value as a message shows it. One call per nesting level (no comprehension frames):
    a value as deep as the parsers accept is shown without running out of stack."""
    if isinstance(value, Unknown):
        return value.text
    if value is None:
        return "(not set)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        items = []
        for item in value:
            items.append(display(item))
        return "[" + ", ".join(items) + "]"
    if isinstance(value, dict):
        pairs = []
        for key, item in value.items():
            pairs.append(f"{key}: {display(item)}")
        return "{" + ", ".join(pairs) + "}"
    return str(value)


def _and(results: Iterable[bool | None]) -> bool | None:
    unknown = False
    for r in results:
        if r is False:
            return False
        if r is None:
            unknown = True
    return None if unknown else True


def _or(results: Iterable[bool | None]) -> bool | None:
    unknown = False
    for r in results:
        if r is True:
            return True
        if r is None:
            unknown = True
    return None if unknown else False


# The reasons a verdict is unknown, each once in the order met: conditions left undecided by one
# value (an access entry not known leaves its policy and its scope unknown) give its reason once
Reasons = dict[str, None]
# A condition as a function of (the fields or an item, the parameters, the reasons a verdict
# is unknown, where an any_item matched): each rule's tree is turned into nested closures
# once per process, not walked key by key for every entity it is asked of
Test = Callable[[Any, dict, Reasons, dict], "bool | None"]
# by the id of a rule's condition (kept with it, so that the id stays its own), emptied when it
# holds COMPILED_MAX: a process that loads rules again and again (a library user, the tests)
# must not keep every copy
_COMPILED: dict[int, tuple[Any, Test]] = {}
COMPILED_MAX = 1024


def compiled(cond: dict) -> Test:
    """The function that judges `cond`: true, false, or None (unknown, with the reasons)."""
    found = _COMPILED.get(id(cond))
    if found is None or found[0] is not cond:
        if len(_COMPILED) >= COMPILED_MAX:
            _COMPILED.clear()
        found = _COMPILED[id(cond)] = (cond, _compile(cond))
    return found[1]


def _compile(cond: dict) -> Test:
    if "all" in cond or "any" in cond:
        return _junction(cond)
    if "not" in cond:
        inner = _compile(cond["not"])

        def negated(context: Any, params: dict, reasons: Reasons, witness: dict) -> bool | None:
            # what made the inner condition true does not locate the outer one
            result = inner(context, params, reasons, {})
            return None if result is None else not result

        return negated
    field = cond.get("field")
    steps = field.split(".") if field is not None else None
    for quantifier in ("any_item", "no_item", "every_item"):
        if quantifier in cond:
            return _quantifier(quantifier, _compile(cond[quantifier]), steps, field)
    if "exists" in cond or "missing" in cond:
        present = "exists" in cond

        def existence(context: Any, params: dict, reasons: Reasons, witness: dict) -> bool | None:
            return (_value(context, steps) is not None) is present

        return existence
    ops = [(op, raw) for op, raw in cond.items() if op != "field"]
    if not ops:
        return partial(_unjudged, steps=steps)
    op, raw = ops[0]  # a condition compares once
    named = isinstance(raw, dict) and "param" in raw

    def comparison(context: Any, params: dict, reasons: Reasons, witness: dict) -> bool | None:
        value = _value(context, steps)
        if isinstance(value, PartialList) and op in _BY_ITEMS:
            value = items_judged(value) or value
        if isinstance(value, Unknown):
            reasons[value.reason] = None
            return None
        result = _compare(op, value, params[raw["param"]] if named else raw)
        if result is None:
            if isinstance(value, list):
                unknowns = [v for v in value if isinstance(v, Unknown)]
                if unknowns:
                    reasons[unknowns[0].reason] = None
            else:
                reasons[f"{display(value)[:60]} is not a number that can be compared"] = None
        return result

    return comparison


def _unjudged(
    context: Any, params: dict, reasons: Reasons, witness: dict, steps: list[str] | None
) -> bool | None:
    """A condition that names a field and no test: never known (why, if its value is not)."""
    value = _value(context, steps)
    if isinstance(value, Unknown):
        reasons[value.reason] = None
    return None


def _junction(cond: dict) -> Test:
    """`all` (the first false decides, later ones are not asked) or `any` (the first true)."""
    deciding = "all" not in cond  # all: False decides; any: True decides
    parts = [_compile(c) for c in cond["any" if deciding else "all"]]

    def junction(context: Any, params: dict, reasons: Reasons, witness: dict) -> bool | None:
        unknown = False
        for part in parts:
            result = part(context, params, reasons, witness)
            if result is deciding:
                return deciding
            if result is None:
                unknown = True
        return None if unknown else not deciding

    return junction


def _quantifier(quantifier: str, sub: Test, steps: list[str] | None, field: str | None) -> Test:
    """any_item, no_item or every_item: each item is judged (unknown items are unknown), and
    an any_item that holds records the first item that matched as the witness of `field`."""

    def quantified(context: Any, params: dict, reasons: Reasons, witness: dict) -> bool | None:
        value = _value(context, steps)
        if isinstance(value, PartialList):
            value = items_judged(value) or value
        if isinstance(value, Unknown):
            reasons[value.reason] = None
            return None
        items = value if isinstance(value, list) else ([] if value is None else [value])
        results = []
        for item in items:
            if isinstance(item, Unknown):
                reasons[item.reason] = None
                results.append(None)
            else:
                results.append(sub(item, params, reasons, {}))
        if quantifier == "every_item":
            return _and(results)
        matched = _or(results)
        if quantifier == "no_item":
            return None if matched is None else not matched
        if matched is True and field:
            first = next(i for i, r in enumerate(results) if r is True)
            witness.setdefault(field, first)
        return matched

    return quantified


def _value(context: Any, steps: list[str] | None) -> Any:
    """The value a field's dotted path names in `context` (an Unknown on the way is the
    value; a path through what is no mapping names nothing)."""
    if steps is None:
        return context
    value = context
    for part in steps:
        if isinstance(value, Unknown):
            return value
        if isinstance(value, dict):
            value = value.get(part)
        else:
            return None
    return value


# what a list known in part answers as the list of its items (`checks.model.items_judged`)
_BY_ITEMS = frozenset({"contains", "contains_any", "contains_all", "empty"})


def _member(needle: Any, haystack: Any) -> bool | None:
    """Three-valued membership: a needle not among the known items of a list holding
    unknown items is unknown."""
    if isinstance(haystack, (list, tuple)):
        if any(not isinstance(h, Unknown) and h == needle for h in haystack):
            return True
        return None if any(isinstance(h, Unknown) for h in haystack) else False
    if isinstance(haystack, str):
        return str(needle) in haystack
    return False


def _number(value: Any) -> Any:
    """`value` as a number compared exactly (an integer of any size, a float as the binary
    fraction it is, a numeric string as written): a Decimal; None for what is no number;
    _OUT_OF_RANGE for a NaN, an infinity or an exponent past what can be compared."""
    if isinstance(value, bool):
        return None
    # imported by the first comparison of numbers: many runs (a warm hook's) compare none
    from decimal import Decimal, InvalidOperation

    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(value) if math.isfinite(value) else _OUT_OF_RANGE
    if isinstance(value, str) and _NUMERIC.fullmatch(value):
        try:
            return Decimal(value)
        except InvalidOperation:
            return _OUT_OF_RANGE
    return None


def _compare(op: str, value: Any, operand: Any) -> bool | None:
    if op == "equals":
        return value == operand
    if op == "not_equals":
        return value != operand
    if op == "in":
        return value in (operand or [])
    if op == "not_in":
        return value not in (operand or [])
    if op == "contains":
        return _member(operand, value)
    if op == "contains_any":
        return _or(_member(o, value) for o in operand)
    if op == "contains_all":
        return _and(_member(o, value) for o in operand)
    if op in ("greater_than", "less_than"):
        left, right = _number(value), _number(operand)
        if left is None or right is None:
            return False
        if left is _OUT_OF_RANGE or right is _OUT_OF_RANGE:
            return None
        return left > right if op == "greater_than" else left < right
    if op == "matches":
        if value is None:
            return False
        return regex_search(str(operand), str(value))
    if op == "empty":
        is_empty = value is None or (hasattr(value, "__len__") and len(value) == 0)
        return is_empty if operand else not is_empty
    raise ValueError(f"unknown operator {op}")
