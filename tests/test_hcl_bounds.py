"""Reading HCL in bounded time and memory: a file of very many tokens is refused before its
tokens fill memory, and a large file our reader refuses is not handed to python-hcl2 (whose
parser takes seconds per 100 KB and gigabytes on dense input): our reader's own error, with
its line and a short excerpt, is the answer. Each case runs in a bounded child process."""

from __future__ import annotations

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
