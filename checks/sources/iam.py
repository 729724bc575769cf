"""IAM JSON: a bare policy document and the AWS CLI's `get-role`, `list-roles`,
`get-account-authorization-details`, `get-role-policy` and `list-attached-role-policies`
output (`checks.normalize.iam` makes the trust statements, roles, policies and attachments)."""

from __future__ import annotations

from typing import Any

from checks.parse import ParseError
from checks.sources.base import JSON, Context, Normalized
from checks.sources.sniff import keys_pattern, text_says

BY_DIRECTORY = False
SYNTAXES = (JSON,)
JSON_KEYS = ("Statement", "Role", "Roles", "RoleDetailList", "AttachedPolicies")
_KEYS = keys_pattern(
    "statement", "role", "roles", "roledetaillist", "assumerolepolicydocument", "attachedpolicies"
)


def is_ours(text: str, error: ParseError | None) -> bool:
    """A policy or CLI output is ours whatever templates it also holds: its keys say so."""
    return text_says(_KEYS, text)


def claims(document: Any) -> bool:
    """A bare policy, or the output of `get-role`, `list-roles`,
    `get-account-authorization-details`, `get-role-policy` or `list-attached-role-policies`."""
    return isinstance(document, dict) and (
        "Statement" in document
        or isinstance(document.get("Role"), dict)
        or isinstance(document.get("Roles"), list)
        or isinstance(document.get("RoleDetailList"), list)
        or ("PolicyDocument" in document and "RoleName" in document)
        or isinstance(document.get("AttachedPolicies"), list)
    )


def normalize(file: str, document: Any, context: Context) -> Normalized:
    """The trust statements, roles, policies and attachments the document holds, and an error
    for each key written twice (IAM refuses such a policy)."""
    from checks.normalize.iam import normalize_document
    from checks.normalize.json_keys import iam_problems

    made, found = normalize_document(file, document)
    return made, found + iam_problems(file, context.duplicates)
