"""Variable files Terraform loads by itself (terraform.tfvars, terraform.tfvars.json,
*.auto.tfvars in name order, the last one winning) give `var.x` its value; files that need
`-var-file` are not read, since we cannot know whether they are passed."""

from __future__ import annotations

import json

from conftest import cli, run

MAIN = """variable "public" {
  type    = bool
  default = false
}

variable "cidrs" {
  type = list(string)
}

resource "aws_eks_cluster" "c" {
  name     = "c"
  role_arn = "arn:aws:iam::111122223333:role/eks"
  vpc_config {
    endpoint_public_access = var.public
    public_access_cidrs    = var.cidrs
  }
}
"""


def _eks101(tmp_path):
    result = run([tmp_path], select={"EKS101"})
    assert [p for p in result.problems if p.level == "error"] == []
    return [(f.location.file.rsplit("/", 1)[-1], f.location.start_line) for f in result.findings]


def test_terraform_tfvars_sets_the_variable(tmp_path):
    (tmp_path / "main.tf").write_text(MAIN)
    assert _eks101(tmp_path) == []  # default false, cidrs unknown: quiet
    (tmp_path / "terraform.tfvars").write_text('public = true\ncidrs  = ["0.0.0.0/0"]\n')
    (tmp_path / "prod.tfvars").write_text("public = false\n")  # needs -var-file: not read
    assert _eks101(tmp_path) == [("main.tf", 15)]


def test_copies_of_a_module_each_take_their_own_variables(tmp_path):
    # the copies' .tf files share one parse: what one copy's variables give must not stay
    # behind in the parsed blocks for the next copy
    for env, public in (("dev", "true"), ("prod", "false"), ("test", "true")):
        (tmp_path / env).mkdir()
        (tmp_path / env / "main.tf").write_text(MAIN)
        (tmp_path / env / "terraform.tfvars").write_text(
            f'public = {public}\ncidrs  = ["0.0.0.0/0"]\n'
        )
    result = run([tmp_path], select={"EKS101"})
    assert sorted(f.location.file.rsplit("/", 2)[-2] for f in result.findings) == ["dev", "test"]


def test_auto_tfvars_win_in_name_order(tmp_path):
    (tmp_path / "main.tf").write_text(MAIN)
    (tmp_path / "terraform.tfvars").write_text('public = true\ncidrs = ["0.0.0.0/0"]\n')
    (tmp_path / "a.auto.tfvars").write_text('cidrs = ["10.0.0.0/8"]\n')
    assert _eks101(tmp_path) == []
    (tmp_path / "b.auto.tfvars.json").write_text(json.dumps({"cidrs": ["0.0.0.0/0"]}))
    assert _eks101(tmp_path) == [("main.tf", 15)]


def test_terraform_tfvars_json(tmp_path):
    (tmp_path / "main.tf").write_text(MAIN)
    (tmp_path / "terraform.tfvars.json").write_text(
        json.dumps({"public": True, "cidrs": ["0.0.0.0/0"]})
    )
    assert _eks101(tmp_path) == [("main.tf", 15)]


def test_a_broken_tfvars_file_is_an_error_naming_it(tmp_path):
    (tmp_path / "main.tf").write_text(MAIN)
    (tmp_path / "terraform.tfvars").write_text("public = [true\n")
    code, out, _err = cli("scan", str(tmp_path), "--format", "json")
    problems = json.loads(out)["problems"]
    assert code == 2
    assert [(p["file"].rsplit("/", 1)[-1], p["level"]) for p in problems] == [
        ("terraform.tfvars", "error")
    ]
    assert problems[0]["message"].startswith("invalid HCL: ")


def test_an_unreadable_file_beside_tfvars_costs_that_file_only(tmp_path):
    (tmp_path / "main.tf").write_text(MAIN)
    (tmp_path / "terraform.tfvars").write_text('public = true\ncidrs = ["0.0.0.0/0"]\n')
    (tmp_path / "binary.tf").write_bytes(b"\x00\x01\x02")
    result = run([tmp_path], select={"EKS101"})
    assert [(p.file.rsplit("/", 1)[-1], p.level) for p in result.problems] == [
        ("binary.tf", "error")
    ]
    assert [
        (f.location.file.rsplit("/", 1)[-1], f.location.start_line) for f in result.findings
    ] == [("main.tf", 15)]


def test_an_internal_error_in_process_costs_that_module_only(tmp_path, monkeypatch):
    from checks import prefilter

    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "main.tf").write_text(MAIN)
    (tmp_path / "b.yaml").write_text(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: t\n"
        "type: kubernetes.io/service-account-token\n"
    )

    def broken(*_args):
        raise KeyError("a bug")

    monkeypatch.setattr(prefilter, "filter_module", broken)
    result = run([tmp_path], jobs=1)
    assert [(p.file.rsplit("/", 1)[-1], p.message) for p in result.problems] == [
        ("main.tf", "internal error while reading it (KeyError: 'a bug'); please report it")
    ]
    assert {f.rule_id for f in result.findings} == {"EKS303"}


def test_a_changed_tfvars_file_reports_its_modules_findings_in_the_hook(tmp_path, monkeypatch):
    """pre-commit passes only the changed files: a commit that only flips a variable in
    terraform.tfvars must still show what it does to the module."""
    (tmp_path / "infra").mkdir()
    (tmp_path / "infra" / "main.tf").write_text(MAIN)
    (tmp_path / "infra" / "terraform.tfvars").write_text('public = true\ncidrs = ["0.0.0.0/0"]\n')
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "main.tf").write_text(MAIN.replace("var.cidrs", '["0.0.0.0/0"]'))
    monkeypatch.chdir(tmp_path)
    code, out, _err = cli(
        "scan", "infra/terraform.tfvars", "--context-root", ".", "--select", "EKS101",
        "--format", "json",
    )  # fmt: skip
    found = [
        (f["location"]["file"], f["location"]["start_line"]) for f in json.loads(out)["findings"]
    ]
    assert (code, found) == (1, [("infra/main.tf", 15)])


def _scan_ids(*args):
    code, out, _err = cli("scan", *args, "--select", "EKS101", "--format", "json")
    doc = json.loads(out)
    findings = [(f["location"]["file"], f["location"]["start_line"]) for f in doc["findings"]]
    return code, findings, [(p["file"], p["level"]) for p in doc["problems"]]


def test_var_file_applies_to_the_directories_scanned_after_the_auto_loaded_ones(
    tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "infra").mkdir()
    (tmp_path / "infra" / "main.tf").write_text(MAIN)
    (tmp_path / "infra" / "terraform.tfvars").write_text('public = true\ncidrs = ["10.0.0.0/8"]\n')
    (tmp_path / "envs").mkdir()
    (tmp_path / "envs" / "prod.tfvars").write_text('cidrs = ["0.0.0.0/0"]\n')
    (tmp_path / "envs" / "dev.tfvars.json").write_text('{"cidrs": ["192.168.0.0/16"]}')
    assert _scan_ids("infra") == (0, [], [])
    assert _scan_ids("infra", "--var-file", "envs/prod.tfvars") == (1, [("infra/main.tf", 15)], [])
    # in the order given: the last one wins
    assert _scan_ids(
        "infra", "--var-file", "envs/prod.tfvars", "--var-file", "envs/dev.tfvars.json"
    ) == (0, [], [])
    # only the directories passed are root modules: a module below them is not given the file
    assert _scan_ids(".", "--var-file", "envs/prod.tfvars") == (0, [], [])


def test_a_var_file_that_cannot_be_read_or_parsed_stops_the_scan(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "main.tf").write_text(MAIN)
    code, out, err = cli("scan", ".", "--var-file", "missing.tfvars")
    assert (code, out, err) == (
        2,
        "",
        "eks-checks: error: --var-file missing.tfvars: no such file\n",
    )
    (tmp_path / "envs").mkdir()
    (tmp_path / "envs" / "bad.tfvars").write_text("cidrs = [\n")
    assert _scan_ids(".", "--var-file", "envs/bad.tfvars") == (
        2,
        [],
        [("envs/bad.tfvars", "error")],
    )


def test_configured_var_files_apply_to_their_module_in_the_hook_too(tmp_path, monkeypatch):
    """.eks-checks.yaml names the -var-file files per module directory, so the pre-commit
    hook (which passes files, not directories) reads them too; --var-file comes after."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "infra").mkdir()
    (tmp_path / "infra" / "main.tf").write_text(MAIN)
    (tmp_path / "envs").mkdir()
    (tmp_path / "envs" / "prod.tfvars").write_text('public = true\ncidrs = ["0.0.0.0/0"]\n')
    (tmp_path / "envs" / "dev.tfvars").write_text('cidrs = ["10.0.0.0/8"]\n')
    (tmp_path / ".eks-checks.yaml").write_text("var_files:\n  infra: [envs/prod.tfvars]\n")
    hook = ("infra/main.tf", "--context-root", ".")
    assert _scan_ids(*hook) == (1, [("infra/main.tf", 15)], [])
    # a commit that changes only the variable file reports what it does to its module
    assert _scan_ids("envs/prod.tfvars", "--context-root", ".") == (1, [("infra/main.tf", 15)], [])
    assert _scan_ids("infra", "--var-file", "envs/dev.tfvars") == (0, [], [])
    (tmp_path / ".eks-checks.yaml").write_text("var_files:\n  infra: [envs/missing.tfvars]\n")
    code, out, err = cli("scan", *hook)
    assert (code, out) == (2, "")
    assert err == "eks-checks: error: var_files of infra: envs/missing.tfvars: no such file\n"


def test_a_blank_variable_file_sets_nothing(tmp_path, monkeypatch):
    # an empty terraform.tfvars beside the module (soufyaneyassin/cicd-python-eks has one)
    # cost the whole module an internal error: a blank file gave a list, not assignments
    (tmp_path / "main.tf").write_text(MAIN)
    (tmp_path / "terraform.tfvars").write_text("")
    (tmp_path / "a.auto.tfvars").write_text('public = true\ncidrs = ["0.0.0.0/0"]\n')
    (tmp_path / "b.auto.tfvars.json").write_text("\n  \n")
    (tmp_path / "blank.tfvars").write_text(" \n")
    assert _eks101(tmp_path) == [("main.tf", 15)]
    monkeypatch.chdir(tmp_path)
    code, out, _err = cli("scan", ".", "--var-file", "blank.tfvars", "--format", "json")
    assert (code, json.loads(out)["problems"]) == (1, [])
