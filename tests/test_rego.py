"""OPA both ways: the rule catalog exported as a Rego bundle gives the scan's findings when a
real Rego engine (regopy) evaluates it over `eks-checks model`, and Rego policies in a
--policy-dir report findings that go through suppressions, baselines and every report.

Rego always runs in a child process (checks/rego/child.py), here as in a scan: regopy's
native library must not share a process with the scan's own."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from checks.rego.export import export
from checks.rego.policy import RegoLimits, available, run_child
from checks.rules import load_bundled, load_dir
from checks.scan import scan
from conftest import FIXTURES, PEER, ROOT, SARIF_SCHEMA, cli

# found, never imported: regopy must not load in the process that scans
pytestmark = pytest.mark.skipif(not available(), reason="the Rego engine is a test extra")

OPERATOR_RULES = FIXTURES / "rego" / "rules"
POLICY = FIXTURES / "rego" / "policy"
# generous: a batch of models takes seconds; a regression fails instead of hanging
BATCH = RegoLimits(timeout=600, memory_mb=4096)

# What the fixtures do not hold: unknown values (a variable without a default) as a field and
# as list items, lists known in part (what `concat` makes of a known list and one that is not
# known), numbers written as floats and as strings, and a list of objects whose item makes an
# any_item condition true.
EDGE_FILES = {
    "eks.tf": """variable "office" {}
variable "public" {}
variable "hops" {}
variable "extra_log" {}
variable "more" {
  type = list(string)
}

resource "aws_eks_cluster" "partly_open" {
  name = "ops-p"
  vpc_config {
    endpoint_public_access = true
    public_access_cidrs    = concat(["10.0.0.0/8", "0.0.0.0/0"], var.more)
  }
  enabled_cluster_log_types = concat(["api"], var.more)
}

resource "aws_eks_cluster" "partly_closed" {
  name = "ops-q"
  vpc_config {
    endpoint_public_access = true
    public_access_cidrs    = concat(["10.0.0.0/8"], var.more)
  }
  enabled_cluster_log_types = concat(["api", "audit"], var.more)
}

resource "aws_eks_cluster" "unknowns" {
  name = "ops-a"
  vpc_config {
    endpoint_public_access = var.public
    public_access_cidrs    = [var.office, "10.0.0.0/8"]
  }
  enabled_cluster_log_types = ["api", var.extra_log]
}

resource "aws_eks_cluster" "quiet" {
  name = "ops-b"
  vpc_config {
    endpoint_public_access  = false
    endpoint_private_access = true
  }
  enabled_cluster_log_types = ["audit", "api", "authenticator"]
  access_config {
    authentication_mode = "API"
  }
}

resource "aws_launch_template" "unknown_hops" {
  metadata_options {
    http_tokens                 = "required"
    http_put_response_hop_limit = var.hops
  }
}

resource "aws_launch_template" "fraction" {
  metadata_options {
    http_put_response_hop_limit = 2.5
  }
}
""",
    "pods.yaml": """apiVersion: v1
kind: Pod
metadata:
  name: tokens
  namespace: edge
spec:
  automountServiceAccountToken: false
  containers: [{name: app, image: nginx}]
  volumes:
    - name: token
      projected:
        sources:
          - serviceAccountToken: {path: a, expirationSeconds: 7200.0}
          - serviceAccountToken: {path: b, expirationSeconds: "7200"}
          - serviceAccountToken: {path: c, expirationSeconds: 1.5e3}
          - serviceAccountToken: {path: d}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: mixed, namespace: edge}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader}
subjects:
  - {kind: User, name: alice}
  - {kind: Group, name: "system:masters"}
  - {kind: ServiceAccount, name: app, namespace: edge}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: reader, namespace: edge}
rules:
  - apiGroups: [""]
    resources: [pods, "pods/log"]
    verbs: [get, list]
  - apiGroups: ["apps"]
    resources: [deployments]
    verbs: ["*"]
""",
}


def _edge_corpus(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in EDGE_FILES.items():
        (directory / name).write_text(text, encoding="utf-8")
    return directory


def _rules() -> list:
    return load_bundled() + load_dir(OPERATOR_RULES)


def _model(path: Path) -> str:
    code, out, err = cli("model", str(path))
    # the peer corpus's folders hold cases that repeat each other's names, which Terraform
    # refuses as one module: the only errors there
    errors = [p for p in json.loads(out)["problems"] if p["level"] == "error"] if out else []
    assert code == 0 or (
        errors and all("declares one name twice" in p["message"] for p in errors)
    ), err
    return out


def _bundle_request(files: dict[str, str], models: list[str], entrypoints: list[str]) -> dict:
    """What `opa eval -b DIR -i model.json` gets: the bundle's modules and data.json."""
    return {
        "modules": [[path, text] for path, text in files.items() if path.endswith(".rego")],
        "data": json.loads(files["data.json"]),
        "inputs": models,
        "entrypoints": entrypoints,
    }


def _as_set(findings: list[dict]) -> set[tuple]:
    """A finding as the scan reports it: rule, entity, message, severity, where it points,
    and the related places with their messages."""
    return {
        (
            f["rule_id"],
            f["entity_key"],
            f["message"],
            f["severity"],
            f["location"]["file"],
            f["location"]["start_line"],
            f["location"]["end_line"],
            tuple(
                (r["location"]["file"], r["location"]["start_line"], r["message"])
                for r in f.get("related", [])
            ),
        )
        for f in findings
    }


def _scan_set(path: Path, rules: list, params: dict | None = None) -> set[tuple]:
    result = scan([str(path)], rules, params)
    return {
        (
            f.rule_id,
            f.entity_key,
            f.message,
            f.severity,
            f.location.file,
            f.location.start_line,
            f.location.end_line,
            tuple((r.location.file, r.location.start_line, r.message) for r in f.related),
        )
        for f in result.findings  # suppressed ones too: suppression comes after evaluation
    }


def _corpora() -> dict[str, Path | None]:
    """Every rule fixture, the examples, the peer corpus, and the edge
    cases (written at run time)."""
    corpora: dict[str, Path | None] = {
        p.name: p for p in sorted((FIXTURES / "rules").iterdir()) if p.is_dir()
    }
    corpora["examples"] = ROOT / "examples"
    corpora["kustomize"] = FIXTURES / "kustomize"  # patches' lines, overlays' related places
    corpora["copies"] = FIXTURES / "copies"  # a key shared by copies names the nearest
    corpora["peer"] = PEER
    corpora["edge"] = None
    return corpora


@pytest.fixture(scope="module")
def bundle_findings(tmp_path_factory):
    """Per corpus: (its path, the bundle's findings over its model, the scan's findings),
    the bundle evaluated for every corpus in one child process."""
    corpora = {
        name: path or _edge_corpus(tmp_path_factory.mktemp("edge"))
        for name, path in _corpora().items()
    }
    rules = _rules()
    files = export(rules, {})
    models = [_model(path) for path in corpora.values()]
    answer = run_child(_bundle_request(files, models, ["eks_checks/findings"]), BATCH)
    assert "error" not in answer, answer
    return {
        name: (path, _as_set(found[0]), _scan_set(path, rules))
        for (name, path), found in zip(corpora.items(), answer["results"], strict=True)
    }


@pytest.mark.parametrize("corpus", list(_corpora()))
def test_bundle_gives_the_scans_findings(corpus, bundle_findings):
    _, by_bundle, by_scan = bundle_findings[corpus]
    assert by_bundle == by_scan


def test_the_differential_test_sees_every_rule_fire(bundle_findings):
    fired = {f[0] for _, found, _ in bundle_findings.values() for f in found}
    assert fired == {r.id for r in _rules()}


def test_bundle_shows_values_as_the_scan_does(bundle_findings):
    """Unknown values show as written, null as (not set), floats as JSON writes them, objects
    with their keys in the catalog's order, and an any_item finding points at the item."""
    edge = bundle_findings["edge"][1]
    by_rule = {}
    for f in edge:
        by_rule.setdefault(f[0], []).append(f)
    assert any(
        "cluster ops-a public=var.public mode=CONFIG_MAP cidrs=[var.office, 10.0.0.0/8] "
        "logs=[api, var.extra_log] version=(not set) auto=false" == f[2]
        for f in by_rule["OPS001"]
    )
    (tokens,) = by_rule["OPS004"]
    assert "tokens [7200.0, 7200, 1.5e3, 3600]" in tokens[2]
    (binding,) = by_rule["OPS005"]
    assert "to [{kind: User, name: alice, namespace: (not set)}, {kind: Group, " in binding[2]
    assert binding[5:7] == (24, 24)  # the subject system:masters, the first that matched
    hops = [f for f in by_rule["OPS003"] if "fraction" in f[1]]
    assert hops[0][2].startswith("aws_launch_template.fraction hop 2.5 tokens optional")


def test_both_engines_judge_a_list_known_in_part_by_the_items_it_surely_holds(bundle_findings):
    """`concat(["10.0.0.0/8", "0.0.0.0/0"], var.more)` surely holds 0.0.0.0/0: open to the
    internet (EKS101), and an any_item finding points at that item; what else it may hold
    leaves every_item and no_item unknown, and a list surely holding no matching item leaves
    contains unknown (the bundle's findings are the scan's: `test_bundle_gives_the_scans_findings`)."""
    edge = bundle_findings["edge"][1]
    keys = {(f[0], f[1].rsplit(":", 1)[-1]): f for f in edge}
    open_cidrs = keys[("EKS101", "aws_eks_cluster.partly_open")]
    assert open_cidrs[2] == (
        'cluster ops-p has a public API endpoint open to concat(["10.0.0.0/8", "0.0.0.0/0"], '
        "var.more)"
    )
    assert ("EKS101", "aws_eks_cluster.partly_closed") not in keys
    item = keys[("OPS011", "aws_eks_cluster.partly_open")]
    assert (Path(item[4]).name, *item[5:7]) == ("eks.tf", 13, 13)  # the list's line
    assert ("OPS011", "aws_eks_cluster.partly_closed") not in keys


def test_a_rule_is_unknown_not_false_on_unknown_values(bundle_findings):
    edge = bundle_findings["edge"][1]
    keys = {(f[0], f[1].rsplit(":", 1)[-1]) for f in edge}
    # hop_limit = var.hops: neither above, below, nor missing: no OPS003 finding
    assert ("OPS003", "aws_launch_template.unknown_hops") not in keys
    # public_access_cidrs = [var.office, ...]: contains 0.0.0.0/0 is unknown, contains "-"
    # in the name is true: the rule fires through its other condition only
    assert ("OPS002", "aws_eks_cluster.unknowns") in keys
    assert ("EKS101", "aws_eks_cluster.unknowns") not in keys


def test_configured_params_go_into_the_bundle_and_change_its_findings(in_tmp):
    (in_tmp / ".eks-checks.yaml").write_text(
        "rules:\n"
        "  EKS202: {params: {max_hop_limit: 2}}\n"
        "  EKS103: {params: {required_log_types: [audit]}}\n"
        "  OPS003: {params: {limit: 3}}\n"
        "  EKS304: {severity: high}\n"
        "fail_on: high\n"
    )
    code, _, err = cli("rego", "export", "bundle", "--policy-dir", str(OPERATOR_RULES))
    assert code == 0, err
    files = {
        str(p.relative_to(in_tmp / "bundle")): p.read_text(encoding="utf-8")
        for p in (in_tmp / "bundle").rglob("*")
        if p.is_file()
    }
    data = json.loads(files["data.json"])["eks_checks"]
    assert data["params"]["EKS202"] == {"max_hop_limit": 2}
    assert data["params"]["EKS103"] == {"required_log_types": ["audit"]}
    assert data["params"]["OPS003"] == {"limit": 3}
    assert data["metadata"]["EKS304"]["severity"] == "high"
    assert data["fail_on"] == "high"
    examples = ROOT / "examples"
    params = {
        "EKS202": {"max_hop_limit": 2},
        "EKS103": {"required_log_types": ["audit"]},
        "OPS003": {"limit": 3},
    }
    rules = _rules()
    for rule in rules:
        if rule.id == "EKS304":
            rule.severity = "high"
    expected = _scan_set(examples, rules, params)
    answer = run_child(
        _bundle_request(files, [_model(examples)], ["eks_checks/findings", "eks_checks/deny"]),
        BATCH,
    )
    found, deny = answer["results"][0]
    assert _as_set(found) == expected
    assert expected != _scan_set(examples, _rules())  # the overrides change what fires
    assert not any(f[0] == "EKS202" for f in expected)
    # conftest's deny: only what fails at fail_on high
    assert {d["rule_id"] for d in deny} == {f[0] for f in expected if f[3] in ("high", "critical")}
    assert all(d["msg"].startswith(d["rule_id"] + ": ") and d["_loc"]["line"] for d in deny)


def test_params_given_at_evaluation_override_the_bundles():
    """`data.eks_checks.params` given at evaluation replaces data.json's; a rule it leaves
    out keeps its defaults."""
    files = export(load_bundled(), {"EKS202": {"max_hop_limit": 5}})
    data = json.loads(files["data.json"])
    data["eks_checks"]["params"] = {"EKS202": {"max_hop_limit": 2}}
    files["data.json"] = json.dumps(data)
    examples = ROOT / "examples"
    answer = run_child(_bundle_request(files, [_model(examples)], ["eks_checks/findings"]), BATCH)
    (found,) = answer["results"][0]
    assert _as_set(found) == _scan_set(examples, load_bundled(), {"EKS202": {"max_hop_limit": 2}})


def test_params_can_be_overridden_in_the_query_with_with():
    files = export(load_bundled(), {})
    files["override.rego"] = (
        "package override\n\nimport rego.v1\n\n"
        "findings := found if {\n"
        "\tfound := data.eks_checks.rules.eks202.findings "
        "with data.eks_checks.params.EKS202.max_hop_limit as 0\n}\n"
    )
    examples = ROOT / "examples"
    answer = run_child(_bundle_request(files, [_model(examples)], ["override/findings"]), BATCH)
    (found,) = answer["results"][0]
    expected = _scan_set(examples, load_bundled(), {"EKS202": {"max_hop_limit": 0}})
    assert _as_set(found) == {f for f in expected if f[0] == "EKS202"}
    assert any("(more than 0)" in f[2] for f in _as_set(found))


def test_export_writes_a_bundle(in_tmp):
    code, _, err = cli("rego", "export", "out")
    assert code == 0, err
    out = in_tmp / "out"
    manifest = json.loads((out / ".manifest").read_text())
    assert manifest["roots"] == ["eks_checks"]
    assert manifest["revision"].startswith("eks-checks-0.1.0+")
    data = json.loads((out / "data.json").read_text())["eks_checks"]
    rules = load_bundled()
    assert sorted(data["metadata"]) == [r.id for r in rules]
    eks202 = data["metadata"]["EKS202"]
    assert eks202["slug"] == "imds-hop-limit-above-one" and eks202["severity"] == "high"
    assert eks202["references"] and eks202["remediation"].startswith("Set `metadata_options")
    assert data["params"]["EKS202"] == {"max_hop_limit": 1}
    assert sorted(p.name for p in (out / "eks_checks" / "rules").iterdir()) == [
        f"{r.id.lower()}.rego" for r in rules
    ]
    module = (out / "eks_checks" / "rules" / "eks202.rego").read_text()
    assert "package eks_checks.rules.eks202\n\nimport rego.v1\n" in module
    assert (out / "eks_checks" / "lib.rego").read_text().startswith("# The library")
    # the same rules give the same bytes; a second export replaces the first
    first = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    (out / "eks_checks" / "rules" / "eks999.rego").write_text("package stale\n")
    code, _, err = cli("rego", "export", "out", "--select", "EKS2")
    assert code == 0, err
    assert sorted(p.name for p in (out / "eks_checks" / "rules").iterdir()) == [
        "eks201.rego",
        "eks202.rego",
    ]
    code, _, _ = cli("rego", "export", "out")
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == first


def test_export_refuses_a_directory_that_is_not_a_bundle(in_tmp):
    (in_tmp / "work").mkdir()
    (in_tmp / "work" / "notes.txt").write_text("mine")
    code, _, err = cli("rego", "export", "work")
    assert code == 2
    assert "work: not empty and not an earlier `eks-checks rego export`" in err
    assert (in_tmp / "work" / "notes.txt").read_text() == "mine"


# ---- Rego policies in --policy-dir -----------------------------------------------------------

CLUSTERS = """resource "aws_eks_cluster" "main" {
  name = "shop-prod"
}

# eks-checks: ignore[ACME101] named before the convention, renamed in Q3
resource "aws_eks_cluster" "legacy" {
  name = "old"
}

resource "aws_eks_cluster" "good" {
  name = "acme-shop-prod"
}
"""
SERVICE_ACCOUNTS = """apiVersion: v1
kind: ServiceAccount
metadata:
  name: worker
  namespace: shop
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: batch
  namespace: shop
  annotations:
    eks-checks.io/ignore: "ACME102: batch jobs use the node role"
"""


@pytest.fixture
def repo(in_tmp):
    (in_tmp / "infra").mkdir()
    (in_tmp / "infra" / "eks.tf").write_text(CLUSTERS)
    (in_tmp / "k8s").mkdir()
    (in_tmp / "k8s" / "sa.yaml").write_text(SERVICE_ACCOUNTS)
    shutil.copytree(POLICY, in_tmp / "policies")
    return in_tmp


def _acme(*args: str) -> tuple[int, str, str]:
    return cli("scan", "infra", "k8s", "--policy-dir", "policies", "--select", "ACME", *args)


def test_rego_policy_findings_in_text(repo):
    code, out, _ = _acme("--no-color")
    assert code == 1
    lines = out.splitlines()
    assert "  infra/eks.tf:2  ACME101  high  cluster shop-prod does not start with acme-" in lines
    assert "  k8s/sa.yaml:1  ACME102  low  ServiceAccount shop/worker has no IAM role" in lines
    assert "old does not start" not in out  # suppressed inline: counted, not listed
    assert out.splitlines()[-1] == "2 findings (1 high, 1 low) in 2 files scanned; 2 suppressed"


def test_rego_policy_findings_in_json(repo):
    code, out, _ = _acme("--format", "json")
    assert code == 1
    findings = {f["entity_key"]: f for f in json.loads(out)["findings"]}
    main = findings["terraform:infra/eks.tf:aws_eks_cluster.main"]
    assert main["rule_id"] == "ACME101" and main["slug"] == "cluster-name-prefix"
    assert main["severity"] == "high"
    assert main["title"] == "Cluster names start with the configured prefix"
    assert main["location"] == {"file": "infra/eks.tf", "start_line": 2, "end_line": 2}
    assert main["remediation"] == "Rename the cluster."
    assert main["references"] == ["https://wiki.example.com/naming"]
    legacy = findings["terraform:infra/eks.tf:aws_eks_cluster.legacy"]
    assert legacy["suppressed"] == {"reason": "named before the convention, renamed in Q3"}
    batch = findings["k8s:shop/ServiceAccount/batch"]
    assert batch["suppressed"] == {"reason": "batch jobs use the node role"}
    assert "terraform:infra/eks.tf:aws_eks_cluster.good" not in findings


def test_rego_policy_findings_in_sarif(repo):
    code, out, _ = _acme("--format", "sarif")
    assert code == 1
    doc = json.loads(out)
    jsonschema.Draft4Validator(json.loads(SARIF_SCHEMA.read_text())).validate(doc)
    run = doc["runs"][0]
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    assert rules["ACME101"]["helpUri"] == "https://wiki.example.com/rules/ACME101"
    assert "helpUri" not in rules["ACME102"]  # the policy gives none; ours would be wrong
    assert rules["ACME101"]["shortDescription"]["text"].startswith("Cluster names start")
    assert rules["ACME101"]["properties"]["security-severity"] == "8.0"
    results = {r["properties"]["entityKey"]: r for r in run["results"]}
    main = results["terraform:infra/eks.tf:aws_eks_cluster.main"]
    assert main["ruleId"] == "ACME101" and main["level"] == "error"
    region = main["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": 2, "endLine": 2, "snippet": {"text": '  name = "shop-prod"\n'}}
    assert results["k8s:shop/ServiceAccount/batch"]["suppressions"][0]["kind"] == "inSource"


def test_rego_policy_findings_are_baselined_selected_and_configured(repo):
    code, _, _ = _acme("--write-baseline", "baseline.json", "--format", "json")
    assert code == 0  # writing a baseline is not a failed gate
    assert {f["rule_id"] for f in json.loads(Path("baseline.json").read_text())["findings"]} == {
        "ACME101",
        "ACME102",
    }
    code, out, _ = _acme("--baseline", "baseline.json", "--no-color")
    assert code == 0
    assert out.splitlines()[-1].endswith("2 suppressed; 2 in the baseline")
    code, out, _ = _acme("--ignore", "ACME101", "--no-color")
    assert code == 1 and "ACME101" not in out and "ACME102" in out
    code, out, _ = _acme("--fail-on", "high", "--ignore", "cluster-name-prefix")
    assert code == 0
    Path(".eks-checks.yaml").write_text(
        "rules:\n  ACME101: {params: {prefix: shop-}}\n  ACME102: {severity: critical}\n"
    )
    code, out, _ = _acme("--no-color")
    assert "cluster acme-shop-prod does not start with shop-" in out
    assert "shop-prod does not start" not in out.replace("acme-shop-prod", "")
    assert "ACME102  critical  ServiceAccount shop/worker has no IAM role" in out


def test_rego_rules_are_listed_and_explained(repo):
    code, out, _ = cli("rules", "--policy-dir", "policies", "--select", "ACME")
    assert code == 0
    assert out.splitlines() == [
        "ACME101  high      cluster-name-prefix        Cluster names start with the configured prefix",
        "ACME102  low       shop-service-account-role  ServiceAccounts in shop have an IAM role",
    ]
    code, out, _ = cli("explain", "ACME101", "--policy-dir", "policies")
    assert code == 0 and "prefix: acme-" in out and "Rename the cluster." in out
    code, out, _ = cli("validate-policies", "policies")
    assert code == 0 and out == "1 of 1 rule files valid\n"


def test_a_policy_that_does_not_compile_fails_with_its_line(repo):
    text = (repo / "policies" / "acme.rego").read_text()
    broken = text.replace("prefix := data.eks_checks.params.ACME101.prefix", "prefix := 1 +")
    (repo / "policies" / "acme.rego").write_text(broken)
    line = broken[: broken.index("prefix := 1 +")].count("\n") + 1
    code, out, _ = _acme("--no-color")
    assert code == 2
    assert f"  policies/acme.rego:{line}  error  Rego policy does not compile: " in out
    code, _, err = cli("validate-policies", "policies")
    assert code == 2 and f"policies/acme.rego:{line}: Rego policy does not compile" in err


def test_a_policy_with_bad_metadata_is_refused_naming_file_line_and_key(repo):
    text = (repo / "policies" / "acme.rego").read_text()
    (repo / "policies" / "acme.rego").write_text(text.replace("severity: high", "severity: huge"))
    code, _, err = _acme()
    assert code == 2
    line = text[: text.index("#   severity: high")].count("\n") + 1
    assert f"invalid policy: policies/acme.rego:{line}: METADATA custom.severity: must be " in err


def test_a_policy_that_returns_what_it_did_not_declare_is_an_error(repo):
    (repo / "policies" / "wrong.rego").write_text(
        "package acme.wrong\n\nimport rego.v1\n\n"
        "# METADATA\n# title: Wrong\n# custom:\n#   id: ACME201\n#   slug: wrong\n"
        "#   severity: low\n#   entity: cluster\n#   remediation: none\n"
        'findings contains {"rule_id": "ACME999", "entity_key": "x", "message": "m"} if true\n\n'
        'findings contains {"rule_id": "ACME201", "entity_key": "nope", "message": "m"} if true\n'
    )
    code, out, _ = _acme("--no-color")
    assert code == 2
    (error,) = [
        line for line in out.splitlines() if "policies/wrong.rego" in line and "error" in line
    ]
    assert "rule_id ACME999 is not declared by a METADATA block (ACME201)" in error
    assert "entity_key nope is not an entity of the model" in error
    assert "cluster shop-prod does not start" in out  # the other policy still reports


def test_without_regopy_a_rego_policy_is_one_error_naming_the_extra(repo, monkeypatch):
    from checks.rego import policy

    monkeypatch.setattr(policy, "available", lambda: False)
    code, out, err = _acme()
    assert code == 2 and out == ""
    assert err == (
        "eks-checks: error: invalid policy: policies/acme.rego: a Rego policy needs the Rego "
        "engine regopy: pip install 'eks-checks[rego]'\n"
    )


def test_a_failing_policy_fails_a_pre_commit_scan_too(repo):
    (repo / "policies" / "acme.rego").write_text(
        (repo / "policies" / "acme.rego")
        .read_text()
        .replace("import rego.v1", "import rego.v1\n\nx := {")
    )
    code, out, _ = cli(
        "scan", "k8s/sa.yaml", "--context-root", ".", "--policy-dir", "policies", "--no-color"
    )
    assert code == 2 and "policies/acme.rego:7  error  Rego policy does not compile" in out


# ---- hostile policies: bounded, reported, never a hang ----------------------------------------

HOSTILE = {
    "loops": "n := count([i | some i in numbers.range(1, 100000); some j in numbers.range(1, 100000); i == j])",
    "grows": 'n := count(concat(",", [sprintf("%d", [i]) | some i in numbers.range(1, 100000000)]))',
    # rego-cpp crashes on this shape (an index read from an argument used as an index)
    "crashes": "n := f({}, 1, {})\n\nf(e, k, w) := e.a[i] if {\n\ti := w[k]\n}",
}


@pytest.mark.parametrize("kind", HOSTILE)
def test_a_hostile_policy_is_stopped_with_an_error(repo, kind):
    (repo / "policies" / "hostile.rego").write_text(
        "package acme.hostile\n\nimport rego.v1\n\n"
        "# METADATA\n# title: Hostile\n# custom:\n#   id: ACME301\n#   slug: hostile\n"
        "#   severity: low\n#   entity: cluster\n#   remediation: none\n"
        "findings contains finding if {\n\tsome entity in input.entities\n"
        '\tfinding := {"rule_id": "ACME301", "entity_key": entity.key, "message": sprintf("%v", [n])}\n}\n\n'
        + HOSTILE[kind]
        + "\n"
    )
    # a child of its own: a regression that hangs fails here instead of hanging the suite
    done = subprocess.run(
        [sys.executable, "-m", "checks", "scan", "infra", "--policy-dir", "policies"]
        + ["--rego-timeout", "3", "--rego-memory", "256", "--no-color"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=repo,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    # the engine does not say which policy: the error names every file it evaluated
    (error,) = [line for line in done.stdout.splitlines() if "policies/acme.rego:22  error" in line]
    assert "(evaluating policies/acme.rego, policies/hostile.rego)" in error
    expected = {
        "loops": "evaluation stopped after 3 s, the time limit",
        "grows": "evaluation stopped at the memory limit (256 MiB",
        "crashes": "the Rego engine was killed by SIGSEGV",
    }[kind]
    assert expected in error
    assert "infra/eks.tf:2  ACME101" not in done.stdout  # one evaluation: all its policies


def test_a_policy_cannot_read_the_environment(repo, monkeypatch):
    """opa.runtime() gives a policy the environment it runs in: a policy from a pull request
    must not print the CI's secrets into a report."""
    monkeypatch.setenv("EKS_CHECKS_TEST_SECRET", "hunter2")
    (repo / "policies" / "env.rego").write_text(
        "package acme.env\n\nimport rego.v1\n\n"
        "# METADATA\n# title: Environment\n# custom:\n#   id: ACME401\n#   slug: env\n"
        "#   severity: low\n#   entity: cluster\n#   remediation: none\n"
        "findings contains finding if {\n\tsome entity in input.entities\n"
        '\tentity.kind == "cluster"\n'
        '\tfinding := {"rule_id": "ACME401", "entity_key": entity.key, '
        '"message": json.marshal(opa.runtime().env)}\n}\n'
    )
    code, out, _ = _acme("--select", "ACME401", "--format", "json")
    (message,) = {f["message"] for f in json.loads(out)["findings"] if f["rule_id"] == "ACME401"}
    assert set(json.loads(message)) <= {"LC_CTYPE"}  # what Python sets for itself
    assert "hunter2" not in out


def test_a_scan_never_loads_the_rego_engine_in_its_own_process(repo):
    """regopy's native library corrupts the heap of a process that also loads google-re2 (the
    scan's regular expressions): it runs in its child process only."""
    code, _, _ = _acme()
    assert code == 1
    assert "regopy" not in sys.modules


def test_a_configured_suppression_covers_rego_findings(repo):
    Path(".eks-checks.yaml").write_text(
        "suppress:\n"
        "  - paths: ['infra/*.tf']\n"
        "    rules: [ACME101]\n"
        "    reason: clusters are renamed in Q3\n"
    )
    code, out, _ = _acme("--format", "json")
    findings = {f["entity_key"]: f for f in json.loads(out)["findings"]}
    main = findings["terraform:infra/eks.tf:aws_eks_cluster.main"]
    assert main["suppressed"] == {"reason": "clusters are renamed in Q3"}
    assert code == 1  # ACME102 on shop/worker is not suppressed


def test_rego_limits_come_from_the_configuration_or_the_flags(repo):
    Path(".eks-checks.yaml").write_text("rego: {timeout: 0}\n")
    code, _, err = _acme()
    assert code == 2 and "$.rego.timeout: 0 is less than or equal to the minimum of 0" in err
    Path(".eks-checks.yaml").write_text("rego: {timeout: 30, memory_mb: 1024}\n")
    assert _acme()[0] == 1
    code, _, err = _acme("--rego-memory", "0")
    assert code == 2 and err == "eks-checks: error: --rego-memory must be more than 0, not 0\n"


def test_a_rego_policy_finding_in_a_module_instance_names_the_call(repo):
    (repo / "infra" / "platform").mkdir()
    (repo / "infra" / "platform" / "main.tf").write_text(
        'variable "name" {}\n\nresource "aws_eks_cluster" "this" {\n  name = var.name\n}\n'
    )
    (repo / "infra" / "platform.tf").write_text(
        'module "platform" {\n  source = "./platform"\n  name   = "team-prod"\n}\n'
    )
    code, out, _ = _acme("--format", "json")
    assert code == 1
    (finding,) = [f for f in json.loads(out)["findings"] if "team-prod" in f["message"]]
    assert finding["location"]["file"] == "infra/platform/main.tf"
    assert [(r["location"]["file"], r["location"]["start_line"]) for r in finding["related"]] == [
        ("infra/platform.tf", 1)
    ]


def _copies_of_worker(repo) -> None:
    """The ServiceAccount shop/worker written twice: dev's has a role, prod's has none."""
    role = "  annotations:\n    eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/w\n"
    for env, extra in (("dev", role), ("prod", "")):
        (repo / "k8s" / env).mkdir()
        (repo / "k8s" / env / "sa.yaml").write_text(
            "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: worker\n"
            f"  namespace: shop\n{extra}"
        )
    (repo / "k8s" / "sa.yaml").unlink()


def _worker_findings() -> tuple[int, list[str], str]:
    code, out, _ = _acme("--format", "json")
    doc = json.loads(out)
    files = sorted(f["location"]["file"] for f in doc["findings"] if f["rule_id"] == "ACME102")
    errors = " ".join(p["message"] for p in doc["problems"] if p["level"] == "error")
    return code, files, errors


def test_a_policy_finding_on_a_key_of_copies_is_on_each_copy_unless_it_names_a_file(repo):
    # copies of one object share a key: a finding naming only the key could mean either, so
    # it is on both (never only on whichever the scan read first); `file` names one
    _copies_of_worker(repo)
    assert _worker_findings() == (1, ["k8s/dev/sa.yaml", "k8s/prod/sa.yaml"], "")
    policy = repo / "policies" / "acme.rego"
    text = policy.read_text()
    with_file = text.replace(
        '"entity_key": entity.key,\n\t\t"message": sprintf("ServiceAccount',
        '"entity_key": entity.key,\n\t\t"file": entity.location.file,\n'
        '\t\t"message": sprintf("ServiceAccount',
    )
    assert with_file != text
    policy.write_text(with_file)
    assert _worker_findings() == (1, ["k8s/prod/sa.yaml"], "")
    policy.write_text(with_file.replace('"file": entity.location.file', '"file": "elsewhere.yaml"'))
    code, files, errors = _worker_findings()
    assert code == 2 and files == []
    assert "no entity of key k8s:shop/ServiceAccount/worker is in file elsewhere.yaml" in errors
