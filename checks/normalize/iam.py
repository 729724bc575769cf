"""IAM policy documents -> `trust_statement` entities.

Every spelling of a trust policy (bare JSON, `get-role` output, authorization details,
Terraform `jsonencode`, heredoc, `file()`, `aws_iam_policy_document`) arrives here as one
Python structure; the IAM semantics rules need are computed once, as named fields.
"""

from __future__ import annotations

import re
from typing import Any

from checks.model import (
    Entity,
    LDict,
    Location,
    Problem,
    Unknown,
    key_span,
    span_of,
    wildcard_match,
)
from checks.normalize import json_keys, oidc_providers
from checks.normalize.iam_conditions import is_pattern, narrows
from checks.parse import ParseError

ASSUME_ACTIONS = (
    "sts:AssumeRole",
    "sts:AssumeRoleWithWebIdentity",
    "sts:AssumeRoleWithSAML",
)
TAG_SESSION = "sts:TagSession"
# a whole account: `arn:<partition>:iam::<account>:root`, the partition and the account as
# literals or expressions (the verdict does not depend on which account), or a bare id
_ACCOUNT_ROOT = re.compile(r"arn:(?:[\w-]*|\$\{[^}]*\}):iam::[^/]*:root|[0-9]{12}")


class PolicyText(str):
    """A policy written as text inside another file: where its first line sits."""

    file: str = ""
    line: int = 0


def load_policy(policy: Any, duplicates: list | None = None) -> Any:
    """A policy given as JSON text becomes a structure with lines (`duplicates` receives the
    keys written twice); anything else passes."""
    if isinstance(policy, str):
        from checks.parse.jsonpos import load

        offset = getattr(policy, "line", 1) - 1 if getattr(policy, "line", 0) else 0
        return load(str(policy), line_offset=offset, duplicates=duplicates)
    return policy


def trust_statements(
    policy: Any,
    *,
    key: str,
    origin: str,
    file: str,
    span: tuple[int, int],
    role_name: Any,
    role_arn: Any = None,
    role_ref: str | None = None,
    source: str = "",
) -> tuple[list[Entity], list[Problem]]:
    """One entity per Allow statement that lets someone assume the role; `key` identifies the
    role (its statements' `role_key`, and the start of their keys)."""
    if isinstance(policy, PolicyText) and policy.file:
        file = policy.file
    if isinstance(policy, str) and not policy.strip():
        return [], []  # an empty policy trusts nobody (and Terraform refuses it at plan time)
    duplicates: list = []
    try:
        doc = load_policy(policy, duplicates)
    except ParseError as exc:
        line = exc.line if getattr(policy, "line", 0) else span[0]
        name = _text(role_name)
        return [], [Problem(file, f"trust policy of role {name}: {exc.message}", line)]
    problems = json_keys.iam_problems(file, duplicates, f"trust policy of role {_text(role_name)}")
    if isinstance(doc, Unknown) or not isinstance(doc, dict):
        return [], problems
    statements = doc.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list):
        return [], problems
    entities = []
    for index, stmt in enumerate(statements):
        if not isinstance(stmt, dict):
            continue
        effect = _unknown_if_template(stmt.get("Effect"))
        if not isinstance(effect, Unknown) and str(effect).lower() != "allow":
            continue  # a Deny, or no valid Effect (IAM refuses the policy)
        granted = _granted_actions(stmt)
        if granted == []:
            continue
        # an Allow whose actions include an assume action; unknown when either is not known
        if isinstance(effect, Unknown):
            granted = Unknown(f"Effect {effect.text} is not known", effect.text)
        allows = granted if isinstance(granted, Unknown) else True
        stmt_span = span_of(stmt, span)
        entity = Entity(
            kind="trust_statement",
            key=f"{key}/statement[{index}]",
            origin=origin,
            location=Location(file, *stmt_span),
        )
        entity.set("role_name", role_name if role_name is not None else Unknown("no role name"))
        entity.set("role_arn", role_arn if role_arn is not None else Unknown("role ARN not known"))
        entity.set("role_ref", role_ref)
        entity.set("role_key", key)
        entity.set("policy_source", source)
        entity.set("sid", stmt.get("Sid", ""))
        entity.set("statement_index", index)
        entity.set("actions", _as_list(stmt.get("Action", stmt.get("NotAction", []))))
        entity.set("granted_actions", granted)
        entity.set("allows_assume", allows)
        federated = _principals(entity, stmt)
        _conditions(entity, stmt)
        _providers(entity, federated)
        entities.append(entity)
    return entities, problems


def _as_list(value: Any) -> list:
    if value is None:
        return []
    if isinstance(value, list):
        return list(value)
    return [value]


def _granted_actions(stmt: dict) -> Any:
    """The sts actions (of ASSUME_ACTIONS + TagSession) the statement allows, with an unknown
    item when an action not known may allow more; Unknown when whether it allows any assume
    action is not known."""
    wanted = ASSUME_ACTIONS + (TAG_SESSION,)
    negated = "NotAction" in stmt
    patterns = _as_list(stmt["NotAction"] if negated else stmt.get("Action"))
    unknown = next((p for p in patterns if _unresolved(p)), None)
    if unknown is not None and negated:
        text = _text(unknown)
        return Unknown(f"NotAction {text} is not known", text)  # what it leaves out
    matched = {a for a in wanted for p in patterns if not _unresolved(p) and _action_matches(p, a)}
    granted: list = [a for a in wanted if (a in matched) != negated]
    if unknown is not None:
        text = _text(unknown)
        missing = Unknown(f"Action {text} is not known", text)
        if not any(a in granted for a in ASSUME_ACTIONS):
            return missing
        if len(granted) < len(wanted):
            granted.append(missing)
        return granted
    if not any(a in granted for a in ASSUME_ACTIONS):
        return []
    return granted


def _unresolved(value: Any) -> bool:
    return isinstance(value, Unknown) or "${" in str(value)


def _action_matches(pattern: Any, action: str) -> bool:
    return wildcard_match(str(pattern).lower(), action.lower())


def _principals(entity: Entity, stmt: dict) -> list:
    """The principal fields; returns the Federated principals as written."""
    aws: list = []
    service: list = []
    federated: list = []
    any_principal = False
    if "NotPrincipal" in stmt:
        # Allow with NotPrincipal admits everyone but the few it names
        any_principal = True
        principal = stmt["NotPrincipal"]
    else:
        principal = stmt.get("Principal")
    if principal == "*":
        any_principal = True
    elif isinstance(principal, dict):
        for ptype, values in principal.items():
            values = _as_list(values)
            kind = str(ptype).lower()
            if kind == "aws":
                aws.extend(values)
                if any(v == "*" for v in values):
                    any_principal = True
            elif kind == "service":
                service.extend(v.lower() if isinstance(v, str) else v for v in values)
            elif kind == "federated":
                federated.extend(values)
    elif isinstance(principal, Unknown):
        entity.set(
            "principal_any",
            Unknown("Principal not known", principal.text),
            span=key_span(stmt, "Principal"),
        )
    span = key_span(stmt, "NotPrincipal" if "NotPrincipal" in stmt else "Principal")
    if "principal_any" not in entity.fields:
        entity.set("principal_any", any_principal, span=span)
    entity.set("principal_text", _principal_text(principal))
    entity.set("principals_aws", [_unknown_if_template(v) for v in aws], span=span)
    entity.set("account_root_principals", _account_roots(aws), span=span)
    entity.set("principals_service", service, span=span)
    entity.set("principals_federated", [_unknown_if_template(v) for v in federated], span=span)
    return federated


def _account_roots(principals: list) -> list:
    """The AWS principals that name a whole account, as written; an unknown item for a
    principal written all as an expression (it may be an account id)."""
    roots: list = []
    for value in principals:
        text = _text(value)
        if _ACCOUNT_ROOT.fullmatch(text):
            roots.append(text)
        elif _unresolved(value) and not text.startswith("arn:"):
            roots.append(
                value if isinstance(value, Unknown) else Unknown(f"{text} is not resolved", text)
            )
    return roots


def _principal_text(principal: Any) -> str:
    if isinstance(principal, dict):
        parts = []
        for k, v in principal.items():
            values = ", ".join(_text(x) for x in _as_list(v))
            parts.append(f"{k}: {values}")
        return "; ".join(parts)
    return _text(principal)


def _text(value: Any) -> str:
    return value.text if isinstance(value, Unknown) else str(value)


def _unknown_if_template(value: Any) -> Any:
    if isinstance(value, str) and "${" in value:
        return Unknown(f"{value} is not resolved", value)
    return value


def _conditions(entity: Entity, stmt: dict) -> None:
    conditions: list[dict] = []
    block = stmt.get("Condition")
    if isinstance(block, dict):
        for operator, tests in block.items():
            if not isinstance(tests, dict):
                continue
            for key, values in tests.items():
                conditions.append(
                    {
                        "operator": str(operator),
                        "key": _text(key).lower(),
                        "values": [_unknown_if_template(v) for v in _as_list(values)],
                    }
                )
    elif isinstance(block, Unknown):
        entity.set("conditions", Unknown("Condition not known", block.text))
    if "conditions" not in entity.fields:
        entity.set("conditions", conditions, span=key_span(stmt, "Condition"))
    entity.set("has_condition", bool(conditions) or isinstance(block, Unknown))
    entity.set("condition_keys", sorted({c["key"] for c in conditions}))
    entity.set("condition_key_suffixes", sorted({c["key"].rsplit(":", 1)[-1] for c in conditions}))

    entity.set("sub_values", _values(conditions, ":sub"))
    entity.set("aud_values", _values(conditions, ":aud"))


def _values(conditions: list[dict], suffix: str) -> list:
    """The values of the positive conditions on keys ending in `suffix`."""
    return [
        v
        for c in conditions
        if c["key"].endswith(suffix) and narrows(c["operator"])
        for v in c["values"]
    ]


def _providers(entity: Entity, federated: list) -> None:
    """One object per Federated principal with what the conditions that bear on it say (a
    `<provider>:` key bears on its own provider only, when both are literal), and the
    statement's summaries of them."""
    conditions = entity.fields["conditions"]
    known = conditions if isinstance(conditions, list) else []
    providers: list[dict] = []
    for value in federated:
        path = oidc_providers.provider_path(value)
        own = [c for c in known if oidc_providers.counts_for(c["key"], path)]
        subs = [c for c in own if c["key"].endswith(":sub") and narrows(c["operator"])]
        sub_values = _values(own, ":sub")
        kind = oidc_providers.kind_of(value, sub_values)
        providers.append(
            {
                "principal": _text(value),
                "kind": kind,
                "provider": path
                if path is not None
                else Unknown(f"the provider of {_text(value)} is not known", _text(value)),
                "condition_keys": sorted({c["key"] for c in own}),
                "sub_values": sub_values,
                "sub_scope": conditions if isinstance(conditions, Unknown) else _sub_scope(subs),
                "aud_values": _values(own, ":aud"),
                "project_pinned": _project_pinned(kind, path, own, conditions),
            }
        )
    entity.set(
        "federated_providers", providers, span=entity.field_lines.get("principals_federated")
    )
    entity.set("federated_kinds", [p["kind"] for p in providers])
    if providers:
        scope = _least_scoped([p["sub_scope"] for p in providers])
    else:
        subs = [c for c in known if c["key"].endswith(":sub") and narrows(c["operator"])]
        scope = _sub_scope(subs)
    entity.set("sub_scope", scope)
    ci = [
        p
        for p in providers
        if isinstance(p["kind"], str) and p["kind"] in oidc_providers.ISSUER_KINDS
    ]
    entity.set("ci_providers", [p["kind"] for p in ci])
    entity.set("ci_subject_pinned", _all_pinned([p["project_pinned"] for p in ci]) if ci else None)


def _project_pinned(kind: Any, path: str | None, own: list[dict], conditions: Any) -> Any:
    """Whether a GitHub or CI/CD provider's project is pinned; null for other kinds (and
    for a kind not known: the rules that read it are undecided on the kind already)."""
    if not isinstance(kind, str) or kind not in oidc_providers.ISSUER_KINDS:
        return None
    if isinstance(conditions, Unknown):
        return conditions
    return oidc_providers.project_pinned(kind, path, own)


_SCOPES = ("none", "wildcard", "scoped")


def _least_scoped(scopes: list) -> Any:
    """`none` before `wildcard` before `scoped`; unknown unless a known scope decides."""
    for scope in _SCOPES[:2]:
        if scope in scopes:
            return scope
    return next((s for s in scopes if isinstance(s, Unknown)), "scoped")


def _all_pinned(verdicts: list) -> Any:
    if any(v is False for v in verdicts):
        return False
    return next((v for v in verdicts if isinstance(v, Unknown)), True)


def _sub_scope(subs: list[dict]) -> Any:
    """none: no subject condition; scoped: some subject condition admits only literal
    subjects; wildcard: every subject condition admits a pattern."""
    if not subs:
        return "none"
    unknown = None
    for cond in subs:
        values = cond["values"]
        if any(isinstance(v, Unknown) for v in values):
            unknown = next(v for v in values if isinstance(v, Unknown))
            continue
        if values and not any(is_pattern(cond["operator"], v) for v in values):
            return "scoped"
    if unknown is not None:
        return Unknown(f"subject condition value {unknown.text} is not resolved", unknown.text)
    return "wildcard"


def cli_policy(value: Any) -> Any:
    """A policy document as the IAM API or an SDK gives it: a JSON object, the same as a
    JSON string, or URL-encoded (the raw API; the AWS CLI and boto3 decode it). A string
    is parsed without lines of its own: its statements are where the string is."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text[:3].upper() == "%7B":
        from urllib.parse import unquote

        text = unquote(text)
    from checks.parse.jsonpos import load

    return load(text, positions=False)


def is_iam_document(doc: Any) -> bool:
    """A bare policy, `get-role` output, `list-roles` or authorization-details output."""
    return isinstance(doc, dict) and (
        "Statement" in doc
        or isinstance(doc.get("Role"), dict)
        or isinstance(doc.get("Roles"), list)
        or isinstance(doc.get("RoleDetailList"), list)
    )


def normalize_document(file: str, doc: dict) -> tuple[list[Entity], list[Problem]]:
    """Trust statements of one IAM JSON file, whichever of the CLI's shapes it has."""
    if "Statement" in doc:
        span = (getattr(doc, "line", 1), getattr(doc, "end_line", 1))
        return trust_statements(
            doc,
            key=f"iam:{file}",
            origin="iam",
            file=file,
            span=span,
            role_name=Unknown("a bare policy document names no role", file),
            source="policy document",
        )
    roles: list = []
    if isinstance(doc.get("Role"), dict):
        roles, source = [doc["Role"]], "get-role"
    elif isinstance(doc.get("Roles"), list):
        roles, source = doc["Roles"], "list-roles"
    else:
        roles, source = doc["RoleDetailList"], "get-account-authorization-details"
    entities: list[Entity] = []
    problems: list[Problem] = []
    for role in roles:
        if not isinstance(role, dict) or "AssumeRolePolicyDocument" not in role:
            continue
        name = role.get("RoleName")
        span = role.span("AssumeRolePolicyDocument") if isinstance(role, LDict) else (1, 1)
        try:
            policy = cli_policy(role["AssumeRolePolicyDocument"])
        except ParseError as exc:
            problems.append(Problem(file, f"trust policy of role {name}: {exc.message}", span[0]))
            continue
        made, found = trust_statements(
            policy,
            key=f"iam:{file}:{name}",
            origin="iam",
            file=file,
            span=span,
            role_name=name,
            role_arn=role.get("Arn"),
            source=source,
        )
        entities.extend(made)
        problems.extend(found)
    return entities, problems
