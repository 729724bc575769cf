"""IAM roles and their permission policies: the `iam_role`, `iam_policy` and
`iam_policy_attachment` entities, whatever wrote them (Terraform, a plan, IAM JSON; module
inputs and CloudFormation call the same three functions), and what a policy lets its holder
do in AWS (RULES.md, "What a role can do in AWS").

A role is linked to its trust statements by `role_key`, to its inline policies and its
attachments by `role_key`, `role_ref` (a Terraform role) or `role_name`; an attachment to a
managed policy of the scan by ARN, `policy_ref` or name. The link stage joins them and computes
each role's `aws_power`:
- `admin`: the AWS managed policy `AdministratorAccess`, or an Allow statement whose actions
  include `*` with Resource `*`;
- `iam_write`: the AWS managed policy `IAMFullAccess` (or `AdministratorAccess`), or an
  Allow statement with Resource `*` whose actions can match `iam:PassRole` or an action of
  `iam:Create*`, `iam:Put*`, `iam:Attach*`, `iam:Update*` (`iam:*`, `iam:Create*`,
  `iam:CreateRole`, `iam:*Role*`...);
- then the names of the attached managed policies and the actions of the Allow statements
  of its inline and scanned managed policies, as written (`!x` for an Allow with NotAction x).
An input not known (a policy ARN, a document, an action or resource written as an
expression, a customer managed policy the scan does not hold) puts an unknown item in the
list: a rule asking whether it contains `admin` is then undecided, unless a known input
decides. Conditions are not read (a statement allowed under a condition still counts), nor
are Deny statements and permission boundaries subtracted; `NotResource` counts as `*`.
"""

from __future__ import annotations

import re
from typing import Any

from checks import kinds
from checks.model import Entity, Location, Problem, Unknown, wildcard_match
from checks.parse import ParseError

# AWS managed policies whose power is known by name
AWS_MANAGED_POWER: dict[str, tuple[str, ...]] = {
    "AdministratorAccess": ("admin", "iam_write"),
    "IAMFullAccess": ("iam_write",),
}
# actions that write IAM: exact ones, and families by prefix (lower case)
IAM_WRITE_ACTIONS = ("iam:passrole",)
IAM_WRITE_PREFIXES = ("iam:create", "iam:put", "iam:attach", "iam:update")
# a managed policy's ARN, its partition and account literal or expressions
_POLICY_ARN = re.compile(r"arn:(?:[\w-]*|\$\{[^}]*\}):iam::([^:/]*|\$\{[^}]*\}):policy/(.*)")


def _common(e: Entity, address: Any, module_dir: Any, resource_type: Any) -> None:
    e.set("address", address)
    e.set("module_dir", module_dir if address is not None else None)
    e.set("resource_type", resource_type)


def role_entity(
    *,
    key: str,
    origin: str,
    location: Location,
    name: Any,
    role_key: str,
    source: str,
    arn: Any = None,
    path: Any = None,
    permissions_boundary: Any = None,
    policies_listed: bool = True,
    address: str | None = None,
    module_dir: str | None = None,
    resource_type: str | None = None,
    spans: dict[str, tuple[int, int]] | None = None,
) -> Entity:
    """An `iam_role`. `role_key` is what its trust statements carry in theirs (the `key`
    given to `iam.trust_statements`); `path` None means AWS's default `/`;
    `policies_listed` False when the input does not say which policies the role has
    (`get-role` output: its power is then unknown but for what other files attach); `spans`
    gives the lines of fields that were written (`name`, `path`...)."""
    spans = spans or {}
    e = Entity("iam_role", key, origin, location)
    _common(e, address, module_dir, resource_type)
    e.set("name", name, span=spans.get("name"))
    e.set("arn", arn, span=spans.get("arn"))
    if path is None:
        kinds.set_default(e, "path")
    else:
        e.set("path", path, span=spans.get("path"))
    e.set("role_key", role_key)
    e.set("source", source)
    e.set("permissions_boundary", permissions_boundary, span=spans.get("permissions_boundary"))
    e.set("policies_listed", policies_listed)
    for field in ("managed_policy_arns", "managed_policy_names", "inline_policy_names"):
        e.set(field, [])
    e.set("aws_power", [])
    return e


def policy_entity(
    *,
    key: str,
    origin: str,
    location: Location,
    document: Any,
    name: Any,
    policy_type: str,
    source: str,
    arn: Any = None,
    role_name: Any = None,
    role_ref: str | None = None,
    role_key: str | None = None,
    address: str | None = None,
    module_dir: str | None = None,
    resource_type: str | None = None,
    document_span: tuple[int, int] | None = None,
) -> tuple[Entity, list[Problem]]:
    """An `iam_policy`: a managed policy (`policy_type` `managed`, with its `arn` when known)
    or a role's inline policy (`inline`, naming its role by `role_key`, `role_ref` or
    `role_name`). `document` is the policy as a structure, JSON text (with lines:
    `policy_text.PolicyText`), or unknown."""
    from checks.normalize import json_keys
    from checks.normalize.policy_text import load_policy

    e = Entity("iam_policy", key, origin, location)
    _common(e, address, module_dir, resource_type)
    e.set("name", name)
    e.set("arn", arn)
    e.set("policy_type", policy_type)
    e.set("source", source)
    e.set("role_name", role_name)
    e.set("role_ref", role_ref)
    e.set("role_key", role_key)
    problems: list[Problem] = []
    duplicates: list = []
    file = getattr(document, "file", "") or location.file
    if isinstance(document, str) and not document.strip():
        document = {}  # an empty policy allows nothing (and Terraform refuses it at plan time)
    try:
        doc = load_policy(document, duplicates)
    except ParseError as exc:
        line = exc.line if getattr(document, "line", 0) else location.start_line
        problems.append(Problem(file, f"policy {_text(name)}: {exc.message}", line))
        doc = Unknown(f"policy {_text(name)} is not valid JSON", _text(name))
    problems += json_keys.iam_problems(file, duplicates, f"policy {_text(name)}")
    actions, admin, iam_write = permissions(doc)
    e.set("allowed_actions", actions, span=document_span)
    e.set("grants_admin", admin, span=document_span)
    e.set("grants_iam_write", iam_write, span=document_span)
    return e, problems


def attachment_entity(
    *,
    key: str,
    origin: str,
    location: Location,
    policy_arn: Any,
    source: str,
    policy_ref: str | None = None,
    policy_name: Any = None,
    role_name: Any = None,
    role_ref: str | None = None,
    role_key: str | None = None,
    address: str | None = None,
    module_dir: str | None = None,
    resource_type: str | None = None,
) -> Entity:
    """An `iam_policy_attachment`: a managed policy attached to a role, the role named by
    `role_key`, `role_ref` or `role_name` (none of them: the one role read from `get-role`
    output in the same directory). `policy_name` is taken from the ARN when not given."""
    e = Entity("iam_policy_attachment", key, origin, location)
    _common(e, address, module_dir, resource_type)
    e.set("role_name", role_name)
    e.set("role_ref", role_ref)
    e.set("role_key", role_key)
    e.set("policy_arn", policy_arn)
    e.set("policy_ref", policy_ref)
    named, aws_managed = policy_arn_parts(policy_arn)
    e.set("policy_name", policy_name if policy_name is not None else named)
    e.set("aws_managed", aws_managed)
    e.set("source", source)
    return e


def policy_arn_parts(arn: Any) -> tuple[Any, Any]:
    """(name, whether AWS manages it) of a managed policy ARN written as text, its partition
    and account literal or expressions (`arn:${data.aws_partition.current.partition}:iam::
    aws:policy/AmazonEKSClusterPolicy`); unknown parts are Unknown."""
    text = arn.text if isinstance(arn, Unknown) else arn
    found = _POLICY_ARN.fullmatch(text) if isinstance(text, str) else None
    if found is None:
        why = Unknown(f"policy ARN {_text(arn)} is not known", _text(arn))
        return why, why
    account, rest = found.groups()
    name = rest.rsplit("/", 1)[-1]
    if not name or "${" in name:
        name = Unknown(f"policy name in {text} is not known", text)
    managed: Any = account == "aws"
    if "${" in account:
        managed = Unknown(f"account in {text} is not known", text)
    return name, managed


def permissions(doc: Any) -> tuple[list, Any, Any]:
    """(allowed actions, grants admin, grants iam_write) of a permission policy document:
    the actions of its Allow statements as written (`!x` for NotAction), with an unknown
    item where the document or a statement is not known."""
    if isinstance(doc, Unknown):
        return [doc], doc, doc
    statements = doc.get("Statement") if isinstance(doc, dict) else None
    if isinstance(statements, dict):
        statements = [statements]
    if isinstance(statements, Unknown):
        return [statements], statements, statements
    if not isinstance(statements, list):
        return [], False, False
    actions: list = []
    admin: list = []
    iam_write: list = []
    for stmt in statements:
        if isinstance(stmt, Unknown):
            actions.append(stmt)
            admin.append(stmt)
            iam_write.append(stmt)
        elif isinstance(stmt, dict):
            found_actions, is_admin, writes = _statement(stmt)
            actions += found_actions
            admin.append(is_admin)
            iam_write.append(writes)
    return _distinct(actions), _any(admin), _any(iam_write)


def _statement(stmt: dict) -> tuple[list, Any, Any]:
    effect = _unresolved(stmt.get("Effect"))
    if not isinstance(effect, Unknown) and str(effect).lower() != "allow":
        return [], False, False
    negated = "NotAction" in stmt
    written = _as_list(stmt.get("NotAction") if negated else stmt.get("Action"))
    patterns = [_unresolved(p) for p in written]
    shown = [p if isinstance(p, Unknown) else ("!" if negated else "") + str(p) for p in patterns]
    if isinstance(effect, Unknown):
        return shown + [effect], effect, effect
    every = _every_resource(stmt)
    missing = next((p for p in patterns if isinstance(p, Unknown)), None)
    known = [str(p).lower() for p in patterns if not isinstance(p, Unknown)]
    if negated:
        # everything but what it names: what it names decides nothing unless known
        if missing is not None:
            return shown, missing, missing
        admin: Any = False
        writes: Any = any(not any(wildcard_match(p, a) for p in known) for a in IAM_WRITE_ACTIONS)
        writes = writes or any(
            not any(_covers_family(p, prefix) for p in known) for prefix in IAM_WRITE_PREFIXES
        )
    else:
        admin = "*" in known
        writes = _writes_iam(known)
        if missing is not None:
            admin = admin or missing
            writes = writes or missing
    return shown, _and(admin, every), _and(writes, every)


def _every_resource(stmt: dict) -> Any:
    """Whether a statement applies to every resource: Resource `*` (or NotResource, which
    leaves out only what it names)."""
    if "NotResource" in stmt:
        return True
    resources = [_unresolved(r) for r in _as_list(stmt.get("Resource"))]
    if "*" in resources:
        return True
    return next((r for r in resources if isinstance(r, Unknown)), False)


def _writes_iam(patterns: list[str]) -> bool:
    """Whether an action pattern can match `iam:PassRole` or an action of a family."""
    return any(
        any(wildcard_match(p, a) for a in IAM_WRITE_ACTIONS)
        or any(_matches_some_with_prefix(p, prefix) for prefix in IAM_WRITE_PREFIXES)
        for p in patterns
    )


def _matches_some_with_prefix(pattern: str, prefix: str) -> bool:
    """Whether some action starting with `prefix` matches `pattern` (`*`, `?`): the
    pattern's positions reachable after reading the prefix."""
    states = _closure(pattern, {0})
    for char in prefix:
        states = _closure(
            pattern,
            {
                i + (pattern[i] != "*")
                for i in states
                if i < len(pattern) and pattern[i] in ("*", "?", char)
            },
        )
        if not states:
            return False
    return True


def _closure(pattern: str, states: set[int]) -> set[int]:
    """Add the positions after each `*` (it may match nothing)."""
    out = set(states)
    todo = list(states)
    while todo:
        i = todo.pop()
        if i < len(pattern) and pattern[i] == "*" and i + 1 not in out:
            out.add(i + 1)
            todo.append(i + 1)
    return out


def _covers_family(pattern: str, prefix: str) -> bool:
    """Whether a NotAction pattern leaves out every action starting with `prefix`."""
    return (
        pattern.endswith("*")
        and "*" not in pattern[:-1]
        and "?" not in pattern[:-1]
        and (prefix.startswith(pattern[:-1]))
    )


def _and(a: Any, b: Any) -> Any:
    if a is False or b is False:
        return False
    if isinstance(a, Unknown):
        return a
    if isinstance(b, Unknown):
        return b
    return bool(a) and bool(b)


def _any(verdicts: list) -> Any:
    if any(v is True for v in verdicts):
        return True
    return next((v for v in verdicts if isinstance(v, Unknown)), False)


def _distinct(items: list) -> list:
    seen: set = set()
    out = []
    for item in items:
        if isinstance(item, Unknown):
            out.append(item)
        elif item not in seen:
            seen.add(item)
            out.append(item)
    return out


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _unresolved(value: Any) -> Any:
    """A value written as an expression (`${...}` in a string) is unknown."""
    if isinstance(value, str) and "${" in value:
        return Unknown(f"{value} is not resolved", value)
    return value


def _text(value: Any) -> str:
    return value.text if isinstance(value, Unknown) else str(value)
