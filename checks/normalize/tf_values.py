"""Terraform's values as the evaluator holds them, and Terraform's rules for them.

A value is a string, a number (int, or float when not whole), a bool, None (null), a list
(Terraform's tuples, lists and sets), a dict (objects and maps), or `Unknown`. Terraform's
conversions (a number where a string is wanted is its decimal text, `"true"` is a bool
where one is wanted...), its equality (values of different types are never equal), its
number formatting, the text `jsonencode` makes, and its type constraints (`variable "x" {
type = object({...}) }`) are here, once, for the evaluator and every function to share. What
Terraform refuses raises `EvalError`: the expression has no value (the caller reads it as
unknown, with a note).
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any

from checks.model import LDict, LList, Partial, PartialList, PartialMap, Unknown, UnknownItems
from checks.normalize.tf_limits import MAX_PARTS
from checks.parse import numbers
from checks.parse.hcltree import Call, ObjectExpr, Ref, TupleExpr


class EvalError(Exception):
    """An expression Terraform refuses: a function given what it does not take, an index
    out of range, a key the map does not have... `line`: where, when known."""

    def __init__(self, message: str, line: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


class Undecided(Exception):
    """A value an operation needs is unknown (a string that is the text of a structure with
    unknown parts...): the expression being evaluated is unknown."""

    def __init__(self, value: Unknown) -> None:
        super().__init__(value.reason)
        self.value = value


def parts_of(value: Any, as_map: bool) -> tuple[Any, list[Unknown], frozenset] | None:
    """A list (or, with `as_map`, a map) as (its known items, its rest, the known items that
    may be absent): a known one is all known, an `UnknownItems` or an unknown value all rest;
    None for a value that is not such a collection (null, a string, a map for a list...)."""
    if isinstance(value, Partial):
        if isinstance(value, PartialMap) is as_map:
            return value.known, value.rest, value.maybe
        return None
    empty = LDict() if as_map else LList()
    if isinstance(value, UnknownItems):
        return (empty, [value], frozenset()) if (value.key is not None) is as_map else None
    if isinstance(value, Unknown):
        return empty, [value], frozenset()
    if as_map and isinstance(value, dict) and not isinstance(value, EncodedDict):
        return value, [], frozenset()
    if not as_map and isinstance(value, list) and not isinstance(value, EncodedList):
        return value, [], frozenset()
    return None


def known_in_part(why: Unknown, text: str, known: Any, rest: list, maybe: Any) -> Any:
    """The collection of `known` items (a list or a map), `rest` and `maybe` (see `Partial`),
    written `text`, as simply as it can be said: the known collection when that is all, the
    one part of the rest when that is all (an `UnknownItems` or an unknown value), else a
    `Partial` unknown for `why`."""
    if not rest and not maybe:
        return known
    rest = _fewest_parts(rest)
    if not known:
        if len(rest) == 1 and isinstance(rest[0], UnknownItems):
            part = rest[0]
            return UnknownItems(part.reason, text, part.ref, part.item, part.key)
        if all(not isinstance(part, UnknownItems) for part in rest):
            return Unknown(rest[0].reason, text, rest[0].ref)
    kind = PartialMap if isinstance(known, dict) else PartialList
    return kind(why.reason, text, why.ref, known, list(rest), frozenset(maybe))


def _fewest_parts(rest: list) -> list:
    """The parts of a rest, each once: one item not known stands for all the others, and past
    MAX_PARTS shapes, the rest is one part of which nothing is known (each part is judged
    apart, as an entity: a rest built to grow must not grow the scan)."""
    plain = next((part for part in rest if not isinstance(part, UnknownItems)), None)
    shaped: list[Unknown] = []
    for part in rest:
        if len(shaped) > MAX_PARTS:
            break
        if isinstance(part, UnknownItems) and not any(_same_part(part, p) for p in shaped):
            shaped.append(part)
    if len(shaped) > MAX_PARTS:
        plain = plain or Unknown(shaped[MAX_PARTS].reason, shaped[MAX_PARTS].text)
        shaped = shaped[:MAX_PARTS]
    return shaped if plain is None else [*shaped, plain]


def _same_part(a: UnknownItems, b: UnknownItems) -> bool:
    """Whether two parts stand for the same items: one item under one key."""
    same_key = a.key is b.key or (
        isinstance(a.key, Unknown) and isinstance(b.key, Unknown) and a.key.text == b.key.text
    )
    return same_key and (a.item is b.item or equal(a.item, b.item) is True)


def union(why: Unknown, text: str, values: list, as_map: bool) -> Any:
    """What may be any one of `values` (lists, or maps with `as_map`): every item of each, each
    one that may be absent; None when one is not such a collection. Of items under one key in
    two maps, the first is known and the others are more items the map may hold there."""
    known: Any = LDict() if as_map else LList()
    rest: list[Unknown] = []
    for value in values:
        parts = parts_of(value, as_map)
        if parts is None:
            return None
        items, more, _maybe = parts
        rest.extend(more)
        if as_map:
            for key, item in items.items():
                if key not in known:
                    known[key] = item
                elif equal(known[key], item) is not True:
                    rest.append(UnknownItems(why.reason, text, why.ref, item, key))
        else:
            known.extend(items)
    maybe = frozenset(known) if as_map else frozenset(range(len(known)))
    return known_in_part(why, text, known, rest, maybe)


def partial_item(value: Unknown, key: Any) -> Any:
    """`value[key]` of a collection known in part (an `UnknownItems`, a `Partial`), when only
    one item can be there: an item of a collection a `for` made is its item whatever the key
    (unless its key is known and another); a known key of a map that nothing not known may
    replace is its item, as is the one item not known that may be under a key not known;
    anything else is unknown."""
    if isinstance(key, Unknown):
        return value.item if isinstance(value, UnknownItems) else Unknown(key.reason, key.text)
    if isinstance(value, UnknownItems):
        if value.key is not None and not isinstance(value.key, Unknown):
            return value.item if value.key == key else Unknown(value.reason, value.text, value.ref)
        return value.item
    if not isinstance(value, PartialMap) or not isinstance(key, str):
        return Unknown(value.reason, value.text, value.ref)
    candidates = [
        part
        for part in value.rest
        if not isinstance(part, UnknownItems)
        or isinstance(part.key, Unknown)
        or part.key is None
        or part.key == key
    ]
    if key in value.known and (key not in value.maybe or not candidates):
        return value.known[key]  # nothing replaces it (when there, if it may be absent)
    if key in value.known:
        return Unknown(value.reason, value.text, value.ref)
    if len(candidates) == 1 and isinstance(candidates[0], UnknownItems):
        return candidates[0].item
    return Unknown(value.reason, value.text, value.ref)


def each_of(items: UnknownItems) -> dict:
    """`each` of the one instance that a `for_each` made by a `for` over a collection not
    known stands for: the item every instance is, under its key (a set's item is its key)."""
    return {"key": items.item if items.key is None else items.key, "value": items.item}


def for_each_parts(value: Any) -> tuple[Any, list[dict]]:
    """A `for_each` as (what of it is known: the value itself, or the known items of one known
    in part, None when nothing is; `each` of the one instance that stands for each part of
    its rest: an `UnknownItems`' item under its key, else each not known)."""
    if isinstance(value, UnknownItems):
        return None, [each_of(value)]
    if not isinstance(value, Partial):
        return value, []
    parts = [
        each_of(part)
        if isinstance(part, UnknownItems)
        else {
            "key": Unknown(part.reason, "each.key", part.ref),
            "value": Unknown(part.reason, "each.value", part.ref),
        }
        for part in value.rest
    ]
    return value.known, parts


class Located(str):
    """A string read from a heredoc or a file: where its first line is. `rendered`: a
    template's `%{for}`/`%{if}` made it, so its lines are not the file's past the first."""

    file: str = ""
    line: int = 0
    rendered: bool = False


class EncodedDict(LDict):
    """A map `jsonencode` or `yamlencode` was given (`format`): kept as the structure (rules
    read structures), but the encoded text wherever a string is wanted."""

    __slots__ = ("format",)

    def __init__(self, value: dict, format: str) -> None:
        super().__init__(
            value,
            line=getattr(value, "line", 0),
            end_line=getattr(value, "end_line", 0),
            file=getattr(value, "file", ""),
        )
        self.key_lines = dict(getattr(value, "key_lines", {}))
        self.format = format


class EncodedList(LList):
    """A list `jsonencode` or `yamlencode` was given, as EncodedDict. `certain`: how many of
    its first items it surely holds; the others, of a collection known in part, each stand for
    any number of items, none included."""

    __slots__ = ("format", "certain")

    def __init__(self, value: list, format: str, certain: int | None = None) -> None:
        super().__init__(
            value,
            line=getattr(value, "line", 0),
            end_line=getattr(value, "end_line", 0),
            file=getattr(value, "file", ""),
        )
        self.item_lines = list(getattr(value, "item_lines", []))
        self.format = format
        self.certain = len(self) if certain is None else certain


Encoded = (EncodedDict, EncodedList)
# the format of what jsonencode or yamlencode made of a collection known in part: its items
# are read as the items it may hold, its text is not known (which items it holds is not)
PARTLY_ENCODED = "known in part"


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_list(value: Any) -> bool:
    return isinstance(value, list)


def type_name(value: Any) -> str:
    """A value's type in Terraform's words, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if is_number(value):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Encoded):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    return "value"


# ---- numbers ----------------------------------------------------------------------------------
_NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?")
MAX_EXPONENT = 400  # a number written with a larger exponent is no number a config means


def given_number(value: Any) -> Any:
    """A number argument as Terraform converts it: a string of digits (`"2"`) is the number;
    anything else stays as it was written (rules compare numeric text exactly too), and so
    does a string of more digits than the parsers read as a number."""
    if (
        isinstance(value, str)
        and value.isascii()
        and value.isdigit()
        and len(value) <= numbers.MAX_DIGITS
    ):
        return int(value)
    return value


def number(value: int | float | Decimal) -> int | float:
    """A number as the evaluator keeps it: an int when whole, else a float."""
    if isinstance(value, Decimal):
        if value == value.to_integral_value():
            return int(value)
        return float(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return int(value)
    return value


def parse_number(text: str) -> int | float | None:
    """A string's number, as Terraform converts a string to a number (decimal, no spaces,
    no hexadecimal); None when it is none."""
    if not _NUMBER.fullmatch(text):
        return None
    mantissa, _, exponent = text.lower().partition("e")
    if exponent and abs(int(exponent)) > MAX_EXPONENT:
        return None
    if "." not in mantissa and not exponent:
        return int(text)
    return number(Decimal(text))


def number_text(value: int | float) -> str:
    """A number as Terraform writes it in a string: positional decimal digits, the fewest
    that give the number back (`1.5`, `100000000000000000000`, `0.0000015`)."""
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        raise EvalError("a number that is not finite cannot be written")
    if value.is_integer():
        return str(int(value))
    text = format(Decimal(repr(value)), "f")
    return text


# ---- conversions --------------------------------------------------------------------------------
def to_string(value: Any, what: str = "value") -> str:
    """`value` where Terraform wants a string: numbers and bools become their text, the
    structure `jsonencode` was given its JSON; null and collections are refused (EvalError);
    an unknown value, or text that cannot be known, raises Undecided."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if is_number(value):
        return number_text(value)
    if isinstance(value, Encoded):
        value = encoded_text(value)
        if isinstance(value, str):
            return value
    if isinstance(value, Unknown):
        raise Undecided(value)
    if value is None:
        raise EvalError(f"{what} must not be null")
    raise EvalError(f"{what} must be a string, not a {type_name(value)}")


def to_number(value: Any, what: str = "value") -> int | float | Unknown:
    """`value` where Terraform wants a number: a numeric string is converted."""
    if is_number(value):
        return value
    if isinstance(value, Unknown):
        return value
    if isinstance(value, str):
        parsed = parse_number(value)
        if parsed is not None:
            return parsed
        raise EvalError(f"{what} must be a number, not the string {value!r}")
    if value is None:
        raise EvalError(f"{what} must not be null")
    raise EvalError(f"{what} must be a number, not a {type_name(value)}")


def to_integer(value: Any, what: str = "value") -> int | Unknown:
    """A whole number where Terraform wants one (an index, a count)."""
    converted = to_number(value, what)
    if isinstance(converted, Unknown):
        return converted
    if isinstance(converted, float):
        raise EvalError(f"{what} must be a whole number, not {number_text(converted)}")
    return converted


def to_bool(value: Any, what: str = "value") -> bool | Unknown:
    """`value` where Terraform wants a bool: the strings `true` and `false` are converted."""
    if isinstance(value, bool):
        return value
    if isinstance(value, Unknown):
        return value
    if value == "true" or value == "false":
        return value == "true"
    if value is None:
        raise EvalError(f"{what} must not be null")
    raise EvalError(f"{what} must be a bool, not a {type_name(value)}")


def first_unknown(value: Any) -> Unknown | None:
    """The first unknown value inside `value` (itself included), else None; walked without
    recursion (a value is bounded in size, not in shape)."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, Unknown):
            return node
        if isinstance(node, dict):
            stack.extend(reversed(list(node.values())))
        elif isinstance(node, list):
            stack.extend(reversed(node))
    return None


def equal(a: Any, b: Any) -> bool | None:
    """Terraform's `==`: values of different types are never equal (`1 == "1"` is false);
    None when an unknown value decides it."""
    stack = [(a, b)]
    unknown = False
    while stack:
        x, y = stack.pop()
        if isinstance(x, Encoded) or isinstance(y, Encoded):
            x = encoded_text(x) if isinstance(x, Encoded) else x
            y = encoded_text(y) if isinstance(y, Encoded) else y
        if isinstance(x, Unknown) or isinstance(y, Unknown):
            unknown = True
            continue
        if isinstance(x, bool) or isinstance(y, bool):
            if not (isinstance(x, bool) and isinstance(y, bool)) or x != y:
                return False
        elif is_number(x) or is_number(y):
            if not (is_number(x) and is_number(y)) or x != y:
                return False
        elif isinstance(x, str) or isinstance(y, str):
            if not (isinstance(x, str) and isinstance(y, str)) or x != y:
                return False
        elif x is None or y is None:
            if not (x is None and y is None):
                return False
        elif isinstance(x, list) and isinstance(y, list):
            if len(x) != len(y):
                return False
            stack.extend(zip(x, y, strict=True))
        elif isinstance(x, dict) and isinstance(y, dict):
            if x.keys() != y.keys():
                return False
            stack.extend((x[k], y[k]) for k in x)
        else:
            return False
    return None if unknown else True


def hashable(value: Any) -> Any:
    """A hashable stand-in for a known value, equal for values `equal` finds equal."""
    if isinstance(value, bool):
        return ("bool", value)
    if is_number(value):
        return ("number", value)
    if isinstance(value, Encoded):
        return encoded_text(value)
    if isinstance(value, list):
        return ("list", tuple(hashable(v) for v in value))
    if isinstance(value, dict):
        return ("map", frozenset((k, hashable(v)) for k, v in value.items()))
    return value


def sort_key(value: Any) -> Any:
    """Where a value sits in a set of its type: strings by their text, numbers by value."""
    return (0, value) if is_number(value) else (1, str(value))


def unify(values: list) -> list:
    """The items of a list converted to one type, as Terraform converts a tuple to a list or
    set: strings, numbers and bools together are all strings; null and unknown pass."""
    kinds = {type_name(v) for v in values if v is not None and not isinstance(v, Unknown)}
    if len(kinds) <= 1:
        return values
    if kinds <= {"string", "number", "bool"}:
        return [v if v is None or isinstance(v, Unknown) else to_string(v) for v in values]
    if kinds <= {"list"} or kinds <= {"object"}:
        return values
    raise EvalError("all the items must have the same type")


def with_lines(out: Any, like: Any) -> Any:
    """`out` (a new list or dict) where `like` was written, when it says."""
    line = getattr(like, "line", 0)
    if line and isinstance(out, list) and not isinstance(out, LList):
        out = LList(out, line=line, end_line=like.end_line)
    elif line and isinstance(out, dict) and not isinstance(out, LDict):
        out = LDict(out, line=line, end_line=like.end_line)
    return out


# ---- jsonencode's text --------------------------------------------------------------------------
def encoded_text(value: EncodedDict | EncodedList) -> str | Unknown:
    """The text `jsonencode` gives for the structure (keys sorted, no spaces, `<`, `>` and `&`
    escaped as Go's encoder does); `yamlencode`'s text is not written here: unknown."""
    if value.format == PARTLY_ENCODED:
        return Unknown("the text of a collection known in part is not known", "jsonencode(...)")
    if value.format != "json":
        return Unknown("the text yamlencode() gives is not computed", "yamlencode(...)")
    return json_text(value)


def json_text(value: Any) -> str | Unknown:
    """`value` as `jsonencode` writes it; unknown when a part of it is."""
    unknown = first_unknown(value)
    if unknown is not None:
        return unknown
    out: list[str] = []
    stack: list = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, _Raw):
            out.append(node.text)
        elif node is None:
            out.append("null")
        elif isinstance(node, bool):
            out.append("true" if node else "false")
        elif is_number(node):
            out.append(number_text(node))
        elif isinstance(node, str):
            out.append(json_string(node))
        elif isinstance(node, list):
            items: list = [_Raw("[")]
            for i, item in enumerate(node):
                if i:
                    items.append(_Raw(","))
                items.append(item)
            items.append(_Raw("]"))
            stack.extend(reversed(items))
        elif isinstance(node, dict):
            items = [_Raw("{")]
            for i, key in enumerate(sorted(node)):
                items.append(_Raw(("," if i else "") + json_string(str(key)) + ":"))
                items.append(node[key])
            items.append(_Raw("}"))
            stack.extend(reversed(items))
    return "".join(out)


class _Raw:
    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


_JSON_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b"}
_JSON_ESCAPES.update({"\f": "\\f", "<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})
_JSON_ESCAPES.update({"\u2028": "\\u2028", "\u2029": "\\u2029"})
_JSON_SPECIAL = re.compile('["\\\\\\x00-\\x1f<>&\u2028\u2029]')


def json_string(text: str) -> str:
    """A string as Go's JSON encoder writes it."""

    def escape(m: re.Match) -> str:
        ch = m.group()
        return _JSON_ESCAPES.get(ch) or f"\\u{ord(ch):04x}"

    return '"' + _JSON_SPECIAL.sub(escape, text) + '"'


# ---- type constraints ---------------------------------------------------------------------------
class TypeSpec:
    """A type constraint (`string`, `list(object({...}))`, `any`...): `kind` is one of
    any, string, number, bool, list, set, map, tuple, object; `element` the type of a
    collection's items; `attributes` an object's (name -> (type, optional, default
    expression)); `items` a tuple's types."""

    __slots__ = ("kind", "element", "attributes", "items")

    def __init__(
        self,
        kind: str,
        element: TypeSpec | None = None,
        attributes: dict | None = None,
        items: list | None = None,
    ) -> None:
        self.kind = kind
        self.element = element
        self.attributes = attributes or {}
        self.items = items or []


ANY = TypeSpec("any")
PRIMITIVES = ("string", "number", "bool")


def convert(value: Any, spec: TypeSpec, defaults: Any, what: str = "value") -> Any:
    """`value` converted to the type `spec` as Terraform converts a variable's value:
    primitives converted, an object's missing optional attributes filled with their default
    (`defaults(expression)` evaluates one) or null, attributes the type does not declare
    dropped, a set's items made distinct; raise EvalError for what does not convert.
    Unknown values stay unknown."""
    if spec.kind == "any" or isinstance(value, Unknown):
        return value
    if value is None:
        return None
    if spec.kind == "string":
        # what jsonencode/yamlencode was given is a string that keeps its structure and lines
        return value if isinstance(value, Encoded) else to_string(value, what)
    if spec.kind == "number":
        return to_number(value, what)
    if spec.kind == "bool":
        return to_bool(value, what)
    if spec.kind in ("list", "set", "tuple"):
        if not isinstance(value, list):
            raise EvalError(f"{what} must be a {spec.kind}, not a {type_name(value)}")
        if spec.kind == "tuple":
            if len(value) != len(spec.items):
                raise EvalError(f"{what} must have {len(spec.items)} items")
            out = [
                convert(v, t, defaults, f"{what}[{i}]")
                for i, (v, t) in enumerate(zip(value, spec.items, strict=True))
            ]
        else:
            element = spec.element or ANY
            out = [convert(v, element, defaults, f"{what}[{i}]") for i, v in enumerate(value)]
            if spec.kind == "set":
                out = distinct_set(out)
        converted = LList(
            out, line=getattr(value, "line", 0), end_line=getattr(value, "end_line", 0)
        )
        if spec.kind != "set":
            converted.item_lines = list(getattr(value, "item_lines", []))
        return converted
    if not isinstance(value, dict):
        raise EvalError(f"{what} must be a {spec.kind}, not a {type_name(value)}")
    out_map = LDict(line=getattr(value, "line", 0), end_line=getattr(value, "end_line", 0))
    lines = getattr(value, "key_lines", {})
    if spec.kind == "map":
        element = spec.element or ANY
        for key, item in value.items():
            out_map[key] = convert(item, element, defaults, f"{what}[{key!r}]")
            if key in lines:
                out_map.key_lines[key] = lines[key]
        return out_map
    for name, (attr_type, optional, default) in spec.attributes.items():
        item = value.get(name)
        if item is None and optional and default is not None:
            item = defaults(default)
        elif name not in value and not optional:
            raise EvalError(f"{what} lacks the attribute {name!r} its type requires")
        out_map[name] = convert(item, attr_type, defaults, f"{what}.{name}")
        if name in lines:
            out_map.key_lines[name] = lines[name]
    return out_map


def distinct_set(values: list) -> list:
    """A set's items: distinct, known ones in the set's order, unknown ones after."""
    values = unify(values)
    known: dict = {}
    unknown = []
    for v in values:
        if first_unknown(v) is not None:
            unknown.append(v)
        else:
            known.setdefault(hashable(v), v)
    items = list(known.values())
    if all(is_number(v) or isinstance(v, str) for v in items):
        items.sort(key=sort_key)
    return items + unknown


def type_spec(expr: Any) -> TypeSpec:
    """The type constraint a variable's `type` expression writes (`string`, `list(string)`,
    `object({a = optional(number, 1)})`...); `any` for one it does not write."""
    if isinstance(expr, Ref) and len(expr.parts) == 1:
        name = expr.parts[0]
        if name in PRIMITIVES:
            return TypeSpec(name)
        if name in ("list", "set", "map"):
            return TypeSpec(name, ANY)
        return ANY
    if not isinstance(expr, Call) or len(expr.args) != 1:
        return ANY
    (arg,) = expr.args
    if expr.name in ("list", "set", "map"):
        return TypeSpec(expr.name, type_spec(arg))
    if expr.name == "tuple" and isinstance(arg, TupleExpr):
        return TypeSpec("tuple", items=[type_spec(item) for item in arg.items])
    if expr.name == "object" and isinstance(arg, ObjectExpr):
        attributes = {}
        for key, value, _line, _end in arg.items:
            if not isinstance(key, str):
                return ANY
            optional = isinstance(value, Call) and value.name == "optional" and value.args
            if optional:
                default = value.args[1] if len(value.args) > 1 else None
                attributes[key] = (type_spec(value.args[0]), True, default)
            else:
                attributes[key] = (type_spec(value), False, None)
        return TypeSpec("object", attributes=attributes)
    return ANY
