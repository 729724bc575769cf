"""The aws-auth ConfigMap -> `aws_auth_document` + one `identity_mapping` per entry.

`mapRoles`, `mapUsers` and `mapAccounts` are YAML *strings* holding lists; they are parsed
with the same safe loader as any input, and every entry, account items included, keeps its
own lines in the file. The reading is the AWS IAM Authenticator's: the `data` keys are exact,
an empty or blank value (`""`, `''`) holds nothing, entry keys match in any case (`roleARN`),
keys it does not know are ignored, an `sso` permission-set entry stands in for `rolearn`, and
ARNs compare case-insensitively. What would make the mapping not work (EKS504) is collected as
`problems`, never raised; hostile content (an alias bomb, a Python tag, nesting over the
limit) is not a broken mapping but an attack on the reader: an error for the file, like the
same content anywhere else.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

from checks import kinds
from checks.model import Entity, LDict, LList, Location, Problem, Unknown, key_span
from checks.parse import BudgetSpent, ExpansionBudget, ParseError, kind_in_words

ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/(?P<path>(?:[^/]+/)*)(?P<name>[\w+=,.@-]+)")
ROLE_TAIL = re.compile(r"(?P<path>(?:[^/]+/)*)(?P<name>[\w+=,.@-]+)")
USER_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:user/(?:[^/]+/)*[\w+=,.@-]+")
ACCOUNT = re.compile(r"[0-9]{12}")
# what the authenticator accepts in an `sso` entry (IAM Identity Center's own limits)
PERMISSION_SET_NAME = re.compile(r"[0-9A-Za-z_+=,.@-]{1,32}")
PARTITIONS = (
    "aws",
    "aws-cn",
    "aws-us-gov",
    "aws-iso",
    "aws-iso-b",
    "aws-iso-e",
    "aws-iso-f",
    "aws-eusc",
)
NODE_USERNAME = "system:node:{{EC2PrivateDNSName}}"
# what a `${...}` of an ARN may stand for: a partition, an account, a name or a path, a kind,
# the ARN's head, its tail, or all of it
ARN_PIECES = (
    "",
    "aws",
    "123456789012",
    "name",
    "role",
    "user",
    "role/name",
    "user/name",
    "arn:aws:iam::123456789012",
    "arn:aws:iam::123456789012:role/name",
    "arn:aws:iam::123456789012:user/name",
)
MAX_INTERPOLATIONS = 3  # 11 ** 3 candidates at most
ARN_TEXT = re.compile(r"[\w:/+=,.@-]*")
# the `data` keys the authenticator reads, exactly as written there
MAP_KINDS = {"mapRoles": "role", "mapUsers": "user", "mapAccounts": "account"}
_MAPS_FOLDED = {name.lower(): name for name in MAP_KINDS}
# the entry keys each list's entries are read with (any case); others are ignored
ENTRY_KEYS = {
    "role": ("rolearn", "sso", "username", "groups"),
    "user": ("userarn", "username", "groups"),
}
ARN_KEY = {"role": "rolearn", "user": "userarn"}
SSO_KEYS = ("permissionsetname", "accountid", "partition")
# what Go's strings.TrimSpace removes (Unicode White_Space), for values that hold nothing
_GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
_GO_SPACE += "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
# values the authenticator skips as empty (after trimming): no entries, no error
_EMPTY_FORMS = ("", '""', "''", "``")


def quoted(value: Any) -> str:
    """A written value as a message shows it: in double quotes, exactly as the file has it
    (a repr would double backslashes and switch quote characters with the value)."""
    return f'"{value}"'


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
    document = document_entity(file, doc, document_key or key_prefix, origin)
    line = document.location.start_line
    problems: list[str] = []
    hostile: list[Problem] = []
    entities: list[Entity] = [document]
    accounts = LList()
    seen = ArnsSeen()
    if not isinstance(data, dict):
        data = LDict()
    for written in list(data):
        name = _MAPS_FOLDED.get(fold(written)) if isinstance(written, str) else None
        if name is None:
            continue
        span = (data.key_lines.get(written) if isinstance(data, LDict) else None) or (line, line)
        if written != name:
            key = f"{key_prefix}/data/{written}"
            entities.append(_unread_key(file, written, name, span, key, origin))
            continue
        value = data[written]
        if isinstance(value, Unknown):
            entities.append(_unknown_map(file, value, span, name, f"{key_prefix}/{name}", origin))
            if name == "mapAccounts":
                accounts.append(value)
                accounts.item_lines.append(span)
            continue
        # a value written on one line (a JSON string, a quoted YAML or HCL string with `\n`
        # escapes) holds all its entries on that line, not on the lines after it; so does,
        # at its key, a template a `%{for}` or `%{if}` rendered (its lines are its own)
        one_line = getattr(value, "rendered", False) or (
            isinstance(value, str)
            and isinstance(data, LDict)
            and written in data.key_lines
            and span[0] == span[1]
        )
        try:
            items, problem, problem_at = _load_map(value, span[0], structured_ok, budget)
        except BudgetSpent:
            continue  # the file's alias budget ran out on an earlier map: reported there
        except ParseError as exc:
            where = getattr(value, "file", "") or file
            at = span[0] if one_line else exc.line
            hostile.append(Problem(where, f"aws-auth {name}: {exc.message}", at))
            continue
        if problem:
            problems.append(f"{name} {problem}")
            at = span[0] if one_line else problem_at
            document.field_lines.setdefault("problems", (at, at))
            continue
        principal_type = MAP_KINDS[name]
        if name == "mapAccounts":
            accounts.line, accounts.end_line = span
        certain = getattr(items, "certain", len(items))  # the rest may stand for none
        for index, item in enumerate(items):
            item_span = items.span(index) if hasattr(items, "span") else (span[0], span[0])
            if one_line or not item_span[0]:
                item_span = (span[0], span[0])
            key = f"{key_prefix}/{name}[{index}]"
            if principal_type == "account":
                if item is None:
                    continue  # an empty item maps no account
                entity = _account(file, item, item_span, key, origin)
                if index >= certain:  # mapAccounts may hold none: not known to be one
                    entity.set("principal_type", _stand_in(item, name))
                if entity.fields["account"] is not None:
                    accounts.append(entity.fields["account"])
                    accounts.item_lines.append(item_span)
            else:
                entity = _entry(file, item, item_span, name, principal_type, key, origin, seen)
            if one_line:
                entity.location = Location(file, span[0], span[0])
                entity.field_lines = {field: (span[0], span[0]) for field in entity.field_lines}
            entities.append(entity)
    document.set(
        "accounts",
        accounts,
        span=data.key_lines.get("mapAccounts") if isinstance(data, LDict) else None,
    )
    document.set("problems", problems, span=document.field_lines.get("problems"))
    return entities, hostile


def _unknown_map(
    file: str, value: Unknown, span: tuple[int, int], name: str, key: str, origin: str
) -> Entity:
    """A whole `map*` value known only after apply (a variable without a value, a data
    source's output): one mapping not known stands for what it holds, at its key, so that its
    checks are undecided rather than passed. It may hold nothing: of `mapUsers` and
    `mapAccounts`, whose kind of principal alone is a finding, that kind is not known (the
    map says what each entry would be, not that there is one); a user has no role name."""
    principal_type = MAP_KINDS[name]
    e = mapping_entity(file, key, origin, span, name, principal_type)
    if principal_type == "account":
        account_fields(e, value, span, "mapAccounts item", [])
        e.set("principal_type", value)
        return e
    unknown_entry(e, value)
    return _as_user(e, value) if principal_type == "user" else e


def _stand_in(item: Any, name: str) -> Unknown:
    """What an item that stands for any number of items of a list known in part (none
    included) is: not known to be there."""
    if isinstance(item, Unknown):
        return Unknown(item.reason, item.text, item.ref)
    return Unknown(f"{name} is known in part: how many such items it holds is not", name)


def _as_user(e: Entity, item: Unknown) -> Entity:
    """A `mapUsers` entry not known at all (the part of a list known only after apply, which
    may hold none): no user is known to be mapped by it, and a user has no role name."""
    e.set("principal_type", item)
    e.set("role_name", None)
    e.set("role_path", None)
    return e


def _unread_key(
    file: str, written: str, name: str, span: tuple[int, int], key: str, origin: str
) -> Entity:
    """A `data` key that is a map's name in another case: nothing under it is read."""
    e = Entity(kind="aws_auth_key", key=key, origin=origin, location=Location(file, *span))
    e.set("name", written)
    e.set("reads_as", name)
    e.set(
        "problems",
        [
            f"data key {written} is not read (the authenticator reads {name}: data keys are "
            "case-sensitive), so its entries map no one"
        ],
    )
    return e


def document_entity(file: str, doc: Any, key: str, origin: str) -> Entity:
    """The aws-auth ConfigMap as a whole, at the lines of `doc`."""
    line = getattr(doc, "line", 0) or 1
    document = Entity(
        kind="aws_auth_document",
        key=key,
        origin=origin,
        location=Location(file, line, getattr(doc, "end_line", line) or line),
    )
    document.set("name", "aws-auth")
    return document


def fold(key: str) -> str:
    """`key` as Go's encoding/json compares field names: case folded one character at a time
    (`RoleARN`, `roleARN` and `rolearn` are one key; `ß` is not `ss`)."""
    out = []
    for char in key:
        folded = char.casefold()
        out.append(folded if len(folded) == 1 else char)
    return "".join(out)


def read_keys(item: dict, known: tuple[str, ...]) -> dict[str, Any]:
    """The keys of an entry the authenticator reads, by their lower-case name: the written key
    whose value it uses. Its YAML goes through a Go map and JSON, which sorts the keys, so of
    two spellings of one key (`rolearn`, `RoleARN`) the last in that order sets the field; a
    null sets no string (it empties `groups`). Other keys are ignored, as the authenticator
    ignores them."""
    chosen: dict[str, Any] = {}
    for written in sorted(k for k in item if isinstance(k, str)):
        name = fold(written)
        if name not in known:
            continue
        if item[written] is not None or name not in chosen or name == "groups":
            chosen[name] = written
    return chosen


def _load_map(
    value: Any, key_line: int, structured_ok: bool, budget: ExpansionBudget | None
) -> tuple[list, str, int]:
    """The entries of one map*, or a problem (EKS504) and its line; raises the ParseError of
    content refused as hostile."""
    if isinstance(value, (list, dict)) and _encoded(value):
        # Terraform's yamlencode()/jsonencode(): a string, the text of that structure
        return (value, "", 0) if isinstance(value, list) else ([], "is not a YAML list", key_line)
    if isinstance(value, list):
        if structured_ok:
            return value, "", 0
        return [], "must be a YAML string holding a list, not a list", key_line
    if value is None:
        return [], "", 0  # a key with no value: the API server stores it as an empty string
    if not isinstance(value, str):
        return [], f"must be a YAML string holding a list, not {kind_in_words(value)}", key_line
    if str(value).strip(_GO_SPACE) in _EMPTY_FORMS:
        return [], "", 0
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


def _encoded(value: list | dict) -> bool:
    """Whether a structure is what Terraform's yamlencode() or jsonencode() made of it."""
    from checks.normalize.tf_values import Encoded  # only Terraform makes one

    return isinstance(value, Encoded)


def mapping_entity(
    file: str, key: str, origin: str, span: tuple[int, int], map_name: str, principal_type: str
) -> Entity:
    """An aws-auth `identity_mapping` with every field that only access entries have unset."""
    e = Entity(kind="identity_mapping", key=key, origin=origin, location=Location(file, *span))
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
    e.set("map", map_name)
    e.set("principal_type", principal_type)
    e.set("account", None)
    return e


def unknown_entry(e: Entity, item: Unknown) -> Entity:
    """An entry known only after apply (a module output, a `for` expression): neither well
    formed nor broken as far as we can tell."""
    for name in ("principal_arn", "username", "groups", "role_name", "role_path", "problems"):
        e.set(name, item)
    return e


def broken_entry(e: Entity, problem: str) -> Entity:
    """An entry the authenticator cannot read at all (not a mapping)."""
    e.set("principal_arn", None)
    e.set("username", None)
    e.set("groups", [])
    e.set("role_name", None)
    e.set("role_path", None)
    e.set("problems", [problem])
    return e


class ArnsSeen:
    """The ARNs an aws-auth maps so far, as the authenticator keys them: lower-cased, so that
    `role/Users` and `role/USERS` are the same principal mapped twice (one entry replaces the
    other). A path is part of the ARN here: `role/a/Name` is another entry than `role/Name`
    (and one that never matches, EKS505)."""

    def __init__(self) -> None:
        self.first: dict[str, tuple[str, int]] = {}

    def problem(self, arn: str, line: int) -> str | None:
        """None the first time an ARN is seen; after that, the EKS504 problem naming the
        earlier entry."""
        known = self.first.get(arn.lower())
        if known is None:
            self.first[arn.lower()] = (arn, line)
            return None
        written, at = known
        also = f"also at line {at}" if written == arn else f"also at line {at} as {written}"
        return f"{arn} is mapped twice ({also})"


def _interpolated(template: str) -> list[str] | None:
    """The text around each `${...}` of a template (n + 1 parts for n interpolations), or None
    when its braces do not close."""
    parts: list[str] = []
    start = 0
    while (opening := template.find("${", start)) >= 0:
        depth = 0
        for at in range(opening + 1, len(template)):
            depth += {"{": 1, "}": -1}.get(template[at], 0)
            if depth == 0:
                break
        else:
            return None
        parts.append(template[start:opening])
        start = at + 1
    parts.append(template[start:])
    return parts


def may_be_valid(template: str, principal_type: str | None) -> bool:
    """Whether some values of the `${...}` parts of an ARN make it a valid IAM ARN of
    `principal_type` (None: a role or a user). Each part is tried as each piece of an ARN it
    may stand for; with more parts than MAX_INTERPOLATIONS, it may."""
    parts = _interpolated(template)
    if parts is None or not 0 < len(parts) - 1 <= MAX_INTERPOLATIONS:
        return True
    if not all(ARN_TEXT.fullmatch(part) for part in parts):
        return True  # an expression (`try(...)`, `a ? b : c`), not the text of one ARN
    patterns = [USER_ARN] if principal_type == "user" else [ROLE_ARN]
    if principal_type is None:
        patterns.append(USER_ARN)
    for values in itertools.product(ARN_PIECES, repeat=len(parts) - 1):
        candidate = parts[0] + "".join(v + p for v, p in zip(values, parts[1:], strict=True))
        if any(pattern.fullmatch(candidate) for pattern in patterns):
            return True
    return False


def _role_known_in_part(arn: Unknown | str, written: str) -> tuple[Any, Any]:
    """The name and path of a role ARN known only in part, from its text after `:role/` when
    no `${...}` is in it (the account and partition do not change them); None for a user's
    ARN; unknown otherwise (a role's `arn` that AWS computes holds the role's path)."""
    parts = _interpolated(written)
    tail = parts[-1] if parts else ""
    if ":user/" in tail and ":role/" not in tail:
        return None, None
    match = ROLE_TAIL.fullmatch(tail.rsplit(":role/", 1)[-1]) if ":role/" in tail else None
    if match:
        return match.group("name"), match.group("path")
    if isinstance(arn, Unknown) and "${" not in written:
        return arn, arn  # its reason says why (`var.x has no default`)
    unknown = Unknown(f"the path in {written} is not known before apply", written)
    return unknown, unknown


def judge_arn(
    e: Entity,
    arn: Any,
    name: str,
    principal_type: str | None,
    seen: ArnsSeen | None,
    problems: list,
) -> None:
    """Set `role_name`/`role_path` from a written ARN and note what keeps it from mapping;
    `name` is the key it was written under, for the messages; `principal_type` None: a role
    or a user, as the ARN says (eksctl); `seen` None: not an entry of its own (no duplicate)."""
    role_name = role_path = None
    if arn is None:
        problems.append(f"{name} is missing")
    elif isinstance(arn, Unknown) or (isinstance(arn, str) and "${" in arn):
        written = arn.text if isinstance(arn, Unknown) else arn
        if not may_be_valid(written, principal_type):
            what = f"IAM {principal_type}" if principal_type else "IAM role or user"
            problems.append(
                f"{name} {quoted(written)} is not a valid {what} ARN, whatever its parts known "
                "only after apply are"
            )
        elif principal_type != "user":
            role_name, role_path = _role_known_in_part(arn, written)
    elif not isinstance(arn, str):
        problems.append(f"{name} is not a string")
    elif not arn:
        problems.append(f"{name} is empty")
    else:
        kind = principal_type or ("user" if ":user/" in arn else "role")
        match = (ROLE_ARN if kind == "role" else USER_ARN).fullmatch(arn)
        if not match:
            what = f"IAM {principal_type}" if principal_type else "IAM role or user"
            problems.append(f"{name} {quoted(arn)} is not a valid {what} ARN")
        elif kind == "role":
            role_path = match.group("path") or ""
            role_name = match.group("name")
        twice = seen.problem(arn, e.location.start_line) if seen else None
        if twice:
            problems.append(twice)
    e.set("role_name", role_name)
    e.set("role_path", role_path)


def judge_groups(e: Entity, groups: Any, username: Any, problems: list) -> None:
    """Note groups that are not a list of strings, and a node role without `system:nodes`."""
    if isinstance(groups, Unknown) or (
        isinstance(groups, list) and any(isinstance(g, Unknown) for g in groups)
    ):
        return  # known only after apply
    if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
        problems.append("groups is not a list of strings")
    elif username == NODE_USERNAME and "system:nodes" not in groups:
        problems.append("a node role mapping lacks group system:nodes")


def set_groups(e: Entity, entry: Any, written: str | None) -> Any:
    """The entry's groups as written (null: none), or the catalog's default when absent."""
    if written is None:
        return kinds.set_default(e, "groups")
    groups = entry[written]
    if groups is None:
        groups = LList()  # `groups:` with no value: no groups
    e.set(
        "groups",
        groups if isinstance(groups, (list, Unknown)) else [],
        span=key_span(entry, written),
    )
    return groups


def _entry(
    file: str,
    item: Any,
    span: tuple[int, int],
    map_name: str,
    principal_type: str,
    key: str,
    origin: str,
    seen: ArnsSeen,
) -> Entity:
    e = mapping_entity(file, key, origin, span, map_name, principal_type)
    if isinstance(item, Unknown):
        unknown_entry(e, item)
        return _as_user(e, item) if principal_type == "user" else e
    if not isinstance(item, dict):
        return broken_entry(e, f"{map_name} entry is not a mapping")
    keys = read_keys(item, ENTRY_KEYS[principal_type])
    problems: list[str] = []
    arn_key = ARN_KEY[principal_type]
    arn = item[keys[arn_key]] if arn_key in keys else None
    username = item[keys["username"]] if "username" in keys else None
    e.set("username", username, span=key_span(item, keys.get("username")))
    groups = set_groups(e, item, keys.get("groups"))
    sso = item[keys["sso"]] if "sso" in keys else None
    if sso is not None and arn is not None and arn != "":
        e.set("principal_arn", arn, span=key_span(item, keys[arn_key]))
        judge_arn(e, arn, arn_key, principal_type, seen, problems)
        problems.append(f"{arn_key} and sso are both set: the authenticator takes only one")
    elif sso is not None:
        _sso(e, item, keys["sso"], seen, problems)
    else:
        e.set("principal_arn", arn, span=key_span(item, keys.get(arn_key)))
        judge_arn(e, arn, arn_key, principal_type, seen, problems)
        if arn is None:
            other = ARN_KEY["user" if principal_type == "role" else "role"]
            if any(fold(k) == other for k in item if isinstance(k, str)):
                problems[-1] += f" ({other} is not read in {map_name})"
    judge_groups(e, groups, username, problems)
    e.set("problems", problems)
    return e


def _sso(e: Entity, item: dict, written: str, seen: ArnsSeen, problems: list) -> None:
    """An IAM Identity Center permission-set entry: it maps every role the permission set
    creates in the account (`AWSReservedSSO_<name>_<suffix>`), when each part is valid."""
    sso = item[written]
    span = key_span(item, written)
    e.set("role_path", "")
    if isinstance(sso, Unknown):
        e.set("principal_arn", sso, span=span)
        e.set("role_name", sso)
        return
    if not isinstance(sso, dict):
        e.set("principal_arn", None, span=span)
        e.set("role_name", None)
        problems.append("sso is not a mapping of permissionSetName, accountID and partition")
        return
    keys = read_keys(sso, SSO_KEYS)
    name = sso[keys["permissionsetname"]] if "permissionsetname" in keys else None
    account = sso[keys["accountid"]] if "accountid" in keys else None
    partition = sso[keys["partition"]] if "partition" in keys else None
    parts = (name, account, partition)
    if any(isinstance(p, Unknown) or (isinstance(p, str) and "${" in p) for p in parts):
        e.set("principal_arn", Unknown("an sso entry known only after apply"), span=span)
        e.set("role_name", None)
        return
    if isinstance(account, (int, float)) and not isinstance(account, bool):
        # through JSON, a number never fills the authenticator's string field
        problems.append(f"sso accountID {account} is a number: the authenticator reads a string")
    elif not isinstance(account, str) or not ACCOUNT.fullmatch(account):
        shown = (
            "is missing" if account is None else f"{quoted(account)} is not a 12-digit account ID"
        )
        problems.append(f"sso accountID {shown}")
    if not isinstance(name, str) or not PERMISSION_SET_NAME.fullmatch(name):
        shown = "is missing" if name is None else f"{quoted(name)} is not a permission set name"
        problems.append(f"sso permissionSetName {shown}")
    if partition not in (None, "") and partition not in PARTITIONS:
        problems.append(f"sso partition {quoted(partition)} is not an AWS partition")
    role_name = f"AWSReservedSSO_{name}_*"
    arn = f"arn:{partition or 'aws'}:iam::{account}:role/{role_name}"
    e.set("principal_arn", arn, span=span)
    e.set("role_name", role_name)
    if not problems:
        twice = seen.problem(arn, e.location.start_line)
        if twice:
            problems.append(twice)


def _account(file: str, item: Any, span: tuple[int, int], key: str, origin: str) -> Entity:
    """A `mapAccounts` item: every IAM user and role of the account signs in (EKS503)."""
    e = mapping_entity(file, key, origin, span, "mapAccounts", "account")
    account_fields(e, item, span, "mapAccounts item", [])
    return e


def account_fields(
    e: Entity, item: Any, span: tuple[int, int] | None, what: str, problems: list[str]
) -> None:
    """Fill an account mapping: the account as the authenticator compares it (text), and the
    problem of one that can never match the 12-digit account of a caller."""
    account: Any = None
    if isinstance(item, Unknown) or (isinstance(item, str) and "${" in item):
        account = item
    elif isinstance(item, (str, int)) and not isinstance(item, bool):
        account = str(item)
        if not ACCOUNT.fullmatch(account):
            problems.append(f"{what} {quoted(account)} is not a 12-digit AWS account ID")
            account = None
    else:
        problems.append(f"{what} is not an AWS account ID")
    e.set("account", account, span=span)
    e.set("principal_arn", None)
    e.set("username", None)
    e.set("groups", [])
    e.set("role_name", None)
    e.set("role_path", None)
    e.set("problems", problems)
