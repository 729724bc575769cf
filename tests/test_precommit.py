"""The real pre-commit runs our hook definition (.pre-commit-hooks.yaml) from this checkout:
an insecure file blocks the commit, a clean one passes, and cross-file links still see the
files pre-commit did not pass (the hook reads the repository as context)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT

pytestmark = pytest.mark.skipif(
    shutil.which("git") is None or not (ROOT / ".git").exists(),
    reason="needs git and a git checkout of eks-checks",
)

ROLE = """resource "aws_iam_role" "catalog" {
  name = "catalog"
  assume_role_policy = jsonencode({
    Statement = [{
      Effect    = "Allow"
      Action    = "sts:AssumeRoleWithWebIdentity"
      Principal = { Federated = "arn:aws:iam::111122223333:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC" }
      Condition = {
        StringEquals = {
          "oidc.eks.eu-west-1.amazonaws.com/id/ABC:sub" = "system:serviceaccount:shop:catalog"
          "oidc.eks.eu-west-1.amazonaws.com/id/ABC:aud" = "sts.amazonaws.com"
        }
      }
    }]
  })
}
"""


def _sa(name: str) -> str:
    return (
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n"
        f"  name: {name}\n  namespace: shop\n  annotations:\n"
        "    eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/catalog\n"
        "automountServiceAccountToken: false\n"
    )


def _git(cwd, *args):
    subprocess.run(
        ["git", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        env={
            **os.environ,
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@e",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@e",
        },
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    repo = tmp_path_factory.mktemp("project")
    _git(repo, "init", "-q")
    (repo / "infra").mkdir()
    (repo / "infra" / "iam.tf").write_text(ROLE)
    (repo / "k8s").mkdir()
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "infra")
    home = tmp_path_factory.mktemp("pre-commit-home")
    return repo, home


def _try_repo(repo, home, *files):
    env = {**os.environ, "PRE_COMMIT_HOME": str(home)}
    env.pop("GITHUB_ACTIONS", None)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pre_commit",
            "try-repo",
            str(ROOT),
            "eks-checks",
            "--files",
            *files,
        ],
        cwd=repo,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


def test_insecure_file_blocks_with_cross_file_context(project):
    repo, home = project
    (repo / "k8s" / "cart.yaml").write_text(_sa("cart"))
    _git(repo, "add", "k8s/cart.yaml")
    run = _try_repo(repo, home, "k8s/cart.yaml")
    assert run.returncode == 1, run.stdout + run.stderr
    # the role is in infra/iam.tf, a file pre-commit did not pass
    assert (
        "k8s/cart.yaml:7  EKS701  medium  ServiceAccount shop/cart uses role catalog" in run.stdout
    )
    assert "see infra/iam.tf:4" in run.stdout


def test_clean_file_passes(project):
    repo, home = project
    (repo / "k8s" / "catalog.yaml").write_text(_sa("catalog"))
    _git(repo, "add", "k8s/catalog.yaml")
    run = _try_repo(repo, home, "k8s/catalog.yaml")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Passed" in run.stdout


def test_context_root_lets_file_read_the_whole_tree(tmp_path, monkeypatch):
    """With --context-root, a role elsewhere in the repository that reads its trust policy
    with file() is still resolved when only a manifest is passed."""
    from conftest import cli

    (tmp_path / "infra" / "policies").mkdir(parents=True)
    (tmp_path / "infra" / "policies" / "trust.json").write_text(
        '{"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",'
        ' "Principal": {"Federated": "arn:aws:iam::1:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/A"},'
        ' "Condition": {"StringEquals": {"oidc.eks.eu-west-1.amazonaws.com/id/A:sub":'
        ' "system:serviceaccount:shop:catalog"}}}]}'
    )
    (tmp_path / "infra" / "iam.tf").write_text(
        'resource "aws_iam_role" "catalog" {\n  name = "catalog"\n'
        '  assume_role_policy = file("${path.module}/policies/trust.json")\n}\n'
    )
    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s" / "cart.yaml").write_text(_sa("cart"))
    monkeypatch.chdir(tmp_path)
    code, out, _ = cli(
        "scan", "k8s/cart.yaml", "--context-root", ".", "--select", "EKS701", "--no-color"
    )
    assert code == 1
    assert "k8s/cart.yaml:7  EKS701  medium  ServiceAccount shop/cart uses role catalog" in out
