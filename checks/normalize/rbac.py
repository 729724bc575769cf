"""What Kubernetes RBAC lets a subject do (RULES.md 6xx, "capabilities"), for the link stage.

- `rule_facts`: what one rule allows, as the API server's authorizer matches a request to it:
  verbs x apiGroups x resources (`*` matches everything, `*/<sub>` a subresource of every
  resource) x resourceNames (a rule limited to names grants nothing here but `edit_aws_auth`,
  and that only when `aws-auth` is among them). Values the checker cannot know make the
  answer unknown, never false.
- Facts are finer than capabilities where a binding's scope or a second rule matters:
  impersonating ServiceAccounts (namespaced) versus users, groups and uids (cluster-scoped),
  and the two halves of approving certificate signing requests. `capabilities` folds them.
- `builtin_cluster_roles`: Kubernetes' built-in ClusterRoles (checks/data), for bindings of
  roles that are not in the scan and for aggregation.
- `selector_matches`: a label selector of an `aggregationRule`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from checks.kinds import CAPABILITIES
from checks.model import LList, Unknown

CORE = ""
RBAC_GROUP = "rbac.authorization.k8s.io"
CERTIFICATES = "certificates.k8s.io"
ADMISSION = "admissionregistration.k8s.io"
AUTHENTICATION = "authentication.k8s.io"
AWS_AUTH = "aws-auth"

# fact -> (verbs, (apiGroup, resource) pairs): a rule allows the fact when it allows one of
# the verbs on one of the pairs
_REQUESTS: dict[str, tuple[frozenset[str], tuple[tuple[str, str], ...]]] = {
    "read_secrets": (frozenset({"get", "list", "watch"}), ((CORE, "secrets"),)),
    "create_workloads": (
        frozenset({"create"}),
        (
            (CORE, "pods"),
            (CORE, "replicationcontrollers"),
            ("apps", "deployments"),
            ("apps", "replicasets"),
            ("apps", "statefulsets"),
            ("apps", "daemonsets"),
            ("batch", "jobs"),
            ("batch", "cronjobs"),
        ),
    ),
    "exec_pods": (frozenset({"create", "get"}), ((CORE, "pods/exec"), (CORE, "pods/attach"))),
    "node_proxy": (frozenset({"get", "create"}), ((CORE, "nodes/proxy"),)),
    "escalate_bind": (
        frozenset({"escalate", "bind"}),
        ((RBAC_GROUP, "roles"), (RBAC_GROUP, "clusterroles")),
    ),
    "impersonate_serviceaccounts": (frozenset({"impersonate"}), ((CORE, "serviceaccounts"),)),
    "impersonate_identities": (
        frozenset({"impersonate"}),
        ((CORE, "users"), (CORE, "groups"), (AUTHENTICATION, "uids")),
    ),
    "create_tokens": (frozenset({"create"}), ((CORE, "serviceaccounts/token"),)),
    "csr_approval": (
        frozenset({"update", "patch"}),
        ((CERTIFICATES, "certificatesigningrequests/approval"),),
    ),
    "approve_signers": (frozenset({"approve"}), ((CERTIFICATES, "signers"),)),
    "edit_webhooks": (
        frozenset({"create", "update", "patch"}),
        (
            (ADMISSION, "mutatingwebhookconfigurations"),
            (ADMISSION, "validatingwebhookconfigurations"),
        ),
    ),
    "edit_configmaps": (frozenset({"update", "patch", "create"}), ((CORE, "configmaps"),)),
}
FACTS = ("cluster_admin", *_REQUESTS)
# fact -> the capability it is (part of)
CAPABILITY_OF = {
    **{fact: fact for fact in FACTS if fact in CAPABILITIES},
    "impersonate_serviceaccounts": "impersonate",
    "impersonate_identities": "impersonate",
    "csr_approval": "approve_csrs",
    "approve_signers": "approve_csrs",
    "edit_configmaps": "edit_aws_auth",
}
# facts about cluster-scoped resources: only a ClusterRoleBinding grants them
CLUSTER_ONLY = frozenset(
    {"node_proxy", "impersonate_identities", "csr_approval", "approve_signers", "edit_webhooks"}
)
# where editing configmaps reaches aws-auth
AWS_AUTH_SCOPES = frozenset({"cluster", "kube-system"})


# ---- three-valued matching -----------------------------------------------------------------
def _any(values: Any, test) -> Any:
    """True when a known item passes `test`, unknown when none does but an item (or the whole
    list) is unknown, else False."""
    if isinstance(values, Unknown):
        return values
    unknown = None
    for value in values if isinstance(values, list) else []:
        if isinstance(value, Unknown):
            unknown = unknown or value
        elif isinstance(value, str) and test(value):
            return True
    return unknown or False


def _and(*results: Any) -> Any:
    unknown = None
    for r in results:
        if r is False:
            return False
        if isinstance(r, Unknown):
            unknown = unknown or r
    return unknown or True


def _or(results: Iterable[Any]) -> Any:
    unknown = None
    for r in results:
        if r is True:
            return True
        if isinstance(r, Unknown):
            unknown = unknown or r
    return unknown or False


def _not(result: Any) -> Any:
    return result if isinstance(result, Unknown) else not result


def _resource_matches(written: str, resource: str) -> bool:
    """The authorizer's resource match: `*`, the exact resource, or `*/<subresource>`."""
    if written in ("*", resource):
        return True
    _, slash, sub = resource.partition("/")
    return bool(slash) and written == f"*/{sub}"


# rules written alike (a ClusterRole copied into many installations) are judged once per
# process: their facts by their lists, when every item is a literal; emptied at _FACTS_MAX
_FACTS: dict[tuple, dict[str, Any]] = {}
_FACTS_MAX = 4096
_RULE_KEYS = ("verbs", "api_groups", "resources", "resource_names")


def rule_facts(rule: dict) -> dict[str, Any]:
    """The facts one rule allows: fact -> True, or an `Unknown` when a value it depends on
    is unknown. `rule` has the keys of an `rbac_rule` (`api_groups`, `resources`, `verbs`,
    `resource_names`), each a list (items may be unknown) or an unknown value. The answer is
    shared by rules written alike: it is read, never changed."""
    values = [rule[name] for name in _RULE_KEYS]
    if not all(
        type(value) in (list, LList) and all(type(item) is str for item in value)
        for value in values
    ):
        return _rule_facts(rule)
    key = tuple(tuple(value) for value in values)
    found = _FACTS.get(key)
    if found is None:
        if len(_FACTS) >= _FACTS_MAX:
            _FACTS.clear()
        found = _FACTS[key] = _rule_facts(rule)
    return found


def _rule_facts(rule: dict) -> dict[str, Any]:
    verbs, groups, resources = rule["verbs"], rule["api_groups"], rule["resources"]
    names = rule["resource_names"]
    limited = names if isinstance(names, Unknown) else bool(isinstance(names, list) and len(names))
    out: dict[str, Any] = {}
    everything = _and(
        _any(verbs, lambda v: v == "*"),
        _any(resources, lambda r: r == "*"),
        _any(groups, lambda g: g == "*"),
        _not(limited),
    )
    if everything is not False:
        out["cluster_admin"] = everything
    for fact, (wanted_verbs, pairs) in _REQUESTS.items():
        allowed = _and(
            _any(verbs, lambda v, wanted=wanted_verbs: v == "*" or v in wanted),
            _or(
                _and(
                    _any(groups, lambda g, group=group: g in ("*", group)),
                    _any(resources, lambda r, res=resource: _resource_matches(r, res)),
                )
                for group, resource in pairs
            ),
        )
        if fact == "edit_configmaps":
            # the one capability a rule limited to names grants: aws-auth among them
            named = _any(names, lambda n: n == AWS_AUTH) if limited is not False else False
            allowed = _and(allowed, _or((_not(limited), named)))
        else:
            allowed = _and(allowed, _not(limited))
        if allowed is not False:
            out[fact] = allowed
    return out


def capabilities(facts: Iterable[str]) -> list[str]:
    """Capability names, in the catalog's order, of a set of facts that hold together (one
    role, or one binding after its scope): `approve_csrs` takes both of its halves."""
    held = set(facts)
    found = {CAPABILITY_OF[f] for f in held if f not in ("csr_approval", "approve_signers")}
    if {"csr_approval", "approve_signers"} <= held:
        found.add("approve_csrs")
    return [c for c in CAPABILITIES if c in found]


def contributes(facts: Iterable[str]) -> list[str]:
    """The capabilities a rule's facts grant or are part of (`approve_csrs` for either half)."""
    found = {CAPABILITY_OF[f] for f in facts}
    return [c for c in CAPABILITIES if c in found]


def granted_by(fact: str, rule: dict) -> tuple[list[str], list[str]]:
    """The verbs and resources of a rule that allow a fact, as written."""
    verbs = [v for v in rule["verbs"] if isinstance(v, str)]
    resources = [r for r in rule["resources"] if isinstance(r, str)]
    if fact == "cluster_admin":
        return ["*"], ["*"]
    wanted_verbs, pairs = _REQUESTS[fact]
    return (
        [v for v in verbs if v == "*" or v in wanted_verbs],
        [r for r in resources if any(_resource_matches(r, res) for _, res in pairs)],
    )


def grants_text(grants: Iterable[tuple[str, dict]]) -> str:
    """What (fact, rule) pairs grant, per capability and in words:
    `read_secrets (get, list on secrets); impersonate (impersonate on serviceaccounts)`."""
    per: dict[str, tuple[dict, dict]] = {}
    for fact, rule in grants:
        verbs, resources = per.setdefault(CAPABILITY_OF[fact], ({}, {}))
        found_verbs, found_resources = granted_by(fact, rule)
        verbs.update(dict.fromkeys(found_verbs))
        resources.update(dict.fromkeys(found_resources))
    parts = []
    for capability in CAPABILITIES:
        if capability in per:
            verbs, resources = per[capability]
            if capability == "cluster_admin":
                parts.append("cluster_admin (every verb on every resource)")
            else:
                parts.append(f"{capability} ({', '.join(verbs)} on {', '.join(resources)})")
    return "; ".join(parts) if parts else "nothing this checker looks for"


def in_scope(fact: str, scope: Any) -> bool:
    """Whether a binding with `scope` (`cluster` or a namespace) grants the fact."""
    if fact in CLUSTER_ONLY:
        return scope == "cluster"
    if fact == "edit_configmaps":
        return scope in AWS_AUTH_SCOPES
    return True


# ---- label selectors -----------------------------------------------------------------------
def label_pairs(labels: Any) -> list[str]:
    """`metadata.labels` as sorted `key=value` strings (values that are not strings, which the
    API refuses, are left out)."""
    if not isinstance(labels, dict):
        return []
    return sorted(f"{k}={v}" for k, v in labels.items() if isinstance(v, str))


def label_map(pairs: Any) -> dict[str, str]:
    """`key=value` strings (labels, `match_labels`) as a mapping; of a key written twice, the
    last value."""
    out: dict[str, str] = {}
    for pair in pairs if isinstance(pairs, list) else []:
        if isinstance(pair, str):
            key, _, value = pair.partition("=")
            out[key] = value
    return out


def selector_matches(selector: dict, labels: list[str]) -> bool:
    """A LabelSelector (`match_labels`, `match_expressions`) against `key=value` labels: every
    term must hold; an empty selector matches everything; an expression with an operator
    Kubernetes does not know matches nothing (the controller refuses the selector)."""
    have = label_map(labels)
    for key, value in label_map(selector.get("match_labels")).items():
        if have.get(key) != value:
            return False
    for expression in selector.get("match_expressions") or []:
        if not isinstance(expression, dict):
            return False
        key, operator = expression.get("key"), expression.get("operator")
        values = [v for v in expression.get("values") or [] if isinstance(v, str)]
        if operator == "In":
            ok = have.get(key) in values
        elif operator == "NotIn":
            ok = key not in have or have[key] not in values
        elif operator == "Exists":
            ok = key in have
        elif operator == "DoesNotExist":
            ok = key not in have
        else:
            return False
        if not ok:
            return False
    return True


# ---- Kubernetes' built-in ClusterRoles -----------------------------------------------------
DATA = Path(__file__).resolve().parent.parent / "data" / "bootstrap-clusterroles.yaml"
# the built-in roles a binding may refer to without the role being in the scan (RULES.md)
BINDABLE = ("cluster-admin", "admin", "edit", "view")


@dataclass
class BuiltinRole:
    """A built-in ClusterRole: its labels, selectors and rules as the model writes them."""

    name: str
    labels: list[str]
    selectors: list[dict] | None
    rules: list[dict] = field(default_factory=list)


_BUILTINS: dict[str, BuiltinRole] = {}


def builtin_cluster_roles() -> dict[str, BuiltinRole]:
    """The built-in ClusterRoles by name, read once from the package's data file."""
    if not _BUILTINS:
        import json

        # YAML in its JSON form under a header of comments: read without a YAML parser
        lines = DATA.read_text(encoding="utf-8").splitlines(keepends=True)
        doc = json.loads("".join(line for line in lines if not line.startswith("#")))
        for item in doc["items"]:
            name = item["metadata"]["name"]
            rule_of = item.get("aggregationRule")
            _BUILTINS[name] = BuiltinRole(
                name=name,
                labels=label_pairs(item["metadata"].get("labels")),
                selectors=selectors(rule_of) if rule_of is not None else None,
                rules=[rule_fields(r) for r in item.get("rules") or []],
            )
    return _BUILTINS


# `rbac_rule` field -> the manifest's key
MANIFEST_KEYS = {
    "api_groups": "apiGroups",
    "resources": "resources",
    "verbs": "verbs",
    "resource_names": "resourceNames",
    "non_resource_urls": "nonResourceURLs",
}


def rule_fields(rule: dict) -> dict[str, Any]:
    """A manifest's rule (`apiGroups`...) with the keys of an `rbac_rule`."""
    return {name: _strings(rule.get(key)) for name, key in MANIFEST_KEYS.items()}


def selectors(aggregation_rule: Any) -> list[dict]:
    """`aggregationRule.clusterRoleSelectors` as `aggregation_selectors` items."""
    raw = aggregation_rule.get("clusterRoleSelectors") if isinstance(aggregation_rule, dict) else []
    out = []
    for selector in raw if isinstance(raw, list) else []:
        if not isinstance(selector, dict):
            continue
        expressions = selector.get("matchExpressions")
        out.append(
            {
                "match_labels": label_pairs(selector.get("matchLabels")),
                "match_expressions": [
                    {
                        "key": _string(e.get("key")),
                        "operator": _string(e.get("operator")),
                        "values": _strings(e.get("values")),
                    }
                    for e in (expressions if isinstance(expressions, list) else [])
                    if isinstance(e, dict)
                ],
            }
        )
    return out


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _strings(value: Any) -> Any:
    """A list of strings as written, unknown items kept; an unknown list stays unknown; a
    value of another shape is no list at all."""
    if isinstance(value, Unknown):
        return value
    if not isinstance(value, list):
        return []
    return [v for v in value if isinstance(v, (str, Unknown))]
