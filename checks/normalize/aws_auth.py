"""The aws-auth ConfigMap -> `aws_auth_document` + one `identity_mapping` per entry.

`mapRoles`, `mapUsers` and `mapAccounts` are YAML *strings* holding lists; they are parsed
with the same safe loader as any input, and every entry keeps its own lines in the file.
What would make the mapping not work (EKS504) is collected as `problems`, never raised;
hostile content (an alias bomb, a Python tag, nesting over the limit) is not a broken mapping
but an attack on the reader: an error for the file, like the same content anywhere else.
"""

from __future__ import annotations

import re
from typing import Any

from checks import kinds
from checks.model import Entity, LDict, Location, Problem, Unknown, key_span
from checks.parse import BudgetSpent, ExpansionBudget, ParseError

ROLE_ARN = re.compile(
    r"^arn:aws[a-z-]*:iam::\d{12}:role/(?P<path>(?:[^/]+/)*)(?P<name>[\w+=,.@-]+)$"
)
USER_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:user/(?:[^/]+/)*[\w+=,.@-]+$")
ACCOUNT = re.compile(r"^\d{12}$")
NODE_USERNAME = "system:node:{{EC2PrivateDNSName}}"
_MAPS = (("mapRoles", "role", "rolearn"), ("mapUsers", "user", "userarn"))


def normalize_config_map(
    file: str,
    doc: Any,
    data: Any,
    *,
    key_prefix: str,
    document_key: str | None = None,
    origin: str = "kubernetes",
    structured_ok: bool = False,
    budget: ExpansionBudget | None = None,
) -> tuple[list[Entity], list[Problem]]:
    """Entities for one aws-auth ConfigMap, and the errors for hostile `map*` strings. The
    entries' keys start with `key_prefix`; the document's is `document_key` (default: the
    prefix). `structured_ok`: Terraform may give the maps as `yamlencode([...])`, a list
    structure rather than a string. `budget`: the file's YAML alias budget, which its maps
    share."""
    line = getattr(doc, "line", 0) or 1
    document = Entity(
        kind="aws_auth_document",
        key=document_key or key_prefix,
        origin=origin,
        location=Location(file, line, getattr(doc, "end_line", line) or line),
    )
    document.set("name", "aws-auth")
    problems: list[str] = []
    hostile: list[Problem] = []
    entities: list[Entity] = [document]
    accounts: list = []
    seen: dict[str, int] = {}
    if not isinstance(data, dict):
        data = LDict()
    for map_key, principal_type, arn_key in _MAPS + (("mapAccounts", "account", None),):
        if map_key not in data:
            continue
        key_span = data.key_lines.get(map_key) if isinstance(data, LDict) else None
        key_line = key_span[0] if key_span else line
        value = data[map_key]
        try:
            items, problem, problem_at = _load_map(value, key_line, structured_ok, budget)
        except BudgetSpent:
            continue  # the file's alias budget ran out on an earlier map: reported there
        except ParseError as exc:
            where = getattr(value, "file", "") or file
            hostile.append(Problem(where, f"aws-auth {map_key}: {exc.message}", exc.line))
            continue
        if problem:
            problems.append(f"{map_key} {problem}")
            document.field_lines.setdefault("problems", (problem_at, problem_at))
            continue
        if map_key == "mapAccounts":
            accounts = list(items)
            if key_span:
                document.field_lines["accounts"] = key_span
            continue
        for index, item in enumerate(items):
            entities.append(
                _entry(
                    file,
                    item,
                    items,
                    index,
                    map_key,
                    principal_type,
                    arn_key,
                    key_prefix,
                    origin,
                    seen,
                    key_line,
                )
            )
    document.set("accounts", accounts, span=document.field_lines.get("accounts"))
    document.set("problems", problems, span=document.field_lines.get("problems"))
    return entities, hostile


def _load_map(
    value: Any, key_line: int, structured_ok: bool, budget: ExpansionBudget | None
) -> tuple[list, str, int]:
    """The entries of one map*, or a problem (EKS504) and its line; raises the ParseError of
    content refused as hostile."""
    if isinstance(value, Unknown):
        return [], "", 0
    if isinstance(value, list):
        if structured_ok:
            return value, "", 0
        return [], "must be a YAML string holding a list, not a list", key_line
    if not isinstance(value, str):
        kind = type(value).__name__
        return [], f"must be a YAML string holding a list, not {kind}", key_line
    from checks.parse.yamlsafe import load_all

    # a `|` block starts on the line after the key; a one-line string on the key's line
    offset = (
        getattr(value, "line", 0) - 1
        if getattr(value, "line", 0)
        else (key_line if "\n" in value.strip("\n") or value.endswith("\n") else key_line - 1)
    )
    try:
        docs = load_all(str(value), line_offset=offset, budget=budget)
    except ParseError as exc:
        if exc.guard:
            raise
        reason = exc.message.removeprefix("invalid YAML: ")
        return [], f"is not valid YAML: {reason}", exc.line or key_line
    if not docs or docs[0] is None:
        return [], "", 0
    if len(docs) > 1 or not isinstance(docs[0], list):
        return [], "is not a YAML list", key_line
    return docs[0], "", 0


def _entry(
    file: str,
    item: Any,
    items: list,
    index: int,
    map_key: str,
    principal_type: str,
    arn_key: str,
    key_prefix: str,
    origin: str,
    seen: dict[str, int],
    key_line: int,
) -> Entity:
    span = items.span(index) if hasattr(items, "span") else (key_line, key_line)
    if not span[0]:
        span = (key_line, key_line)
    e = Entity(
        kind="identity_mapping",
        key=f"{key_prefix}/{map_key}[{index}]",
        origin=origin,
        location=Location(file, *span),
    )
    # what an access entry has and an aws-auth entry does not
    for name in (
        "address",
        "module_dir",
        "resource_type",
        "cluster_name",
        "principal_ref",
        "entry_type",
    ):
        e.set(name, None)
    e.set("source", "aws-auth")
    e.set("map", map_key)
    e.set("principal_type", principal_type)
    problems: list[str] = []
    if isinstance(item, Unknown):
        # an entry known only after apply (a module output, a `for` expression): neither
        # well formed nor broken as far as we can tell
        for name in ("principal_arn", "username", "groups", "role_name", "role_path", "problems"):
            e.set(name, item)
        return e
    if not isinstance(item, dict):
        e.set("principal_arn", None)
        e.set("username", None)
        e.set("groups", [])
        e.set("role_name", None)
        e.set("role_path", None)
        e.set("problems", [f"{map_key} entry is not a mapping"])
        return e
    arn = item.get(arn_key)
    e.set("principal_arn", arn, span=key_span(item, arn_key))
    username = item.get("username")
    e.set("username", username, span=key_span(item, "username"))
    if "groups" in item:
        groups = item["groups"]
        e.set(
            "groups",
            groups if isinstance(groups, (list, Unknown)) else [],
            span=key_span(item, "groups"),
        )
    else:
        groups = kinds.set_default(e, "groups")
    role_name = None
    role_path = None
    if arn is None:
        problems.append(f"{arn_key} is missing")
    elif isinstance(arn, Unknown) or (isinstance(arn, str) and "${" in arn):
        pass
    elif not isinstance(arn, str):
        problems.append(f"{arn_key} is not a string")
    else:
        pattern = ROLE_ARN if principal_type == "role" else USER_ARN
        match = pattern.match(arn)
        if not match:
            problems.append(f"{arn_key} {arn!r} is not a valid IAM {principal_type} ARN")
        elif principal_type == "role":
            role_path = match.group("path") or ""
            role_name = match.group("name")
        if isinstance(arn, str):
            if arn in seen:
                problems.append(f"{arn} is mapped twice (also at line {seen[arn]})")
            else:
                seen[arn] = e.location.start_line
    e.set("role_name", role_name)
    e.set("role_path", role_path)
    if isinstance(groups, Unknown) or (
        isinstance(groups, list) and any(isinstance(g, Unknown) for g in groups)
    ):
        pass  # known only after apply
    elif not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
        problems.append("groups is not a list of strings")
    elif username == NODE_USERNAME and "system:nodes" not in groups:
        problems.append("a node role mapping lacks group system:nodes")
    e.set("problems", problems)
    return e
