"""Reading HCL in bounded time and memory: a file of very many tokens is refused before its
tokens fill memory, and a large file our reader refuses is not handed to python-hcl2 (whose
parser takes seconds per 100 KB and gigabytes on dense input): our reader's own error, with
its line and a short excerpt, is the answer. Each case runs in a bounded child process."""

from __future__ import annotations

import pytest

from bounded import scan_json


def _problems(report: dict) -> list:
    return [(p["file"], p.get("line", 0), p["level"], p["message"]) for p in report["problems"]]


def test_a_file_of_too_many_tokens_is_refused(tmp_path):
    (tmp_path / "main.tf").write_text("locals {\n  a = [" + "1," * 2_400_000 + "1]\n}\n")
    code, report, _ = scan_json("main.tf", cwd=tmp_path)
    assert _problems(report) == [
        ("main.tf", 2, "error", "HCL file of more than 1500000 tokens: too large to read")
    ]
    assert code == 2


def test_a_large_file_with_a_syntax_error_is_reported_by_our_reader(tmp_path):
    (tmp_path / "main.tf").write_text("locals {\n  a = [" + "1," * 700_000 + "1]\n  b = = 2\n}\n")
    code, report, _ = scan_json("main.tf", cwd=tmp_path)
    assert _problems(report) == [("main.tf", 3, "error", "invalid HCL: unexpected '=' at line 3")]
    assert code == 2


def test_our_readers_error_quotes_a_short_excerpt(tmp_path):
    padding = "# padding\n" * 30_000
    (tmp_path / "main.tf").write_text(padding + "a = 1 " + "S" * 5000 + "\n")
    code, report, _ = scan_json("main.tf", cwd=tmp_path)
    ((file, line, level, message),) = _problems(report)
    assert (file, line, level, code) == ("main.tf", 30_001, "error", 2)
    assert message.startswith("invalid HCL: attribute not ended by a newline before 'SSS")
    assert "S" * 81 not in message and len(message) < 200


def test_a_file_nested_up_to_the_guard_is_read(tmp_path):
    """Our reader kept about 7 Python frames per level and Python's default limit stopped it
    near 150 levels (python-hcl2 too): "HCL nested too deeply", no line. The readers now
    reach the 500-level guard."""
    (tmp_path / "main.tf").write_text(
        "locals {\n  a = " + "[" * 490 + "]" * 490 + "\n  b = " + "(" * 490 + "1" + ")" * 490
        + '\n  c = ' + '"${' * 240 + "1" + '}"' * 240 + "\n}\n"
    )  # fmt: skip
    code, report, _ = scan_json("main.tf", cwd=tmp_path)
    assert (_problems(report), code) == ([], 0)


def test_a_json_file_nested_up_to_the_guard_is_read(tmp_path):
    (tmp_path / "trust.json").write_text('{"Statement": ' + "[" * 495 + "]" * 495 + "}")
    code, report, _ = scan_json("trust.json", cwd=tmp_path)
    assert (_problems(report), code) == ([], 0)


@pytest.mark.parametrize(
    "expression",
    ["(" * 600 + "1" + ")" * 600, "!" * 700 + "true", '"${' * 600 + "1" + '}"' * 600],
    ids=["parentheses", "negations", "templates"],
)
def test_nesting_the_bracket_count_does_not_see_meets_the_guard_with_its_line(tmp_path, expression):
    (tmp_path / "main.tf").write_text("locals {\n  a = 1\n  b = " + expression + "\n}\n")
    code, report, _ = scan_json("main.tf", cwd=tmp_path)
    assert _problems(report) == [("main.tf", 3, "error", "HCL nested deeper than 500 levels")]
    assert code == 2


def test_a_long_chain_of_conditionals_is_read_without_the_stack(tmp_path):
    """`a ? 1 : a ? 1 : ...` nests to the right: read in a loop, evaluated to the limit."""
    (tmp_path / "main.tf").write_text(
        "locals {\n  a = true\n  b = " + "local.a ? 1 : " * 3000 + "2\n}\n"
    )
    code, report, _ = scan_json("main.tf", cwd=tmp_path)
    assert (_problems(report), code) == ([], 0)
