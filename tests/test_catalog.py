"""The catalog of entity kinds (checks/kinds.py) is what the producers make: every entity of
every fixture, example and peer-corpus file has exactly its kind's fields, with values of
the declared types, and links to entities of the declared kinds; the JSON Schemas generated
from the catalog are current and describe the model as written."""

from __future__ import annotations

import json

import jsonschema
import pytest

from checks import kinds, schemagen
from checks.discover import discover
from checks.kinds import KINDS, Type
from checks.model import Entity, Unknown
from checks.scan import build
from checks.sources import classify
from checks.sources.base import Options
from conftest import FIXTURES, PEER, ROOT, cli

CORPORA = [ROOT / "examples", FIXTURES, PEER]


def _entities(path) -> list[Entity]:
    files, _ = discover([str(path)], classify)
    entities, _, *_ = build(files, Options(prefilter=False, roots=[str(path)]))
    return entities


def _type_error(value, declared: Type, where: str) -> str | None:
    """Why `value` is not of the declared type (None and unknown values always are)."""
    if value is None or isinstance(value, Unknown):
        return None
    checks = {
        "string": lambda v: isinstance(v, str),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
        "list": lambda v: isinstance(v, list),
        "object": lambda v: isinstance(v, dict),
    }
    if not checks[declared.name](value):
        return f"{where} = {value!r} is not a {declared.describe()}"
    if declared.name == "list":
        for index, item in enumerate(value):
            if item is None:
                return f"{where}[{index}] is null inside a {declared.describe()}"
            found = _type_error(item, declared.item, f"{where}[{index}]")
            if found:
                return found
    if declared.name == "object":
        names = [f.name for f in declared.fields]
        if sorted(value) != sorted(names):
            return f"{where} has keys {sorted(value)}, not {sorted(names)}"
        for f in declared.fields:
            found = _type_error(value[f.name], f.type, f"{where}.{f.name}")
            if found:
                return found
    return None


@pytest.mark.parametrize("corpus", CORPORA, ids=lambda p: p.name)
def test_every_entity_has_exactly_its_kinds_fields_of_their_types(corpus):
    entities = _entities(corpus)
    kinds_by_key: dict[str, set[str]] = {}
    for e in entities:
        kinds_by_key.setdefault(e.key, set()).add(e.kind)
    wrong = []
    for e in entities:
        kind = KINDS[e.kind]
        declared = set(kind.field_names())
        if set(e.fields) != declared:
            wrong.append(
                f"{e.key}: missing {sorted(declared - set(e.fields))}, "
                f"not declared {sorted(set(e.fields) - declared)}"
            )
            continue
        for f in kind.fields:
            found = _type_error(e.fields[f.name], f.type, f"{e.key}: {f.name}")
            if found:
                wrong.append(found)
        for name, origin in e.defaulted.items():
            assert origin, (e.key, name)
        for name, keys in e.links.items():
            link = kind.link(name)
            if link is None:
                wrong.append(f"{e.key}: link {name} is not declared")
                continue
            if len(set(keys)) != len(keys):
                wrong.append(f"{e.key}: link {name} lists an entity twice: {keys}")
            if not all(link.target in kinds_by_key.get(k, ()) for k in keys):
                wrong.append(f"{e.key}: link {name} reaches {keys}, not a {link.target}")
    assert wrong == []


# Kubernetes objects are keyed by what they are in the cluster (kind, namespace, name): a copy
# written in another file (an overlay, an environment) or document shares its key, and so do
# the rules and aws-auth entries inside it. Every other entity's key is its own.
_OBJECT_KINDS = {"workload", "service_account", "secret", "rbac_role", "rbac_binding"}


def _kubernetes_object(e: Entity) -> tuple | None:
    """What Kubernetes object `e` is, or is a part of; None for anything else."""
    f = e.fields
    if e.kind in _OBJECT_KINDS:
        return (e.kind, f["object_kind"], f["qualified_name"])
    if e.kind == "rbac_rule":
        return (e.kind, f["role_kind"], f["namespace"], f["role_name"], f["index"])
    if e.kind == "aws_auth_document":
        return (e.kind, f["name"])
    if e.kind == "identity_mapping" and f["source"] == "aws-auth":
        return (e.kind, f["map"])
    return None


@pytest.mark.parametrize("corpus", CORPORA, ids=lambda p: p.name)
def test_no_two_entities_share_a_key_unless_they_are_copies_of_one_kubernetes_object(corpus):
    by_key: dict[str, list[Entity]] = {}
    for e in _entities(corpus):
        by_key.setdefault(e.key, []).append(e)
    shared = {key: found for key, found in by_key.items() if len(found) > 1}
    wrong = [
        (key, [(e.kind, e.location.file, e.location.start_line) for e in found])
        for key, found in shared.items()
        if len({_kubernetes_object(e) for e in found}) != 1
        or _kubernetes_object(found[0]) is None
        or len({(e.location.file, e.location.start_line) for e in found}) != len(found)
    ]
    assert wrong == []
    if corpus == FIXTURES:
        assert shared  # the rule above is tested on copies too


def test_a_v19_module_call_keys_its_cluster_and_its_aws_auth_apart():
    made = {
        (e.kind, e.key)
        for e in _entities(FIXTURES / "model")
        if e.location.file.endswith("modules.tf") and e.location.start_line == 4
    }
    key = "terraform:tests/fixtures/model/modules.tf:module.eks_v19"
    assert {("cluster", key), ("aws_auth_document", f"{key}/aws-auth")} <= made


def test_the_corpora_hold_every_kind_from_every_source():
    """So that the test above sees each producer: every kind, and eksctl's and the
    terraform-aws-modules' producers (tests/fixtures/model) as well."""
    seen = {
        (e.kind, e.origin, e.fields.get("resource_type")) for c in CORPORA for e in _entities(c)
    }
    assert {kind for kind, _, _ in seen} == set(KINDS)
    eksctl = {kind for kind, origin, _ in seen if origin == "eksctl"}
    assert eksctl == set(KINDS) - {
        "aws_auth_key",  # eksctl writes the ConfigMap's keys itself
        "workload",
        "secret",
        "rbac_role",
        "rbac_rule",
        "rbac_binding",
        "trust_statement",
        # eksctl's attachPolicyARNs are not read yet
        "iam_role",
        "iam_policy",
        "iam_policy_attachment",
    }
    module_made = {kind for kind, origin, rtype in seen if str(rtype).startswith("module:")}
    assert module_made == {
        "cluster",
        "instance_metadata",
        "identity_mapping",
        "access_policy_association",
        "pod_identity_association",
        "identity_provider",
        "addon",
        "iam_role",
        "iam_policy_attachment",
    }


@pytest.mark.parametrize("corpus", CORPORA, ids=lambda p: p.name)
def test_model_output_matches_the_generated_schema(corpus, monkeypatch):
    monkeypatch.chdir(ROOT)
    code, out, _ = cli("model", str(corpus))
    schema = json.loads((schemagen.SCHEMAS / "model.schema.json").read_text(encoding="utf-8"))
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(json.loads(out)))
    assert [f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]] == []


@pytest.mark.parametrize("name", list(schemagen.GENERATORS))
def test_committed_schemas_are_generated_from_the_catalog(name):
    committed = (schemagen.SCHEMAS / name).read_text(encoding="utf-8")
    assert committed == schemagen.render(name), "run `python -m checks.schemagen`"


def test_defaults_are_the_catalogs():
    """The one place `public_access_cidrs = []` means open to the world: every producer of a
    cluster reads it from the catalog."""
    cidrs = KINDS["cluster"].field_named("public_access_cidrs")
    assert (cidrs.default, cidrs.default_origin, cidrs.empty_means_default) == (
        ["0.0.0.0/0"],
        "AWS default",
        True,
    )
    clusters = {e.key: e for e in _entities(FIXTURES / "model") if e.kind == "cluster"}
    eksctl = clusters["eksctl:tests/fixtures/model/eksctl-cluster.yaml:shop"]
    module = clusters["terraform:tests/fixtures/model/modules.tf:module.eks_v19"]
    for cluster in (eksctl, module):
        assert cluster.fields["public_access_cidrs"] == ["0.0.0.0/0"]
        assert cluster.defaulted["public_access_cidrs"] == "AWS default (empty list)"


def test_the_node_group_defaults_every_reader_shares():
    # one table for what EKS puts in the launch template it creates (Terraform modules,
    # CloudFormation and live exports read it), and the AMI type EKS picks by version
    assert kinds.EKS_NODE_GROUP_IMDS == {"AL2": ("optional", 2), "AL2023": ("required", 1)}
    assert [kinds.eks_ami_type(v) for v in ("1.29", "1.30", " 1.31.2 ", "2.0", None)] == [
        "AL2_x86_64",
        "AL2023_x86_64_STANDARD",
        "AL2023_x86_64_STANDARD",
        None,
        None,
    ]
    assert [
        kinds.ami_family(a)
        for a in ("AL2_ARM_64", "AL2023_ARM_64_STANDARD", "BOTTLEROCKET_x86_64", "AL2", None)
    ] == ["AL2", "AL2023", None, None, None]
