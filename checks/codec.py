"""Values as JSON and back, by their declared type: what the cache stores.

Decoding cannot run code and cannot build anything but what was declared. The declared type
(`UnitResult`, `list[Rule]`) drives both ways: a dataclass is the list of its fields, each
by its own declared type; a tuple, a set or a line pair is a list turned back into one; a
mapping of declared values is the list of its keys and the list of its values (a line
pair's two numbers in a row), which the parser's object hook never sees; a field declared
`Any` (an entity's field values, a rule's condition) holds plain JSON values and, as tagged
objects (`{"\\u0000": tag, ...}`), the few other types our values use: tuples, sets,
mappings with keys that are not strings, line-keeping mappings and lists (their items'
lines two numbers in a row), unknown values (lists and maps known in part, the items a `for`
makes of a collection not known), integers beyond 64 bits and infinite or NaN numbers. Whatever does
not match its declared type, an unknown tag included, raises `Invalid`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from collections.abc import Callable
from itertools import chain
from typing import Any

from checks.model import LDict, LList, PartialList, PartialMap, Unknown, UnknownItems


class Invalid(Exception):
    """A value that cannot be encoded as declared, or JSON that is not such a value."""


TAG_KEY = "\0"  # a JSON object with this key is tagged; no plain mapping is written with it
_SMALL_INT = 2**63
_AS_IS = frozenset({str, bool, type(None)})  # what JSON holds exactly, whatever the value
_STR = frozenset({str})
_INT = frozenset({int})
_TWO = frozenset({2})
_TEXT_OR_NONE = (str, type(None))


def encode(value: Any, declared: Any) -> bytes:
    """`value`, of the type `declared`, as JSON (ASCII: a lone surrogate is written as its
    escape). Raises `Invalid` for a value that does not match."""
    plain = _coder(declared)[0](value)
    return json.dumps(plain, separators=(",", ":"), allow_nan=False).encode("ascii")


def decode(raw: bytes, declared: Any) -> Any:
    """The value of type `declared` that `encode` wrote. Raises `Invalid` (or ValueError,
    RecursionError for JSON that does not parse) for anything else."""
    text = raw.decode("ascii")  # what `encode` writes; other bytes raise a ValueError
    # a tagged object's key can only be written `\u0000` (JSON has no raw control character
    # in a string): without it, every object is plain and no hook needs to look at each one
    scan = _SCAN_TAGGED if "\\u0000" in text else _SCAN_PLAIN
    try:
        value, end = scan(text, 0)  # the parser itself, without json.loads' wrapping
    except StopIteration:
        raise Invalid("no JSON value") from None
    if end != len(text):
        raise Invalid("more after the value")
    return _coder(declared)[1](value)


# ---- values declared Any: plain JSON, other types tagged --------------------------------------
def _tagged(v: Any) -> Any:
    t = type(v)
    if t in _AS_IS:
        return v
    if t is int:
        return v if -_SMALL_INT < v < _SMALL_INT else {TAG_KEY: "int", "v": hex(v)}
    if t is float:
        return v if math.isfinite(v) else {TAG_KEY: "float", "v": repr(v)}
    if t is list:
        if _AS_IS.issuperset(map(type, v)):  # checked at C speed: most lists are strings
            return v
        return [x if type(x) in _AS_IS else _tagged(x) for x in v]
    if t is dict:
        if TAG_KEY not in v and _STR.issuperset(map(type, v)):
            if _AS_IS.issuperset(map(type, v.values())):
                return v
            return {k: x if type(x) in _AS_IS else _tagged(x) for k, x in v.items()}
        return {TAG_KEY: "dict", "v": [[_tagged(k), _tagged(x)] for k, x in v.items()]}
    if t is tuple:
        return {TAG_KEY: "tuple", "v": [_tagged(x) for x in v]}
    if t is LDict:
        return {
            TAG_KEY: "LDict",
            "v": [[_tagged(k), _tagged(x)] for k, x in v.items()],
            "lines": [v.line, v.end_line],
            "keys": [[_tagged(k), list(span)] for k, span in v.key_lines.items()],
        }
    if t is LList:
        return {
            TAG_KEY: "LList",
            "v": [_tagged(x) for x in v],
            "lines": [v.line, v.end_line],
            "items": _flat_pairs(v.item_lines),
        }
    if t is Unknown:
        return {TAG_KEY: "Unknown", "v": [v.reason, v.text, v.ref]}
    if t is PartialList or t is PartialMap:
        parts = [_tagged(part) for part in v.rest]
        return {
            TAG_KEY: t.__name__,
            "v": [v.reason, v.text, v.ref, _tagged(v.known), parts, _tagged(v.maybe)],
        }
    if t is UnknownItems:
        return {
            TAG_KEY: "UnknownItems",
            "v": [v.reason, v.text, v.ref, _tagged(v.item), _tagged(v.key)],
        }
    if t is set or t is frozenset:
        return {TAG_KEY: t.__name__, "v": [_tagged(x) for x in v]}
    raise Invalid(f"cannot store a {t.__name__}")


_PARTIALS = {"PartialList": (PartialList, LList), "PartialMap": (PartialMap, LDict)}


def _untag(obj: dict) -> Any:
    """The parser's object hook: a tagged object becomes its value, a plain one stays."""
    if TAG_KEY not in obj:
        return obj
    tag, items = obj[TAG_KEY], obj.get("v")
    if type(items) is list:  # the common tags first: this runs for each of them
        if tag == "Unknown":
            if len(items) != 3:
                raise Invalid("an Unknown is three texts")
            reason, text, ref = items
            if type(reason) is not str or type(text) is not str or type(ref) not in _TEXT_OR_NONE:
                raise Invalid("an Unknown of the wrong types")
            # `text or reason` in Unknown() is the text written: it was made so, or both are ""
            return Unknown(reason, text, ref)
        if tag == "LList":
            line, end = _span(obj.get("lines"))
            sequence = LList(items, line=line)
            sequence.end_line = end
            sequence.item_lines = _line_pairs(obj.get("items"))
            return sequence
    if tag in ("int", "float"):
        if type(items) is not str or len(items) > 10_000:
            raise Invalid("a number of the wrong type")
        return int(items, 16) if tag == "int" else float(items)
    if not isinstance(items, list):
        raise Invalid("a tagged value without items")
    if tag == "tuple":
        return tuple(items)
    if tag == "dict":
        return dict(_pairs(items))
    if tag == "LDict":
        line, end = _span(obj.get("lines"))
        mapping = LDict(_pairs(items), line=line)
        mapping.end_line = end
        mapping.key_lines = {k: _span(span) for k, span in _pairs(obj.get("keys"))}
        return mapping
    if tag in _PARTIALS:
        kind, known_type = _PARTIALS[tag]
        if len(items) != 6:
            raise Invalid(f"a {tag} is three texts, its known items, its rest and its maybe")
        reason, text, ref, known, rest, maybe = items
        if not (type(reason) is str and type(text) is str and type(ref) in _TEXT_OR_NONE):
            raise Invalid(f"a {tag} of the wrong types")
        if type(known) is not known_type:
            raise Invalid(f"a {tag}'s known items are not a line-keeping {known_type.__name__}")
        if type(rest) is not list or not all(isinstance(part, Unknown) for part in rest):
            raise Invalid(f"a {tag}'s rest is not a list of unknown values")
        if type(maybe) is not frozenset:
            raise Invalid(f"a {tag}'s maybe is not a set")
        return kind(reason, text, ref, known, rest, maybe)
    if tag == "UnknownItems":
        if len(items) != 5:
            raise Invalid("an UnknownItems is three texts, its item and its key")
        reason, text, ref, item, key = items
        if not (type(reason) is str and type(text) is str and type(ref) in _TEXT_OR_NONE):
            raise Invalid("an UnknownItems of the wrong types")
        return UnknownItems(reason, text, ref, item, key)
    if tag in ("set", "frozenset"):
        return (set if tag == "set" else frozenset)(items)
    raise Invalid(f"an unknown tag {tag!r}")


def _pairs(items: Any) -> list[tuple]:
    if not isinstance(items, list) or not all(
        isinstance(pair, list) and len(pair) == 2 for pair in items
    ):
        raise Invalid("pairs expected")
    return [(k, v) for k, v in items]


def _flat_pairs(spans: list) -> list[int]:
    """(start, end) line pairs as one list of numbers, two by two."""
    _check(_TWO.issuperset(map(len, spans)), "line pairs expected")
    flat = list(chain.from_iterable(spans))
    _check(_INT.issuperset(map(type, flat)), "line pairs expected")
    return flat


def _line_pairs(flat: Any) -> list[tuple[int, int]]:
    """The (start, end) line pairs `_flat_pairs` wrote: built two by two without a call per
    pair."""
    if type(flat) is not list or len(flat) % 2 or not _INT.issuperset(map(type, flat)):
        raise Invalid("line pairs expected")
    numbers = iter(flat)
    return list(zip(numbers, numbers, strict=True))


def _span(value: Any) -> tuple[int, int]:
    if type(value) is list and len(value) == 2:
        start, end = value
        if type(start) is int and type(end) is int:
            return (start, end)
    raise Invalid("a (start, end) line pair expected")


def _any(v: Any) -> Any:
    return v  # tagged values were rebuilt by the object hook; the rest is plain JSON


# the parser with and without the object hook, made once (json.loads makes one per call with
# a hook); C code that raises StopIteration where no value starts
_SCAN_PLAIN = json.JSONDecoder().scan_once
_SCAN_TAGGED = json.JSONDecoder(object_hook=_untag).scan_once


# ---- declared types ---------------------------------------------------------------------------
Coder = tuple[Callable[[Any], Any], Callable[[Any], Any]]  # (encode, decode)
_CODERS: dict[Any, Coder] = {}
# decoders of containers -> (how an empty one is written, what makes a new empty one): the
# value of a type that decodes what is equal to it (a mapping, a list or a set of any items)
_EMPTY: dict[Callable[[Any], Any], tuple[Any, Callable[[], Any]]] = {}
_NO_EMPTY = (object(), None)  # for other decoders: equal to nothing JSON holds
# decoders that take the parsed value as it is, of one type (the object hook rebuilt what was
# tagged inside it) -> that type
_AS_PARSED: dict[Callable[[Any], Any], tuple[type]] = {}


def _coder(hint: Any) -> Coder:
    """The pair of functions for a declared type, made once."""
    if hint not in _CODERS:
        _CODERS[hint] = _make_coder(hint)
    return _CODERS[hint]


def _check(ok: bool, what: str) -> None:
    if not ok:
        raise Invalid(what)


def _make_coder(hint: Any) -> Coder:
    if hint is Any:
        return _tagged, _any
    if dataclasses.is_dataclass(hint):
        return _dataclass_coder(hint)
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Union or origin is types.UnionType:
        others = [a for a in args if a is not type(None)]
        if len(others) != 1:
            raise TypeError(f"no coder for {hint}")
        enc, dec = _coder(others[0])
        return (lambda v: None if v is None else enc(v)), (lambda v: None if v is None else dec(v))
    if hint in (str, bool, int):
        return _scalar_coder(hint)
    if hint in (list, dict, tuple, set):
        origin, args = hint, ()
    if origin is list:
        return _list_coder(args[0] if args else Any)
    if origin in (set, frozenset):
        enc, dec = _coder(args[0] if args else Any)

        def enc_set(v: Any) -> Any:
            _check(type(v) is origin, f"a {origin.__name__} expected")
            return [enc(x) for x in v]

        def dec_set(v: Any) -> Any:
            _check(type(v) is list, "a list expected")
            return origin(dec(x) for x in v)

        _EMPTY[dec_set] = ([], origin)
        return enc_set, dec_set
    if origin is dict:
        return _dict_coder(args[1] if args else Any, keys_any=not args or args[0] is Any)
    if origin is tuple:
        return _tuple_coder(args)
    raise TypeError(f"no coder for {hint}")


def _scalar_coder(kind: type) -> Coder:
    def same(v: Any) -> Any:
        _check(type(v) is kind, f"a {kind.__name__} expected")
        return v

    return same, same


def _list_coder(item: Any) -> Coder:
    if item is Any:

        def enc_any(v: Any) -> Any:
            _check(type(v) is list, "a list expected")
            return _tagged(v)

        def dec_any(v: Any) -> Any:
            _check(type(v) is list, "a list expected")
            return v

        _AS_PARSED[dec_any] = (list,)
        return enc_any, dec_any
    if item is str:

        def texts(v: Any) -> Any:
            _check(type(v) is list and _STR.issuperset(map(type, v)), "a list of texts expected")
            return v

        _EMPTY[texts] = ([], list)
        return texts, texts
    enc, dec = _coder(item)

    def enc_list(v: Any) -> Any:
        _check(type(v) is list, "a list expected")
        return [enc(x) for x in v]

    def dec_list(v: Any) -> Any:
        _check(type(v) is list, "a list expected")
        return list(map(dec, v))

    _EMPTY[dec_list] = ([], list)
    return enc_list, dec_list


def _dict_coder(value: Any, keys_any: bool) -> Coder:
    if keys_any:  # a mapping whose keys may be of any type: tagged as a whole when they are

        def enc_any(v: Any) -> Any:
            _check(type(v) is dict, "a mapping expected")
            return _tagged(v)

        def dec_any(v: Any) -> Any:
            _check(type(v) is dict, "a mapping expected")
            return v

        _AS_PARSED[dec_any] = (dict,)
        return enc_any, dec_any
    enc, dec = _coder(value)

    if dec is _any:  # values declared Any: a JSON object, its values rebuilt by the hook

        def enc_dict(v: Any) -> Any:
            _check(
                type(v) is dict and _STR.issuperset(map(type, v)) and TAG_KEY not in v,
                "a mapping with text keys expected",
            )
            return {k: enc(x) for k, x in v.items()}

        def dec_plain(v: Any) -> Any:
            _check(type(v) is dict, "a mapping expected")  # JSON's keys are texts
            return v

        _AS_PARSED[dec_plain] = (dict,)
        return enc_dict, dec_plain
    return _keys_then_values(value, enc, dec)


def _keys_then_values(value: Any, enc: Callable, dec: Callable) -> Coder:
    """A mapping with text keys of values of the declared type `value`, as `[keys, values]`
    (`[]` when empty): JSON arrays, which the object hook never sees, made a mapping again by
    zip in C. A value of one scalar is checked in place, a tuple of one scalar type (a line
    pair) is written flat, its items in a row; other values go through their coder."""
    scalar = _scalar(value)
    flat = _flat_tuple(value)
    width = len(flat) if flat else 1
    allowed = frozenset(flat[0] if flat else scalar or ())

    def enc_dict(v: Any) -> Any:
        _check(type(v) is dict and _STR.issuperset(map(type, v)), "a mapping with text keys")
        if scalar:
            values = list(v.values())
            _check(allowed.issuperset(map(type, values)), "values of the declared type")
        elif flat:
            values = list(chain.from_iterable(map(enc, v.values())))
        else:
            values = [enc(x) for x in v.values()]
        return [list(v), values] if v else []

    def dec_dict(v: Any) -> Any:
        if v == []:  # the most common mapping
            return {}
        if type(v) is not list or len(v) != 2:
            raise Invalid("a mapping's keys and values expected")
        keys, values = v
        if type(keys) is not list or type(values) is not list:
            raise Invalid("a mapping's keys and values expected")
        if len(values) != width * len(keys) or not _STR.issuperset(map(type, keys)):
            raise Invalid("a mapping's keys and values do not match")
        if scalar or flat:
            if not allowed.issuperset(map(type, values)):
                raise Invalid("values of the wrong type")
            if flat:
                items = iter(values)
                values = zip(*[items] * width, strict=True)  # the numbers, `width` by `width`
            mapping = dict(zip(keys, values, strict=True))
        else:
            mapping = dict(zip(keys, map(dec, values), strict=True))
        if len(mapping) != len(keys):
            raise Invalid("a key written twice")
        return mapping

    _EMPTY[dec_dict] = ([], dict)
    return enc_dict, dec_dict


def _flat_tuple(hint: Any) -> list[tuple[type, ...]] | None:
    """The types of each item of a fixed tuple of scalars all of one type (a line pair), else
    None."""
    if typing.get_origin(hint) is not tuple:
        return None
    args = typing.get_args(hint)
    kinds = [_scalar(arg) for arg in args]
    if not args or Ellipsis in args or not all(kinds) or len(set(kinds)) != 1:
        return None
    return kinds  # type: ignore[return-value]


def _tuple_coder(args: tuple) -> Coder:
    if not args or (len(args) == 2 and args[1] is Ellipsis):
        enc, dec = _coder(args[0] if args else Any)

        def enc_tuple(v: Any) -> Any:
            _check(type(v) is tuple, "a tuple expected")
            return [enc(x) for x in v]

        def dec_tuple(v: Any) -> Any:
            _check(type(v) is list, "a list expected")
            return tuple(dec(x) for x in v)

        return enc_tuple, dec_tuple
    scalars = [_scalar(arg) for arg in args]
    if all(scalars):  # e.g. a (start, end) line pair: written as it is, a list in JSON

        def enc_pair(v: Any) -> Any:
            _check(
                type(v) is tuple
                and len(v) == len(scalars)
                and all(type(x) in ok for x, ok in zip(v, scalars, strict=True)),
                f"a tuple of {len(scalars)} expected",
            )
            return v

        def dec_pair(v: Any) -> Any:
            _check(
                type(v) is list
                and len(v) == len(scalars)
                and all(type(x) in ok for x, ok in zip(v, scalars, strict=True)),
                f"{len(scalars)} items expected",
            )
            return tuple(v)

        if len(scalars) == 2:  # a line pair, the most common: checked without a loop
            first, second = scalars

            def dec_two(v: Any) -> Any:
                if type(v) is list and len(v) == 2 and type(v[0]) in first:
                    if type(v[1]) in second:
                        return (v[0], v[1])
                raise Invalid("2 items expected")

            return enc_pair, dec_two
        return enc_pair, dec_pair
    coders = [_coder(arg) for arg in args]

    def enc_fixed(v: Any) -> Any:
        _check(type(v) is tuple and len(v) == len(coders), f"a tuple of {len(coders)} expected")
        return [enc(x) for (enc, _), x in zip(coders, v, strict=True)]

    def dec_fixed(v: Any) -> Any:
        _check(type(v) is list and len(v) == len(coders), f"{len(coders)} items expected")
        return tuple(dec(x) for (_, dec), x in zip(coders, v, strict=True))

    return enc_fixed, dec_fixed


def _scalar(hint: Any) -> tuple[type, ...] | None:
    """The types a value of a one-value declared type may have (str, int, bool, optional),
    checked in place rather than through a coder; None for any other type."""
    if hint in (str, int, bool):
        return (hint,)
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = typing.get_args(hint)
        if all(a in (str, int, bool, type(None)) for a in args):
            return args
    return None


def _dataclass_coder(cls: type) -> Coder:
    """A dataclass as the list of its fields, in order; only this class, never a subclass.
    Fields whose metadata says `"cached": False` are left out (decoded, they are their
    defaults): they come after all others."""
    fields = dataclasses.fields(cls)
    names = [f.name for f in fields if f.metadata.get("cached", True)]
    if names != [f.name for f in fields[: len(names)]]:
        raise TypeError(f"{cls.__name__}: a field the cache stores after one it does not")
    hints = typing.get_type_hints(cls)
    # per field: its name, the types it may have when it is one value, else its coder
    plan: list[tuple[str, tuple[type, ...] | None, Coder | None]] = []

    def enc(v: Any) -> Any:
        _check(type(v) is cls, f"a {cls.__name__} expected")
        out = []
        for name, scalar, coder in plan:
            x = getattr(v, name)
            if scalar is None:
                out.append(coder[0](x))
            elif type(x) in scalar:
                out.append(x)
            else:
                raise Invalid(f"{cls.__name__}.{name} of the wrong type")
        return out

    # for decoding, by position: the fields checked in place, and those decoded by their
    # coder (a field declared Any is neither: the object hook rebuilt its value), with what
    # an empty one is written as and what makes it (most are: compared in C, not decoded)
    checked: list[tuple[int, tuple[type, ...]]] = []
    decoded: list[tuple[int, Callable[[Any], Any], Any, Callable[[], Any]]] = []

    count = len(names)

    def dec(v: Any) -> Any:
        if type(v) is not list or len(v) != count:
            raise Invalid(f"a {cls.__name__} expected")
        for i, scalar in checked:
            if type(v[i]) not in scalar:
                raise Invalid(f"{cls.__name__}.{plan[i][0]} of the wrong type")
        for i, decode_field, empty, make_empty in decoded:  # `v` is the parser's, ours to change
            x = v[i]
            v[i] = make_empty() if x == empty else decode_field(x)
        return cls(*v)

    _CODERS[cls] = (enc, dec)  # before the fields: a field may hold this class again
    for i, name in enumerate(names):
        scalar = _scalar(hints[name])
        plan.append((name, scalar, None if scalar else _coder(hints[name])))
        if scalar:
            checked.append((i, scalar))
        elif plan[-1][2][1] in _AS_PARSED:  # only its type to check: checked in place
            checked.append((i, _AS_PARSED[plan[-1][2][1]]))
        elif hints[name] is not Any:
            decode_field = plan[-1][2][1]
            decoded.append((i, decode_field, *_EMPTY.get(decode_field, _NO_EMPTY)))
    return enc, dec
