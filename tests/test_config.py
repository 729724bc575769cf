"""Where the configuration is found, what `exclude` patterns match, and the repository root
that excludes, configured suppressions and baselines are relative to."""

from __future__ import annotations

import json

from conftest import cli

HOP = (
    'resource "aws_launch_template" "n" {\n  metadata_options {\n'
    '    http_tokens = "required"\n    http_put_response_hop_limit = 2\n  }\n}\n'
)


def _repo(tmp_path):
    repo = tmp_path / "repo"
    (repo / "infra" / "legacy").mkdir(parents=True)
    (repo / ".git").mkdir()
    (repo / "infra" / "lt.tf").write_text(HOP)
    (repo / "infra" / "legacy" / "old.tf").write_text(HOP.replace('"n"', '"old"'))
    return repo


def test_the_configuration_is_found_from_the_path_up_to_the_repository_root(tmp_path, monkeypatch):
    repo = _repo(tmp_path)
    (repo / ".eks-checks.yaml").write_text("fail_on: critical\nexclude: [infra/legacy]\n")
    for cwd, target in ((repo / "infra", ".."), (repo / "infra", "."), (tmp_path, "repo/infra")):
        monkeypatch.chdir(cwd)
        code, out, err = cli("scan", target, "--no-color")
        assert (code, err) == (0, ""), cwd  # fail_on: critical, and legacy/ excluded
        assert out.endswith("1 finding (1 high) in 1 file scanned\n"), cwd
    # a configuration nearer the PATH wins; above the repository's top nothing is looked for
    (repo / "infra" / "pyproject.toml").write_text('[tool.eks-checks]\nfail-on = "high"\n')
    monkeypatch.chdir(repo / "infra")
    assert cli("scan", ".", "--no-color")[0] == 1
    (repo / "infra" / "pyproject.toml").write_text('[project]\nname = "not ours"\n')
    assert cli("scan", ".", "--no-color")[0] == 0
    (repo / ".eks-checks.yaml").unlink()
    (tmp_path / ".eks-checks.yaml").write_text("fail_on: critical\n")  # above the repository
    monkeypatch.chdir(repo)
    assert cli("scan", "infra", "--no-color")[0] == 1
    # ... but the working directory's is the last resort for PATHs that find none
    monkeypatch.chdir(tmp_path)
    assert cli("scan", "repo/infra", "--no-color")[0] == 0


def test_paths_that_find_different_configurations_are_a_usage_error(tmp_path, monkeypatch):
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / ".eks-checks.yaml").write_text("fail_on: high\n")
        (tmp_path / name / "lt.tf").write_text(HOP)
    monkeypatch.chdir(tmp_path)
    code, out, err = cli("scan", "a", "b")
    assert (code, out) == (2, "")
    assert err == (
        "eks-checks: error: invalid configuration: a and b have different configurations "
        "(a/.eks-checks.yaml and b/.eks-checks.yaml): scan them separately, or name one with "
        "--config\n"
    )
    assert cli("scan", "a", "b", "--config", "a/.eks-checks.yaml", "--no-color")[0] == 1


def test_a_configuration_found_above_the_path_still_names_only_paths_in_its_folder(
    tmp_path, monkeypatch
):
    repo = _repo(tmp_path)
    (tmp_path / "envs.tfvars").write_text('cluster = "x"\n')
    (repo / ".eks-checks.yaml").write_text("var_files:\n  infra: [../envs.tfvars]\n")
    monkeypatch.chdir(repo / "infra")
    code, _, err = cli("scan", ".")
    assert code == 2
    assert err == (
        f"eks-checks: error: invalid configuration: {repo}/.eks-checks.yaml: "
        "$.var_files.infra[0]: ../envs.tfvars is outside the folder of the configuration\n"
    )


def test_exclude_patterns_are_relative_to_the_repository_root(tmp_path, monkeypatch):
    repo = _repo(tmp_path)
    monkeypatch.chdir(repo / "infra")
    # from inside infra/, the pattern still names the path from the top
    code, out, err = cli("scan", ".", "--exclude", "infra/legacy", "--no-color")
    assert (code, err) == (1, "")
    assert out.endswith("1 finding (1 high) in 1 file scanned\n")
    code, out, err = cli("scan", ".", "--exclude", "legacy", "--no-color")
    assert out.endswith("2 findings (2 high) in 2 files scanned\n")
    assert err == (
        f"eks-checks: note: --exclude: exclude pattern 'legacy' matches nothing under {repo} "
        "(patterns are relative to the repository root)\n"
    )
    # `*` matches across folders, and a pattern that leaves out only files we never read
    # still matched something
    (repo / "infra" / "notes.md").write_text("# notes\n")
    code, out, err = cli("scan", "..", "--exclude", "*/old.tf", "--exclude", "*.md")
    assert (code, err) == (1, "")
    assert out.endswith("1 finding (1 high) in 1 file scanned\n")


def test_model_reads_what_scan_reads(tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    (repo / "infra" / "legacy").mkdir(parents=True)
    (repo / ".git").mkdir()
    (repo / "infra" / "main.tf").write_text(
        'variable "name" {}\nresource "aws_eks_cluster" "c" {\n  name = var.name\n}\n'
    )
    (repo / "infra" / "legacy" / "old.tf").write_text(
        'resource "aws_eks_cluster" "old" {\n  name = "old"\n}\n'
    )
    (repo / "envs").mkdir()
    (repo / "envs" / "prod.tfvars").write_text('name = "prod"\n')
    (repo / ".eks-checks.yaml").write_text(
        "exclude: [infra/legacy]\nvar_files:\n  infra: [envs/prod.tfvars]\n"
    )
    monkeypatch.chdir(repo / "infra")

    def clusters(*args: str) -> list:
        code, out, err = cli("model", *args)
        assert (code, err) == (0, "")
        return [(e["key"], e["fields"].get("name")) for e in json.loads(out)["entities"]]

    assert clusters(".") == [("terraform:main.tf:aws_eks_cluster.c", "prod")]
    (repo / "envs" / "dev.tfvars").write_text('name = "dev"\n')
    assert clusters(".", "--var-file", "../envs/dev.tfvars") == [
        ("terraform:main.tf:aws_eks_cluster.c", "dev")
    ]
    (repo / "empty.yaml").write_text("")
    assert clusters(".", "--config", "../empty.yaml") == [
        ("terraform:main.tf:aws_eks_cluster.c", None),
        ("terraform:legacy/old.tf:aws_eks_cluster.old", "old"),
    ]
    code, _, err = cli("model", ".", "--jobs", "0")
    assert (code, err) == (2, "eks-checks: error: --jobs must be 1 or more, not 0\n")
