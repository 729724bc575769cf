"""Configuration and rule files are read with the guards scanned input has (safe YAML, alias
and nesting limits, numbers that fit), before any schema check: each bad file is one clear
line naming the file, exit 2, never a traceback or a hang. Files are built at test time."""

from __future__ import annotations

import os

import pytest

from bounded import run_bounded
from conftest import cli

BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{n}: &{n} [" + ", ".join([f"*{p}"] * 10) + "]\n"
    for p, n in zip("abcdefgh", "bcdefghi", strict=True)
)
RULE = """id: ACME001
slug: cluster-name
title: Cluster names start with acme-
severity: low
entity: cluster
message: cluster {{name}}
remediation: Rename the cluster.
when: {when}
"""
ALIAS_ERROR = "YAML aliases expand to more than 500000 nodes (alias bomb?)"


def _nested(levels: int) -> str:
    """A rule condition nested `levels` deep, in block style."""
    lines = [" " * (2 * i) + "not:" for i in range(levels)]
    return (
        "\n"
        + "\n".join("  " + line for line in lines)
        + "\n"
        + " " * (2 * levels + 2)
        + ("{field: name, equals: x}")
    )


# .eks-checks.yaml content -> the error line after "invalid configuration: "
CONFIGS = {
    "recursive": ("x: &a [*a]\n", ".eks-checks.yaml:1: recursive YAML alias"),
    "bomb under an unknown key": (
        "unknown_key:\n" + "".join("  " + line + "\n" for line in BOMB.splitlines()),
        f".eks-checks.yaml:7: {ALIAS_ERROR}",
    ),
    "python tag": (
        "fail_on: !!python/object/apply:os.system ['true']\n",
        ".eks-checks.yaml:1: unsupported YAML tag tag:yaml.org,2002:python/object/apply:os.system",
    ),
    "flow nesting": (
        "rules: {EKS202: {params: {x: " + "[" * 100 + "]" * 100 + "}}}\n",
        ".eks-checks.yaml:1: YAML nested deeper than 64 levels",
    ),
    "block nesting": (
        "rules:\n" + "".join("  " * (i + 1) + f"k{i}:\n" for i in range(100)) + "  " * 101 + "v\n",
        ".eks-checks.yaml:65: YAML nested deeper than 64 levels",
    ),
    "infinite number": (
        "max_file_size: .inf\n",
        ".eks-checks.yaml:1: the number .inf is not a finite number",
    ),
    "two documents": (
        "fail_on: low\n---\nfail_on: high\n",
        ".eks-checks.yaml: a configuration file holds one YAML document",
    ),
}


@pytest.mark.parametrize("case", sorted(CONFIGS))
def test_a_hostile_configuration_is_one_clear_line(tmp_path, case):
    content, error = CONFIGS[case]
    (tmp_path / ".eks-checks.yaml").write_text(content)
    code, out, err = run_bounded("scan", ".", cwd=tmp_path)
    assert (code, out, err) == (2, "", f"eks-checks: error: invalid configuration: {error}\n")


PYPROJECTS = {
    "deep array": (
        "[tool.eks-checks]\nx = " + "[" * 5000 + "]" * 5000 + "\n",
        "pyproject.toml:2: TOML nested deeper than 64 levels",
    ),
    "deep inline table": (
        "[tool.eks-checks]\nx = " + "{a = " * 3000 + "1" + "}" * 3000 + "\n",
        "pyproject.toml:2: TOML nested deeper than 64 levels",
    ),
    "deep table header": (
        "[tool.eks-checks.rules." + ".".join(["k"] * 3000) + "]\nv = 1\n",
        "pyproject.toml [tool.eks-checks]: nested deeper than 64 levels",
    ),
}


@pytest.mark.parametrize("case", sorted(PYPROJECTS))
def test_a_hostile_pyproject_is_one_clear_line(tmp_path, case):
    content, error = PYPROJECTS[case]
    (tmp_path / "pyproject.toml").write_text(content)
    code, out, err = run_bounded("scan", ".", cwd=tmp_path)
    assert (code, out, err) == (2, "", f"eks-checks: error: invalid configuration: {error}\n")


def test_a_hostile_json_configuration_is_one_clear_line(tmp_path):
    (tmp_path / "config.json").write_text('{"x": ' + "[" * 5000 + "]" * 5000 + "}")
    code, out, err = run_bounded("scan", ".", "--config", "config.json", cwd=tmp_path)
    assert (code, out, err) == (
        2,
        "",
        "eks-checks: error: invalid configuration: config.json:1: YAML nested deeper than 64 "
        "levels\n",
    )


# a rule's `when` -> the error line after "invalid policy: pol/r.yaml"
RULES = {
    "recursive": ("&a {all: [*a]}", ":8: recursive YAML alias"),
    "bomb": (
        "\n" + "".join("  " + line + "\n" for line in BOMB.splitlines()),
        f":14: {ALIAS_ERROR}",
    ),
    "python tag": (
        "!!python/name:os.system",
        ":8: unsupported YAML tag tag:yaml.org,2002:python/name:os.system",
    ),
    "deep": (_nested(300), ":72: YAML nested deeper than 64 levels"),
}


@pytest.mark.parametrize("case", sorted(RULES))
def test_a_hostile_rule_file_is_one_clear_line(tmp_path, case):
    when, error = RULES[case]
    (tmp_path / "pol").mkdir()
    (tmp_path / "pol" / "r.yaml").write_text(RULE.format(when=when))
    code, out, err = run_bounded("scan", ".", "--policy-dir", "pol", cwd=tmp_path)
    assert (code, out, err) == (2, "", f"eks-checks: error: invalid policy: pol/r.yaml{error}\n")
    code, out, err = run_bounded("validate-policies", "pol", cwd=tmp_path)
    assert (code, out, err) == (2, "0 of 1 rule files valid\n", f"pol/r.yaml{error}\n")


def test_a_rule_nested_within_the_limit_still_loads(in_tmp):
    (in_tmp / "pol").mkdir()
    (in_tmp / "pol" / "r.yaml").write_text(RULE.format(when=_nested(20)))
    (in_tmp / "main.tf").write_text('resource "aws_eks_cluster" "c" {\n  name = "x"\n}\n')
    code, out, err = cli("scan", ".", "--policy-dir", "pol", "--select", "ACME001", "--no-color")
    assert "  main.tf:1  ACME001  low  cluster x" in out  # twenty times `not`: true
    assert (code, err) == (1, "")


@pytest.mark.parametrize("name", [".eks-checks.yaml", "pyproject.toml"])
def test_a_configuration_is_read_no_further_than_its_size_limit(tmp_path, name):
    """A link may lead anywhere, to a file of any size: the read stops at 1 MB."""
    (tmp_path / "big").write_text("# padding\n" * 200_000)
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / name).symlink_to(tmp_path / "big")
    code, out, err = run_bounded("scan", ".", cwd=tmp_path / "repo")
    assert (code, out, err) == (
        2,
        "",
        f"eks-checks: error: invalid configuration: {name}: configuration file larger than 1 MB\n",
    )


def test_a_rule_file_or_configuration_that_is_a_fifo_is_refused_not_waited_on(tmp_path):
    (tmp_path / "pol").mkdir()
    os.mkfifo(tmp_path / "pol" / "r.yaml")
    code, out, err = run_bounded("validate-policies", "pol", cwd=tmp_path)
    assert (code, out, err) == (
        2,
        "0 of 1 rule files valid\n",
        "pol/r.yaml: cannot read: not a regular file\n",
    )
    os.mkfifo(tmp_path / "config.yaml")
    code, out, err = run_bounded("scan", ".", "--config", "config.yaml", cwd=tmp_path)
    assert (code, out, err) == (
        2,
        "",
        "eks-checks: error: invalid configuration: config.yaml: cannot read: not a regular file\n",
    )
