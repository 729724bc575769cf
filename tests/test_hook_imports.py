"""The pre-commit hook's start-up stays lean: a warm hook run that reads its context through
the index (`checks.hookindex`) and has nothing to parse imports no parser (PyYAML, the HCL
readers, the JSON reader), no normalizer of a format, no jsonschema and nothing of Rego; a
run that must parse an edited file imports the parser of that file's syntax, and only then.
Each run is its own process (`sys.modules` of the test's process holds everything)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from checks.scan import CHECK_CONTEXT
from conftest import FIXTURES, ROOT

# the hook as pre-commit runs it, reporting what it imported and how it read its context
PROBE = """
import json, sys
from checks import scan as scan_module
from checks.cli import main

contexts = []
real = scan_module.scan

def scan(*args, **kwargs):
    result = real(*args, **kwargs)
    contexts.append(result.context)
    return result

scan_module.scan = scan
code = main(["scan", "--context-root=.", *sys.argv[1:]])
print(json.dumps({"code": code, "contexts": contexts, "modules": sorted(sys.modules)}))
"""

YAML_PARSER = ("yaml", "checks.parse.yamlsafe")
HCL_PARSER = ("checks.parse.hcl", "checks.parse.hclsyntax", "checks.parse.hcltree")
# what no warm run with nothing to parse may import
PARSING = (
    *YAML_PARSER,
    *HCL_PARSER,
    "hcl2",
    "lark",
    "checks.parse.jsonpos",
    "jsonschema",
    "checks.rego.policy",
    "checks.rego.child",
    "regopy",
    "checks.normalize.kubernetes",
    "checks.normalize.aws_auth",
    "checks.normalize.terraform",
    "checks.normalize.cloudformation",
    "checks.normalize.iam",
    "checks.normalize.eksctl",
    "checks.normalize.plan",
    "checks.prefilter",
)


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    """A repository of every kind the hook reads: Kustomize overlays, manifests, Terraform
    modules, IAM policies in JSON."""
    root = tmp_path / "repo"
    shutil.copytree(FIXTURES / "kustomize", root / "kustomize")
    shutil.copytree(FIXTURES / "hook-closure", root / "hook-closure")
    shutil.copytree(ROOT / "examples", root / "examples")
    return root


def _hook(tree: Path, path: str, cache: Path) -> dict:
    """One hook run in a process of its own: its exit code, how it read its context, and
    the modules it imported."""
    env = dict(os.environ, EKS_CHECKS_CACHE_DIR=str(cache))
    env.pop(CHECK_CONTEXT, None)
    done = subprocess.run(
        [sys.executable, "-c", PROBE, path],
        capture_output=True, text=True, cwd=tree, env=env, timeout=300, check=False,
    )  # fmt: skip
    assert done.stdout.strip(), done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def _imported(run: dict, names: tuple[str, ...]) -> list[str]:
    return [name for name in names if name in run["modules"]]


GIVEN = ("examples/k8s/shop/serviceaccounts.yaml", "examples/infra/irsa.tf")


@pytest.mark.parametrize("given", GIVEN)
def test_a_warm_hook_with_nothing_to_parse_imports_no_parser(tree, tmp_path, given):
    cache = tmp_path / "cache"
    cold = _hook(tree, given, cache)  # fills the cache and writes the index
    assert _imported(cold, YAML_PARSER) == list(YAML_PARSER)
    assert cold["code"] == 1
    warm = _hook(tree, given, cache)
    assert warm["contexts"] == [warm["contexts"][0]]
    assert warm["contexts"][0].startswith("reduced: "), warm["contexts"]
    assert warm["code"] == 1  # the same findings, read from the cache
    assert _imported(warm, PARSING) == []


def test_a_warm_hook_imports_the_parser_of_an_edited_file_only(tree, tmp_path):
    cache = tmp_path / "cache"
    given = "examples/k8s/shop/serviceaccounts.yaml"
    _hook(tree, given, cache)
    manifest = tree / given
    manifest.write_text(manifest.read_text() + "# edited\n")
    edited = _hook(tree, given, cache)
    assert edited["contexts"][0].startswith("reduced: "), edited["contexts"]
    assert _imported(edited, YAML_PARSER) == list(YAML_PARSER)
    assert _imported(edited, HCL_PARSER) == []
    module = tree / "examples/infra/irsa.tf"
    module.write_text(module.read_text() + "# edited\n")
    edited = _hook(tree, "examples/infra/irsa.tf", cache)
    assert edited["contexts"][0].startswith("reduced: "), edited["contexts"]
    assert _imported(edited, HCL_PARSER) == list(HCL_PARSER)
