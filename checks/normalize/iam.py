"""IAM policy documents -> `trust_statement` entities, and IAM JSON files -> their roles.

Every spelling of a trust policy (bare JSON, `get-role` output, authorization details,
Terraform `jsonencode`, heredoc, `file()`, `aws_iam_policy_document`) arrives here as one
Python structure; the IAM semantics rules need are computed once, as named fields. An IAM
JSON file's roles, inline policies, attachments and managed policies become the entities of
`iam_roles.py`.
"""

from __future__ import annotations

import re
from typing import Any

from checks.model import (
    Entity,
    LDict,
    LList,
    Location,
    Problem,
    Unknown,
    items_known,
    key_span,
    span_of,
    wildcard_match,
)
from checks.normalize import iam_roles, json_keys, oidc_providers
from checks.normalize.access import referred_principal_type
from checks.normalize.iam_conditions import is_pattern, narrows
from checks.normalize.policy_text import cli_policy, load_policy
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
    # a policy read from a file (file(), a structure decoded from one) has that file's lines
    file = getattr(policy, "file", "") or file
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
    # of statements known in part (a `for` over a list not known), each one they may hold
    statements = items_known(doc.get("Statement"))
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
            # where the statement is written (a policy document in another file...)
            location=Location(getattr(stmt, "file", "") or file, *stmt_span),
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
    # a value not known that may be "*" where "*" is anyone: the first, if none is "*"
    may_be_any: Unknown | None = None
    if principal == "*":
        any_principal = True
    elif isinstance(principal, dict):
        for ptype, values in principal.items():
            # a list known in part: its known items and a stand-in for each part not known
            values = _as_list(items_known(values))
            kind = str(ptype).lower()
            if kind == "aws" or kind not in PRINCIPAL_TYPES:
                if kind == "aws":
                    aws.extend(values)
                if any(v == "*" for v in values):
                    if kind == "aws":
                        any_principal = True
                    elif may_be_any is None:  # "*" of a type not known: AWS's, or not
                        may_be_any = Unknown(
                            f"principal type {_text(ptype)} is not known", _text(ptype)
                        )
                elif kind == "aws" and may_be_any is None:
                    may_be_any = next(
                        (_unknown_if_template(v) for v in values if _may_be_star(v)), None
                    )
            elif kind == "service":
                service.extend(_service_principal(v) for v in values)
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
        entity.set(
            "principal_any",
            may_be_any if may_be_any and not any_principal else any_principal,
            span=span,
        )
    shown = _principal_text(principal)
    # NotPrincipal names whom the statement leaves out: everyone else is trusted
    entity.set("principal_text", f"everyone but {shown}" if "NotPrincipal" in stmt else shown)
    entity.set("principals_aws", [_unknown_if_template(v) for v in aws], span=span)
    entity.set("account_root_principals", _account_roots(aws), span=span)
    entity.set("principals_service", service, span=span)
    entity.set("principals_federated", [_unknown_if_template(v) for v in federated], span=span)
    return federated


def _account_roots(principals: list) -> list:
    """The AWS principals that name a whole account, as written; an unknown item for a
    principal written all as an expression (it may be an account id), unless it refers to an
    IAM role or user."""
    roots: list = []
    for value in principals:
        text = _text(value)
        if _ACCOUNT_ROOT.fullmatch(text):
            roots.append(text)
        elif (
            _unresolved(value)
            and not text.startswith("arn:")
            and not (isinstance(value, Unknown) and referred_principal_type(value))
        ):
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


# the partition's DNS suffix (amazonaws.com, amazonaws.com.cn in China) as Terraform and
# CloudFormation write it in a service principal's name (a `data "aws_service_principal"`'s
# name is rendered with its `suffix`: `checks.normalize.tf_eval.service_principal`)
_DNS_SUFFIX = re.compile(
    r"\$\{(?:data\.aws_partition\.[\w-]+\.dns_suffix|data\.aws_service_principal\.[\w-]+\.suffix"
    r"|AWS::URLSuffix)\}",
    re.IGNORECASE,
)


def _service_principal(value: Any) -> Any:
    """A Service principal as IAM matches it: in lower case, the partition's DNS suffix
    written as an expression read as `amazonaws.com` (`pods.eks.${AWS::URLSuffix}` is Pod
    Identity's service in every partition, `ec2.${...dns_suffix}` never is); unknown when
    another part of it is not known."""
    written = value.text if isinstance(value, Unknown) else value
    if not isinstance(written, str):
        return value
    if isinstance(value, Unknown) and not _DNS_SUFFIX.search(written):
        return value  # what the unknown says is not the principal's text
    name = _DNS_SUFFIX.sub("amazonaws.com", written)
    if "${" in name:
        return Unknown(f"service principal {written} is not resolved", written)
    return name.lower()


# the principal types IAM knows, as `_principals` reads them (lowercased)
PRINCIPAL_TYPES = ("aws", "service", "federated", "canonicaluser")
# a template's placeholders (`${...}`, as a value not known is written in a text)
_PLACEHOLDER = re.compile(r"\$\{[^{}]*\}")


def _may_be_star(value: Any) -> bool:
    """Whether a principal not known may be "*": a value not known, unless it refers to an
    IAM role or user (`referred_principal_type`), or is written as a template whose text
    outside its placeholders is more than asterisks (an ARN with a placeholder cannot be
    "*")."""
    written = value.text if isinstance(value, Unknown) else value
    if not isinstance(written, str):
        return isinstance(value, Unknown)
    if "${" not in written:
        return isinstance(value, Unknown) and not referred_principal_type(value)
    return not _PLACEHOLDER.sub("", written).strip("*")


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
    """Whether a GitHub or CI/CD provider's project is pinned; null for other kinds. For a
    provider of unknown kind, what every issuer would say, else unknown."""
    if isinstance(conditions, Unknown):
        return (
            None
            if isinstance(kind, str) and kind not in oidc_providers.ISSUER_KINDS
            else conditions
        )
    if isinstance(kind, Unknown):
        verdicts = {
            oidc_providers.project_pinned(k, path, own) for k in oidc_providers.ISSUER_KINDS
        }
        return verdicts.pop() if verdicts in ({True}, {False}) else kind
    if kind not in oidc_providers.ISSUER_KINDS:
        return None
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


def normalize_document(file: str, doc: dict) -> tuple[list[Entity], list[Problem]]:
    """The entities of one IAM JSON file, whichever of the CLI's shapes it has: trust
    statements, roles, their inline policies and managed policy attachments, and the
    customer managed policies of `get-account-authorization-details`."""
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
    source = ""
    if isinstance(doc.get("Role"), dict):
        roles, source = [doc["Role"]], "get-role"
    elif isinstance(doc.get("Roles"), list):
        roles, source = doc["Roles"], "list-roles"
    elif isinstance(doc.get("RoleDetailList"), list):
        roles, source = doc["RoleDetailList"], "get-account-authorization-details"
    out = _Made()
    role_keys = [_role(out, file, index, role, source) for index, role in enumerate(roles)]
    if "PolicyDocument" in doc and isinstance(doc.get("RoleName"), str):
        _inline(out, file, f"iam:{file}:PolicyDocument", doc, doc, "get-role-policy", None)
    attached = doc.get("AttachedPolicies")
    if isinstance(attached, list):
        # beside a get-role output (merged), that role's; alone, the role of the get-role
        # output in the same directory (the link stage)
        role_key = role_keys[0] if len(role_keys) == 1 else None
        _attachments(
            out,
            file,
            f"iam:{file}:AttachedPolicies",
            attached,
            role_key,
            "list-attached-role-policies",
        )
    for index, policy in enumerate(doc.get("Policies") or []):
        if isinstance(policy, dict) and source == "get-account-authorization-details":
            _managed_policy(out, file, f"iam:{file}:Policies[{index}]", policy, source)
    return out.entities, out.problems


class _Made:
    """What an IAM JSON file makes, and the problems found on the way."""

    def __init__(self) -> None:
        self.entities: list[Entity] = []
        self.problems: list[Problem] = []


def _lines(node: Any, default: tuple[int, int] = (1, 1)) -> tuple[int, int]:
    return span_of(node, default)


def _role(out: _Made, file: str, index: int, role: Any, source: str) -> str | None:
    """A role object of the CLI: its trust statements, the role, and (authorization
    details) its inline policies and attachments; returns its role_key."""
    if not isinstance(role, dict):
        return None
    name = role.get("RoleName")
    key = f"iam:{file}:{name}" if isinstance(name, str) else f"iam:{file}:[{index}]"
    where = _lines(role)
    if "AssumeRolePolicyDocument" in role:
        span = role.span("AssumeRolePolicyDocument") if isinstance(role, LDict) else where
        try:
            policy = cli_policy(role["AssumeRolePolicyDocument"])
        except ParseError as exc:
            out.problems.append(
                Problem(file, f"trust policy of role {name}: {exc.message}", span[0])
            )
        else:
            made, found = trust_statements(
                policy,
                key=key,
                origin="iam",
                file=file,
                span=span,
                role_name=name,
                role_arn=role.get("Arn"),
                source=source,
            )
            out.entities += made
            out.problems += found
    boundary = role.get("PermissionsBoundary")
    out.entities.append(
        iam_roles.role_entity(
            key=key,
            origin="iam",
            location=Location(file, *where),
            name=name if name is not None else Unknown("the role has no RoleName", key),
            role_key=key,
            source=source,
            arn=role.get("Arn"),
            path=role.get("Path"),
            permissions_boundary=(
                boundary.get("PermissionsBoundaryArn") if isinstance(boundary, dict) else None
            ),
            # get-role and list-roles say nothing of a role's policies
            policies_listed=source == "get-account-authorization-details",
            spans={
                f: key_span(role, k)
                for f, k in (("name", "RoleName"), ("path", "Path"))
                if key_span(role, k)
            },
        )
    )
    for i, inline in enumerate(role.get("RolePolicyList") or []):
        if isinstance(inline, dict):
            _inline(out, file, f"{key}/RolePolicyList[{i}]", inline, role, source, key)
    attached = role.get("AttachedManagedPolicies")
    if isinstance(attached, list):
        _attachments(out, file, f"{key}/AttachedManagedPolicies", attached, key, source)
    return key


def _inline(
    out: _Made, file: str, key: str, item: dict, role: dict, source: str, role_key: str | None
) -> None:
    """An inline policy: an item of `RolePolicyList`, or `get-role-policy` output."""
    name = item.get("PolicyName")
    document = item.get("PolicyDocument")
    span = key_span(item, "PolicyDocument")
    try:
        document = cli_policy(document)
    except ParseError as exc:
        out.problems.append(Problem(file, f"policy {name}: {exc.message}", (span or (1,))[0]))
        document = Unknown(f"policy {name} is not valid JSON", str(name))
    made, found = iam_roles.policy_entity(
        key=key,
        origin="iam",
        location=Location(file, *_lines(item)),
        document=document,
        name=name,
        policy_type="inline",
        source=source,
        role_name=role.get("RoleName"),
        role_key=role_key,
        document_span=span,
    )
    out.entities.append(made)
    out.problems += found


def _attachments(
    out: _Made, file: str, key: str, items: list, role_key: str | None, source: str
) -> None:
    """`AttachedManagedPolicies` of a role, or `list-attached-role-policies` output."""
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        span = items.span(i) if isinstance(items, LList) else _lines(item)
        out.entities.append(
            iam_roles.attachment_entity(
                key=f"{key}[{i}]",
                origin="iam",
                location=Location(file, *span),
                policy_arn=item.get("PolicyArn"),
                source=source,
                policy_name=item.get("PolicyName"),
                role_key=role_key,
            )
        )


def _managed_policy(out: _Made, file: str, key: str, policy: dict, source: str) -> None:
    """A customer managed policy of authorization details, as its default version says."""
    versions = policy.get("PolicyVersionList")
    default = next(
        (
            v
            for v in versions or []
            if isinstance(v, dict)
            and (
                v.get("IsDefaultVersion") is True
                or v.get("VersionId") == policy.get("DefaultVersionId")
            )
        ),
        None,
    )
    name = policy.get("PolicyName")
    document: Any = Unknown(f"policy {name} has no default version here", str(name))
    span = None
    if default is not None and "Document" in default:
        span = key_span(default, "Document")
        try:
            document = cli_policy(default["Document"])
        except ParseError as exc:
            out.problems.append(Problem(file, f"policy {name}: {exc.message}", (span or (1,))[0]))
    made, found = iam_roles.policy_entity(
        key=key,
        origin="iam",
        location=Location(file, *_lines(policy)),
        document=document,
        name=name,
        policy_type="managed",
        source=source,
        arn=policy.get("Arn"),
        document_span=span,
    )
    out.entities.append(made)
    out.problems += found
