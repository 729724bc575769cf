"""Module calls followed the way Terraform follows them: a local module is evaluated with the
call's arguments bound to its variables, once per `count`/`for_each` instance (none for
`count = 0`), its outputs are what `module.x.y` means in the caller, and what it creates is
reported at its own lines, naming the call path, with the calls as related places. A module
that a caller reaches is not scanned again on its own with its defaults; a module that
`terraform init` downloaded is read from `.terraform/modules` for the calls that reach it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from checks.model import fingerprint
from conftest import FIXTURES, cli, run

PLATFORM = """variable "name" {}

variable "public" {
  type    = bool
  default = false
}

module "eks" {
  source  = "terraform-aws-modules/eks/aws"
  version = "~> 20.0"

  cluster_name                   = var.name
  cluster_endpoint_public_access = var.public
  cluster_enabled_log_types      = ["audit", "authenticator"]
}

output "cluster_name" {
  value = var.name
}
"""

ROOT = """module "platform" {
  source = "./modules/platform"
  name   = "shop"
  public = "true"
}

module "spare" {
  source = "./modules/platform"
  count  = 0
  name   = "spare"
  public = true
}
"""


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def _found(result) -> list[tuple]:
    return sorted(
        (f.location.file.rsplit("/", 1)[-1], f.location.start_line, f.rule_id)
        for f in result.findings
    )


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_local_module_is_evaluated_with_the_callers_arguments(in_tmp):
    """The caller's `public = "true"` (a string, converted to the variable's bool) reaches
    terraform-aws-modules/eks inside the local module: EKS101 at the child's line, with the
    call path, the arguments that give its values and the call as related places. The
    `count = 0` call is silent, and the module is not scanned on its own (its default
    `public = false` says nothing)."""
    _tree(in_tmp, {"main.tf": ROOT, "modules/platform/main.tf": PLATFORM})
    result = run(["."], select={"EKS101", "EKS102"})
    assert result.problems == []
    assert [
        (f.rule_id, f.location.file, f.location.start_line, f.message) for f in result.findings
    ] == [
        (
            "EKS101",
            "modules/platform/main.tf",
            13,
            "cluster shop has a public API endpoint open to [0.0.0.0/0]",
        ),
    ]
    for finding in result.findings:
        assert [(r.location.file, r.location.start_line, r.message) for r in finding.related] == [
            (
                "main.tf",
                4,
                "endpoint_public_access comes from the argument public of module.platform",
            ),
            ("main.tf", 3, "name comes from the argument name of module.platform"),
            ("main.tf", 1, "module.platform: the call of ./modules/platform"),
        ]
    (cluster,) = [e for e in result.entities if e.kind == "cluster"]
    assert cluster.fields["call_path"] == "module.platform.module.eks"
    assert cluster.fields["address"] == "module.platform.module.eks"


def test_findings_of_a_module_called_twice_are_two_findings(in_tmp):
    _tree(
        in_tmp,
        {
            "main.tf": 'module "a" {\n  source = "./lt"\n  tokens = "optional"\n}\n\n'
            'module "b" {\n  source = "./lt"\n  tokens = "optional"\n  hops = 3\n}\n\n'
            'module "c" {\n  source = "./lt"\n}\n',
            "lt/main.tf": 'variable "tokens" {\n  default = "required"\n}\n\n'
            'variable "hops" {\n  default = 1\n}\n\n'
            'resource "aws_launch_template" "this" {\n  metadata_options {\n'
            "    http_tokens                 = var.tokens\n"
            "    http_put_response_hop_limit = var.hops\n  }\n}\n",
        },
    )
    result = run(["."], select={"EKS201", "EKS202"})
    assert [
        (f.rule_id, f.location.file, f.location.start_line, f.message) for f in result.findings
    ] == [
        (
            "EKS201",
            "lt/main.tf",
            11,
            "module.a.aws_launch_template.this has http_tokens = optional: IMDSv1 hands out "
            "the node role's credentials to any request",
        ),
        (
            "EKS201",
            "lt/main.tf",
            11,
            "module.b.aws_launch_template.this has http_tokens = optional: IMDSv1 hands out "
            "the node role's credentials to any request",
        ),
        (
            "EKS202",
            "lt/main.tf",
            12,
            "module.b.aws_launch_template.this sets http_put_response_hop_limit = 3 (more than 1)"
            ": pods can reach the node role's credentials",
        ),
    ]
    prints = {fingerprint(f.rule_id, f.entity_key, f.location.file) for f in result.findings}
    assert len(prints) == 3


def test_a_value_a_call_gives_has_the_argument_that_gives_it_related(in_tmp):
    """RULES.md: a value from a module input points at the use, with the definition as a
    related place: the argument of the call (followed into the caller's own variables), not
    only the call."""
    _tree(
        in_tmp,
        {
            "main.tf": 'module "a" {\n  source = "./lt"\n  hops   = 3\n}\n\n'
            'module "b" {\n  source = "./lt"\n  hops   = var.hops\n}\n',
            "variables.tf": 'variable "hops" {\n  default = 4\n}\n',
            "lt/main.tf": 'variable "hops" {}\n\n'
            'resource "aws_launch_template" "this" {\n  metadata_options {\n'
            '    http_tokens                 = "required"\n'
            "    http_put_response_hop_limit = var.hops\n  }\n}\n",
        },
    )
    result = run(["."], select={"EKS202"})
    assert result.problems == []
    assert [
        (
            f.location.file,
            f.location.start_line,
            [(r.location.file, r.location.start_line, r.message) for r in f.related],
        )
        for f in result.findings
    ] == [
        (
            "lt/main.tf",
            6,
            [
                ("main.tf", 3, "hop_limit comes from the argument hops of module.a"),
                ("main.tf", 1, "module.a: the call of ./lt"),
            ],
        ),
        (
            "lt/main.tf",
            6,
            [
                ("variables.tf", 2, "hop_limit comes from the default of var.hops"),
                ("main.tf", 6, "module.b: the call of ./lt"),
            ],
        ),
    ]


def test_count_and_for_each_make_one_instance_per_index_or_key(in_tmp):
    _tree(
        in_tmp,
        {
            "main.tf": 'variable "n" {}\n\n'
            'module "each" {\n  source   = "./lt"\n'
            '  for_each = { web = "optional", jobs = "required" }\n  tokens = each.value\n}\n\n'
            'module "counted" {\n  source = "./lt"\n  count  = 2\n'
            '  tokens = "optional"\n}\n\n'
            'module "unknown" {\n  source = "./lt"\n  count  = var.n\n  tokens = "optional"\n}\n',
            "lt/main.tf": 'variable "tokens" {}\n\n'
            'resource "aws_launch_template" "this" {\n  metadata_options {\n'
            "    http_tokens = var.tokens\n  }\n}\n",
        },
    )
    result = run(["."], select={"EKS201"})
    assert sorted(
        e.fields["call_path"] for e in result.entities if e.kind == "instance_metadata"
    ) == [
        "module.counted[0]",
        "module.counted[1]",
        'module.each["jobs"]',
        'module.each["web"]',
        "module.unknown[*]",
    ]
    assert sorted(f.message.split(" ")[0] for f in result.findings) == [
        "module.counted[0].aws_launch_template.this",
        "module.counted[1].aws_launch_template.this",
        'module.each["web"].aws_launch_template.this',
        "module.unknown[*].aws_launch_template.this",
    ]


def test_module_outputs_resolve_to_the_instances_values_and_objects(in_tmp):
    """`module.irsa.role_arn` is the child's role: the pod identity association finds its
    trust (EKS702: it does not trust Pod Identity), and the reference names that role."""
    _tree(
        in_tmp,
        {
            "main.tf": 'module "irsa" {\n  source = "./role"\n  name   = "cart"\n}\n\n'
            'resource "aws_eks_pod_identity_association" "cart" {\n'
            '  cluster_name    = "shop"\n  namespace       = "shop"\n'
            '  service_account = "cart"\n  role_arn        = module.irsa.role_arn\n}\n',
            "role/main.tf": 'variable "name" {}\n\n'
            'resource "aws_iam_role" "this" {\n  name = var.name\n'
            "  assume_role_policy = jsonencode({\n    Statement = [{\n"
            '      Effect    = "Allow"\n      Action    = "sts:AssumeRole"\n'
            '      Principal = { Service = "ec2.amazonaws.com" }\n    }]\n  })\n}\n\n'
            'output "role_arn" {\n  value = aws_iam_role.this.arn\n}\n',
        },
    )
    result = run(["."], select={"EKS702"})
    (finding,) = result.findings
    assert (finding.location.file, finding.location.start_line) == ("main.tf", 10)
    (association,) = [e for e in result.entities if e.kind == "pod_identity_association"]
    assert association.fields["role_ref"] == ".:module.irsa.aws_iam_role.this"
    assert association.fields["role_name"] == "cart"


def test_a_callers_object_given_to_a_module_keeps_its_reference(in_tmp):
    """An unknown value the caller passes down (`aws_iam_role.admin.arn`) still names the
    caller's role inside the module: the module's access entry is that role's."""
    _tree(
        in_tmp,
        {
            "main.tf": 'module "access" {\n  source = "./access"\n'
            "  principal = aws_iam_role.admin.arn\n}\n\n"
            'resource "aws_iam_role" "admin" {\n  name = "admin"\n'
            '  assume_role_policy = "{}"\n}\n',
            "access/main.tf": 'variable "principal" {}\n\n'
            'resource "aws_eks_access_entry" "this" {\n  cluster_name  = "shop"\n'
            "  principal_arn = var.principal\n}\n",
        },
    )
    result = run(["."])
    (entry,) = [e for e in result.entities if e.kind == "identity_mapping"]
    assert entry.fields["principal_ref"] == ".:aws_iam_role.admin"
    assert entry.fields["principal_type"] == "role"
    assert entry.fields["call_path"] == "module.access"


def test_the_same_expression_in_two_instances_is_not_the_same_cluster(in_tmp):
    """`aws_eks_cluster.this.id` in module.a and in module.b are two clusters: one identity
    provider each is no EKS513, one access entry each for one principal no EKS512."""
    _tree(
        in_tmp,
        {
            "main.tf": 'module "a" {\n  source = "./cluster"\n}\n\n'
            'module "b" {\n  source = "./cluster"\n}\n',
            "cluster/main.tf": 'resource "aws_eks_cluster" "this" {\n  name = "c"\n}\n\n'
            'resource "aws_eks_identity_provider_config" "okta" {\n'
            "  cluster_name = aws_eks_cluster.this.id\n"
            '  oidc {\n    identity_provider_config_name = "okta"\n'
            '    issuer_url = "https://o"\n    client_id = "x"\n  }\n}\n\n'
            'resource "aws_eks_access_entry" "ops" {\n'
            "  cluster_name  = aws_eks_cluster.this.id\n"
            '  principal_arn = "arn:aws:iam::111122223333:role/ops"\n}\n',
        },
    )
    result = run(["."], select={"EKS512", "EKS513"})
    assert result.findings == []


def test_a_name_the_module_is_given_but_not_known_reads_as_written(in_tmp):
    _tree(
        in_tmp,
        {
            "main.tf": 'variable "env" {}\n\nmodule "app" {\n  source = "./app"\n'
            "  namespace = var.env\n}\n",
            "app/main.tf": 'variable "namespace" {}\n\n'
            'resource "kubernetes_service_account" "default" {\n  metadata {\n'
            '    name      = "default"\n    namespace = var.namespace\n  }\n}\n',
        },
    )
    result = run(["."], select={"EKS302"})
    assert [f.message for f in result.findings] == [
        "ServiceAccount var.env/default does not set automountServiceAccountToken: false"
    ]


def test_what_a_module_turns_off_with_count_or_for_each_is_not_there(in_tmp):
    """A module's resources and policy documents with `count = 0` or an empty `for_each`
    make nothing in that instance; in the other they are there."""
    _tree(
        in_tmp,
        {
            "main.tf": 'module "on" {\n  source = "./role"\n}\n\n'
            'module "off" {\n  source = "./role"\n  instances = 0\n  names = []\n}\n',
            "role/main.tf": 'variable "instances" {\n  default = 1\n}\n\n'
            'variable "names" {\n  default = ["a"]\n}\n\n'
            'data "aws_iam_policy_document" "open" {\n  count = var.instances\n'
            '  statement {\n    actions = ["sts:AssumeRole"]\n'
            '    principals {\n      type        = "AWS"\n      identifiers = ["*"]\n'
            "    }\n  }\n}\n\n"
            'resource "aws_launch_template" "nodes" {\n  for_each = toset(var.names)\n}\n',
        },
    )
    result = run(["."], select={"EKS201", "EKS401"})
    assert sorted(
        (f.rule_id, f.entity_key.split(":")[-1].split("/")[0]) for f in result.findings
    ) == [
        ("EKS201", 'module.on.aws_launch_template.nodes["a"]'),  # the for_each key's instance
        ("EKS401", "module.on.data.aws_iam_policy_document.open"),
    ]


def test_a_module_no_caller_reaches_is_scanned_on_its_own(in_tmp):
    _tree(
        in_tmp,
        {
            "modules/platform/main.tf": PLATFORM.replace(
                'variable "name" {}', 'variable "name" {\n  default = "solo"\n}'
            )
        },
    )
    result = run(["."], select={"EKS102"})
    # with its own defaults (public = false): nothing to report, but the cluster is there
    assert result.findings == []
    (cluster,) = [e for e in result.entities if e.kind == "cluster"]
    assert (cluster.fields["name"], cluster.fields["call_path"]) == ("solo", "module.eks")


def test_a_module_calling_itself_is_noted_and_the_scan_goes_on(in_tmp):
    _tree(
        in_tmp,
        {
            "main.tf": 'module "a" {\n  source = "./a"\n}\n',
            "a/main.tf": 'module "b" {\n  source = "../b"\n}\n\n'
            'resource "aws_launch_template" "a" {\n  metadata_options {\n'
            '    http_tokens = "optional"\n  }\n}\n',
            "b/main.tf": 'module "a" {\n  source = "../a"\n}\n',
        },
    )
    result = run(["."], select={"EKS201"})
    assert [(p.file, p.line, p.level, p.message) for p in result.problems] == [
        ("b/main.tf", 1, "note", "module.a calls a module that calls it: not evaluated again")
    ]
    assert [f.message.split(" ")[0] for f in result.findings] == ["module.a.aws_launch_template.a"]


def test_module_calls_nested_past_the_depth_limit_are_unknown(in_tmp):
    from checks.normalize.tf_calls import MAX_DEPTH

    files = {"main.tf": 'module "m" {\n  source = "./m0"\n}\n'}
    for i in range(MAX_DEPTH + 3):
        files[f"m{i}/main.tf"] = f'module "m" {{\n  source = "../m{i + 1}"\n}}\n'
    _tree(in_tmp, files)
    result = run(["."])
    assert [p.message for p in result.problems] == [
        f"module calls nested more than {MAX_DEPTH} deep: module.m is read as unknown"
    ]


def test_a_wide_tree_of_calls_is_evaluated_once_per_module_and_arguments(in_tmp):
    """Each module calls the next twice with the same arguments: 2**12 instances in
    Terraform's terms, one evaluation each in ours, and the instances built are bounded."""
    from checks.normalize.tf_calls import MAX_INSTANCES

    files = {"main.tf": 'module "m" {\n  source = "./m0"\n}\n'}
    for i in range(12):
        files[f"m{i}/main.tf"] = (
            f'module "x" {{\n  source = "../m{i + 1}"\n}}\n\n'
            f'module "y" {{\n  source = "../m{i + 1}"\n}}\n'
        )
    files["m12/main.tf"] = 'resource "aws_instance" "leaf" {\n  ami = "x"\n}\n'
    _tree(in_tmp, files)
    result = run(["."], select={"EKS201"})
    assert 0 < len(result.findings) < MAX_INSTANCES
    assert [p.message for p in result.problems] == [
        f"more than {MAX_INSTANCES} module instances: the later calls are not read"
    ]


def test_a_variables_type_fills_in_optional_attributes(in_tmp):
    """`optional(string, "required")` inside the module's variable type: a node group that
    leaves it out gets the module's default, one that sets it keeps its own."""
    _tree(
        in_tmp,
        {
            "main.tf": 'module "nodes" {\n  source = "./nodes"\n  groups = {\n'
            '    safe = {}\n    open = { tokens = "optional" }\n  }\n}\n',
            "nodes/main.tf": 'variable "groups" {\n'
            "  type = map(object({\n"
            '    tokens = optional(string, "required")\n  }))\n}\n\n'
            'resource "aws_launch_template" "safe" {\n  metadata_options {\n'
            "    http_tokens = var.groups.safe.tokens\n  }\n}\n\n"
            'resource "aws_launch_template" "open" {\n  metadata_options {\n'
            "    http_tokens = var.groups.open.tokens\n  }\n}\n",
        },
    )
    result = run(["."], select={"EKS201"})
    assert [f.message.split(" ")[0] for f in result.findings] == [
        "module.nodes.aws_launch_template.open"
    ]


def test_nullable_false_turns_a_null_argument_into_the_default(in_tmp):
    _tree(
        in_tmp,
        {
            "main.tf": 'module "a" {\n  source = "./lt"\n  tokens = null\n}\n\n'
            'module "b" {\n  source = "./lt2"\n  tokens = null\n}\n',
            "lt/main.tf": 'variable "tokens" {\n  default  = "required"\n  nullable = false\n}\n\n'
            'resource "aws_launch_template" "this" {\n  metadata_options {\n'
            "    http_tokens = var.tokens\n  }\n}\n",
            # nullable by default: null is the value, and the attribute is left unset (EC2's
            # default: IMDSv1 allowed)
            "lt2/main.tf": 'variable "tokens" {\n  default = "required"\n}\n\n'
            'resource "aws_launch_template" "this" {\n  metadata_options {\n'
            "    http_tokens = var.tokens\n  }\n}\n",
        },
    )
    result = run(["."], select={"EKS201"})
    assert sorted(f.message.split(" ")[0] for f in result.findings) == [
        "module.b.aws_launch_template.this",
    ]


def test_a_module_outside_the_scanned_tree_is_not_read(in_tmp):
    _tree(in_tmp, {"live/main.tf": 'module "m" {\n  source = "../modules/m"\n}\n'})
    _tree(in_tmp, {"modules/m/main.tf": 'resource "aws_instance" "i" {\n  ami = "x"\n}\n'})
    result = run(["live"], select={"EKS201"})
    assert result.findings == []
    assert [(p.file, p.line, p.level, p.message) for p in result.problems] == [
        ("live/main.tf", 1, "note", "module.m (../modules/m) not read: outside the scanned tree")
    ]


# ---- downloaded modules ----------------------------------------------------------------------
def _modules_json(root: Path, entries: list[dict]) -> None:
    path = root / ".terraform" / "modules" / "modules.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"Modules": [{"Key": "", "Source": "", "Dir": "."}, *entries]}))


def test_a_downloaded_module_is_evaluated_from_its_source(in_tmp):
    _tree(
        in_tmp,
        {
            "main.tf": 'module "nodes" {\n  source = "git::https://example.com/nodes.git?ref=v1"\n'
            '  tokens = "optional"\n}\n',
            ".terraform/modules/nodes/main.tf": 'variable "tokens" {}\n\n'
            'resource "aws_launch_template" "this" {\n  metadata_options {\n'
            "    http_tokens = var.tokens\n  }\n}\n",
        },
    )
    _modules_json(
        in_tmp,
        [
            {
                "Key": "nodes",
                "Source": "git::https://example.com/nodes.git?ref=v1",
                "Dir": ".terraform/modules/nodes",
            }
        ],
    )
    result = run(["."], select={"EKS201"})
    assert [
        (f.location.file, f.location.start_line, f.message.split(" ")[0]) for f in result.findings
    ] == [(".terraform/modules/nodes/main.tf", 5, "module.nodes.aws_launch_template.this")]
    assert [(r.location.file, r.location.start_line) for r in result.findings[0].related] == [
        ("main.tf", 3),  # the argument that gives http_tokens
        ("main.tf", 1),
    ]
    # never walked for findings of its own
    assert all(".terraform" not in f.display for f in result.files)


def test_a_known_module_takes_the_version_terraform_init_installed(in_tmp):
    """`>= 18.0` allows the newest release, but .terraform says v18.31.2 was installed:
    v18's defaults (public endpoint on, private off) apply."""
    _tree(
        in_tmp,
        {
            "main.tf": 'module "eks" {\n  source  = "terraform-aws-modules/eks/aws"\n'
            '  version = ">= 18.0"\n  cluster_name = "old"\n}\n'
        },
    )
    _modules_json(
        in_tmp,
        [
            {
                "Key": "eks",
                "Source": "registry.terraform.io/terraform-aws-modules/eks/aws",
                "Version": "18.31.2",
                "Dir": ".terraform/modules/eks",
            }
        ],
    )
    result = run(["."], select={"EKS101", "EKS102"})
    assert sorted(f.rule_id for f in result.findings) == ["EKS101", "EKS102"]
    (cluster,) = [e for e in result.entities if e.kind == "cluster"]
    assert cluster.defaulted["endpoint_public_access"] == (
        "terraform-aws-modules/eks v18 default (the version terraform init installed)"
    )


# ---- the cache -------------------------------------------------------------------------------
def test_a_cached_caller_is_read_again_when_its_module_changes(in_tmp):
    _tree(in_tmp, {"main.tf": ROOT, "modules/platform/main.tf": PLATFORM})
    code, out, _ = cli("scan", ".", "--select", "EKS101", "--format", "json")
    assert code == 1
    (in_tmp / "modules" / "platform" / "main.tf").write_text(
        PLATFORM.replace("var.public", "false")
    )
    code, out, _ = cli("scan", ".", "--select", "EKS101", "--format", "json")
    assert (code, json.loads(out)["findings"]) == (0, [])
    # a new file in the module changes it too
    (in_tmp / "modules" / "platform" / "nodes.tf").write_text(
        'resource "aws_instance" "i" {\n  ami = "x"\n}\n'
    )
    code, out, _ = cli("scan", ".", "--select", "EKS201", "--format", "json")
    assert [f["location"]["file"] for f in json.loads(out)["findings"]] == [
        "modules/platform/nodes.tf"
    ]


def test_a_cached_caller_is_read_again_after_terraform_init(in_tmp):
    _tree(
        in_tmp,
        {
            "main.tf": 'module "nodes" {\n  source = "app.terraform.io/acme/nodes/aws"\n}\n',
            ".terraform/modules/nodes/main.tf": 'resource "aws_instance" "i" {\n  ami = "x"\n}\n',
        },
    )
    code, _, _ = cli("scan", ".", "--select", "EKS201")
    assert code == 0  # not downloaded yet, as far as the scan can tell
    _modules_json(in_tmp, [{"Key": "nodes", "Source": "x", "Dir": ".terraform/modules/nodes"}])
    code, out, _ = cli("scan", ".", "--select", "EKS201", "--format", "json")
    assert (code, [f["location"]["file"] for f in json.loads(out)["findings"]]) == (
        1,
        [".terraform/modules/nodes/main.tf"],
    )


def test_model_shows_entities_of_module_instances_with_their_call_path(in_tmp):
    _tree(in_tmp, {"main.tf": ROOT, "modules/platform/main.tf": PLATFORM})
    code, out, _ = cli("model", ".")
    assert code == 0
    (cluster,) = [e for e in json.loads(out)["entities"] if e["kind"] == "cluster"]
    assert (cluster["location"]["file"], cluster["fields"]["call_path"]) == (
        "modules/platform/main.tf",
        "module.platform.module.eks",
    )


LABEL = """module "this" {
  source  = "cloudposse/label/null"
  version = "0.25.0"

  enabled = var.enabled
  context = var.context
}

variable "enabled" {
  type    = bool
  default = null
}

variable "context" {
  type    = any
  default = { enabled = true, namespace = null }
}
"""
GATED_ADMIN = """resource "aws_eks_access_policy_association" "admin" {
  count         = module.this.enabled ? 1 : 0
  cluster_name  = "shop"
  principal_arn = "arn:aws:iam::111122223333:role/ops"
  policy_arn    = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
  access_scope {
    type = "cluster"
  }
}
"""


@pytest.mark.parametrize(
    ("root_variables", "expected"),
    [
        ("", [("EKS506", "modules/cluster/main.tf", 5)]),
        ("enabled = false\n", []),
        ('context = { enabled = false, namespace = "x" }\n', []),
    ],
)
def test_cloudposse_modules_are_enabled_as_their_null_label_says(
    tmp_path, root_variables, expected
):
    # every cloudposse module gates its resources on `module.this.enabled`, the output of
    # cloudposse/label/null: `enabled`, else the context's (`true` by default), and a caller
    # hands its own label's `context` down
    module = tmp_path / "modules" / "cluster"
    module.mkdir(parents=True)
    (module / "context.tf").write_text(LABEL)
    (module / "main.tf").write_text(GATED_ADMIN)
    (tmp_path / "context.tf").write_text(LABEL)
    (tmp_path / "main.tf").write_text(
        'module "cluster" {\n  source  = "./modules/cluster"\n  context = module.this.context\n}\n'
    )
    (tmp_path / "terraform.tfvars").write_text(root_variables)
    result = run([tmp_path], select={"EKS506"})
    found = [
        (f.rule_id, str(Path(f.location.file).relative_to(tmp_path)), f.location.start_line)
        for f in result.findings
    ]
    assert found == expected
    assert result.skipped == []


# the wrapper and its two callers, of the hook's fixture tree (its manifests left out)
WRAPPED = ("modules/platform/main.tf", "envs/dev/main.tf", "envs/prod/main.tf")


def test_what_a_known_module_makes_in_a_wrapper_is_of_each_configuration_calling_it(in_tmp):
    """Two environments call one local wrapper of terraform-aws-modules/eks, which writes the
    cluster `shop` and its access entries: each environment's entry is of its own cluster
    (dev's reads access entries, prod's, in CONFIG_MAP mode, does not), and the two entries
    are not one cluster's entry written twice (EKS512) when the configurations differ."""
    tree = FIXTURES / "hook-wrapper-entries"
    _tree(in_tmp, {name: (tree / name).read_text() for name in WRAPPED})
    result = run(["."], select={"EKS512"})
    assert result.findings == []
    # a literal name in two configurations may be one cluster's (in one account and region)
    same = "may be for the same principal and cluster"
    assert [(s.location.start_line, s.reasons) for s in result.skipped] == [
        (8, [f"the access entry at modules/platform/main.tf:8 {same}"])
    ]
    entries = sorted(
        (e.fields["module_dir"], e.fields["call_path"])
        for e in result.entities
        if e.kind == "identity_mapping"
    )
    assert entries == [
        ("envs/dev", "module.platform.module.eks"),
        ("envs/prod", "module.platform.module.eks"),
    ]
    code, out, err = cli("access", ".", "--format", "json", "--show-unknown")
    assert code == 0, err
    report = json.loads(out)
    assert report["summary"]["paths"] == 1 and report["summary"]["unknown"] == 0
    (group,) = report["groups"]
    assert group["power"]["cluster"] == "shop (modules/platform/main.tf via envs/dev)"
    assert [hop["entity_key"] for hop in group["paths"][0]["path"]][0] == (
        'terraform:modules/platform/main.tf:envs/dev:module.platform.module.eks.access_entries["ops"]'
    )
