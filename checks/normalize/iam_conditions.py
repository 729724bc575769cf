"""IAM condition operators in one place: whether a `Condition` entry admits a value (the link
stage asks it of a ServiceAccount's subject), and what an entry pins (normalize: `sub_scope`,
`github_repo_pinned`).

An operator is written `[ForAnyValue:|ForAllValues:]<operator>[IfExists]`:
- `StringEquals`: the value is one of the condition's values, literally (`*` is a `*`);
  `StringEqualsIgnoreCase` in any case.
- `StringLike`: one of the values as a pattern: `*` any run of characters, `?` exactly one.
- `ArnEquals` and `ArnLike` (IAM reads them alike): an ARN whose six `:`-separated parts each
  match the pattern's part, with the same wildcards, which never reach across a `:` (the last
  part, the resource, takes the rest, colons included).
- `StringNotEquals`, `StringNotEqualsIgnoreCase`, `StringNotLike`, `ArnNotEquals`,
  `ArnNotLike`: none of the values matches.
- `ForAnyValue:`, `ForAllValues:` and `IfExists` ask about keys with several values or none;
  for a key with one value (a web identity's `sub` and `aud` always have one) they change
  nothing.
A value the scan does not know makes the answer unknown, unless a known one decides it. Other
operators (numeric, date, `Bool`, `IpAddress`, `Null`, binary) are not evaluated: unknown.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from checks.model import Unknown, wildcard_match


class Operator(NamedTuple):
    """An operator as IAM reads it: its `base` (lower case, without a set prefix and
    `IfExists`), whether it is `negated`, whether its values are patterns (`*`, `?`), whether
    it ignores case or compares ARNs, and whether we evaluate it at all."""

    base: str
    negated: bool
    pattern: bool
    ignore_case: bool
    arn: bool
    evaluated: bool


# base operator -> (negated, pattern, ignore case, ARN)
_OPERATORS: dict[str, tuple[bool, bool, bool, bool]] = {
    "stringequals": (False, False, False, False),
    "stringnotequals": (True, False, False, False),
    "stringequalsignorecase": (False, False, True, False),
    "stringnotequalsignorecase": (True, False, True, False),
    "stringlike": (False, True, False, False),
    "stringnotlike": (True, True, False, False),
    "arnequals": (False, True, False, True),
    "arnlike": (False, True, False, True),
    "arnnotequals": (True, True, False, True),
    "arnnotlike": (True, True, False, True),
}


def operator(text: str) -> Operator:
    """`ForAnyValue:StringLikeIfExists` -> the operator `stringlike`, a pattern operator."""
    base = str(text).rsplit(":", 1)[-1].lower()
    base = base.removesuffix("ifexists")
    found = _OPERATORS.get(base)
    if found is None:
        return Operator(base, False, False, False, False, False)
    return Operator(base, *found, True)


def narrows(text: str) -> bool:
    """Whether an operator narrows who matches to its values (a negated or an unevaluated one
    does not pin anything)."""
    op = operator(text)
    return op.evaluated and not op.negated


def is_pattern(text: str, value: Any) -> bool:
    """Whether a value of a condition with this operator matches more than itself."""
    return operator(text).pattern and ("*" in str(value) or "?" in str(value))


def condition_admits(condition: dict, value: str) -> Any:
    """Whether a condition entry (`operator`, `key`, `values`, as a trust statement's
    `conditions` hold it) holds for a request whose key has the one value `value`: True,
    False, or Unknown."""
    op = operator(condition["operator"])
    if not op.evaluated:
        written = str(condition["operator"])
        return Unknown(f"condition operator {written} is not evaluated", written)
    values = condition["values"]
    matched = any(_matches(op, str(v), value) for v in values if not isinstance(v, Unknown))
    if matched:
        return not op.negated
    unknown = next((v for v in values if isinstance(v, Unknown)), None)
    if unknown is not None:
        return Unknown(unknown.reason, unknown.text)
    return op.negated


def _matches(op: Operator, pattern: str, value: str) -> bool:
    if op.arn:
        return _arn_matches(pattern, value)
    if op.ignore_case:
        return pattern.lower() == value.lower()
    if op.pattern:
        return wildcard_match(pattern, value)
    return pattern == value


def _arn_matches(pattern: str, value: str) -> bool:
    """Part by part: `arn:partition:service:region:account:resource`."""
    wanted, given = pattern.split(":", 5), value.split(":", 5)
    if len(wanted) != 6 or len(given) != 6:
        return False
    return all(wildcard_match(w, g) for w, g in zip(wanted, given, strict=True))
