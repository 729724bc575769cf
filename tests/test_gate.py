"""The gate holds on a hostile pull request: a broken or disguised input never passes, nothing
from outside the scanned tree reaches the output, and what is walked, read and suppressed is
exactly what the README says. Links, FIFOs and non-UTF-8 names are made at test time."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import PEER, ROOT, cli

INSECURE = (
    'resource "aws_launch_template" "n" {\n  metadata_options {\n'
    '    http_tokens = "required"\n    http_put_response_hop_limit = 2\n  }\n}\n'
)
SA = "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: default\n  namespace: {ns}\n"
SECRET = "SECRET-b1f0c2d3e4"


def _json(*args: str) -> tuple[int, dict]:
    code, out, err = cli("scan", *args, "--format", "json", "--no-cache")
    assert "Traceback" not in err
    return code, json.loads(out)


def _problems(doc: dict) -> list[tuple]:
    return [(p["file"], p.get("line", 0), p["level"], p["message"]) for p in doc["problems"]]


def _findings(doc: dict) -> list[tuple]:
    return [
        (f["location"]["file"], f["location"]["start_line"], f["rule_id"])
        for f in doc["findings"]
        if not f.get("suppressed")
    ]


def _scan_in_child(cwd, *args: str, timeout: int = 60) -> subprocess.CompletedProcess:
    """A scan in its own process, so that a hang fails the test instead of blocking it."""
    return subprocess.run(
        [sys.executable, "-m", "checks", "scan", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


# -- 8: what is never walked ------------------------------------------------------------------
def test_only_git_terraform_node_modules_and_excludes_are_never_walked(in_tmp):
    for folder in ("__pycache__", ".eks-checks-cache", ".git", ".terraform", "node_modules"):
        (in_tmp / folder).mkdir()
        (in_tmp / folder / "lt.tf").write_text(INSECURE)
    (in_tmp / "legacy").mkdir()
    (in_tmp / "legacy" / "lt.tf").write_text(INSECURE)
    code, doc = _json(".", "--exclude", "legacy")
    assert code == 1
    assert _findings(doc) == [
        (".eks-checks-cache/lt.tf", 4, "EKS202"),
        ("__pycache__/lt.tf", 4, "EKS202"),
    ]


# -- 6: a path given on the command line that cannot be read ---------------------------------
@pytest.mark.parametrize("context", [[], ["--context-root", "."]], ids=["scan", "context-root"])
def test_a_path_given_that_cannot_be_read_is_an_error(in_tmp, context):
    (in_tmp / "main.tf").write_text(INSECURE)
    os.symlink("missing.tf", in_tmp / "dangling.tf")
    os.symlink("loop-b.yaml", in_tmp / "loop-a.yaml")
    os.symlink("loop-a.yaml", in_tmp / "loop-b.yaml")
    os.symlink("missing.txt", in_tmp / "notes.txt")  # whatever its name, it was asked for
    code, doc = _json("dangling.tf", "loop-a.yaml", "notes.txt", *context)
    assert code == 2
    assert _problems(doc) == [
        ("dangling.tf", 0, "error", "dangling symbolic link"),
        ("loop-a.yaml", 0, "error", "symbolic link loop"),
        ("notes.txt", 0, "error", "dangling symbolic link"),
    ]
    code, _, err = cli("scan", "gone.tf", *context)
    assert (code, err) == (2, "eks-checks: error: gone.tf: no such file or directory\n")


# -- 4: files are who they are, not what their names look like -------------------------------
def test_names_that_differ_only_in_non_utf8_bytes_are_two_files(in_tmp):
    (in_tmp / os.fsdecode(b"sa\xff.yaml")).write_text(SA.format(ns="one"))
    (in_tmp / os.fsdecode(b"sa\xfe.yaml")).write_text(
        "# eks-checks: ignore[EKS302] reviewed: this one only\n" + SA.format(ns="two")
    )
    code, doc = _json(".", "--select", "EKS302")
    assert code == 1
    messages = sorted((f["location"]["file"], f["message"][:20]) for f in doc["findings"])
    assert messages == [
        ("sa\\xfe.yaml", "ServiceAccount two/d"),
        ("sa\\xff.yaml", "ServiceAccount one/d"),
    ]
    # the suppression is the file's own: the other file's finding still fails
    assert _findings(doc) == [("sa\\xff.yaml", 1, "EKS302")]
    _, out, _ = cli("scan", ".", "--select", "EKS302", "--no-color")
    assert "sa\\xff.yaml:1  EKS302" in out and "2 files scanned" in out


def test_modules_in_directories_named_alike_are_two_modules(in_tmp):
    trust = '{"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": "*"}]}'
    role = (
        'resource "aws_iam_role" "r" {\n  name = "r"\n'
        '  assume_role_policy = file("${path.module}/trust.json")\n}\n'
    )
    for raw in (b"m\xff", b"m\xfe"):
        folder = in_tmp / os.fsdecode(raw)
        folder.mkdir()
        (folder / "main.tf").write_text(role)
        (folder / "trust.json").write_text(trust)
    code, doc = _json(".", "--select", "EKS401")
    assert code == 1
    assert _findings(doc) == [
        ("m\\xfe/trust.json", 1, "EKS401"),
        ("m\\xff/trust.json", 1, "EKS401"),
    ]


def test_a_literal_backslash_name_is_not_mistaken_for_an_escaped_one(in_tmp):
    (in_tmp / os.fsdecode(b"sa\xff.yaml")).write_text(SA.format(ns="one"))
    (in_tmp / "sa\\xff.yaml").write_text(SA.format(ns="two"))
    code, doc = _json(".", "--select", "EKS302")
    assert sorted(f["location"]["file"] for f in doc["findings"]) == [
        "sa\\\\xff.yaml",
        "sa\\xff.yaml",
    ]


# -- 9: nothing from outside the scanned tree -------------------------------------------------
@pytest.fixture
def repo_beside_secrets(tmp_path, monkeypatch):
    """A repository, and beside it (outside the scanned tree) files it must never read."""
    outside = tmp_path / "outside"
    (outside / "infra").mkdir(parents=True)
    (outside / "credentials").write_text(
        f"[default]\naws_access_key_id = AKIA{SECRET}\naws_secret_access_key = {SECRET}\n"
    )
    (outside / "secret.tfvars").write_text(f'cluster = "{SECRET}"\n')
    (outside / "infra" / "lt.tf").write_text(INSECURE)
    repo = tmp_path / "repo"
    repo.mkdir()
    monkeypatch.chdir(repo)
    return repo, outside


def test_symlinks_out_of_the_tree_are_never_read(repo_beside_secrets):
    repo, outside = repo_beside_secrets
    (repo / "main.tf").write_text(
        'variable "cluster" {\n  default = "c"\n}\n\n'
        'resource "aws_eks_cluster" "c" {\n  name = var.cluster\n}\n'
    )
    os.symlink(outside / "secret.tfvars", repo / "terraform.tfvars")
    os.symlink(outside / "credentials", repo / "leak.tf")
    os.symlink(outside / "infra", repo / "linked")
    (repo / "inner").mkdir()
    (repo / "inner" / "sa.yaml").write_text(SA.format(ns="x"))
    os.symlink("inner/sa.yaml", repo / "alias.yaml")  # inside the tree: read
    os.symlink(repo / "inner", repo / "again")  # inside the tree: walked where it is
    (repo / ".git").mkdir()
    (repo / ".git" / "config").write_text(f"extraheader = {SECRET}\n")
    os.symlink(".git/config", repo / "config.yaml")  # inside, but where the walk never goes
    code, out, err = cli("scan", ".", "--format", "json", "--no-cache")
    assert SECRET not in out + err
    doc = json.loads(out)
    outside_file = "symbolic link to a file outside the scanned tree: not read"
    assert _problems(doc) == [
        ("config.yaml", 0, "note", "symbolic link into .git: not read"),
        ("leak.tf", 0, "note", outside_file),
        ("linked", 0, "note", "symbolic link to a directory outside the scanned tree: not walked"),
        ("terraform.tfvars", 0, "note", outside_file),
    ]
    assert {f["location"]["file"] for f in doc["findings"]} == {
        "alias.yaml",
        "inner/sa.yaml",
        "main.tf",
    }
    assert code == 1
    # passed by name to the pre-commit hook: still not read
    code, out, err = cli("scan", "leak.tf", "--context-root", ".", "--format", "json")
    assert SECRET not in out + err
    assert (code, _problems(json.loads(out))) == (0, [("leak.tf", 0, "note", outside_file)])


LONG = "S" * 5000
QUOTED_LONG = [
    ("dup.yaml", f"apiVersion: v1\nkind: Pod\n{LONG}: 1\n{LONG}: 2\n"),
    ("tag.yaml", f"apiVersion: v1\nkind: Pod\nmetadata: !<tag:{LONG}> x\n"),
    ("value.yaml", f"apiVersion: v1\nkind: Pod\nmetadata: !!int {LONG}\n"),
    ("anchor.yaml", f"apiVersion: v1\nkind: Pod\nmetadata: *{LONG}\n"),
    ("heredoc.tf", f'resource "a" "b" {{\n  x = <<{LONG}\n  y\n}}\n'),
    ("token.tf", f'resource "aws_iam_role" "b" {{\n  x = 1 {LONG}\n}}\n'),
    ("garbage.tf", f"{LONG} {LONG}\n"),
    ("call.tf", f'resource "aws_iam_role" "b" {{\n  x = f({LONG} {LONG})\n}}\n'),
    ("key.json", f'{{"Statement": [], "{LONG}" 1}}'),
]


@pytest.mark.parametrize("name,text", QUOTED_LONG, ids=[n for n, _ in QUOTED_LONG])
def test_a_parse_error_quotes_at_most_a_short_excerpt(in_tmp, name, text):
    (in_tmp / name).write_text(text)
    code, doc = _json(name)
    ((file, _line, level, message),) = _problems(doc)
    assert (code, file, level) == (2, name, "error")
    assert "S" * 81 not in message and len(message) < 200, message[:300]


# -- 10: what Terraform's file() may read ----------------------------------------------------
def _role(name: str, path: str) -> str:
    return (
        f'resource "aws_iam_role" "{name}" {{\n  name = "{name}"\n'
        f'  assume_role_policy = file("{path}")\n}}\n\n'
    )


def test_file_never_reads_git_skipped_folders_fifos_or_links_out(repo_beside_secrets):
    repo, outside = repo_beside_secrets
    (repo / ".git").mkdir()
    (repo / ".git" / "config").write_text(
        f'[http "https://github.com/"]\n\textraheader = AUTHORIZATION: basic {SECRET}\n'
    )
    (repo / "node_modules").mkdir()
    (repo / "node_modules" / "trust.json").write_text(f'{{"Sid": "{SECRET}"}}')
    (repo / "vendor").mkdir()
    (repo / "vendor" / "trust.json").write_text(f'{{"Sid": "{SECRET}"}}')
    os.mkfifo(repo / "trust.fifo")
    os.symlink(outside / "credentials", repo / "creds.json.txt")
    (repo / "main.tf").write_text(
        _role("git", "${path.module}/.git/config")
        + _role("up", "../repo/.git/config")
        + _role("modules", "node_modules/trust.json")
        + _role("vendor", "vendor/trust.json")
        + _role("fifo", "trust.fifo")
        + _role("link", "creds.json.txt")
        + _role("outside", "../outside/credentials")
    )
    run = _scan_in_child(repo, ".", "--format", "json", "--no-cache", "--exclude", "vendor")
    assert SECRET not in run.stdout + run.stderr
    doc = json.loads(run.stdout)
    assert _problems(doc) == [
        ("main.tf", 3, "note", 'file("${path.module}/.git/config") not read: inside .git, which is never read'),
        ("main.tf", 8, "note", 'file("../repo/.git/config") not read: inside .git, which is never read'),
        ("main.tf", 13, "note", 'file("node_modules/trust.json") not read: inside node_modules, which is never read'),
        ("main.tf", 18, "note", 'file("vendor/trust.json") not read: excluded from the scan'),
        ("main.tf", 23, "note", 'file("trust.fifo") not read: not a regular file (FIFO, socket or device)'),
        ("main.tf", 28, "note", 'file("creds.json.txt") not read: outside the scanned tree'),
        ("main.tf", 33, "note", 'file("../outside/credentials") not read: outside the scanned tree'),
    ]  # fmt: skip
    assert run.returncode == 0


def test_a_fifo_among_the_inputs_never_hangs_the_scan(in_tmp):
    os.mkfifo(in_tmp / "pipe.yaml")
    (in_tmp / "lt.tf").write_text(INSECURE)
    run = _scan_in_child(in_tmp, "pipe.yaml", "lt.tf", "--context-root", ".", "--no-color")
    assert run.returncode == 2
    assert "  pipe.yaml  error  not a regular file (FIFO, socket or device)" in run.stdout
    assert "  lt.tf:4  EKS202  high" in run.stdout


# -- 11: a configuration found in the tree names only paths inside it --------------------------
@pytest.mark.parametrize(
    "config,where",
    [
        ("policy_dirs: [/etc]\n", "$.policy_dirs[0]"),
        ("policy_dirs: [../outside]\n", "$.policy_dirs[0]"),
        ("policy_dirs: [local, linked-rules]\n", "$.policy_dirs[1]"),
        ("policy_dirs: [local]\n", "$.policy_dirs[0]"),  # a rule file in it links out
        ("var_files:\n  infra: [../outside/secret.tfvars]\n", "$.var_files.infra[0]"),
        ("var_files:\n  infra: [/etc/hostname]\n", "$.var_files.infra[0]"),
        ("var_files:\n  /etc: [prod.tfvars]\n", "$.var_files./etc"),
        ("var_files:\n  infra: [infra/leak.tfvars]\n", "$.var_files.infra[0]"),
        ("var_files:\n  infra: [.git/config]\n", "$.var_files.infra[0]"),
        ("policy_dirs: [.git]\n", "$.policy_dirs[0]"),
    ],
)
def test_a_configuration_in_the_tree_names_only_paths_in_the_tree(
    repo_beside_secrets, config, where
):
    repo, outside = repo_beside_secrets
    (repo / "local").mkdir()
    if "[local]" in config:
        os.symlink(outside / "credentials", repo / "local" / "rule.yaml")
    (outside / "rules").mkdir()
    os.symlink(outside / "rules", repo / "linked-rules")
    (repo / "infra").mkdir()
    (repo / "infra" / "main.tf").write_text(INSECURE)
    (repo / "prod.tfvars").write_text("x = 1\n")
    (repo / ".git").mkdir()
    (repo / ".git" / "config").write_text(f"token = {SECRET}\n")
    os.symlink(outside / "secret.tfvars", repo / "infra" / "leak.tfvars")
    (repo / ".eks-checks.yaml").write_text(config)
    code, out, err = cli("scan", ".", "--no-cache")
    assert SECRET not in out + err
    assert code == 2
    assert err.startswith(f"eks-checks: error: invalid configuration: .eks-checks.yaml: {where}: ")
    assert err.rstrip().endswith(
        ("is outside the folder of the configuration", "is in .git, which is never read")
    )
    # pyproject.toml is held to the same
    (repo / ".eks-checks.yaml").unlink()
    (repo / "pyproject.toml").write_text('[tool.eks-checks]\npolicy_dirs = ["/etc"]\n')
    code, _, err = cli("scan", ".")
    assert (code, err) == (
        2,
        "eks-checks: error: invalid configuration: pyproject.toml [tool.eks-checks]: "
        "$.policy_dirs[0]: /etc is outside the folder of the configuration\n",
    )


def test_a_configuration_given_with_config_is_trusted(repo_beside_secrets, tmp_path):
    repo, outside = repo_beside_secrets
    (repo / "infra").mkdir()
    (repo / "infra" / "main.tf").write_text(
        'variable "cluster" {\n  default = "c"\n}\n\n'
        'resource "aws_eks_cluster" "c" {\n  name = var.cluster\n}\n'
    )
    config = tmp_path / "ci.yaml"
    config.write_text(f"var_files:\n  {repo / 'infra'}: [{outside / 'secret.tfvars'}]\n")
    code, out, _ = cli("scan", "infra", "--config", str(config), "--select", "EKS101")
    assert code == 1
    assert f"EKS101  high  cluster {SECRET} " in out


# -- 3: the pre-commit hook fails on an error that concerns what it was given ----------------
def test_context_root_reports_an_error_in_a_passed_files_module(in_tmp, monkeypatch):
    (in_tmp / "infra").mkdir()
    (in_tmp / "infra" / "eks.tf").write_text(
        'module "eks" {\n  source  = "terraform-aws-modules/eks/aws"\n  version = "20.0.0"\n}\n'
    )
    (in_tmp / "infra" / "terraform.tfvars").write_text('region = "eu-west-1"\n')
    (in_tmp / "k8s").mkdir()
    (in_tmp / "k8s" / "sa.yaml").write_text(SA.format(ns="x").replace("default", "app"))
    from checks.normalize import tf_modules

    def broken(*_args):
        raise KeyError("a bug in a module reader")

    monkeypatch.setattr(tf_modules, "eks_module", broken)
    internal = (
        "internal error while reading it (KeyError: 'a bug in a module reader'); please report it"
    )
    for passed in ("infra/eks.tf", "infra/terraform.tfvars"):
        code, doc = _json(passed, "--context-root", ".")
        assert (code, _problems(doc)) == (2, [("infra", 0, "error", internal)]), passed
    # a file elsewhere is not concerned by it
    code, doc = _json("k8s/sa.yaml", "--context-root", ".", "--select", "EKS602")
    assert (code, _problems(doc)) == (0, [])


def test_context_root_reports_a_broken_sibling_of_a_passed_file(in_tmp):
    (in_tmp / "infra").mkdir()
    (in_tmp / "infra" / "lt.tf").write_text(INSECURE)
    (in_tmp / "infra" / "iam.tf").write_text('resource "aws_iam_role" "r" {\n  name = [\n}\n')
    (in_tmp / "infra" / "notes.yaml").write_text("a: [\n")  # not part of the module
    code, doc = _json("infra/lt.tf", "--context-root", ".")
    assert code == 2
    assert [(f, level) for f, _line, level, _m in _problems(doc)] == [("infra/iam.tf", "error")]
    assert _findings(doc) == [("infra/lt.tf", 4, "EKS202")]


def test_a_wrong_typed_node_group_input_is_unknown_not_a_crash(in_tmp):
    (in_tmp / "eks.tf").write_text(
        'module "eks" {\n  source  = "terraform-aws-modules/eks/aws"\n  version = "20.0.0"\n'
        "  eks_managed_node_groups = {\n    a = {\n      metadata_options = 5\n    }\n  }\n}\n"
    )
    code, doc = _json(".", "--select", "EKS201,EKS202", "--show-unknown")
    assert (code, _problems(doc), _findings(doc)) == (0, [], [])
    reasons = {u["rule_id"]: u["reasons"] for u in doc["unknown"]}
    assert reasons == {
        "EKS201": ["metadata_options of the node group is not a map"],
        "EKS202": ["metadata_options of the node group is not a map"],
    }


@pytest.mark.parametrize("role", ['[{ a = [] }, "b"]', "[]", "[aws_iam_role.r.name]"])
def test_a_role_attribute_written_as_a_list_is_a_value_not_a_crash(in_tmp, role):
    """`role` names one role: a list there (of several items, none, or a reference) is a
    wrong-typed value, as any other, never an internal error."""
    (in_tmp / "iam.tf").write_text(
        'resource "aws_iam_role" "r" {\n  name = "r"\n  assume_role_policy = "{}"\n}\n'
        'resource "aws_iam_role_policy_attachment" "a" {\n'
        f"  role       = {role}\n"
        '  policy_arn = "arn:aws:iam::aws:policy/AdministratorAccess"\n}\n'
    )
    code, doc = _json(".", "--select", "EKS802")
    assert (code, _problems(doc), _findings(doc)) == (0, [], [])


MODULE_CALLS = {
    "eks.tf": """module "eks" {
  source  = "terraform-aws-modules/eks/aws"
  version = "VERSION"
  name = "shop"
  cluster_name = "shop"
  endpoint_public_access = true
  cluster_endpoint_public_access = true
  cluster_endpoint_private_access = false
  cluster_endpoint_public_access_cidrs = ["0.0.0.0/0"]
  cluster_enabled_log_types = ["api"]
  enabled_log_types = ["api"]
  authentication_mode = "API_AND_CONFIG_MAP"
  enable_cluster_creator_admin_permissions = true
  compute_config = {
    enabled = true
  }
  cluster_compute_config = {
    enabled = true
  }
  manage_aws_auth_configmap = true
  aws_auth_roles = [
    {
      rolearn = "arn:aws:iam::111122223333:role/a"
      groups = ["system:masters"]
    },
  ]
  aws_auth_users = [
    {
      userarn = "arn:aws:iam::111122223333:user/u"
      groups = ["g"]
    },
  ]
  aws_auth_accounts = ["111122223333"]
  eks_managed_node_group_defaults = {
    metadata_options = {
      http_tokens = "optional"
    }
  }
  eks_managed_node_groups = {
    a = {
      metadata_options = {
        http_put_response_hop_limit = 2
        http_tokens = "required"
        http_endpoint = "enabled"
      }
    }
  }
  self_managed_node_groups = {
    b = {
      metadata_options = {
        http_tokens = "required"
      }
    }
  }
  access_entries = {
    ci = {
      principal_arn = "arn:aws:iam::111122223333:user/ci"
      type = "STANDARD"
      user_name = "ci"
      kubernetes_groups = ["g"]
      policy_associations = {
        admin = {
          policy_arn = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
          access_scope = {
            type = "namespace"
            namespaces = ["a"]
          }
        }
      }
    }
  }
}
""",
    "auth.tf": """module "aws_auth" {
  source  = "terraform-aws-modules/eks/aws//modules/aws-auth"
  version = "VERSION"
  aws_auth_roles = [
    {
      rolearn = "arn:aws:iam::111122223333:role/a"
      username = "a"
      groups = ["g"]
    },
  ]
  aws_auth_users = [
    {
      userarn = "arn:aws:iam::111122223333:user/u"
      groups = ["g"]
    },
  ]
  aws_auth_accounts = ["111122223333"]
}
""",
    "irsa.tf": """module "irsa" {
  source = "terraform-aws-modules/iam/aws//modules/iam-role-for-service-accounts-eks"
  role_name = "r"
  assume_role_condition_test = "StringLike"
  oidc_providers = {
    main = {
      provider_arn = "arn:aws:iam::1:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/A"
      namespace_service_accounts = ["kube-system:*"]
    }
  }
}
""",
}
EKSCTL_FULL = """apiVersion: eksctl.io/v1alpha5
kind: ClusterConfig
metadata:
  name: shop
  region: eu-west-1
vpc:
  publicAccessCIDRs: ["0.0.0.0/0"]
  clusterEndpoints:
    publicAccess: true
    privateAccess: false
cloudWatch:
  clusterLogging:
    enableTypes: ["*"]
autoModeConfig:
  enabled: false
accessConfig:
  authenticationMode: API_AND_CONFIG_MAP
  bootstrapClusterCreatorAdminPermissions: true
  accessEntries:
    - principalARN: arn:aws:iam::111122223333:role/ops
      type: STANDARD
      username: ops
      kubernetesGroups: [g]
      accessPolicies:
        - policyARN: arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy
          accessScope:
            type: namespace
            namespaces: [a]
iam:
  serviceAccounts:
    - metadata:
        name: sa
        namespace: ns
      roleARN: arn:aws:iam::111122223333:role/sa
      roleName: sa
  podIdentityAssociations:
    - namespace: ns
      serviceAccountName: sa
      roleARN: arn:aws:iam::111122223333:role/pi
iamIdentityMappings:
  - arn: arn:aws:iam::111122223333:role/team/dev
    username: dev
    groups: [dev]
  - account: "111122223333"
  - serviceName: emr-containers
    namespace: emr
identityProviders:
  - name: okta
    type: oidc
    issuerURL: https://o
    groupsClaim: g
    groupsPrefix: "okta:"
    usernameClaim: u
    usernamePrefix: "okta:"
managedNodeGroups:
  - name: a
    disableIMDSv1: false
    disablePodIMDS: false
nodeGroups:
  - name: b
    disableIMDSv1: true
"""
WRONG_YAML = ["5", '"x"', "true", "null", "[1]", "{a: 1}", "[{a: []}, b]", "{}", "[]", "-1"]
_YAML_ASSIGNED = re.compile(r"^(\s*(?:- )?[\w./-]+:\s*|\s*-\s+)(.*)$")
WRONG_HCL = ["5", '"x"', "true", "null", "[1]", "{ a = 1 }", '[{ a = [] }, "b"]', "{}", "[]"]
_ASSIGNED = re.compile(r"^(\s*(?:[\w-]+\s*=|[\w-]+:|-)\s*)(.*)$")


def _wrong_typed(text: str, wrong: list[str], pattern) -> list[str]:
    """`text` with one value replaced by a value of another type, every way there is: each
    value on a line, and each object or list spread over several lines, as a whole."""
    out = []
    lines = text.split("\n")
    for index, line in enumerate(lines):
        m = pattern.match(line)
        if not m or m.group(1).lstrip().startswith(("source", "version", "apiVersion", "kind")):
            continue
        end = index
        if m.group(2).rstrip().endswith(("{", "[")) or not m.group(2).strip():
            # the value goes on below: up to where its brackets close (or its indent ends)
            depth = m.group(2).count("{") + m.group(2).count("[")
            indent = len(line) - len(line.lstrip())
            while end + 1 < len(lines):
                nxt = lines[end + 1]
                if depth == 0 and (len(nxt) - len(nxt.lstrip()) <= indent or not nxt.strip()):
                    break
                end += 1
                depth += nxt.count("{") + nxt.count("[") - nxt.count("}") - nxt.count("]")
                if depth <= 0 and m.group(2).strip():
                    break
        for value in wrong:
            out.append("\n".join(lines[:index] + [m.group(1) + value] + lines[end + 1 :]))
    return out


@pytest.mark.parametrize("version", ["19.21.0", "20.37.0", "21.3.0"])
@pytest.mark.parametrize("name", sorted(MODULE_CALLS))
def test_wrong_typed_module_inputs_are_values_never_a_crash(tmp_path, name, version):
    """Whatever type each input (and each key of an inline object) has, the module reads it as
    a value it cannot use, never as an internal error."""
    from conftest import run

    variants = _wrong_typed(MODULE_CALLS[name].replace("VERSION", version), WRONG_HCL, _ASSIGNED)
    assert len(variants) > 40
    for index, text in enumerate(variants):
        folder = tmp_path / str(index)
        folder.mkdir()
        (folder / name).write_text(text)
        result = run([folder])
        crashes = [p.message for p in result.problems if "internal error" in p.message]
        assert crashes == [], text


def test_wrong_typed_eksctl_fields_are_values_never_a_crash(tmp_path):
    from conftest import run

    variants = _wrong_typed(EKSCTL_FULL, WRONG_YAML, _YAML_ASSIGNED)
    assert len(variants) > 400
    for index, text in enumerate(variants):
        folder = tmp_path / str(index)
        folder.mkdir()
        (folder / "cluster.yaml").write_text(text)
        result = run([folder])
        crashes = [p.message for p in result.problems if "internal error" in p.message]
        assert crashes == [], text


# -- 1: a broken input of ours is an error, whatever template it looks like ------------------
AWS_AUTH_HEAD = (
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\n"
)
MAP_ROLES = (
    "data:\n  mapRoles: |\n    - rolearn: arn:aws:iam::111122223333:role/admin\n"
    "      username: admin:{{SessionName}}\n      groups: [system:masters]\n"
)
BROKEN_OURS = {
    # the authenticator's placeholders are not Go templates
    "placeholders.yaml": AWS_AUTH_HEAD + MAP_ROLES + "  mapUsers: [\n",
    "node-role.yaml": AWS_AUTH_HEAD
    + "data:\n  mapRoles: |\n    - rolearn: arn:aws:iam::1:role/node\n"
    + "      username: system:node:{{EC2PrivateDNSName}}\n  x: {{AccountID}}-{{SessionNameRaw}}\n",
    "indented.yaml": "\n".join("  " + line for line in (AWS_AUTH_HEAD + MAP_ROLES).split("\n"))
    + "\n bad: [\n",
    "quoted.yaml": '"apiVersion": v1\n"kind": ConfigMap\n' + MAP_ROLES + "  x: {{ broken\n",
    "single-quoted.yaml": "'kind': ConfigMap\n'apiVersion': v1\nmetadata: {name: x}\nspec: {{ y }}-z\n",
    "flow.yaml": '{"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": {{x}}-y}\n',
    "escaped.yaml": '"\\x61piVersion": v1\n"\\u006bind": Secret\nmetadata: {name: {{ .x }}-y}\n',
    "later-document.yaml": "x: {{ .Values.x }}-y\n---\n" + AWS_AUTH_HEAD + MAP_ROLES,
    "only-a-later-one-breaks.yaml": AWS_AUTH_HEAD + MAP_ROLES + "---\nz: {{ .x }}-y\n",
    "cfn-tag.yaml": AWS_AUTH_HEAD.replace("kube-system", "!Sub kube-system") + MAP_ROLES,
    "cfn-marker.yaml": "AWSTemplateFormatVersion: '2010-09-09'\n" + AWS_AUTH_HEAD + "x: !Ref y\n",
    "duplicate.yaml": AWS_AUTH_HEAD + "metadata: {name: other, annotations: {a: '{{b}}'}}\n",
    "alias-key.yaml": "a: &k kind\nb: &v apiVersion\n*k : Secret\n*v : v1\nc: !Sub x\n",
    "merge-key.yaml": "t: &t {apiVersion: v1, kind: Secret}\n<<: *t\nx: !Ref y\n",
    "tf-template.yaml": "apiVersion: v1\nkind: ConfigMap\ndata:\n%{ for r in roles ~}\n  - ${r}\n%{ endfor ~}\n",
    "users-only.yaml": "mapUsers: |\n  - userarn: {{x}}\n bad: [\n",
    # kubectl reads YAML from a .json file as well
    "yaml-in.json": AWS_AUTH_HEAD + MAP_ROLES + "  bad: [\n",
    "escaped.json": '{"\\u0053tatement": [{"Effect": "Allow", "Principal": "${x}"}',
    "stream.json": '{"a": "{{x}}"}\n{"apiVersion": "v1", "kind": "Secret"}\n',
    "get-role.json": '{"Role": {"RoleName": "{{x}}", "AssumeRolePolicyDocument": {}}',
}
STILL_FOREIGN = {
    # CloudFormation's tags in YAML that no template is (its resources have no Type)
    "cfn.yaml": "Resources:\n  R:\n    Properties:\n      RoleName: !Sub '${AWS::StackName}-role'\n",
    "go-template.yaml": "replicas: {{ .Values.replicas }}-x\n",
    "tftpl.yaml": "roles:\n%{ for r in roles ~}\n  - ${r}\n%{ endfor ~}\n",
    "mkdocs.yml": "nav:\n  - [unclosed\n",
    "package.json": '{"name": "x", "version": {{v}}}',
}


@pytest.mark.parametrize("name", sorted(BROKEN_OURS))
def test_our_input_that_does_not_parse_is_an_error_whatever_it_holds(in_tmp, name):
    (in_tmp / name).write_text(BROKEN_OURS[name])
    code, doc = _json(name)
    ((file, _line, level, message),) = _problems(doc)
    assert (code, file, level) == (2, name, "error"), message
    assert not message.startswith("skipped")


@pytest.mark.parametrize("name", sorted(STILL_FOREIGN))
def test_someone_elses_file_that_does_not_parse_is_a_note(in_tmp, name):
    (in_tmp / name).write_text(STILL_FOREIGN[name])
    code, doc = _json(name)
    ((file, _line, level, message),) = _problems(doc)
    assert (code, file, level) == (0, name, "note"), message
    assert message.startswith("skipped: ")


# -- 7: only real comments suppress ----------------------------------------------------------
FAKE_SUPPRESSIONS = {
    # JSON has no comments: a Sid is data
    "trust.json": (
        '{"Statement": [{"Sid": "# eks-checks: ignore[EKS401] r", "Effect": "Allow", '
        '"Action": "sts:AssumeRole", "Principal": "*"}]}\n',
        [("trust.json", 1, "EKS401")],
    ),
    # YAML: text inside a block scalar, a quoted scalar spread over lines, a plain scalar
    "sa.yaml": (
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: default\n  namespace: a\n"
        "  annotations:\n    note: |\n      # eks-checks: ignore[EKS305] r\n"
        "    eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/x\n"
        "automountServiceAccountToken: false\n---\n"
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: default\n  namespace: b\n"
        '  annotations:\n    note: "a\n      # eks-checks: ignore[EKS305] r"\n'
        "    eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/x\n"
        "automountServiceAccountToken: false\n---\n"
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: default\n  namespace: c\n"
        "  annotations:\n"
        "    eks.amazonaws.com/role-arn: arn:aws:iam::1:role/x#eks-checks:ignore[EKS305] r\n"
        "automountServiceAccountToken: false\n",
        [("sa.yaml", 9, "EKS305"), ("sa.yaml", 20, "EKS305"), ("sa.yaml", 29, "EKS305")],
    ),
    # HCL: a block label, a heredoc holding a manifest
    "lt.tf": (
        'resource "aws_launch_template" "# eks-checks: ignore[EKS202] r" {\n'
        "  metadata_options {\n"
        '    http_tokens = "required"\n'
        "    http_put_response_hop_limit = 2\n  }\n}\n\n"
        'resource "kubectl_manifest" "sa" {\n  yaml_body = <<-EOT\n'
        "    apiVersion: v1  # eks-checks: ignore[EKS302] r\n"
        "    kind: ServiceAccount\n    metadata:\n      name: default\n  EOT\n}\n",
        [("lt.tf", 4, "EKS202"), ("lt.tf", 10, "EKS302")],
    ),
}


@pytest.mark.parametrize("name", sorted(FAKE_SUPPRESSIONS))
def test_text_in_a_string_never_suppresses(in_tmp, name):
    text, expected = FAKE_SUPPRESSIONS[name]
    (in_tmp / name).write_text(text)
    code, doc = _json(name, "--select", "EKS202,EKS301,EKS302,EKS305,EKS401")
    assert (code, _findings(doc)) == (1, expected)
    assert [f for f in doc["findings"] if f.get("suppressed")] == []


REAL_SUPPRESSIONS = {
    "sa.yaml": (
        "# eks-checks: ignore[EKS302] a real comment above\n"
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: default\n  namespace: a\n"
        "  annotations:\n"
        "    # eks-checks: ignore[EKS305] a comment, with a note: on a line of its own\n"
        "    eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/x\n"
    ),
    "aws-auth.yaml": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\n"
        "data:\n  mapRoles: |\n    - rolearn: arn:aws:iam::111122223333:role/admin\n"
        "      # eks-checks: ignore[EKS501] break-glass role, reviewed\n"
        "      groups: [system:masters]\n"
        "  mapUsers: |\n    - userarn: arn:aws:iam::111122223333:user/ci  # eks-checks: ignore[EKS502] CI\n"
        "      groups: [deployers]\n"
    ),
    "auth.tf": (
        'resource "kubernetes_config_map" "aws_auth" {\n'
        '  metadata {\n    name      = "aws-auth"\n    namespace = "kube-system"\n  }\n'
        "  data = {\n    mapRoles = <<-EOT\n"
        "      # eks-checks: ignore[EKS501] break-glass role, reviewed\n"
        "      - rolearn: arn:aws:iam::111122223333:role/admin\n"
        "        groups: [system:masters]\n    EOT\n  }\n}\n"
    ),
    "lt.tf": (
        'resource "aws_launch_template" "a" {\n  metadata_options {\n'
        '    http_tokens = "required" /* not this one */\n'
        "    // eks-checks: ignore[EKS202] a slash comment\n"
        "    # (and a plain comment between)\n"
        "    http_put_response_hop_limit = 2\n  }\n}\n"
        'resource "aws_launch_template" "b" {\n  metadata_options {\n'
        '    http_tokens = "required"\n'
        "    http_put_response_hop_limit = 2 # eks-checks: ignore[EKS202] on its line\n"
        "  }\n}\n"
    ),
}


@pytest.mark.parametrize("name", sorted(REAL_SUPPRESSIONS))
def test_real_comments_still_suppress(in_tmp, name):
    (in_tmp / name).write_text(REAL_SUPPRESSIONS[name])
    code, doc = _json(name, "--select", "EKS202,EKS302,EKS305,EKS501,EKS502")
    assert (code, _findings(doc), _problems(doc)) == (0, [], [])
    suppressed = [f["rule_id"] for f in doc["findings"] if f.get("suppressed")]
    assert (
        suppressed
        == {
            "sa.yaml": ["EKS302", "EKS305"],
            "aws-auth.yaml": ["EKS501", "EKS502"],
            "auth.tf": ["EKS501"],
            "lt.tf": ["EKS202", "EKS202"],
        }[name]
    )


# -- 5: the pre-filter never changes an answer ------------------------------------------------
def _answer(folder, prefilter: bool) -> tuple:
    from conftest import run

    result = run([folder], prefilter=prefilter)
    return (
        sorted((p.file, p.line, p.level, p.message) for p in result.problems),
        sorted(
            (f.rule_id, f.location.file, f.location.start_line, f.message) for f in result.findings
        ),
    )


def test_a_syntax_error_in_a_block_nothing_reads_is_still_an_error(in_tmp):
    (in_tmp / "main.tf").write_text(
        'resource "aws_s3_bucket" "b" {\n  bucket = "x" +\n}\n\n' + INSECURE
    )
    with_filter, without = (_answer(in_tmp, p) for p in (True, False))
    assert with_filter == without
    assert with_filter[0] == [("main.tf", 3, "error", "invalid HCL: unexpected '}' (column 1)")]
    code, doc = _json(".")
    assert (code, _problems(doc)) == (
        2,
        [("main.tf", 3, "error", "invalid HCL: unexpected '}' (column 1)")],
    )


def test_an_attribute_set_twice_at_two_indentations_in_a_block_nothing_reads_is_an_error(in_tmp):
    # found by the property test below: the check for an attribute set twice read a body's
    # attributes by their indentation, and `a` indented by one space and then by two was
    # two bodies' to it, so the pre-filter blanked a block HCL refuses
    (in_tmp / "main.tf").write_text(
        'resource "aws_s3_bucket" "b" {\n a = "a"\n  a = {\n  }\n}\n\n' + INSECURE
    )
    with_filter, without = (_answer(in_tmp, p) for p in (True, False))
    assert with_filter == without
    assert with_filter[0] == [
        (
            "main.tf",
            3,
            "error",
            "invalid HCL: attribute a is set twice in one block (first at line 2)",
        )
    ]


def _seeds() -> list[str]:
    sys.path.insert(0, str(ROOT / "tests" / "benchmarks"))
    from generate import EKS, IRSA, NOISE

    values = {"n": "x", "a": 1, "b": 2, "pub": "true", "logs": '["api"]', "tokens": "optional"}
    values |= {"hops": 2, "test": "StringLike", "ns": "shop", "sa": "app"}
    generated = "\n".join(t.format(**values) for t in [*NOISE, EKS, IRSA])
    files = sorted(
        [*(ROOT / "tests" / "fixtures").rglob("*.tf"), *(ROOT / "examples").rglob("*.tf")]
    )
    files += sorted(PEER.rglob("*.tf"))[:30]
    return [generated] * 10 + [p.read_text(encoding="utf-8") for p in files]


SEEDS_TF = _seeds()
EDITS_TF = st.sampled_from(
    list('{}[]()"#:-=,.*!?\n \t$\\/%<>') + ["${", "%{", "<<EOF\n", "/*", "*/", "//", "\n}\n", "{\n"]
)


@st.composite
def mutated_modules(draw):
    text = draw(st.sampled_from(SEEDS_TF))
    for _ in range(draw(st.integers(1, 3))):
        if not text:
            break
        pos = draw(st.integers(0, len(text) - 1))
        action = draw(st.sampled_from(["insert", "delete", "line"]))
        if action == "insert":
            text = text[:pos] + draw(EDITS_TF) + text[pos:]
        elif action == "delete":
            text = text[:pos] + text[pos + draw(st.integers(1, 8)) :]
        else:  # a whole line dropped or doubled
            start = text.rfind("\n", 0, pos) + 1
            end = text.find("\n", pos) + 1 or len(text)
            twice = draw(st.booleans())
            text = text[:start] + (text[start:end] * 2 if twice else "") + text[end:]
    return text


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(text=mutated_modules())
def test_the_pre_filter_never_changes_problems_or_findings(tmp_path_factory, text):
    folder = tmp_path_factory.mktemp("m")
    (folder / "main.tf").write_text(text, encoding="utf-8")
    assert _answer(folder, True) == _answer(folder, False), text


PLAIN_VALUES = [
    '"a"', '""', '"a b-c/d:e"', '"${var.x}"', '"p-${local.m["k"]}-${a.b[0].c}"', '"$5 $$ %s %%"',
    r'"q\"q\\n\t"', "1", "-3", "1.5", "true", "null", "var.x", "aws_vpc.main.id", 'a["k"][2].b',
    "[]", '["a", "b"]', '["a", 1, var.x,]', "{}", '{ Name = "x" }', '{ a = 1, "b-c" = var.y, }',
]  # fmt: skip


PLAIN_KEYS = ["k", '"k-2"']


@st.composite
def plain_blocks(draw):
    """Blocks of the kind the pre-filter's pattern reads, then possibly broken a little."""

    def value() -> str:
        return draw(st.sampled_from(PLAIN_VALUES))

    def item(indent: str, key: str, comma: str) -> str:
        return f"{indent}  {key} = {value()}{comma}"

    def body(indent: str, nested: bool) -> list[str]:
        lines = []
        shapes = ["attr", "object", "list", "blank", "comment"] + ["block"] * nested
        for _ in range(draw(st.integers(0, 4))):
            shape = draw(st.sampled_from(shapes))
            name = draw(st.sampled_from(["a", "b_c", "d-e", "tags", "count"]))
            if shape == "attr":
                ending = draw(st.sampled_from(["", " # c", " // c"]))
                lines.append(f"{indent}{name} = {value()}{ending}")
            elif shape == "object":
                count = draw(st.integers(0, 3))
                items = [
                    item(
                        indent, draw(st.sampled_from(PLAIN_KEYS)), draw(st.sampled_from(["", ","]))
                    )
                    for _ in range(count)
                ]
                lines += [f"{indent}{name} = {{", *items, f"{indent}}}"]
            elif shape == "list":
                items = [f"{indent}  {value()}," for _ in range(draw(st.integers(0, 3)))]
                if draw(st.booleans()):
                    items.append(f"{indent}  {value()}")
                lines += [f"{indent}{name} = [", *items, f"{indent}]"]
            elif shape == "blank":
                lines.append("")
            elif shape == "comment":
                lines.append(f"{indent}# a comment {{ [")
            else:
                lines += [f'{indent}{name} "l" {{', *body(indent + "  ", False), f"{indent}}}"]
        return lines

    text = "\n".join(['resource "aws_s3_bucket" "b" {', *body("  ", True), "}"]) + "\n"
    if draw(st.booleans()):
        pos = draw(st.integers(0, len(text) - 1))
        text = text[:pos] + draw(EDITS_TF) + text[pos + draw(st.integers(0, 2)) :]
    return text


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plain_blocks())
def test_what_the_pre_filter_calls_plain_both_parsers_read_as_one_block(text):
    from checks.parse.hcl import parse_terraform_hcl2
    from checks.parse.hclsyntax import parse
    from checks.prefilter import _plain_pattern, _sets_an_attribute_twice

    if not text.endswith("\n") or _plain_pattern().fullmatch(text) is None:
        return
    if _sets_an_attribute_twice(text.split("\n")):
        return  # HCL refuses it, and so the pre-filter never blanks it
    last = text.count("\n")
    for read in (parse, parse_terraform_hcl2):
        (block,) = read(text[:-1])
        assert (block.line, block.end_line) == (1, last), text


FIXTURE_TF = sorted(
    [*(ROOT / "tests" / "fixtures").rglob("*.tf"), *(ROOT / "examples").rglob("*.tf")]
)


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(path=st.sampled_from(FIXTURE_TF), choice=st.integers(0, 10_000))
def test_wrong_typed_terraform_attributes_are_values_never_a_crash(tmp_path_factory, path, choice):
    """Every resource and module the fixtures hold, one attribute given a value of another
    type (all of them were tried once; this keeps a sample in CI)."""
    from conftest import run

    variants = _wrong_typed(path.read_text(), WRONG_HCL, _ASSIGNED)
    if not variants:
        return
    folder = tmp_path_factory.mktemp("w")
    (folder / path.name).write_text(variants[choice % len(variants)])
    result = run([folder])
    assert [p.message for p in result.problems if "internal error" in p.message] == []
