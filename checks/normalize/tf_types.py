"""Terraform type constraints, as a variable's value is converted to its declared `type`.

A module's variables say what they take (`type = map(object({ tokens = optional(string,
"required") }))`), and Terraform converts every value it is given to that type before the
module sees it: a number written as `"2"` becomes 2, `"true"` becomes true, and an object
attribute declared `optional(T, default)` that the value leaves out (or sets to null) takes
its default. Module wrappers lean on those defaults, so a value read without them would say
something the module never sees. Conversions that Terraform would refuse leave the value as
it is (the value then says what was written); nothing here invents a value.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, NamedTuple

from checks.model import LDict, LList, Unknown
from checks.parse.hcltree import Call, Lit, ObjectExpr, Ref, Template, TupleExpr


class Attr(NamedTuple):
    """An attribute of an object type: its type, whether it may be left out, and the
    expression of its default (when `optional(T, default)` gives one)."""

    type: Any
    optional: bool
    default: Any


# A type is ("any",), ("string",), ("number",), ("bool",), ("list" | "set" | "map", item),
# ("tuple", [items]) or ("object", {name: Attr}); None is a constraint we do not read.
ANY = ("any",)
_PRIMITIVES = {"string", "number", "bool", "any"}
_COLLECTIONS = {"list", "set", "map"}
_MAX_TYPE_DEPTH = 32  # a constraint nested deeper is not read (no recursion past it)


def parse_type(expr: Any, depth: int = 0) -> Any:
    """The type a `type = ...` expression declares, or None when it is not one we read."""
    if depth > _MAX_TYPE_DEPTH:
        return None
    if isinstance(expr, Ref) and len(expr.parts) == 1 and expr.parts[0] in _PRIMITIVES:
        return (expr.parts[0],)
    if isinstance(expr, (Template, Lit)):
        # Terraform 0.11's quoted types: "string", "list", "map"
        text = "".join(expr.parts) if isinstance(expr, Template) else expr.value
        if not isinstance(text, str):
            return None
        return {"string": ("string",), "list": ("list", ANY), "map": ("map", ANY)}.get(text)
    if not isinstance(expr, Call):
        return None
    if expr.name in _COLLECTIONS and len(expr.args) == 1:
        item = parse_type(expr.args[0], depth + 1)
        return None if item is None else (expr.name, item)
    if expr.name == "tuple" and len(expr.args) == 1 and isinstance(expr.args[0], TupleExpr):
        items = [parse_type(item, depth + 1) for item in expr.args[0].items]
        return None if None in items else ("tuple", items)
    if expr.name == "object" and len(expr.args) == 1 and isinstance(expr.args[0], ObjectExpr):
        attrs: dict[str, Attr] = {}
        for key, value, _line, _end in expr.args[0].items:
            name = key if isinstance(key, str) else getattr(key, "text", None)
            if not isinstance(name, str):
                return None
            if isinstance(value, Call) and value.name == "optional" and 1 <= len(value.args) <= 2:
                attr_type = parse_type(value.args[0], depth + 1)
                default = value.args[1] if len(value.args) == 2 else None
                attrs[name] = Attr(attr_type, True, default)
            else:
                attrs[name] = Attr(parse_type(value, depth + 1), False, None)
            if attrs[name].type is None:
                return None
        return ("object", attrs)
    return None


def convert(value: Any, declared: Any, default_of: Callable[[Any], Any], depth: int = 0) -> Any:
    """`value` converted to the type `declared` as Terraform converts a variable's value;
    `default_of(expr)` evaluates an `optional()` default. Unknown values and conversions
    Terraform refuses are left as they are."""
    if declared is None or value is None or isinstance(value, Unknown) or depth > 100:
        return value
    kind = declared[0]
    if kind == "string":
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (int, float)):
            return _number_text(value)
        return value
    if kind == "number":
        if isinstance(value, str) and not isinstance(value, bool):
            return _number(value)
        return value
    if kind == "bool":
        if isinstance(value, str) and value in ("true", "false"):
            return value == "true"
        return value
    if kind in ("list", "set", "tuple"):
        if not isinstance(value, list):
            return value
        items = LList(line=getattr(value, "line", 0), end_line=getattr(value, "end_line", 0))
        items.item_lines = list(getattr(value, "item_lines", []))
        for index, item in enumerate(value):
            if kind == "tuple":
                item_type = declared[1][index] if index < len(declared[1]) else None
            else:
                item_type = declared[1]
            items.append(convert(item, item_type, default_of, depth + 1))
        return items
    if kind in ("map", "object"):
        if not isinstance(value, dict):
            return value
        out = LDict(line=getattr(value, "line", 0), end_line=getattr(value, "end_line", 0))
        if isinstance(value, LDict):
            out.key_lines = dict(value.key_lines)
        if kind == "map":
            for key, item in value.items():
                out[key] = convert(item, declared[1], default_of, depth + 1)
            return out
        out.update(value)  # attributes the type does not name: Terraform drops them, unread
        for name, attr in declared[1].items():
            given = value.get(name)
            if given is None and attr.optional:
                given = None if attr.default is None else default_of(attr.default)
            if given is not None or name in value or attr.optional:
                out[name] = convert(given, attr.type, default_of, depth + 1)
        return out
    return value


def _number_text(value: int | float) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return str(value)


_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _number(text: str) -> Any:
    """A string Terraform converts to a number, else the string as it was."""
    from checks.parse import numbers

    stripped = text.strip()
    if stripped != text or not stripped:
        return text
    body = stripped.lstrip("+-")
    if body.isascii() and body.isdigit() and len(body) <= numbers.MAX_DIGITS:
        return int(stripped)
    if "_" in stripped or not _FLOAT.fullmatch(stripped):
        return text
    number = float(stripped)
    return text if numbers.problem(number) else number
