"""Property-based: random and mutated YAML, JSON and HCL never make a parser (or the whole
normalize stage) raise anything but a reported problem, and never take long."""

from __future__ import annotations

import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checks.discover import SourceFile
from checks.parse import ParseError
from checks.parse.hcl import parse_terraform
from checks.parse.jsonpos import load as load_json
from checks.parse.yamlsafe import load_all
from checks.scan import build
from checks.sources import parse_file
from checks.sources.base import Options
from conftest import FIXTURES, ROOT

SEEDS = {
    "yaml": [p.read_text() for p in sorted((FIXTURES / "rules").glob("*/*.yaml"))][:20],
    "json": [p.read_text() for p in sorted((FIXTURES / "rules").glob("*/*.json"))]
    + [p.read_text() for p in sorted((ROOT / "examples").rglob("*.json"))],
    "tf": [p.read_text() for p in sorted((FIXTURES / "rules").glob("*/*.tf"))][:20],
}
PARSERS = {"yaml": load_all, "json": load_json, "tf": parse_terraform}
CHARS = st.sampled_from(list("{}[]()\"'#:-=,.*&!|>\\$%\n \t") + ["\x00", "é", "\u2028", "<<EOF\n"])


@st.composite
def mutated(draw, kind: str):
    """A seed file with a few random edits: insertions, deletions, truncation, duplication."""
    text = draw(st.sampled_from(SEEDS[kind]))
    for _ in range(draw(st.integers(1, 6))):
        if not text:
            break
        pos = draw(st.integers(0, len(text) - 1))
        action = draw(st.sampled_from(["insert", "delete", "truncate", "repeat"]))
        if action == "insert":
            text = text[:pos] + draw(CHARS) + text[pos:]
        elif action == "delete":
            text = text[:pos] + text[pos + draw(st.integers(1, 20)) :]
        elif action == "truncate":
            text = text[:pos]
        else:
            text = text[:pos] + text[pos : pos + 40] * draw(st.integers(2, 30)) + text[pos:]
    return text


def _check(kind: str, text: str) -> None:
    started = time.monotonic()
    try:
        PARSERS[kind](text)
    except ParseError as exc:
        assert exc.message and exc.line >= 0
    assert time.monotonic() - started < 2


FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(st.text(max_size=400))
def test_random_text_yaml(text):
    _check("yaml", text)


@FAST
@given(st.text(max_size=400))
def test_random_text_json(text):
    _check("json", text)


@FAST
@given(st.text(max_size=400))
def test_random_text_hcl(text):
    _check("tf", text)


@FAST
@given(mutated("yaml"))
def test_mutated_yaml(text):
    _check("yaml", text)


@FAST
@given(mutated("json"))
def test_mutated_json(text):
    _check("json", text)


@FAST
@given(mutated("tf"))
def test_mutated_hcl(text):
    _check("tf", text)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(kind=st.sampled_from(["yaml", "json", "tf"]), data=st.data())
def test_whole_pipeline_gives_entities_or_problems(tmp_path_factory, kind, data):
    """From bytes on disk through normalize and link: a problem or entities, nothing else."""
    text = data.draw(mutated(kind))
    folder = tmp_path_factory.mktemp("p")
    path = folder / f"input.{kind}"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    kind_name = {"tf": "terraform"}.get(kind, kind)
    source = SourceFile(str(path), "input." + kind, kind_name)
    parsed = parse_file(source, Options())
    entities, problems, *_ = build([source], Options(prefilter=False, roots=[str(folder)]), jobs=1)
    if parsed.problem is not None:
        assert problems and problems[0].file == "input." + kind
    for e in entities:
        e.to_json()


@settings(max_examples=500, deadline=None)
@given(st.text("ab*?", max_size=8), st.text("ab", max_size=8))
def test_iam_wildcards_match_like_fnmatch_without_brackets(pattern, text):
    import fnmatch

    from checks.model import wildcard_match

    assert wildcard_match(pattern, text) == fnmatch.fnmatchcase(text, pattern)


def test_iam_wildcards_treat_brackets_as_plain_characters():
    from checks.model import wildcard_match

    assert wildcard_match("repo:org/[x]*", "repo:org/[x]:ref")
    assert not wildcard_match("repo:org/[x]*", "repo:org/x:ref")


def _nesting_reference(text: str) -> int:
    """The deepest `[`/`{` nesting, one character at a time: double-quoted strings (ended
    by their quote or by the end of the line, `\\` escaping the next character) skipped, a
    closing bracket with nothing open ignored."""
    depth = deepest = 0
    in_string = False
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            i += 2
            if in_string and nxt != "\n":
                continue
            ch = nxt
        else:
            i += 1
        if ch == "\n":
            in_string = False
        elif in_string:
            in_string = ch != '"'
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth = max(0, depth - 1)
    return deepest


@settings(max_examples=1500, deadline=None)
@given(st.text('[]{}"\\\nab', max_size=300), st.integers(1, 8))
def test_the_fast_nesting_guard_decides_like_a_character_walk(text, limit):
    from checks.parse import check_nesting

    try:
        check_nesting(text, "X", limit=limit)
        refused = False
    except ParseError:
        refused = True
    assert refused == (_nesting_reference(text) > limit)
