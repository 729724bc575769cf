"""Terraform evaluation in bounded time and memory: every named value is evaluated once per
module, a reference cycle is unknown, and a value over the size limits (or a module over its
evaluation budget) is unknown with one note, while the rest of the module is still judged.
Each case runs in a child process with a timeout and a memory limit (tests/bounded.py)."""

from __future__ import annotations

import os
import time

import pytest

from bounded import scan_json

SIZE_NOTE = (
    "value over the size limit (1000000 characters, 100000 items, 100 levels): read as unknown"
)
BUDGET_NOTE = (
    "the module's values grow past the evaluation budget (64000000 characters, 1000000 items): "
    "further values are read as unknown"
)
# a launch template in the same module: its finding shows that the module was still judged
NODES = (
    'resource "aws_launch_template" "n" {\n  metadata_options {\n    http_tokens = "required"\n'
    "    http_put_response_hop_limit = 2\n  }\n}\n"
)


def _chain(prefix: str, first: str, step: str, count: int) -> str:
    """A `locals` block: prefix0 = first, prefixN = step with {p} the previous local."""
    lines = [f"  {prefix}0 = {first}"]
    lines += [
        f"  {prefix}{i} = " + step.format(p=f"local.{prefix}{i - 1}") for i in range(1, count)
    ]
    return "locals {\n" + "\n".join(lines) + "\n}\n"


def _cluster(name: str = '"c"', cidrs: str = '["10.0.0.0/8"]') -> str:
    return (
        f'resource "aws_eks_cluster" "c" {{\n  name = {name}\n  vpc_config {{\n'
        f"    public_access_cidrs = {cidrs}\n  }}\n}}\n"
    )


def _scan(tmp_path, text: str, select: str = "EKS101,EKS202,EKS508"):
    (tmp_path / "main.tf").write_text(text + NODES)
    code, report, _ = scan_json("main.tf", cwd=tmp_path, extra=("--select", select))
    found = {(f["rule_id"], f["location"]["start_line"], f["message"]) for f in report["findings"]}
    return code, found, report["problems"]


def _hop_limit_line(text: str) -> int:
    return text.count("\n") + 4


def test_a_local_used_twice_per_step_is_evaluated_once(tmp_path):
    text = _chain("a", '"x"', "coalesce({p}, {p})", 31) + _cluster("local.a30")
    code, found, problems = _scan(tmp_path, text, "EKS508")
    assert (code, problems) == (1, [])
    assert found == {
        (
            "EKS508",
            34,
            "cluster x gives its creator permanent cluster-admin access "
            "(bootstrap_cluster_creator_admin_permissions = true)",
        )
    }


def test_nested_replace_is_unknown_with_one_note(tmp_path):
    text = (
        'locals {\n  a = "abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789"\n'
        '  b = replace(replace(replace(replace(local.a, "", local.a), "", local.a), "", local.a), '
        '"", local.a)\n}\n' + _cluster("local.b")
    )
    code, found, problems = _scan(tmp_path, text)
    assert problems == [{"file": "main.tf", "level": "note", "line": 3, "message": SIZE_NOTE}]
    (cluster,) = [f for f in found if f[0] == "EKS508"]
    assert cluster[2].startswith('cluster replace(replace(replace(replace(local.a, "", local.a)')
    assert (
        "EKS202",
        _hop_limit_line(text),
        "aws_launch_template.n sets http_put_response_hop_limit = 2 (more than 1): pods can reach the node role's credentials",
    ) in found  # noqa: E501
    assert code == 1


def test_a_reference_cycle_is_unknown_with_a_note(tmp_path):
    text = 'locals {\n  a = local.b\n  b = "${local.a}-x"\n}\n' + _cluster("local.a")
    code, found, problems = _scan(tmp_path, text, "EKS508")
    assert problems == [
        {
            "file": "main.tf",
            "level": "note",
            "line": 2,
            "message": "reference cycle local.a -> local.b -> local.a: read as unknown",
        }
    ]
    assert {f[2].split(" gives")[0] for f in found} == {"cluster local.a"}
    assert code == 1


# Values that double (or triple) at each of 30 steps: 2**30 items, characters or levels.
DOUBLING = {
    "concat": (_chain("l", '["0.0.0.0/0"]', "concat({p}, {p})", 31), "c", "local.l30"),
    "tuple": (_chain("t", '["0.0.0.0/0"]', "[{p}, {p}]", 31), "c", "flatten(local.t30)"),
    "template": (_chain("s", '"ab"', '"${{{p}}}${{{p}}}"', 31), "local.s30", '["1.2.3.4/32"]'),
    "join": (_chain("j", '"ab"', "join({p}, [{p}, {p}])", 31), "local.j30", '["1.2.3.4/32"]'),
    "object": (_chain("o", '{x = "0.0.0.0/0"}', "{{a = {p}, b = {p}}}", 31), "c", "[local.o30]"),
    "merge": (
        _chain("m", '{x = "0.0.0.0/0"}', "merge({p}, {{a = {p}, b = {p}}})", 31),
        "c",
        "[local.m30]",
    ),
    "heredoc": (
        _chain("h", '"ab"', "<<EOT\n${{{p}}}${{{p}}}\nEOT", 31),
        "local.h30",
        '["1.2.3.4/32"]',
    ),
}


@pytest.mark.parametrize("case", sorted(DOUBLING))
def test_values_that_double_at_each_step_become_unknown(tmp_path, case):
    locals_text, name, cidrs = DOUBLING[case]
    name = name if name.startswith("local.") else f'"{name}"'
    text = locals_text + _cluster(name, cidrs)
    code, found, problems = _scan(tmp_path, text)
    assert [(p["level"], p["message"]) for p in problems] == [("note", SIZE_NOTE)]
    assert not any(f[0] == "EKS101" for f in found)  # the CIDRs are unknown, not judged
    assert any(f[0] == "EKS202" for f in found)
    assert code == 1


def test_text_of_an_unknown_value_does_not_double(tmp_path):
    text = (
        'variable "v" {}\n' + _chain("u", "var.v", '"${{{p}}}${{{p}}}"', 31) + _cluster("local.u30")
    )
    code, found, problems = _scan(tmp_path, text, "EKS508")
    assert (code, problems) == (1, [])
    (finding,) = found
    assert len(finding[2]) < 1200


def test_distinct_of_many_different_items_is_not_quadratic(tmp_path):
    items = ", ".join(f'"10.{i // 256 % 256}.{i % 256}.{i // 65536}/32"' for i in range(60_000))
    text = f'locals {{\n  all = [{items}, "0.0.0.0/0"]\n}}\n' + _cluster(
        '"c"', "distinct(local.all)"
    )
    code, found, problems = _scan(tmp_path, text, "EKS101")
    assert (code, problems) == (1, [])
    assert {f[0] for f in found} == {"EKS101"}


def test_many_large_strings_stay_within_the_module_budget(tmp_path):
    base = "a" * 990
    # a thousand different strings of almost 1 MB each
    many = "\n".join(f'  s{i} = replace(local.big, "aaaa", "{i:04d}")' for i in range(1000))
    names = ", ".join(f"local.s{i}" for i in range(1000))
    text = (
        f'locals {{\n  base = "{base}"\n  big = replace(local.base, "", local.base)\n{many}\n}}\n'
        + _cluster('"c"', f"[{names}]")
    )
    code, found, problems = _scan(tmp_path, text)
    # the budget runs out first; the list of what was read before is still over the limit
    assert [(p["level"], p["message"]) for p in problems] == [
        ("note", BUDGET_NOTE),
        ("note", SIZE_NOTE),
    ]
    assert any(f[0] == "EKS202" for f in found)
    assert code == 1


def test_a_large_value_referenced_many_times_stays_within_the_budget(tmp_path):
    clusters = "".join(
        f'resource "aws_eks_cluster" "c{i}" {{\n  vpc_config {{\n'
        f"    public_access_cidrs = local.l16\n  }}\n}}\n"
        for i in range(2000)
    )
    text = _chain("l", '["10.0.0.0/8"]', "concat({p}, {p})", 17) + clusters
    code, found, problems = _scan(tmp_path, text, "EKS101,EKS202")
    assert [(p["level"], p["message"]) for p in problems] == [("note", BUDGET_NOTE)]
    assert {f[0] for f in found} == {"EKS202"}
    assert code == 1


def test_values_nested_deeper_than_the_limit_through_references(tmp_path):
    step = "[" * 90 + "{p}" + "]" * 90  # 90 levels more at each of 38 steps
    text = _chain("d", "[1]", step, 39) + _cluster('"c"', "flatten(local.d38)")
    code, found, problems = _scan(tmp_path, text)
    assert [(p["level"], p["message"]) for p in problems] == [("note", SIZE_NOTE)]
    assert any(f[0] == "EKS202" for f in found)
    assert code == 1


def test_a_very_long_reference_chain_is_cut_not_a_crash(tmp_path):
    text = _chain("a", '"x"', "{p}", 3000) + _cluster("local.a2999")
    code, found, problems = _scan(tmp_path, text, "EKS202,EKS508")
    assert problems == []
    assert {f[0] for f in found} == {"EKS202", "EKS508"}
    assert code == 1


@pytest.mark.skipif(not hasattr(os, "fork"), reason="uses fork")
@pytest.mark.parametrize("failure", ["hang", "die"])
def test_a_module_whose_worker_failed_is_never_evaluated_in_the_parent(
    tmp_path, monkeypatch, failure
):
    """A module whose evaluation hangs or kills its worker is found by running its files one
    by one in workers; evaluating what is left happens in a worker too, never in the parent,
    and each file is reported once."""
    from checks import runner
    from checks.normalize import terraform
    from checks.pool import parallel_map
    from conftest import run

    parent = os.getpid()
    evaluated_in_parent = []

    def misbehaving(directory, *args, **kwargs):
        if os.getpid() == parent:
            evaluated_in_parent.append(directory)
            return [], []
        if failure == "die":
            os._exit(3)
        time.sleep(60)

    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "main.tf").write_text('locals {\n  a = "x"\n}\n')
    (tmp_path / "bad" / "other.tf").write_text('locals {\n  b = "y"\n}\n')
    for i in range(3):
        (tmp_path / f"sa{i}.yaml").write_text(
            f"apiVersion: v1\nkind: ServiceAccount\nmetadata: {{name: default, namespace: n{i}}}\n"
        )
    monkeypatch.setattr(terraform, "normalize_module", misbehaving)
    monkeypatch.setattr(runner, "PARALLEL_MIN_FILES", 1)
    monkeypatch.setattr(parallel_map, "__defaults__", (2,))  # the timeout, in seconds
    result = run([tmp_path], jobs=2, prefilter=False)
    assert evaluated_in_parent == []
    reason = {
        "hang": "parsing took more than 2 s and was stopped",
        "die": "the parser process died (exit code 3)",
    }[failure]
    assert sorted((os.path.basename(p.file), p.message) for p in result.problems) == [
        ("main.tf", reason),
        ("other.tf", reason),
    ]
    assert {f.rule_id for f in result.findings} == {"EKS302"}


@pytest.mark.parametrize(
    "value",
    ["[" * 150 + "]" * 150, "[" + "{}, " * 1_200_000 + "{}]"],
    ids=["deep", "long"],
)
def test_a_variable_file_value_over_the_limits_is_unknown_where_it_is_used(tmp_path, value):
    """Values from a variable file are held to the same limits as computed ones (a list of
    1,200,000 objects took 13 s and 1.1 GB)."""
    (tmp_path / "terraform.tfvars.json").write_text('{"x": ' + value + "}")
    (tmp_path / "main.tf").write_text(
        'variable "x" {}\n' + _cluster('"c"', "flatten(var.x)") + NODES
    )
    code, report, _ = scan_json(".", cwd=tmp_path, extra=("--select", "EKS202"))
    assert [(p["file"], p["line"], p["level"], p["message"]) for p in report["problems"]] == [
        ("main.tf", 5, "note", SIZE_NOTE)
    ]
    assert [f["rule_id"] for f in report["findings"]] == ["EKS202"]
    assert code == 1


def test_a_reference_with_300_000_index_steps_is_read_in_linear_time(tmp_path):
    """Each `[0]` used to copy the reference read so far: quadratic in the chain's length."""
    text = "locals {\n  a = [1]\n  b = local.a" + "[0]" * 300_000 + "\n}\n" + _cluster("local.b")
    code, found, problems = _scan(tmp_path, text, "EKS202,EKS508")
    # the second [0] indexes the number 1: Terraform refuses it
    refused = "Terraform refuses this expression (cannot index a number): read as unknown"
    assert problems == [{"file": "main.tf", "level": "note", "line": 3, "message": refused}]
    assert {f[0] for f in found} == {"EKS202", "EKS508"}
    assert code == 1
