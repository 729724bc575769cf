"""Report: one small module per output format, registered here."""

from __future__ import annotations

import importlib
import math
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NamedTuple

from checks.model import SEVERITIES

FORMATS: dict[str, str] = {
    "text": "checks.report.text",
    "json": "checks.report.json_report",
    "sarif": "checks.report.sarif",
    "github": "checks.report.github",
    "junit": "checks.report.junit",
    "conftest": "checks.report.conftest",
    "gitlab-sast": "checks.report.gitlab_sast",
    "codequality": "checks.report.codequality",
}

# the formats of `eks-checks access`: render(graph, listing, scan result, options)
ACCESS_FORMATS: dict[str, str] = {
    "text": "checks.report.access_text",
    "json": "checks.report.access_json",
    "dot": "checks.report.access_dot",
    "mermaid": "checks.report.access_mermaid",
    "markdown": "checks.report.access_markdown",
}


def renderer(name: str):
    return importlib.import_module(FORMATS[name]).render


def access_renderer(name: str):
    return importlib.import_module(ACCESS_FORMATS[name]).render


_SURROGATE = re.compile("[\ud800-\udfff]")


class Each(NamedTuple):
    """A list of a report's document made one item at a time as it is written: the JSON of
    `to_json(item)` for each of `items`. A report of thousands of findings then never holds
    all their documents, nor its whole text, beside the findings themselves."""

    items: Sequence
    to_json: Callable[[Any], Any]


def json_text(doc) -> str:
    """JSON for any input, and only JSON: a lone surrogate (from a `\\ud800` escape in some
    input) cannot be written as UTF-8, so it becomes U+FFFD, and a number JSON cannot hold
    (infinite or not a number, from YAML's `.inf` or a literal too large for a float) becomes
    its name as a string ("inf", "-inf", "nan"); everything else is kept as it was. An `Each`
    in `doc` is written as the list it makes."""
    return "".join(json_chunks(doc))


def json_chunks(doc) -> Iterator[str]:
    """`json_text(doc)` in pieces, to be written as they come: the same text, but each item of
    an `Each` is made, written and let go in turn."""
    yield from _chunks(doc)
    yield "\n"


def _chunks(value) -> Iterator[str]:
    if isinstance(value, Each):
        yield "["
        for index, item in enumerate(value.items):
            yield (", " if index else "") + _json(value.to_json(item))
        yield "]"
    elif isinstance(value, dict) and _holds_each(value):
        yield "{"
        for index, (key, item) in enumerate(value.items()):
            yield (", " if index else "") + _json(key) + ": "
            yield from _chunks(item)
        yield "}"
    elif isinstance(value, list) and _holds_each(value):
        yield "["
        for index, item in enumerate(value):
            if index:
                yield ", "
            yield from _chunks(item)
        yield "]"
    else:
        yield _json(value)


def _holds_each(value) -> bool:
    if isinstance(value, Each):
        return True
    if isinstance(value, dict):
        return any(_holds_each(item) for item in value.values())
    if isinstance(value, list):
        return any(_holds_each(item) for item in value)
    return False


def _json(value) -> str:
    """One value's JSON, as `json.dumps` writes it (the separators `json_chunks` joins with)."""
    import json

    # no indent: the C encoder is ten times faster, and machines read this
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    except ValueError:  # an infinity or a NaN somewhere: named, then written
        text = json.dumps(finite(value), ensure_ascii=False, allow_nan=False)
    return _SURROGATE.sub("\ufffd", text)


def finite(value):
    """A copy of a JSON-ready value where infinite and NaN numbers are strings."""
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)  # inf, -inf, nan
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """`1 finding`, `2 findings`: the count and the noun it takes (`nouns`, else noun + s)."""
    return f"{count} {noun if count == 1 else (nouns or noun + 's')}"


def counts_by_severity(findings) -> dict[str, int]:
    out = {name: 0 for name in reversed(SEVERITIES)}  # the most severe first
    for f in findings:
        out[f.severity] += 1
    return out


def reported(result) -> list:
    """Findings a report lists: baselined ones are known and left out (but counted)."""
    return [f for f in result.findings if not f.baselined]


def added_suppressions(result) -> list:
    """Suppressed findings whose suppression the --baseline does not hold: added by the
    change under review, listed in every report's summary."""
    return [f for f in result.findings if f.new_suppression]


def skipped_files(result) -> int:
    """How many files or folders were not read at all (notes that skip them)."""
    return sum(1 for p in result.problems if p.skips_file)


def notes(result) -> int:
    """How many other notes (suppressions that do not apply, values not read...)."""
    return sum(1 for p in result.problems if p.level != "error" and not p.skips_file)


def active(result) -> list:
    """Findings that count against the gate: neither suppressed nor in the baseline."""
    return [f for f in result.findings if f.suppressed is None and not f.baselined]
