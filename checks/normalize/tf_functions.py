"""Terraform's functions that EKS and IAM configurations use, one row each of `FUNCTIONS`.

Each is Terraform's function as its documentation and implementation define it: arguments
converted as Terraform converts them (a number where a string is wanted is its text), null
refused where Terraform refuses it, an error (`EvalError`) where Terraform gives one, and an
unknown result exactly where Terraform's would be unknown: a function that does not accept
unknown arguments is unknown when any part of one is (the evaluator checks that); the others
(`accepts_unknown`) decide themselves, e.g. `coalesce` is known when a known, non-empty value
comes before any unknown one, `length` of a list of unknown values is known. `try` and `can`
get their arguments as expressions (`lazy`). What a function builds is sized before it is
built (`tf_limits`), and `range` keeps Terraform's own limit of 1024 numbers.

Not here, and so unknown where used: functions of time and randomness (their value is known
only when Terraform runs), hashing and encryption, and network address functions.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import ipaddress
import math
import posixpath
import re
import unicodedata
from collections.abc import Callable
from decimal import ROUND_HALF_EVEN, Decimal
from functools import lru_cache
from typing import Any, NamedTuple, Protocol

from checks.model import LDict, LList, Partial, Unknown, UnknownItems, items_known
from checks.normalize.tf_limits import MAX_CHARS, MAX_ITEMS, capped_text
from checks.normalize.tf_values import (
    PARTLY_ENCODED,
    EncodedDict,
    EncodedList,
    EvalError,
    distinct_set,
    encoded_text,
    equal,
    first_unknown,
    hashable,
    is_number,
    json_string,
    json_text,
    known_in_part,
    number,
    partial_item,
    parts_of,
    to_bool,
    to_integer,
    to_number,
    to_string,
    type_name,
    unify,
    union,
    with_lines,
)
from checks.parse import ParseError, excerpt
from checks.parse.hcltree import Call


class Evaluator(Protocol):
    """What a function may ask of the evaluator (`tf_eval.Evaluator`)."""

    limits: Any
    yaml_budget: Any

    def evaluate(self, expr: Any, file: str) -> Any: ...

    def depends_on_unknown(self, expr: Any, file: str) -> Unknown | None: ...

    def file_content(self, path: str, site: CallSite) -> Any: ...

    def template_file(self, content: Any, names: dict, site: CallSite) -> Any: ...

    def too_large(self, text: str, expr: Any, file: str) -> Unknown: ...


class CallSite(NamedTuple):
    """Where a function is called: the call, the file it is written in, and its text as an
    unknown value shows it."""

    call: Call
    file: str
    text: str


class Function(NamedTuple):
    """One Terraform function: `impl(evaluator, site, args)` gives its value (raising
    EvalError for what Terraform refuses), or NOT_EVALUATED for arguments it does not compute
    with; `accepts_unknown`: it is called with unknown values among its arguments (else any
    unknown part makes the call unknown); `lazy`: it gets its arguments unevaluated, as
    expressions (`try`, `can`)."""

    impl: Callable[[Evaluator, CallSite, list], Any]
    accepts_unknown: bool
    lazy: bool = False


NOT_EVALUATED = object()  # an impl's answer for arguments it does not compute with
Impl = Callable[["Evaluator", CallSite, list], Any]


def _arity(site: CallSite, args: list, low: int, high: int | None = None) -> None:
    high = low if high is None else high
    if not low <= len(args) <= (high if high >= 0 else len(args)):
        wanted = f"{low}" if low == high else f"{low} to {high}" if high >= 0 else f"{low} or more"
        noun = "argument" if wanted == "1" else "arguments"
        raise EvalError(f"{site.call.name}() takes {wanted} {noun}, not {len(args)}")


def _unknown(value: Any, site: CallSite) -> Unknown | None:
    """The call's unknown value when `value` is unknown."""
    if isinstance(value, Unknown):
        return Unknown(value.reason, site.text, value.ref)
    return None


def _list(value: Any, what: str) -> list:
    """A list (or tuple, or set) argument; a map or anything else is refused."""
    if isinstance(value, list) and not isinstance(value, EncodedList):
        return value
    if value is None:
        raise EvalError(f"{what} must not be null")
    raise EvalError(f"{what} must be a list, not a {type_name(value)}")


def _map(value: Any, what: str) -> dict:
    if isinstance(value, dict) and not isinstance(value, EncodedDict):
        return value
    if value is None:
        raise EvalError(f"{what} must not be null")
    raise EvalError(f"{what} must be a map or an object, not a {type_name(value)}")


def _strings(values: list, what: str) -> list[str]:
    out = []
    for v in values:
        if v is None:
            raise EvalError(f"{what} must not hold null")
        out.append(to_string(v, what))
    return out


def _sized(ev: Evaluator, site: CallSite, items: int, chars: int) -> Unknown | None:
    """The call's unknown value when what it would build is over the size limits."""
    if items > MAX_ITEMS or chars > MAX_CHARS:
        return ev.too_large(site.text, site.call, site.file)
    return None


def graphemes(text: str) -> list[str]:
    """The characters a person sees (Terraform counts these, not code points): a base
    character with the combining marks, joiners and variation selectors after it."""
    out: list[str] = []
    join = False
    for ch in text:
        attach = join or unicodedata.category(ch) in ("Mn", "Me", "Mc") or ch == "\u200d"
        attach = attach or 0xFE00 <= ord(ch) <= 0xFE0F or ch == "\n" and out and out[-1] == "\r"
        if attach and out:
            out[-1] += ch
        else:
            out.append(ch)
        join = ch == "\u200d"
    return out


# ---- try and can ------------------------------------------------------------------------------
def _try(ev: Evaluator, site: CallSite, exprs: list) -> Any:
    """The first argument that evaluates without an error; unknown when one that comes first
    refers to a value not wholly known (it might succeed or fail), as Terraform decides."""
    if not exprs:
        raise EvalError("try() needs at least one argument")
    last: EvalError | None = None
    for position, expr in enumerate(exprs):
        unknown = ev.depends_on_unknown(expr, site.file)
        if unknown is not None:
            return _try_either(ev, site, exprs[position:], unknown)
        try:
            return ev.evaluate(expr, site.file)
        except EvalError as err:
            last = err
    raise EvalError(f"no argument of try() has a value; the last: {last.message}")


def _try_either(ev: Evaluator, site: CallSite, exprs: list, unknown: Unknown) -> Any:
    """try() whose first argument left depends on values not known: whether it fails is not
    known, but when it is a collection known in part (the items of a `for`) and the next a
    collection it falls back on, the result is one of them: the items of either, each one
    that may be absent. Anything else is unknown."""
    if len(exprs) < 2:
        return _unknown(unknown, site)
    try:
        first = ev.evaluate(exprs[0], site.file)
        fallback = ev.evaluate(exprs[1], site.file)
    except EvalError:
        return _unknown(unknown, site)
    if not isinstance(first, (Partial, UnknownItems)) or first_unknown(fallback) is not None:
        return _unknown(unknown, site)
    either = union(first, site.text, [first, fallback], isinstance(fallback, dict))
    return _unknown(unknown, site) if either is None else either


def _can(ev: Evaluator, site: CallSite, exprs: list) -> Any:
    """Whether the argument evaluates without an error."""
    _arity(site, exprs, 1)
    unknown = ev.depends_on_unknown(exprs[0], site.file)
    if unknown is not None:
        return _unknown(unknown, site)
    try:
        value = ev.evaluate(exprs[0], site.file)
    except EvalError:
        return False
    unknown = first_unknown(value)  # a part we could not compute might be an error
    return _unknown(unknown, site) if unknown is not None else True


# ---- strings ----------------------------------------------------------------------------------
def _string_function(count: int, compute: Callable[..., Any]) -> Impl:
    """A function of `count` strings (numbers and bools converted to their text)."""

    def impl(ev: Evaluator, site: CallSite, args: list) -> Any:
        _arity(site, args, count)
        return compute(*(to_string(a, f"the argument of {site.call.name}()") for a in args))

    return impl


def _upper(text: str) -> str:
    # Go's simple case mapping: a character with no one-character upper case stays
    return "".join(c.upper() if len(c.upper()) == 1 else c for c in text)


def _lower(text: str) -> str:
    return "".join(c.lower() if len(c.lower()) == 1 else c.lower()[0] for c in text)


def _title(text: str) -> str:
    """The first letter of each word in upper case (words as Go's strings.Title sees them)."""
    out = []
    previous = " "
    for ch in text:
        separator = not (previous.isalnum() or previous == "_") and (
            previous.isspace() or previous.isascii()
        )
        out.append(_upper(ch) if separator else ch)
        previous = ch
    return "".join(out)


_SPACES = "\t\n\v\f\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B)))
_SPACES += "\u2028\u2029\u202f\u205f\u3000"


def _join(ev: Evaluator, site: CallSite, args: list) -> Any:
    _arity(site, args, 2, -1)
    separator = to_string(args[0], "the separator of join()")
    items = [s for lst in args[1:] for s in _strings(_list(lst, "join()'s list"), "a joined item")]
    size = _sized(ev, site, 1, sum(map(len, items)) + len(separator) * max(0, len(items) - 1))
    return size or separator.join(items)


def _split(ev: Evaluator, site: CallSite, args: list) -> Any:
    _arity(site, args, 2)
    separator = to_string(args[0], "the separator of split()")
    text = to_string(args[1], "the string split()")
    parts = list(text) if separator == "" else text.split(separator)
    return _sized(ev, site, len(parts), len(text)) or LList(parts)


def _replace(ev: Evaluator, site: CallSite, args: list) -> Any:
    """replace(string, search, replacement): every occurrence; a search written `/re/` is a
    regular expression (RE2's syntax, Terraform's) and `$1`, `${name}` in the replacement
    its groups."""
    _arity(site, args, 3)
    subject, search, new = (to_string(a, "an argument of replace()") for a in args)
    if len(search) > 1 and search.startswith("/") and search.endswith("/"):
        return _regex_replace(ev, site, subject, search[1:-1], new)
    if len(subject) + subject.count(search) * (len(new) - len(search)) > MAX_CHARS:
        return ev.too_large(site.text, site.call, site.file)
    return subject.replace(search, new)


@lru_cache(maxsize=256)
def _compile(pattern: str) -> Any:
    """A regular expression in RE2's syntax (Go's, which Terraform uses), matched in linear
    time; one RE2 refuses is one Terraform refuses."""
    import re2

    options = re2.Options()
    options.log_errors = False
    try:
        return re2.compile(pattern, options)
    except (re2.error, UnicodeError, TypeError) as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise EvalError(f"invalid regular expression {pattern!r} ({reason})") from None


_GO_TEMPLATE = re.compile(r"\$(?:\$|\{([A-Za-z0-9_]*)\}|([A-Za-z0-9_]+))")


def _regex_replace(ev: Evaluator, site: CallSite, subject: str, pattern: str, new: str) -> Any:
    """Go's Regexp.ReplaceAllString: matches left to right, an empty match right after the
    previous match skipped, `$1`, `${1}`, `$name`, `${name}` and `$$` expanded."""
    regex = _compile(pattern)
    names = regex.groupindex

    def expand(m: Any) -> str:
        def group(t: re.Match) -> str:
            if t.group(0) == "$$":
                return "$"
            name = t.group(1) if t.group(1) is not None else t.group(2)
            number = int(name) if name.isdigit() else names.get(name)
            if number is None or number > regex.groups:
                return ""
            return m.group(number) or ""

        return _GO_TEMPLATE.sub(group, new)

    out: list[str] = []
    length = 0
    last_end = 0  # where the last match ended
    pos = 0  # where the next search starts
    while pos <= len(subject):
        m = regex.search(subject, pos)
        if m is None:
            break
        start, end = m.span()
        out.append(subject[last_end:start])
        length += start - last_end
        if end > last_end or start == 0:
            piece = expand(m)
            out.append(piece)
            length += len(piece)
            if length > MAX_CHARS:
                return ev.too_large(site.text, site.call, site.file)
        last_end = end
        pos = pos + 1 if end <= pos else end  # past an empty match by one character
    out.append(subject[last_end:])
    return "".join(out)


def _trim_function(strip: Callable[[str, str], str]) -> Impl:
    def impl(ev: Evaluator, site: CallSite, args: list) -> Any:
        _arity(site, args, 2)
        text, chars = (to_string(a, f"an argument of {site.call.name}()") for a in args)
        return strip(text, chars)

    return impl


def _substr(ev: Evaluator, site: CallSite, args: list) -> Any:
    """substr(string, offset, length): in characters; a negative offset counts from the end,
    a length of -1 takes the rest."""
    _arity(site, args, 3)
    text = to_string(args[0], "the string of substr()")
    offset = to_integer(args[1], "substr()'s offset")
    length = to_integer(args[2], "substr()'s length")
    chars = graphemes(text)
    if offset < 0:
        offset = max(0, len(chars) + offset)
    if length < 0:
        return "".join(chars[offset:])
    return "".join(chars[offset : offset + length])


def _indent(ev: Evaluator, site: CallSite, args: list) -> Any:
    """indent(spaces, string): every line but the first indented."""
    _arity(site, args, 2)
    spaces = to_integer(args[0], "indent()'s count")
    text = to_string(args[1], "the string of indent()")
    pad = " " * max(0, spaces)
    if len(text) + text.count("\n") * len(pad) > MAX_CHARS:
        return ev.too_large(site.text, site.call, site.file)
    return text.replace("\n", "\n" + pad)


# ---- format -----------------------------------------------------------------------------------
_VERB = re.compile(
    r"%(?P<flags>[-+# 0]*)(?:\[(?P<index>[1-9][0-9]*)\])?(?P<width>[1-9][0-9]*|\*)?"
    r"(?:\.(?P<precision>[0-9]*|\*))?(?P<mode>[A-Za-z])"
)


def format_string(spec: str, args: list) -> str:
    """Terraform's format(): C's printf as cty defines it (verbs %s %q %d %b %o %x %X %e %E
    %f %g %G %t %v %#v and %%, flags, width, precision, `[n]` argument indexes). An error for
    a missing or unused argument, a value the verb cannot take, an unknown verb."""
    out: list[str] = []
    pos = 0
    next_arg = 1
    used = 0
    while pos < len(spec):
        percent = spec.find("%", pos)
        if percent < 0:
            out.append(spec[pos:])
            break
        out.append(spec[pos:percent])
        if spec.startswith("%%", percent):
            out.append("%")
            pos = percent + 2
            continue
        m = _VERB.match(spec, percent)
        if m is None:
            raise EvalError(f"invalid format string starting at offset {percent}")
        if m.group("width") == "*" or m.group("precision") == "*":
            raise _NotEvaluated
        argument = int(m.group("index")) if m.group("index") else next_arg
        if argument > len(args):
            raise EvalError(
                f"not enough arguments for {m.group()!r} at {percent}: need index {argument} "
                f"but have {len(args)} total"
            )
        out.append(_format_one(m, args[argument - 1], percent))
        used = max(used, argument)
        next_arg = argument + 1
        pos = m.end()
    if used < len(args):
        raise EvalError(f"too many arguments; only {used} used by format string")
    return "".join(out)


class _NotEvaluated(Exception):
    """A format feature not computed here (width or precision from an argument)."""


class _NotKnown(Exception):
    """A value not known given to a verb that does not put it in as it is."""


def _format_one(m: re.Match, value: Any, offset: int) -> str:
    flags = m.group("flags")
    mode = m.group("mode")
    if isinstance(value, Unknown):
        if mode not in "sv" or flags or m.group("width") or m.group("precision") is not None:
            raise _NotKnown
        return value.text if "${" in value.text else "${" + value.text + "}"
    width = int(m.group("width")) if m.group("width") else -1
    precision = m.group("precision")
    prec = -1 if precision is None else int(precision or 0)
    raw = m.group()
    if mode != "v" and value is None:
        raise EvalError(
            f"unsupported value for {raw!r} at {offset}: null value cannot be formatted"
        )
    if mode == "v":
        if "#" not in flags and isinstance(value, str):
            text = value
        elif "#" not in flags and is_number(value):
            text = _go_float(value, "g", -1)
        else:
            text = json_text(value)
        return _pad(text, width, flags)
    if mode == "t":
        return "true" if to_bool(value, f"the value for {raw!r}") else "false"
    if mode in "sq":
        text = to_string(value, f"the value for {raw!r}")
        if prec > 0:
            text = "".join(graphemes(text)[:prec])
        if mode == "q":
            text = json_string(text)
        return _pad(text, width, flags)
    if mode in "bdoxXeEfgG":
        numeric = to_number(value, f"the value for {raw!r}")
        if mode in "bdoxX":
            if isinstance(numeric, float):
                raise EvalError(
                    f"unsupported value for {raw!r} at {offset}: an integer is required"
                )
            digits = format(abs(numeric), {"b": "b", "d": "d", "o": "o", "x": "x", "X": "X"}[mode])
            if prec >= 0:
                digits = digits.rjust(prec, "0")
            if "#" in flags and mode in "oxX":
                digits = {"o": "0", "x": "0x", "X": "0X"}[mode] + digits
            return _sign_pad(numeric < 0, digits, width, flags, zero_ok=prec < 0)
        digits = _go_float(abs(numeric), mode, prec)
        return _sign_pad(numeric < 0, digits, width, flags, zero_ok=True)
    raise EvalError(f"unsupported format verb {mode!r} in {raw!r} at offset {offset}")


def _pad(text: str, width: int, flags: str) -> str:
    missing = width - len(graphemes(text))
    if missing <= 0:
        return text
    pad = ("0" if "0" in flags else " ") * missing
    return text + pad if "-" in flags else pad + text


def _sign_pad(negative: bool, digits: str, width: int, flags: str, zero_ok: bool) -> str:
    sign = "-" if negative else "+" if "+" in flags else " " if " " in flags else ""
    missing = width - len(sign) - len(digits)
    if missing <= 0:
        return sign + digits
    if "-" in flags:
        return sign + digits + " " * missing
    if "0" in flags and zero_ok:
        return sign + "0" * missing + digits
    return " " * missing + sign + digits


def _go_float(value: int | float, mode: str, prec: int) -> str:
    """A non-negative number as Go formats a big.Float: %f, %e and %g, with a precision or
    (-1) the fewest digits that give the number back."""
    exact = Decimal(value) if isinstance(value, int) else Decimal(repr(value))
    if mode in "gGv":
        if prec == 0:
            prec = 1
        if prec > 0:
            exact = _significant(exact, prec)
        digits, exponent = _digits(exact)
        eprec = 6 if prec < 0 else prec
        if prec > 0 and eprec > len(digits) and len(digits) >= exponent:
            eprec = len(digits)
        if exponent - 1 < -4 or exponent - 1 >= eprec:
            return _e_text(digits, exponent, max(len(digits) - 1, 0), "E" if mode == "G" else "e")
        return _f_text(digits, exponent, max(len(digits) - exponent, 0))
    if mode in "eE":
        if prec >= 0:
            exact = _significant(exact, prec + 1)
        digits, exponent = _digits(exact)
        return _e_text(digits, exponent, prec if prec >= 0 else len(digits) - 1, mode)
    if prec >= 0:
        exact = exact.quantize(Decimal(1).scaleb(-prec), rounding=ROUND_HALF_EVEN)
    digits, exponent = _digits(exact)
    return _f_text(digits, exponent, prec if prec >= 0 else max(len(digits) - exponent, 0))


def _significant(value: Decimal, count: int) -> Decimal:
    if value == 0:
        return value
    shift = count - value.adjusted() - 1
    return value.quantize(Decimal(1).scaleb(-shift), rounding=ROUND_HALF_EVEN)


def _digits(value: Decimal) -> tuple[str, int]:
    """The significant digits of a non-negative decimal and where its point goes."""
    if value == 0:
        return "0", 1
    sign, digits, exponent = value.normalize().as_tuple()
    text = "".join(map(str, digits))
    return text, len(text) + exponent


def _f_text(digits: str, exponent: int, decimals: int) -> str:
    if exponent <= 0:
        whole, fraction = "0", "0" * -exponent + digits
    else:
        whole, fraction = (digits + "0" * exponent)[:exponent], digits[exponent:]
    whole = whole.lstrip("0") or "0"
    fraction = (fraction + "0" * decimals)[:decimals]
    return whole + ("." + fraction if decimals else "")


def _e_text(digits: str, exponent: int, decimals: int, mark: str) -> str:
    mantissa = digits[0] + ("." + (digits[1:] + "0" * decimals)[:decimals] if decimals else "")
    power = exponent - 1 if digits != "0" else 0
    return f"{mantissa}{mark}{'-' if power < 0 else '+'}{abs(power):02d}"


def _format(ev: Evaluator, site: CallSite, args: list) -> Any:
    """format(); a value not known put in by `%s` or `%v` is written `${...}`, as a string
    template writes it (`format("%s:sub", local.oidc)` is `${local.oidc}:sub`): the text is
    known in part. Any other use of a value not known makes the whole not known."""
    _arity(site, args, 1, -1)
    unknown = first_unknown(args)
    if unknown is not None and (
        isinstance(args[0], Unknown)
        or any(not isinstance(a, Unknown) and first_unknown(a) for a in args[1:])
        or any(isinstance(a, (Partial, UnknownItems)) for a in args[1:])
    ):
        return Unknown(unknown.reason, site.text, unknown.ref)
    spec = to_string(args[0], "format()'s specification")
    try:
        text = format_string(spec, args[1:])
    except _NotEvaluated:
        return NOT_EVALUATED
    except _NotKnown:
        return Unknown(unknown.reason, site.text, unknown.ref)  # type: ignore[union-attr]
    if unknown is not None and text in (unknown.text, "${" + unknown.text + "}"):
        return unknown  # that value alone (`format("%s", aws_iam_role.x.arn)`): it, as it is
    if unknown is not None:
        return Unknown(unknown.reason, capped_text(text))
    return _sized(ev, site, 1, len(text)) or text


def _formatlist(ev: Evaluator, site: CallSite, args: list) -> Any:
    """format() once per item of the list arguments (all of one length), the other
    arguments the same each time."""
    _arity(site, args, 1, -1)
    spec = to_string(args[0], "formatlist()'s specification")
    lengths = {len(a) for a in args[1:] if isinstance(a, list)}
    if len(lengths) > 1:
        raise EvalError("formatlist()'s list arguments must all have the same length")
    count = lengths.pop() if lengths else 1
    if _sized(ev, site, count, count * len(spec)):
        return ev.too_large(site.text, site.call, site.file)
    out = LList()
    try:
        for i in range(count):
            values = [a[i] if isinstance(a, list) else a for a in args[1:]]
            out.append(format_string(spec, values))
    except _NotEvaluated:
        return NOT_EVALUATED
    return out


# ---- collections ------------------------------------------------------------------------------
def _length(ev: Evaluator, site: CallSite, args: list) -> Any:
    """The items of a list or map (unknown ones counted too), the characters of a string."""
    _arity(site, args, 1)
    value = args[0]
    unknown = _unknown(value, site)
    if unknown is not None:
        return unknown
    if isinstance(value, EncodedDict | EncodedList):
        value = encoded_text(value)
        if isinstance(value, Unknown):
            return _unknown(value, site)
    if isinstance(value, (list, dict)):
        return len(value)
    if value is None:
        raise EvalError("length() of null")
    if isinstance(value, bool) or is_number(value):
        raise EvalError("length() takes a string, a list or a map")
    return len(graphemes(value))


def _concat(ev: Evaluator, site: CallSite, args: list) -> Any:
    """The lists one after the other; when one is known only in part or not at all, the
    result is too, with the items known, and the rest of each (`known_in_part`)."""
    parts = []
    for a in args:
        found = parts_of(a, as_map=False)
        if found is None:
            _list(a, "each argument of concat()")  # refused: say why
            raise EvalError("each argument of concat() must be a list")
        parts.append(found)
    if ev.limits.over(ev.limits.sum_size(args)):
        return ev.too_large(site.text, site.call, site.file)
    out = LList(line=site.call.line, end_line=site.call.end_line)
    rest: list[Unknown] = []
    maybe: set[int] = set()
    for known, more, absent in parts:
        maybe.update(len(out) + position for position in absent)
        out.extend(known)
        out.item_lines.extend(getattr(known, "item_lines", []) or [(0, 0)] * len(known))
        rest.extend(more)
    if not any(line for line, _end in out.item_lines):
        out.item_lines = []
    why = next((a for a in args if isinstance(a, Unknown)), None)
    return out if why is None else known_in_part(why, site.text, out, rest, maybe)


def _merge(ev: Evaluator, site: CallSite, args: list) -> Any:
    """Maps merged left to right (a later key wins); null arguments skipped. A map known in
    part (the items of a `for`) keeps what is known: a known key a later map not known may
    replace is one that may be absent, and the items it may hold are more the result may."""
    parts = []
    for a in args:
        if a is None:
            continue
        found = parts_of(a, as_map=True)
        if found is None:
            _map(a, "each argument of merge()")  # refused: say why
            raise EvalError("each argument of merge() must be a map or an object")
        parts.append(found)
    if ev.limits.over(ev.limits.sum_size([a for a in args if a is not None])):
        return ev.too_large(site.text, site.call, site.file)
    merged = LDict(line=site.call.line, end_line=site.call.end_line)
    rest: list[Unknown] = []
    maybe: set = set()
    why = next((a for a in args if isinstance(a, Unknown)), None)
    for known, more, absent in parts:
        for part in more:  # what it may hold may replace any key known so far
            key = part.key if isinstance(part, UnknownItems) else None
            if key is None or isinstance(key, Unknown):
                maybe.update(merged)
            elif key in merged:
                maybe.add(key)
        rest.extend(more)
        for key, item in known.items():
            if key in absent and key in merged:  # either, as it may be absent
                rest.append(UnknownItems(why.reason, site.text, why.ref, merged[key], key))
            merged[key] = item
            if key in absent:
                maybe.add(key)
            else:
                maybe.discard(key)
        merged.key_lines.update(getattr(known, "key_lines", {}))
    return merged if why is None else known_in_part(why, site.text, merged, rest, maybe)


def _flatten(ev: Evaluator, site: CallSite, args: list) -> Any:
    """The items of nested lists in one list, without recursion (a value may be nested
    deeply). A list known in part keeps what is known: an item not known might be a list
    (more items not known); the items of a `for` over a collection not known are each its
    item, flattened: as many parts of items not known, each of one shape."""
    _arity(site, args, 1)
    top = args[0]
    if parts_of(top, as_map=False) is None:
        _list(top, "flatten()'s argument")  # refused: say why
        raise EvalError("flatten()'s argument must be a list")
    out = LList()
    rest: list[Unknown] = []
    maybe: set[int] = set()
    # (what, value, whether it may be absent, the items it stands for each of) to flatten
    stack: list[tuple[Any, bool, UnknownItems | None]] = [(top, False, None)]
    while stack:
        value, absent, each = stack.pop()
        if isinstance(value, UnknownItems) and value.key is None:
            stack.append((value.item, False, value))
            continue
        if isinstance(value, Partial) and isinstance(value.known, list):
            stack.extend((part, absent, each) for part in reversed(value.rest))
            known = value.known
            positions = range(len(known) - 1, -1, -1)
            stack.extend((known[i], absent or i in value.maybe, each) for i in positions)
            continue
        if isinstance(value, list) and not isinstance(value, EncodedList):
            stack.extend((item, absent, each) for item in reversed(value))
            continue
        if type(value) is Unknown:
            rest.append(Unknown(value.reason, value.text, value.ref))  # maybe a list
        elif each is not None:
            rest.append(UnknownItems(each.reason, site.text, each.ref, value))
        else:
            if absent:
                maybe.add(len(out))
            out.append(value)
    why = top if isinstance(top, Unknown) else first_unknown(top)
    return out if why is None else known_in_part(why, site.text, out, rest, maybe)


def _compact(ev: Evaluator, site: CallSite, args: list) -> Any:
    """The strings of a list that are neither null nor empty (numbers become strings)."""
    _arity(site, args, 1)
    items = _list(args[0], "compact()'s argument")
    return LList(s for s in (None if v is None else to_string(v, "an item") for v in items) if s)


def _distinct(ev: Evaluator, site: CallSite, args: list) -> Any:
    """The first of each value, in order (linear time: each by a hashable stand-in)."""
    _arity(site, args, 1)
    kept = LList()
    seen: set = set()
    for item in unify(_list(args[0], "distinct()'s argument")):
        key = hashable(item)
        if key not in seen:
            seen.add(key)
            kept.append(item)
    return kept


def _coalesce(ev: Evaluator, site: CallSite, args: list) -> Any:
    """The first argument that is neither null nor an empty string, all converted to one
    type; an unknown one before it makes the result unknown."""
    if not args:
        raise EvalError("coalesce() needs at least one argument")
    kinds = {type_name(a) for a in args if a is not None and not isinstance(a, Unknown)}
    if len(kinds) > 1 and not (kinds <= {"string", "number", "bool"} and "string" in kinds):
        raise EvalError("all the arguments of coalesce() must have the same type")
    strings = len(kinds) > 1 or kinds == {"string"}
    for a in args:
        if isinstance(a, Unknown):
            return _unknown(a, site)
        if a is None:
            continue
        value = to_string(a) if strings else a
        if value == "":
            continue
        return value
    raise EvalError("no argument of coalesce() is neither null nor an empty string")


def _coalescelist(ev: Evaluator, site: CallSite, args: list) -> Any:
    """The first list argument that is not empty. One that may be empty (not known, or known
    in part) before it makes the result any of them: the items of each, each one that may be
    absent."""
    if not args:
        raise EvalError("coalescelist() needs at least one argument")
    candidates = []
    for a in args:
        if a is None:
            continue
        parts = parts_of(a, as_map=False)
        if parts is None:
            _list(a, "each argument of coalescelist()")  # refused: say why
            raise EvalError("each argument of coalescelist() must be a list")
        known, _rest, absent = parts
        surely_items = len(known) > len(absent)
        if not isinstance(a, Unknown) and not known:
            continue
        candidates.append(a)
        if surely_items:
            break
    if not candidates:
        raise EvalError("no argument of coalescelist() is a list with items")
    if len(candidates) == 1:
        return candidates[0]
    why = next(a for a in candidates if isinstance(a, Unknown))
    return union(why, site.text, candidates, as_map=False)


def _contains(ev: Evaluator, site: CallSite, args: list) -> Any:
    _arity(site, args, 2)
    collection, value = args
    for a in (collection, value):
        unknown = _unknown(a, site)
        if unknown is not None:
            return unknown
    undecided = None
    for item in _list(collection, "contains()'s list"):
        same = equal(item, value)
        if same is True:
            return True
        if same is None:
            undecided = first_unknown(item) or first_unknown(value)
    return _unknown(undecided, site) if undecided is not None else False


def _index_of(ev: Evaluator, site: CallSite, args: list) -> Any:
    _arity(site, args, 2)
    collection, value = args
    for a in (collection, value):
        unknown = _unknown(a, site)
        if unknown is not None:
            return unknown
    items = _list(collection, "index()'s list")
    if not items:
        raise EvalError("index() cannot search an empty list")
    for position, item in enumerate(items):
        same = equal(item, value)
        if same is None:
            return _unknown(first_unknown(item) or first_unknown(value), site)
        if same:
            return position
    raise EvalError("index(): item not found")


def _keys(ev: Evaluator, site: CallSite, args: list) -> Any:
    """A map's keys in lexical order (Terraform's order for maps and objects); of a map known
    in part, the keys known and the key of each item it may hold besides."""
    _arity(site, args, 1)
    return _map_items(site, args[0], "keys()'s argument", lambda key, item: key)


def _values(ev: Evaluator, site: CallSite, args: list) -> Any:
    """A map's values in the lexical order of their keys; of a map known in part, the items
    known and each item it may hold besides."""
    _arity(site, args, 1)
    return _map_items(site, args[0], "values()'s argument", lambda key, item: item)


def _map_items(site: CallSite, value: Any, what: str, take: Callable[[Any, Any], Any]) -> Any:
    """`take(key, item)` of each entry of a map, in the lexical order of its keys: a list known
    in part when the map is (an item of a `for` stands for each it may make)."""
    parts = parts_of(value, as_map=True)
    if parts is None:
        _map(value, what)  # refused: say why
        raise EvalError(f"{what} must be a map or an object")
    known, rest, absent = parts
    keys = sorted(known)
    out = LList(take(key, known[key]) for key in keys)
    if not isinstance(value, Unknown):
        return out
    more: list[Unknown] = []
    for part in rest:
        if isinstance(part, UnknownItems):
            taken = take(part.key, part.item)
            more.append(UnknownItems(part.reason, site.text, part.ref, taken))
        else:
            more.append(Unknown(part.reason, site.text, part.ref))
    maybe = {position for position, key in enumerate(keys) if key in absent}
    return known_in_part(value, site.text, out, more, maybe)


def _lookup(ev: Evaluator, site: CallSite, args: list) -> Any:
    """lookup(map, key, default): the key's value, else the default; without a default, a
    missing key is an error. Of a map known in part, the item only it can be when the key is
    surely there, or without a default, or with one equal to it; else unknown."""
    _arity(site, args, 2, 3)
    mapping = args[0]
    shaped = isinstance(mapping, (Partial, UnknownItems))
    unknown = _unknown(args[1], site) or (None if shaped else _unknown(mapping, site))
    if unknown is not None:
        return unknown
    key = to_string(args[1], "lookup()'s key")
    if shaped:
        item = partial_item(mapping, key)
        there = isinstance(mapping, Partial) and key in mapping.known
        there = there and key not in mapping.maybe and not isinstance(item, Unknown)
        if len(args) == 2 or there or equal(item, args[2]) is True:
            return item
        return _unknown(mapping, site)
    mapping = _map(mapping, "lookup()'s map")
    if key in mapping:
        return mapping[key]
    if len(args) == 3:
        return args[2]
    raise EvalError(f"lookup() did not find the key {key!r}")


def _element(ev: Evaluator, site: CallSite, args: list) -> Any:
    """element(list, index): the index wraps around the list's length."""
    _arity(site, args, 2)
    for a in args:
        unknown = _unknown(a, site)
        if unknown is not None:
            return unknown
    items = _list(args[0], "element()'s list")
    position = to_integer(args[1], "element()'s index")
    if position < 0:
        raise EvalError("element() cannot use a negative index")
    if not items:
        raise EvalError("element() cannot use an empty list")
    return items[position % len(items)]


def _one(ev: Evaluator, site: CallSite, args: list) -> Any:
    """The item of a list of one, null for an empty one, an error for more."""
    _arity(site, args, 1)
    unknown = _unknown(args[0], site)
    if unknown is not None:
        return unknown
    items = _list(args[0], "one()'s argument")
    if len(items) > 1:
        raise EvalError("one() takes a list with zero or one items")
    return items[0] if items else None


def _slice(ev: Evaluator, site: CallSite, args: list) -> Any:
    """slice(list, start, end): items from start up to (not including) end."""
    _arity(site, args, 3)
    for a in args:
        unknown = _unknown(a, site)
        if unknown is not None:
            return unknown
    items = _list(args[0], "slice()'s list")
    start = to_integer(args[1], "slice()'s start")
    end = to_integer(args[2], "slice()'s end")
    if start < 0 or end > len(items) or start > end:
        raise EvalError(f"slice() indexes {start} and {end} do not fit a list of {len(items)}")
    out = LList(items[start:end])
    out.item_lines = list(getattr(items, "item_lines", [])[start:end])
    return out


def _reverse(ev: Evaluator, site: CallSite, args: list) -> Any:
    _arity(site, args, 1)
    unknown = _unknown(args[0], site)
    return unknown or LList(reversed(_list(args[0], "reverse()'s argument")))


def _sort(ev: Evaluator, site: CallSite, args: list) -> Any:
    """The strings of a list in lexical order (numbers sorted as their text)."""
    _arity(site, args, 1)
    return LList(sorted(_strings(_list(args[0], "sort()'s argument"), "a sorted item")))


def _zipmap(ev: Evaluator, site: CallSite, args: list) -> Any:
    _arity(site, args, 2)
    for a in args:
        unknown = _unknown(a, site)
        if unknown is not None:
            return unknown
    keys, values = _list(args[0], "zipmap()'s keys"), _list(args[1], "zipmap()'s values")
    unknown = first_unknown(keys)
    if unknown is not None:
        return _unknown(unknown, site)
    if len(keys) != len(values):
        raise EvalError("zipmap()'s keys and values must have the same length")
    return LDict(zip(_strings(keys, "a key of zipmap()"), values, strict=True))


def _range(ev: Evaluator, site: CallSite, args: list) -> Any:
    """range(limit), range(start, limit), range(start, limit, step): at most 1024 numbers,
    Terraform's own limit."""
    _arity(site, args, 1, 3)
    values = [to_number(a, "an argument of range()") for a in args]
    start, limit = (0, values[0]) if len(values) == 1 else (values[0], values[1])
    step = values[2] if len(values) == 3 else (1 if start <= limit else -1)
    if step == 0:
        raise EvalError("range()'s step must not be zero")
    out = LList()
    current = start
    while (current < limit) if step > 0 else (current > limit):
        if len(out) == 1024:
            raise EvalError("range() gives at most 1024 numbers")
        out.append(number(current))
        current = current + step
    return out


def _alltrue(ev: Evaluator, site: CallSite, args: list) -> Any:
    _arity(site, args, 1)
    unknown = _unknown(args[0], site)
    if unknown is not None:
        return unknown
    for item in _list(args[0], "alltrue()'s argument"):
        if isinstance(item, Unknown):
            return _unknown(item, site)
        if item is None or not to_bool(item, "an item of alltrue()"):
            return False
    return True


def _anytrue(ev: Evaluator, site: CallSite, args: list) -> Any:
    _arity(site, args, 1)
    unknown = _unknown(args[0], site)
    if unknown is not None:
        return unknown
    undecided = None
    for item in _list(args[0], "anytrue()'s argument"):
        if isinstance(item, Unknown):
            undecided = undecided or item
        elif item is not None and to_bool(item, "an item of anytrue()"):
            return True
    return _unknown(undecided, site) if undecided is not None else False


def _numbers_function(compute: Callable[[list], Any], low: int = 1) -> Impl:
    def impl(ev: Evaluator, site: CallSite, args: list) -> Any:
        _arity(site, args, low, -1)
        return compute([to_number(a, f"an argument of {site.call.name}()") for a in args])

    return impl


def _sum(ev: Evaluator, site: CallSite, args: list) -> Any:
    _arity(site, args, 1)
    items = _list(args[0], "sum()'s argument")
    if not items:
        raise EvalError("sum() of an empty list")
    total: Any = 0
    for item in items:
        if item is None:
            raise EvalError("sum() takes a list of numbers, not null")
        total += to_number(item, "an item of sum()")
    return number(total)


# ---- conversions --------------------------------------------------------------------------------
def _tostring(ev: Evaluator, site: CallSite, args: list) -> Any:
    _arity(site, args, 1)
    value = args[0]
    if value is None or isinstance(value, Unknown):
        return value
    if isinstance(value, (list, dict)) and not isinstance(value, EncodedDict | EncodedList):
        raise EvalError(f"tostring() cannot convert a {type_name(value)} to a string")
    return to_string(value)


def _tonumber(ev: Evaluator, site: CallSite, args: list) -> Any:
    _arity(site, args, 1)
    return None if args[0] is None else to_number(args[0], "tonumber()'s argument")


def _tobool(ev: Evaluator, site: CallSite, args: list) -> Any:
    _arity(site, args, 1)
    return None if args[0] is None else to_bool(args[0], "tobool()'s argument")


def _tolist(ev: Evaluator, site: CallSite, args: list) -> Any:
    """A list with its items converted to one type."""
    _arity(site, args, 1)
    value = args[0]
    if value is None or isinstance(value, Unknown):
        return value
    return with_lines(LList(unify(_list(value, "tolist()'s argument"))), value)


def _toset(ev: Evaluator, site: CallSite, args: list) -> Any:
    """A set: distinct items converted to one type, in the set's order (strings lexically,
    numbers by value); unknown items after the known ones."""
    _arity(site, args, 1)
    value = args[0]
    if value is None or isinstance(value, Unknown):
        return value
    return with_lines(LList(distinct_set(_list(value, "toset()'s argument"))), value)


def _tomap(ev: Evaluator, site: CallSite, args: list) -> Any:
    """A map with its values converted to one type."""
    _arity(site, args, 1)
    value = args[0]
    if value is None or isinstance(value, Unknown):
        return value
    mapping = _map(value, "tomap()'s argument")
    converted = LDict(zip(mapping, unify(list(mapping.values())), strict=True))
    converted.line = getattr(value, "line", 0)
    converted.end_line = getattr(value, "end_line", 0)
    converted.key_lines = dict(getattr(value, "key_lines", {}))
    return converted


def _identity(ev: Evaluator, site: CallSite, args: list) -> Any:
    """sensitive() and nonsensitive(): the value (sensitivity changes only what is shown)."""
    _arity(site, args, 1)
    return args[0]


# ---- encodings --------------------------------------------------------------------------------
def _encode(format: str) -> Impl:
    """jsonencode and yamlencode: a map or list stays the structure it is (marked, so that
    it is the encoded text wherever a string is wanted); a single value is its text."""

    def impl(ev: Evaluator, site: CallSite, args: list) -> Any:
        _arity(site, args, 1)
        value = items_known(args[0])  # the items it may hold are known, not its text
        if isinstance(value, Unknown):
            return _unknown(value, site)
        marked = PARTLY_ENCODED if isinstance(args[0], (Partial, UnknownItems)) else format
        if isinstance(value, dict):
            return EncodedDict(value, marked)
        if isinstance(value, list):
            # of a list known in part, its known items; the rest may be none
            known = args[0].known if isinstance(args[0], Partial) else None
            certain = len(known) if isinstance(known, list) else None
            return EncodedList(value, marked, 0 if isinstance(args[0], UnknownItems) else certain)
        # one value: a document of it alone (yamlencode's is a YAML scalar, JSON's syntax)
        text = json_text(value)
        return text if format == "json" else text + "\n"

    return impl


def _jsondecode(ev: Evaluator, site: CallSite, args: list) -> Any:
    """The value of JSON text (text from a heredoc or a file keeps its lines)."""
    from checks.parse.jsonpos import load

    _arity(site, args, 1)
    text = args[0]
    if isinstance(text, EncodedDict | EncodedList) and text.format == "json":
        return with_lines(LDict(text) if isinstance(text, dict) else LList(text), text)
    text = to_string(text, "jsondecode()'s argument")
    line = getattr(text, "line", 0)
    try:
        value = load(str(text), line_offset=line - 1 if line else 0)
    except ParseError as exc:
        if exc.guard:  # nested or sized past the guards: noted where the call is
            return ev.too_large(site.text, site.call, site.file)
        raise EvalError(f"jsondecode() of text that is not JSON ({exc.message})") from None
    return _of_file(value, text)


def _yamldecode(ev: Evaluator, site: CallSite, args: list) -> Any:
    """The value of a YAML document, read with the module's YAML guards and alias budget."""
    from checks.parse.yamlsafe import load_all

    _arity(site, args, 1)
    text = to_string(args[0], "yamldecode()'s argument")
    line = getattr(text, "line", 0)
    try:
        docs = load_all(str(text), line_offset=line - 1 if line else 0, budget=ev.yaml_budget)
    except ParseError as exc:
        if exc.guard:  # nested, sized or aliased past the guards: noted where the call is
            return ev.too_large(site.text, site.call, site.file)
        raise EvalError(f"yamldecode() of text that is not YAML ({exc.message})") from None
    if len(docs) > 1:
        raise EvalError("yamldecode() takes one YAML document, not several")
    return _of_file(docs[0], text) if docs else None


def _of_file(value: Any, text: Any) -> Any:
    """A structure decoded from text read from a file (file(), a heredoc): of that file, whose
    lines it has, wherever the call that decodes it is written."""
    if isinstance(value, (LDict, LList)) and getattr(text, "file", ""):
        value.file = text.file
    return value


def _hex_digest(algorithm: str) -> Callable[[str], str]:
    """md5() and the sha functions: the hex digest of a string's UTF-8 bytes."""
    return lambda text: hashlib.new(algorithm, text.encode("utf-8", "surrogatepass")).hexdigest()


def _base64_digest(algorithm: str) -> Callable[[str], str]:
    """base64sha256() and base64sha512(): the digest of a string's UTF-8 bytes, in base64."""

    def digest(text: str) -> str:
        raw = hashlib.new(algorithm, text.encode("utf-8", "surrogatepass")).digest()
        return base64.b64encode(raw).decode("ascii")

    return digest


def _network(value: Any, site: CallSite) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """A CIDR argument (`10.0.0.0/16`; host bits may be set, and an IPv4 octet's leading
    zeros are read as decimal, as Terraform's parser does)."""
    text = to_string(value, f"the prefix of {site.call.name}()")
    if "/" not in text:
        raise EvalError(f"invalid CIDR expression {excerpt(text)}")
    address, _, length = text.partition("/")
    if ":" not in address:
        address = ".".join(octet.lstrip("0") or "0" for octet in address.split("."))
    try:
        return ipaddress.ip_network(f"{address}/{length}", strict=False)
    except ValueError:
        raise EvalError(f"invalid CIDR expression {excerpt(text)}") from None


def _whole(value: Any, what: str) -> int:
    number = to_number(value, what)
    if isinstance(number, float) and number.is_integer():
        number = int(number)
    if not isinstance(number, int) or isinstance(number, bool):
        raise EvalError(f"{what} must be a whole number")
    return number


def _cidrsubnet(ev: Evaluator, site: CallSite, args: list) -> Any:
    """cidrsubnet(prefix, newbits, netnum): the netnum-th network of newbits more bits."""
    _arity(site, args, 3)
    network = _network(args[0], site)
    newbits = _whole(args[1], "cidrsubnet()'s newbits")
    netnum = _whole(args[2], "cidrsubnet()'s netnum")
    length = network.prefixlen + newbits
    if newbits < 0 or length > network.max_prefixlen:
        raise EvalError(f"insufficient address space to extend prefix by {newbits} bits")
    if not 0 <= netnum < 2**newbits:
        raise EvalError(
            f"prefix extension of {newbits} does not accommodate a subnet numbered {netnum}"
        )
    first = network.network_address + (netnum << (network.max_prefixlen - length))
    return f"{first}/{length}"


def _cidrhost(ev: Evaluator, site: CallSite, args: list) -> Any:
    """cidrhost(prefix, hostnum): an address of the network, counted from its end when
    hostnum is negative."""
    _arity(site, args, 2)
    network = _network(args[0], site)
    hostnum = _whole(args[1], "cidrhost()'s hostnum")
    index = hostnum if hostnum >= 0 else network.num_addresses + hostnum
    if not 0 <= index < network.num_addresses:
        raise EvalError(f"prefix of {network.prefixlen} bits has no host numbered {hostnum}")
    return str(network.network_address + index)


def _cidrnetmask(ev: Evaluator, site: CallSite, args: list) -> Any:
    """cidrnetmask(prefix): an IPv4 network's mask, dotted."""
    _arity(site, args, 1)
    network = _network(args[0], site)
    if network.version != 4:
        raise EvalError("only IPv4 networks have a netmask")
    return str(network.netmask)


def _set_function(compute: Callable[[list, list[list]], list], count: int = -1) -> Impl:
    """setunion(), setintersection(), setsubtract(): of sets (lists), a set."""

    def impl(ev: Evaluator, site: CallSite, args: list) -> Any:
        _arity(site, args, 1 if count < 0 else count, count)
        sets = [distinct_set(_list(a, f"an argument of {site.call.name}()")) for a in args]
        return LList(distinct_set(compute(sets[0], sets[1:])))

    return impl


def _base64encode(ev: Evaluator, site: CallSite, args: list) -> Any:
    _arity(site, args, 1)
    text = to_string(args[0], "base64encode()'s argument")
    return base64.b64encode(text.encode("utf-8", "surrogatepass")).decode("ascii")


def _base64decode(ev: Evaluator, site: CallSite, args: list) -> Any:
    _arity(site, args, 1)
    text = to_string(args[0], "base64decode()'s argument")
    try:  # Go's decoder skips line breaks
        raw = text.replace("\r", "").replace("\n", "").encode("ascii")
        return base64.b64decode(raw, validate=True).decode("utf-8")
    except (UnicodeError, binascii.Error, ValueError):
        raise EvalError("base64decode() of text that is not base64 of UTF-8 text") from None


# ---- files ------------------------------------------------------------------------------------
def _file(ev: Evaluator, site: CallSite, args: list) -> Any:
    _arity(site, args, 1)
    return ev.file_content(to_string(args[0], "file()'s path"), site)


def _templatefile(ev: Evaluator, site: CallSite, args: list) -> Any:
    """templatefile(path, vars): the file (read as file() reads it) as a template that sees
    only `vars`."""
    _arity(site, args, 2)
    path = to_string(args[0], "templatefile()'s path")
    names = _map(args[1], "templatefile()'s variables")
    content = ev.file_content(path, site)
    if isinstance(content, Unknown):
        return content
    return ev.template_file(content, names, site)


def _basename(ev: Evaluator, site: CallSite, args: list) -> Any:
    """The last part of a path, as Go's filepath.Base gives it."""
    _arity(site, args, 1)
    path = to_string(args[0], "basename()'s path").rstrip("/")
    if not path:
        return "/" if to_string(args[0]) else "."
    return path.rsplit("/", 1)[-1]


def _dirname(ev: Evaluator, site: CallSite, args: list) -> Any:
    """All but the last part of a path, as Go's filepath.Dir gives it."""
    _arity(site, args, 1)
    path = to_string(args[0], "dirname()'s path")
    head = path[: path.rfind("/") + 1]
    return posixpath.normpath(head) if head else "."


def _run_time(ev: Evaluator, site: CallSite, args: list) -> Any:
    """timestamp(), uuid()...: a value Terraform makes each time it runs."""
    return Unknown(f"{site.call.name}() is known only when Terraform runs", site.text)


# ---- numbers ----------------------------------------------------------------------------------
def _ceil(values: list) -> Any:
    return math.ceil(values[0]) if is_number(values[0]) else values[0]


def _floor(values: list) -> Any:
    return math.floor(values[0]) if is_number(values[0]) else values[0]


FUNCTIONS: dict[str, Function] = {
    # lazy: the arguments are expressions
    "try": Function(_try, True, lazy=True),
    "can": Function(_can, True, lazy=True),
    # strings
    "format": Function(_format, True),
    "formatlist": Function(_formatlist, False),
    "lower": Function(_string_function(1, _lower), False),
    "upper": Function(_string_function(1, _upper), False),
    "title": Function(_string_function(1, _title), False),
    "trimspace": Function(_string_function(1, lambda s: s.strip(_SPACES)), False),
    "chomp": Function(_string_function(1, lambda s: s.rstrip("\r\n")), False),
    "strrev": Function(_string_function(1, lambda s: "".join(reversed(graphemes(s)))), False),
    "startswith": Function(_string_function(2, lambda s, p: s.startswith(p)), False),
    "endswith": Function(_string_function(2, lambda s, p: s.endswith(p)), False),
    "strcontains": Function(_string_function(2, lambda s, p: p in s), False),
    "trimprefix": Function(
        _trim_function(lambda s, p: s[len(p) :] if p and s.startswith(p) else s), False
    ),
    "trimsuffix": Function(
        _trim_function(lambda s, p: s[: -len(p)] if p and s.endswith(p) else s), False
    ),
    "trim": Function(_trim_function(lambda s, chars: s.strip(chars)), False),
    "join": Function(_join, False),
    "split": Function(_split, False),
    "replace": Function(_replace, False),
    "substr": Function(_substr, False),
    "indent": Function(_indent, False),
    # collections
    "length": Function(_length, True),
    "concat": Function(_concat, True),
    "merge": Function(_merge, True),
    "flatten": Function(_flatten, True),
    "compact": Function(_compact, False),
    "distinct": Function(_distinct, False),
    "coalesce": Function(_coalesce, True),
    "coalescelist": Function(_coalescelist, True),
    "contains": Function(_contains, True),
    "index": Function(_index_of, True),
    "keys": Function(_keys, True),
    "values": Function(_values, True),
    "lookup": Function(_lookup, True),
    "element": Function(_element, True),
    "one": Function(_one, True),
    "slice": Function(_slice, True),
    "reverse": Function(_reverse, True),
    "sort": Function(_sort, False),
    "zipmap": Function(_zipmap, True),
    "range": Function(_range, False),
    "alltrue": Function(_alltrue, True),
    "anytrue": Function(_anytrue, True),
    "sum": Function(_sum, False),
    "max": Function(_numbers_function(lambda v: max(v)), False),
    "min": Function(_numbers_function(lambda v: min(v)), False),
    "abs": Function(_numbers_function(lambda v: abs(v[0])), False),
    "ceil": Function(_numbers_function(_ceil), False),
    "floor": Function(_numbers_function(_floor), False),
    # conversions
    "tostring": Function(_tostring, True),
    "tonumber": Function(_tonumber, True),
    "tobool": Function(_tobool, True),
    "tolist": Function(_tolist, True),
    "toset": Function(_toset, True),
    "tomap": Function(_tomap, True),
    "sensitive": Function(_identity, True),
    "nonsensitive": Function(_identity, True),
    # encodings
    "jsonencode": Function(_encode("json"), True),
    "yamlencode": Function(_encode("yaml"), True),
    "jsondecode": Function(_jsondecode, False),
    "yamldecode": Function(_yamldecode, False),
    "base64encode": Function(_base64encode, False),
    "base64decode": Function(_base64decode, False),
    # hashes
    "md5": Function(_string_function(1, _hex_digest("md5")), False),
    "sha1": Function(_string_function(1, _hex_digest("sha1")), False),
    "sha256": Function(_string_function(1, _hex_digest("sha256")), False),
    "sha512": Function(_string_function(1, _hex_digest("sha512")), False),
    "base64sha256": Function(_string_function(1, _base64_digest("sha256")), False),
    "base64sha512": Function(_string_function(1, _base64_digest("sha512")), False),
    # networks
    "cidrsubnet": Function(_cidrsubnet, False),
    "cidrhost": Function(_cidrhost, False),
    "cidrnetmask": Function(_cidrnetmask, False),
    # sets
    "setunion": Function(
        _set_function(lambda first, rest: first + [x for r in rest for x in r]), False
    ),
    "setintersection": Function(
        _set_function(lambda first, rest: [x for x in first if all(x in r for r in rest)]), False
    ),
    "setsubtract": Function(
        _set_function(lambda first, rest: [x for x in first if x not in rest[0]], count=2), False
    ),
    # files
    "file": Function(_file, False),
    "templatefile": Function(_templatefile, False),
    "basename": Function(_basename, False),
    "dirname": Function(_dirname, False),
    # known only when Terraform runs
    "timestamp": Function(_run_time, True),
    "plantimestamp": Function(_run_time, True),
    "uuid": Function(_run_time, True),
}
