"""Hostile and broken input: one clear line naming the file, never a traceback or a hang,
and the rest of the scan still done. The fixtures are written at test time (binary files,
huge files and links do not belong in git)."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time

import pytest

from bounded import scan_json
from conftest import cli

INSECURE = (
    'resource "aws_launch_template" "n" {\n  metadata_options {\n'
    '    http_tokens = "required"\n    http_put_response_hop_limit = 2\n  }\n}\n'
)
BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{n}: &{n} [" + ", ".join([f"*{p}"] * 10) + "]\n"
    for p, n in zip("abcdefgh", "bcdefghi", strict=True)
)


def _write(tmp, name: str, data: str | bytes) -> None:
    path = tmp / name
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8")


# file name -> (content, the one line the report must give for it: (line, message start))
CASES = {
    "truncated.yaml": ("apiVersion: v1\nkind: Pod\nmetadata: {name: [\n", (3, "invalid YAML: ")),
    "truncated.json": ('{"Statement": [{"Effect": "Allow"', (1, "invalid JSON: ")),
    "unbalanced.tf": ('resource "a" "b" {\n  x = [1, 2\n', (2, "invalid HCL: ")),
    "binary.tf": (b"\x7fELF\x02\x01\x01\x00\x00\x00", (0, "binary file (contains NUL bytes)")),
    "latin1.yaml": (b"name: caf\xe9\n", (1, "not valid UTF-8 (line 1, byte 9)")),
    "python-tag.yaml": (
        "a: !!python/object/apply:os.system ['touch /tmp/pwned']\n",
        (1, "unsupported YAML tag tag:yaml.org,2002:python/object/apply:os.system"),
    ),
    "duplicate-keys.yaml": (
        "apiVersion: v1\nkind: Secret\nmetadata: {name: a}\nkind: Pod\n",
        (4, "duplicate key 'kind' with different values"),
    ),
    "bomb.yaml": (BOMB, (6, "YAML aliases expand to more than 500000 nodes (alias bomb?)")),
    "deep.json": ("[" * 200_000 + "]" * 200_000, (1, "JSON nested deeper than 500 levels")),
    "deep.tf": (
        "a = " + "[" * 200_000 + "]" * 200_000 + "\n",
        (1, "HCL nested deeper than 500 levels"),
    ),
    "deep.yaml": (
        "a: " + "{b: " * 5_000 + "}" * 5_000 + "\n",
        (1, "YAML nested deeper than 500 levels"),
    ),
}


@pytest.fixture
def hostile(in_tmp):
    for name, (content, _) in CASES.items():
        _write(in_tmp, name, content)
    _write(in_tmp, "insecure.tf", INSECURE)
    return in_tmp


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_bad_file_is_one_clear_line(in_tmp, name):
    # alone in its folder: a .tf file is read with its module, whose errors concern it too
    _write(in_tmp, name, CASES[name][0])
    code, out, err = cli("scan", name, "--format", "json")
    doc = json.loads(out)
    line, message = CASES[name][1]
    (problem,) = doc["problems"]
    assert problem["file"] == name
    assert problem.get("line", 0) == line
    assert problem["message"].startswith(message)
    assert (code, err) == (2, "")


def test_everything_at_once_still_reports_the_insecure_file(hostile):
    # a manifest over the size limit (someone else's large file is a note: test_gate.py)
    head = "apiVersion: v1\nkind: ConfigMap\n"
    (hostile / "big.yaml").write_text(head + "#" * (10_000_000 - len(head) - 1) + "\n")
    os.mkdir(hostile / "dir.tf")
    os.symlink("loop2.yaml", hostile / "loop1.yaml")
    os.symlink("loop1.yaml", hostile / "loop2.yaml")
    os.symlink("missing.yaml", hostile / "dangling.yaml")
    os.mkfifo(hostile / "fifo.yaml")
    (hostile / "empty.yaml").write_text("")
    (hostile / "bom.json").write_bytes(b'\xef\xbb\xbf{"name": "x"}')
    (hostile / "crlf.yaml").write_bytes(
        b"apiVersion: v1\r\nkind: Secret\r\nmetadata:\r\n  name: t\r\n"
        b"type: kubernetes.io/service-account-token\r\n"
    )
    started = time.monotonic()
    code, out, err = cli("scan", ".", "--no-color")
    assert time.monotonic() - started < 10
    assert code == 2
    assert "Traceback" not in out + err
    for name in list(CASES) + [
        "big.yaml",
        "loop1.yaml",
        "loop2.yaml",
        "dangling.yaml",
        "fifo.yaml",
    ]:
        assert f"\n  {name}" in out, name
    assert "  big.yaml  error  skipped: 10000000 bytes is over the 5000000-byte limit" in out
    assert "  loop1.yaml  error  symbolic link loop" in out
    assert "  dangling.yaml  error  dangling symbolic link" in out
    assert "  fifo.yaml  error  not a regular file (FIFO, socket or device)" in out
    # the insecure file and the CRLF one are still judged, at the right lines
    assert "  insecure.tf:4  EKS202  high" in out
    assert "  crlf.yaml:5  EKS303  medium" in out
    # fine inputs produce no problem line
    for fine in ("empty.yaml", "bom.json", "dir.tf"):
        assert f"  {fine}  error" not in out


def test_memory_stays_bounded_on_bomb_and_deep_nesting(hostile):
    # the child's own peak: a process forked from pytest inherits pytest's resident size as
    # its ru_maxrss (Linux keeps the high-water mark across exec), so on Linux the mark is
    # reset to the child's size first (clear_refs 5) and read back as VmHWM
    script = (
        "import resource, sys\n"
        "try:\n"
        "    with open('/proc/self/clear_refs', 'w') as fh:\n"
        "        fh.write('5')\n"
        "except OSError:\n"
        "    pass\n"
        "from checks.cli import main\n"
        "code = main(['scan', 'bomb.yaml', 'deep.json', 'deep.tf', 'deep.yaml', '--format', 'json'])\n"
        "try:\n"
        "    with open('/proc/self/status') as fh:\n"
        "        print([l.split()[1] for l in fh if l.startswith('VmHWM:')][0])\n"
        "except OSError:\n"
        "    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=hostile, timeout=60
    )
    peak_kib = int(proc.stdout.strip().splitlines()[-1])
    assert peak_kib < 300 * 1024, f"peak RSS {peak_kib} KiB"
    assert resource  # (imported for the child's measurement; keeps linters quiet)


def test_control_characters_from_input_never_reach_the_terminal(in_tmp):
    (in_tmp / "sa.yaml").write_text(
        'apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: "default"\n'
        '  namespace: "evil\\u001b[2J\\u0007ns"\n'
    )
    code, out, _ = cli("scan", ".", "--no-color")
    assert code == 1
    assert "\x1b" not in out and "\x07" not in out
    assert "ServiceAccount evil\\x1b[2J\\x07ns/default" in out
    for fmt in ("json", "sarif", "conftest"):
        _, out, _ = cli("scan", ".", "--format", fmt)
        json.loads(out)
    _, out, _ = cli("scan", ".", "--format", "junit")
    import xml.etree.ElementTree as ET

    ET.fromstring(out)  # valid XML although the input held control characters


def test_lone_surrogate_in_input_keeps_json_output_valid(in_tmp):
    (in_tmp / "sa.json").write_text(
        '{"apiVersion": "v1", "kind": "ServiceAccount", '
        '"metadata": {"name": "default", "namespace": "x\\ud800y"}}'
    )
    code, out, _ = cli("scan", ".", "--format", "json")
    doc = json.loads(out)
    assert code == 1
    assert doc["findings"][0]["message"].startswith("ServiceAccount x\ufffdy/default")


def test_aws_auth_bomb_is_refused_as_hostile_not_an_eks504_finding(in_tmp):
    inner = "\n".join("    " + line for line in BOMB.splitlines())
    (in_tmp / "aws-auth.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\n"
        f"data:\n  mapRoles: |\n{inner}\n"
    )
    code, out, _ = cli("scan", ".", "--format", "json")
    doc = json.loads(out)
    assert (code, doc["findings"]) == (2, [])
    # the line inside the mapRoles block where the expansion passes the limit
    assert doc["problems"] == [
        {
            "file": "aws-auth.yaml",
            "level": "error",
            "line": 13,
            "message": "aws-auth mapRoles: YAML aliases expand to more than 500000 nodes "
            "(alias bomb?)",
        }
    ]


def test_invalid_config_and_policy_name_the_json_path(in_tmp):
    (in_tmp / ".eks-checks.yaml").write_text("rules:\n  EKS202:\n    severity: urgent\n")
    code, _, err = cli("scan", ".")
    assert code == 2
    assert err.startswith(
        "eks-checks: error: invalid configuration: .eks-checks.yaml: "
        "$.rules.EKS202.severity: 'urgent' is not one of"
    )
    (in_tmp / ".eks-checks.yaml").write_text("rules: [\n")
    code, _, err = cli("scan", ".")
    assert code == 2 and "invalid configuration: .eks-checks.yaml:2: invalid YAML" in err


# ---- rule regular expressions -----------------------------------------------------------------
BACKTRACKERS = ["^(a|aa)+$", r"^(\w+\s?)+$", "(.*a){20}$", "^(a|a)*$", "^((a+))+$", "^(a+b?)+$"]


def _regex_rules(directory, patterns: list[str]) -> None:
    directory.mkdir()
    for i, pattern in enumerate(patterns, 1):
        (directory / f"R00{i}.yaml").write_text(
            f"id: R00{i}\nslug: r{i}\ntitle: t\nseverity: low\nentity: cluster\n"
            f"when: {{field: name, matches: {json.dumps(pattern)}}}\n"
            "message: '{name} matches'\nremediation: r\n"
        )


def test_rule_regexes_match_in_linear_time(in_tmp):
    """Patterns that backtrack exponentially in Python's re, on a 40-character value that
    does not match (and one that does): RE2 answers at once."""
    _regex_rules(in_tmp / "p", BACKTRACKERS)
    (in_tmp / "c.tf").write_text(
        f'resource "aws_eks_cluster" "good" {{\n  name = "{"a" * 40}"\n}}\n'
        f'resource "aws_eks_cluster" "bad" {{\n  name = "{"a" * 39}!"\n}}\n'
    )
    assert cli("validate-policies", "p")[0] == 0
    proc = subprocess.run(
        [sys.executable, "-m", "checks", "scan", "c.tf", "--policy-dir", "p", "--select", "R"]
        + ["--format", "json", "--no-cache"],
        capture_output=True, text=True, cwd=in_tmp, timeout=60,
    )  # fmt: skip
    found = [
        (f["rule_id"], f["location"]["start_line"]) for f in json.loads(proc.stdout)["findings"]
    ]
    assert (proc.returncode, proc.stderr) == (1, "")
    assert found == [(f"R00{i}", 1) for i in range(1, 7)]


@pytest.mark.parametrize(
    ("when", "path", "reason"),
    [
        ("{field: name, matches: '(a)\\1'}", "$.when.matches", "invalid escape sequence: \\1"),
        (
            "{all: [{field: name, exists: true}, {not: {field: name, matches: 'a(?=b)'}}]}",
            "$.when.all[1].not.matches",
            "invalid perl operator: (?=",
        ),
        ("{field: name, matches: '(?<!a)b'}", "$.when.matches", "invalid perl operator: (?<!"),
        ("{field: name, matches: 'a{1001}'}", "$.when.matches", "invalid repetition size: {1001}"),
    ],
)
def test_a_regex_re2_cannot_compile_is_refused_naming_file_and_path(in_tmp, when, path, reason):
    (in_tmp / "p").mkdir()
    (in_tmp / "p" / "R001.yaml").write_text(
        "id: R001\nslug: r\ntitle: t\nseverity: low\nentity: cluster\n"
        f"when: {when}\nmessage: m\nremediation: r\n"
    )
    code, _, err = cli("validate-policies", "p")
    assert code == 2
    assert err.startswith(f"p/R001.yaml: {path}: regular expression ")
    assert f"is not supported ({reason}); rules use RE2 syntax" in err
    (in_tmp / "c.tf").write_text('resource "aws_eks_cluster" "c" {\n  name = "b"\n}\n')
    code, out, err = cli("scan", "c.tf", "--policy-dir", "p")
    assert (code, out) == (2, "")
    assert err.startswith(f"eks-checks: error: invalid policy: p/R001.yaml: {path}: ")


def test_without_re2_rules_fail_clearly_never_backtrack(in_tmp):
    (in_tmp / "c.tf").write_text('resource "aws_eks_cluster" "c" {\n  name = "b"\n}\n')
    script = (
        "import sys\n"
        "sys.modules['re2'] = None  # as on a platform without the package\n"
        "from checks.cli import main\n"
        "sys.exit(main(['scan', 'c.tf', '--no-cache']))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=in_tmp, timeout=60
    )
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr.startswith("eks-checks: error: invalid policy: ")
    assert "regular expressions need the google-re2 package (a linear-time engine)" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_value_with_a_lone_surrogate_is_matched_not_a_crash():
    from checks.rules import regex_search

    assert regex_search("^x.y$", "x\ud800y")  # the surrogate stands for one character
    assert not regex_search("^xy$", "x\ud800y")


CRD = (
    "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
    "metadata:\n  name: widgets.example.com\nspec:\n  group: example.com\n"
)
# a Deployment whose one line that starts with `kind:` is inside a quoted string: it reads as
# a definition to a pattern over lines, and as a Deployment to YAML and to Kubernetes
DISGUISED = (
    "{apiVersion: apps/v1, kind: Deployment, metadata: {name: web, namespace: shop},\n"
    " spec: {template: {spec: {containers: [{name: c, image: x}]}}}, note: 'a\n"
    "kind: CustomResourceDefinition\n"
    "b'}\n"
)


def _eks301(report: dict) -> list[tuple[str, int]]:
    return [
        (f["location"]["file"], f["location"]["start_line"])
        for f in report["findings"]
        if f["rule_id"] == "EKS301"
    ]


@pytest.mark.parametrize("kustomized", [False, True])
def test_a_workload_dressed_as_a_definition_is_still_read(tmp_path, kustomized):
    (tmp_path / "deploy.yaml").write_text(CRD + "---\n" + DISGUISED)
    if kustomized:
        (tmp_path / "kustomization.yaml").write_text("resources:\n  - deploy.yaml\n")
    code, report, _ = scan_json(".", cwd=tmp_path)
    assert _eks301(report) == [("deploy.yaml", 9)]
    assert code == 1


def test_definitions_are_not_read_and_change_nothing_else(tmp_path):
    deploy = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n"
        "    spec:\n      containers:\n        - name: c\n          image: x\n"
    )
    (tmp_path / "crds.yaml").write_text(CRD + "---\n" + deploy + "---\n" + CRD)
    code, report, _ = scan_json("crds.yaml", cwd=tmp_path)
    _, whole, _ = scan_json("crds.yaml", cwd=tmp_path, extra=("--no-prefilter",))
    assert _eks301(report) == _eks301(whole) == [("crds.yaml", 14)]
    assert report["findings"] == whole["findings"]
    # a definition that is not valid YAML is the file's error still, on its line
    (tmp_path / "crds.yaml").write_text(CRD + "  versions: [\n---\n" + deploy)
    code, report, _ = scan_json("crds.yaml", cwd=tmp_path)
    assert [(p["level"], p["line"]) for p in report["problems"]] == [("error", 8)]
    assert code == 2


def test_a_kustomization_listing_a_hundred_thousand_resources_is_read_in_bounded_time(
    tmp_path, monkeypatch
):
    # each resource was looked for in the list of those already found: quadratic, minutes
    # for a 2 MB kustomization, in the grouping of every run and again in its reading
    empty = tmp_path / "empty-path"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))  # read unrendered: the walk alone is timed
    overlay = tmp_path / "tree" / "overlay"
    overlay.mkdir(parents=True)
    names = "".join(f"  - r{n}.yaml\n" for n in range(100_000))
    (overlay / "kustomization.yaml").write_text("resources:\n" + names)
    code, report, _ = scan_json("tree", cwd=tmp_path)
    assert code == 0
    assert [(p["file"], p["level"]) for p in report["problems"]] == [
        ("tree/overlay/kustomization.yaml", "note")
    ]
    assert report["findings"] == []
