"""A .tf file given alone is read with the rest of its module (its other .tf files and the
variable files Terraform loads by itself), and only its own findings are reported, as with
--context-root; --var-file applies to its module; a directory given is searched below."""

from __future__ import annotations

import json

from conftest import cli

VARIABLES = """variable "cluster_name" {
  type    = string
  default = "prod"
}

variable "admin_cidrs" {
  type    = list(string)
  default = ["0.0.0.0/0"]
}
"""
EKS = """resource "aws_eks_cluster" "main" {
  name     = var.cluster_name
  role_arn = "arn:aws:iam::111122223333:role/eks"
  vpc_config {
    endpoint_public_access = true
    public_access_cidrs    = var.admin_cidrs
  }
}
"""
# another cluster of the module, open to the world by AWS's defaults: a finding of its own file
OTHER = """resource "aws_eks_cluster" "other" {
  name     = "other"
  role_arn = "arn:aws:iam::111122223333:role/eks"
  vpc_config {
    subnet_ids = []
  }
}
"""


def _scan(*args: str) -> tuple[int, list, list, dict]:
    code, out, _err = cli("scan", *args, "--select", "EKS101", "--format", "json")
    doc = json.loads(out)
    findings = [
        (f["location"]["file"], f["location"]["start_line"], f["message"]) for f in doc["findings"]
    ]
    problems = [(p["file"], p["level"], p["message"]) for p in doc["problems"]]
    return code, findings, problems, doc["summary"]


def _module(root) -> None:
    (root / "infra").mkdir()
    (root / "infra" / "variables.tf").write_text(VARIABLES)
    (root / "infra" / "eks.tf").write_text(EKS)
    (root / "infra" / "other.tf").write_text(OTHER)


def test_a_tf_file_given_alone_reads_its_module_and_reports_its_own_findings(in_tmp):
    _module(in_tmp)
    code, findings, problems, summary = _scan("infra/eks.tf")
    assert (code, problems) == (1, [])
    assert findings == [
        ("infra/eks.tf", 6, "cluster prod has a public API endpoint open to [0.0.0.0/0]")
    ]
    assert summary["files"] == 1
    # the module's other finding is its own file's
    code, findings, _, _ = _scan("infra/other.tf")
    assert (code, [f[:2] for f in findings]) == (1, [("infra/other.tf", 1)])
    # a file whose values a finding uses (a variable's default, its related place) reports it
    code, findings, _, _ = _scan("infra/variables.tf")
    assert (code, [f[:2] for f in findings]) == (1, [("infra/eks.tf", 6)])
    # a file of the module that makes no finding and gives none a value: nothing to report
    (in_tmp / "infra" / "outputs.tf").write_text('output "name" {\n  value = "x"\n}\n')
    assert _scan("infra/outputs.tf")[:3] == (0, [], [])


def test_a_variable_file_given_alone_reports_its_modules_findings(in_tmp):
    _module(in_tmp)
    (in_tmp / "infra" / "terraform.tfvars").write_text('admin_cidrs = ["10.0.0.0/8"]\n')
    code, findings, problems, _ = _scan("infra/terraform.tfvars")
    # what the variable file does to its module: eks.tf is no longer open, other.tf still is
    assert (code, problems, [f[:2] for f in findings]) == (1, [], [("infra/other.tf", 1)])
    assert _scan("infra/eks.tf")[:3] == (0, [], [])


def test_var_file_applies_to_the_module_of_a_tf_file_given(in_tmp):
    _module(in_tmp)
    (in_tmp / "envs").mkdir()
    (in_tmp / "envs" / "prod.tfvars").write_text('admin_cidrs = ["10.0.0.0/8"]\n')
    assert _scan("infra/eks.tf", "--var-file", "envs/prod.tfvars")[:3] == (0, [], [])
    (in_tmp / "envs" / "open.tfvars").write_text('cluster_name = "open"\n')
    code, findings, _, _ = _scan("infra/eks.tf", "--var-file", "envs/open.tfvars")
    assert (code, [f[2] for f in findings]) == (
        1,
        ["cluster open has a public API endpoint open to [0.0.0.0/0]"],
    )


def test_an_error_in_the_module_of_a_tf_file_given_concerns_it(in_tmp):
    """A broken sibling means the file given was not fully judged: exit 2, as in the hook."""
    _module(in_tmp)
    (in_tmp / "infra" / "broken.tf").write_text('resource "a" "b" {\n')
    code, findings, problems, _ = _scan("infra/eks.tf")
    assert code == 2
    assert [f[:2] for f in findings] == [("infra/eks.tf", 6)]
    assert [(file, level) for file, level, _ in problems] == [("infra/broken.tf", "error")]


def test_a_directory_without_tf_files_of_its_own_is_searched_below(in_tmp):
    (in_tmp / "repo").mkdir()
    _module(in_tmp / "repo")
    code, findings, problems, summary = _scan("repo")
    assert (code, problems, summary["files"]) == (1, [], 3)
    assert [f[:2] for f in findings] == [("repo/infra/eks.tf", 6), ("repo/infra/other.tf", 1)]
