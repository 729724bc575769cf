"""Suppression comments are found in linear time: what each comment applies to is found in
one pass (each comment used to scan ahead over every comment after it), and a long comment
line is matched without backtracking. The scans run in a bounded child process."""

from __future__ import annotations

from bounded import scan_json
from checks.parse.comments import find_suppressions

HOP = "    http_put_response_hop_limit = 2\n"


def _launch_template(comments: str) -> str:
    return (
        'resource "aws_launch_template" "n" {\n  metadata_options {\n'
        f'    http_tokens = "required"\n{comments}{HOP}  }}\n}}\n'
    )


def test_what_each_comment_applies_to():
    text = (
        "locals {\n  # eks-checks: ignore[X] r1\n\n  # other\n"
        "  # eks-checks: ignore[Y, z] r2 until=2027-01-01\n"
        "  b = 1  // eks-checks: ignore[W] r3\n}\n# eks-checks: ignore[V]   r4  \n"
    )
    found = [(s.rules, s.reason, s.until, s.line, s.target) for s in find_suppressions(text)]
    assert found == [
        (("X",), "r1", "", 2, 6),  # past blank and comment lines to the code below
        (
            ("Y", "z"),
            "r2",
            "2027-01-01",
            5,
            6,
        ),  # names as written: the filter matches ids and slugs
        (("W",), "r3", "", 6, 6),  # after code: that line
        (("V",), "r4", "", 8, 10),  # nothing below: past the end
    ]


def test_forty_thousand_suppression_comments(tmp_path):
    comments = "    # eks-checks: ignore[EKS202] reviewed\n" * 40_000
    (tmp_path / "main.tf").write_text(_launch_template(comments))
    code, report, _ = scan_json("main.tf", cwd=tmp_path)
    ((rule, line, suppressed),) = [
        (f["rule_id"], f["location"]["start_line"], f["suppressed"]["reason"])
        for f in report["findings"]
    ]
    assert (rule, line, suppressed, code) == ("EKS202", 40_004, "reviewed", 0)


def test_a_long_suppression_comment_line(tmp_path):
    reason = "a" + " " * 200_000 + "b"
    (tmp_path / "main.tf").write_text(
        _launch_template(f"    # eks-checks: ignore[EKS202] {reason}\n")
    )
    code, report, _ = scan_json("main.tf", cwd=tmp_path)
    ((rule, suppressed),) = [(f["rule_id"], f["suppressed"]["reason"]) for f in report["findings"]]
    assert (rule, suppressed, code) == ("EKS202", reason, 0)


def test_many_findings_and_many_comments_in_one_file(tmp_path):
    """Each finding used to be paired with every comment of its file."""
    accounts = ", ".join(
        f"{{apiVersion: v1, kind: ServiceAccount, metadata: {{name: default, namespace: n{i}}}}}"
        for i in range(10_000)
    )
    comments = "# eks-checks: ignore[EKS302] not this line\n" * 90_000
    (tmp_path / "list.yaml").write_text(
        f"{comments}apiVersion: v1\nkind: List\n# eks-checks: ignore[EKS302] reviewed\n"
        f"items: [{accounts}]\n"
    )
    code, report, _ = scan_json("list.yaml", cwd=tmp_path)
    reasons = {f["suppressed"]["reason"] for f in report["findings"]}
    assert (len(report["findings"]), reasons, code) == (10_000, {"reviewed"}, 0)
