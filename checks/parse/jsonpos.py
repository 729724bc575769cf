"""JSON parser: text -> one document of `LDict`/`LList`/scalars that carry line marks.

The standard library decoder does the work; we wrap its object and array hooks so that every
object and array knows the lines it spans (the pure-Python scanner is needed for that, so very
large files take the C path and lose per-object lines, never correctness). A number out of
range (more digits than Python can read, `1e999`, and the `NaN`/`Infinity` that Python's
decoder takes but JSON does not have) is read as unknown and noted with its line.
"""

from __future__ import annotations

import bisect
import json
import json.decoder
import json.scanner
import re
from typing import Any, NamedTuple

from checks.model import Documents, LDict, LList, Unknown
from checks.parse import ParseError, check_nesting, ensure_stack, numbers

# Above this size, lines per object are not worth the pure-Python scanner's time.
MAX_POSITIONED_BYTES = 2_000_000


def parse_json_file(text: str, lines: bool = True) -> list:
    """Parse a JSON file (one document); raise ParseError with the line on a syntax error.
    Without `lines` (a file no source will read: `checks.sources` decides), only the syntax
    is checked, by the C decoder. Notes about numbers read as unknown are the documents'
    `warnings`; keys written twice in one object are its `duplicates` (JSON allows them, IAM
    and Kubernetes do not: their normalizers decide)."""
    docs = Documents()
    docs.warnings = []
    docs.duplicates = []
    docs.append(load(text, positions=lines, notes=docs.warnings, duplicates=docs.duplicates))
    return docs


class Duplicate(NamedTuple):
    """A key written twice in one JSON object: the line of its second value (0 when the
    file was read without lines), the key, the line of the first, and whether the values
    differ."""

    line: int
    key: str
    first_line: int
    differs: bool


def load(
    text: str,
    line_offset: int = 0,
    positions: bool = True,
    notes: list | None = None,
    duplicates: list | None = None,
) -> Any:
    """One JSON value from `text`; `line_offset` shifts lines (JSON inside a heredoc).
    `notes` receives (line, message) for each number read as unknown, `duplicates` a
    `Duplicate` for each key written twice in an object (the last value is kept)."""
    if text.startswith("\ufeff"):
        text = text[1:]
    check_nesting(text, "JSON", line_offset)
    ensure_stack()
    odd = _Numbers()
    found: list = [] if duplicates is None else duplicates
    try:
        if not positions or len(text) > MAX_POSITIONED_BYTES:

            def pairs(items: list) -> dict:
                out: dict = {}
                for key, value in items:
                    if key in out:
                        found.append(Duplicate(0, key, 0, out[key] != value))
                    out[key] = value
                return out

            value = json.loads(
                text,
                parse_int=odd.integer,
                parse_float=odd.real,
                parse_constant=odd.constant,
                object_pairs_hook=pairs,
            )
        else:
            value = _PositionedDecoder(text, line_offset, odd, found).decode()
    except json.JSONDecodeError as exc:
        raise ParseError(f"invalid JSON: {exc.msg}", exc.lineno + line_offset) from None
    except RecursionError:
        raise ParseError("JSON nested too deeply") from None
    if notes is not None:
        # numbers whose line the decoder did not see: a bare value, or a file read without lines
        odd.place(value, 1 + line_offset)
        notes.extend(odd.placed + [(0, numbers.note(u)) for u in odd.pending.values()])
    return value


class _Numbers:
    """The decoder's number hooks: a number out of range becomes unknown, remembered until
    the object or array holding it gives its line."""

    def __init__(self) -> None:
        self.pending: dict[int, Unknown] = {}
        self.placed: list[tuple[int, str]] = []

    def _unknown(self, text: str, reason: str) -> Unknown:
        value = numbers.unknown(text, reason)
        self.pending[id(value)] = value
        return value

    def integer(self, text: str) -> Any:
        if numbers.oversized_int(text):
            return self._unknown(text, f"has more than {numbers.MAX_DIGITS} digits")
        value = int(text)
        reason = numbers.problem(value)
        return self._unknown(text, reason) if reason else value

    def real(self, text: str) -> Any:
        value = float(text)
        reason = numbers.problem(value)
        return self._unknown(text, reason) if reason else value

    def constant(self, text: str) -> Unknown:
        return self._unknown(text, "is not a JSON number")

    def place(self, value: Any, line: int) -> None:
        """`value` sits at `line`: note it if it is a number read as unknown."""
        if isinstance(value, Unknown) and self.pending.pop(id(value), None) is not None:
            self.placed.append((line, numbers.note(value)))


_NEWLINE = re.compile("\n")


class _PositionedDecoder(json.JSONDecoder):
    def __init__(self, text: str, line_offset: int, odd: _Numbers, duplicates: list) -> None:
        super().__init__(parse_float=odd.real, parse_int=odd.integer, parse_constant=odd.constant)
        self.odd = odd
        self.duplicates = duplicates
        self.text = text
        self.offset = line_offset
        self.newlines = [m.start() for m in _NEWLINE.finditer(text)]
        self.parse_object = self._object
        self.parse_array = self._array
        self.memo: dict = {}
        self.scan_once = json.scanner.py_make_scanner(self)

    def line_at(self, pos: int) -> int:
        return bisect.bisect_left(self.newlines, pos) + 1 + self.offset

    def decode(self) -> Any:  # type: ignore[override]
        text = self.text
        start = len(text) - len(text.lstrip())
        try:
            value, end = self.scan_once(text, start)
        except StopIteration as err:
            raise json.JSONDecodeError("Expecting value", text, err.value) from None
        rest = text[end:].strip()
        if rest:
            raise json.JSONDecodeError("Extra data", text, end + text[end:].find(rest[0]))
        return value

    def _object(self, s_and_end, strict, scan_once, object_hook, object_pairs_hook, memo=None):
        s, start = s_and_end
        value_positions: list[int] = []
        scan = self.scan_once

        def scan_value(s, idx):
            value_positions.append(idx)
            return scan(s, idx)

        pairs, end = json.decoder.JSONObject(
            s_and_end, strict, scan_value, None, lambda pairs: pairs, self.memo
        )
        out = LDict(line=self.line_at(start - 1), end_line=self.line_at(end - 1))
        for (key, value), pos in zip(pairs, value_positions, strict=True):
            line = self.line_at(pos)
            if key in out:
                first = out.key_lines[key][0]
                self.duplicates.append(Duplicate(line, key, first, out[key] != value))
            out[key] = value
            out.key_lines[key] = (line, getattr(value, "end_line", 0) or line)
            self.odd.place(value, line)
        return out, end

    def _array(self, s_and_end, scan_once, _w=None):
        s, start = s_and_end
        positions: list[int] = []

        def scan_item(s, idx):
            positions.append(idx)
            return scan_once(s, idx)

        values, end = json.decoder.JSONArray(s_and_end, scan_item)
        out = LList(values, line=self.line_at(start - 1), end_line=self.line_at(end - 1))
        for pos, value in zip(positions, values, strict=True):
            line = self.line_at(pos)
            out.item_lines.append((line, getattr(value, "end_line", 0) or line))
            self.odd.place(value, line)
        return out, end
