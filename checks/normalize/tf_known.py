"""What the readers of known modules share: which version of a module a call gets, and how
its inputs are read.

A module's defaults change between versions, so each reader asks which version the call
gets, as Terraform decides it: the version `terraform init` installed when
`.terraform/modules/modules.json` says; else the newest release the `version` constraint
allows (`~> 20.0` is v20, `>= 18.0.0` the newest major); else a git source's `?ref=` tag
(`v20.8.4`, `tags/v13.2.1`); else, with no version (or a commit or branch for a ref), the
newest major this reader knows, said so in the note of every defaulted field.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from checks import kinds
from checks.model import Entity, LDict, LList, Location, Partial, Unknown, UnknownItems, items_known
from checks.normalize.tf_build import Module, note_origin
from checks.parse.hcltree import Block

LATEST = 10**9  # a minor or patch number: the newest release there is


class Version(NamedTuple):
    """The version whose defaults a call gets: `major`, `minor` (LATEST: the newest of its
    major), and `note`, what a defaulted field names as its origin."""

    major: int
    minor: int
    note: str

    def at_least(self, major: int, minor: int = 0) -> bool:
        return (self.major, self.minor) >= (major, minor)


_NUMBER = r"v?(\d{1,6})(?:\.(\d{1,6}|x|\*))?(?:\.(\d{1,6}|x|\*))?(?:[-+][0-9A-Za-z.-]*)?"
_TERM = re.compile(r"\s*(=|!=|>=|<=|>|<|~>)?\s*" + _NUMBER + r"\s*")
_TAG = re.compile(r"(?:refs/tags/|tags/)?" + _NUMBER)
_COMMIT = re.compile(r"[0-9a-f]{7,40}")


def allowed(constraint: str) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """(lowest, newest) release a version constraint allows, as (major, minor, patch) with
    LATEST for "any"; raises ValueError for a constraint that is none (or allows nothing)."""
    low = (0, 0, 0)
    high = (LATEST, LATEST, LATEST)
    for term in constraint.split(","):
        m = _TERM.fullmatch(term)
        if not m:
            raise ValueError(term)
        op, parts = m.group(1) or "=", m.groups()[1:]
        given = [int(p) for p in parts if p is not None and p.isdigit()]
        wild = any(p in ("x", "*") for p in parts if p is not None)
        version = (given + [0, 0, 0])[:3]
        if op == "!=":
            continue
        if op == "~>" or wild:
            low = max(low, tuple(version))
            if len(given) >= 2:
                # the rightmost part given may grow: ~> 1.2 is >= 1.2, < 2; ~> 1.2.3 < 1.3
                top = (given[0], LATEST, LATEST) if len(given) == 2 else (*given[:2], LATEST)
                high = min(high, top)
            elif wild and given:
                high = min(high, (given[0], LATEST, LATEST))
            continue
        if op in (">=", ">"):
            low = max(low, tuple(version))
        elif op == "<=":
            high = min(high, tuple(version))
        elif op == "<":
            high = min(high, _before(tuple(version)))
        else:
            low, high = max(low, tuple(version)), min(high, tuple(version))
    if low > high:
        raise ValueError(constraint)
    return low, high  # type: ignore[return-value]


def _before(version: tuple[int, int, int]) -> tuple[int, int, int]:
    """The newest release before `version`."""
    major, minor, patch = version
    if patch:
        return (major, minor, patch - 1)
    if minor:
        return (major, minor - 1, LATEST)
    if major:
        return (major - 1, LATEST, LATEST)
    raise ValueError("no release before 0.0.0")


def version_of(
    module: Module,
    block: Block,
    file: str,
    installed: str | None,
    family: str,
    newest: int,
    named_for: int | None = None,
) -> Version:
    """The version a call of `family` gets (see the module's docstring). `named_for` is the
    major its inputs' names were written for, when they tell (v21 renamed the EKS module's
    inputs): of several majors a constraint allows, that one is assumed."""

    def exact(text: str, how: str = "") -> Version | None:
        m = _TAG.fullmatch(text.strip())
        if not m:
            return None
        major = int(m.group(1))
        minor = int(m.group(2)) if m.group(2) and m.group(2).isdigit() else LATEST
        return Version(major, minor, f"{family} v{major} default{how}")

    if installed:
        found = exact(installed, " (the version terraform init installed)")
        if found:
            return found
    constraint = module.ev.attribute(block, "version", file)
    if isinstance(constraint, str) and constraint.strip():
        try:
            low, high = allowed(constraint)
        except ValueError:
            pass
        else:
            if low[0] > newest:
                note = f"{family} v{newest} default (v{low[0]} is newer than eks-checks knows)"
                return Version(newest, LATEST, note)
            major = min(high[0], newest)
            how = ""
            if named_for is not None and named_for != major and low[0] <= named_for <= major:
                major, how = named_for, " (assumed from the names of its inputs)"
                return Version(major, LATEST, f"{family} v{major} default{how}")
            minor = high[1] if high[0] == major else LATEST
            return Version(major, minor, f"{family} v{major} default")
    source = module.ev.attribute(block, "source", file)
    if isinstance(source, str) and "?ref=" in source:
        ref = source.split("?ref=", 1)[1].split("&", 1)[0]
        found = exact(ref)
        if found:
            return found
        what = "a commit" if _COMMIT.fullmatch(ref) else "no version tag"
        major = named_for if named_for is not None else newest
        return Version(
            major, LATEST, f"{family} v{major} default (ref {ref[:40]} is {what}: assumed)"
        )
    major = named_for if named_for is not None else newest
    return Version(major, LATEST, f"{family} v{major} default (version not pinned, assumed)")


class Call:
    """A module call being read: its inputs, where each is written, and the version whose
    defaults apply."""

    def __init__(self, module: Module, file: str, block: Block, version: Version) -> None:
        self.module = module
        self.file = file
        self.block = block
        self.version = version
        self.address = module.address(block)
        # inputs whose value is written in another file (a local, a variable's default or
        # variable file): where, and the value, whose mappings' and lists' lines are there
        self.origins: dict[str, tuple[tuple[str, int, int, str], Any]] = {}
        self.elsewhere: set[int] = set()  # ids of those values' mappings and lists

    def value(self, *names: str) -> tuple[Any, tuple[int, int] | None]:
        """The first of `names` the call sets, and its lines; (None, None) when none is."""
        for name in names:
            attr = self.block.attributes.get(name)
            if attr is not None:
                value = self.module.ev.eval(attr.expr, self.file)
                origin = self.module.ev.origin(attr.expr, self.file)
                if origin is not None:
                    self.origins[name] = (origin, value)
                    self.elsewhere.update(_containers(value))
                return value, (attr.line, attr.end_line)
        return None, None

    def span_in(self, container: Any, key: Any, fallback: tuple[int, int]) -> tuple[int, int]:
        """The lines of `container[key]` in the call's file when they are known, else
        `fallback` (the input's own lines): a value written in another file has its lines
        there, which are the input's related location (`note_input`), not lines of this file."""
        if id(container) in self.elsewhere:
            return fallback
        return span_in(container, key, fallback)

    def note_input(self, e: Entity, fields: tuple[str, ...], name: str, key: Any = None) -> None:
        """When input `name` is written in another file, that place (of its item `key` when
        given) is the origin of `fields` of `e`: a finding on them names it."""
        if name not in self.origins:
            return
        (file, start, end, what), value = self.origins[name]
        if key is not None:
            start, end = span_in(value, key, (start, end))
            what += f'["{key}"]' if isinstance(key, str) else f"[{key}]"
        for field in fields:
            e.field_origins[field] = (Location(file, start, end), f"{field} comes from {what}")

    def given(self, *names: str) -> bool:
        return any(name in self.block.attributes for name in names)

    def get(self, name: str, default: Any) -> Any:
        """An input's value, or its default when the call does not set it (or sets null)."""
        value, span = self.value(name)
        return default if span is None or value is None else value

    @property
    def span(self) -> tuple[int, int]:
        return (self.block.line, self.block.end_line)

    def key(self, suffix: str = "") -> str:
        return self.module.key(self.file, self.address + suffix)

    def entity(self, kind: str, suffix: str, span: tuple[int, int] | None, rtype: str) -> Entity:
        """An entity of something the module creates (`suffix` after the call's address in
        its key), located at `span` (default: the call)."""
        e = Entity(
            kind, self.key(suffix), self.module.origin, Location(self.file, *(span or self.span))
        )
        e.set("address", None)
        e.set("module_dir", None)
        e.set("resource_type", rtype)
        kinds.name_settings(e)  # the module's inputs, where they are named otherwise, replace it
        return e

    def put(self, e: Entity, field: str, names: tuple[str, ...], default: Any) -> Any:
        """Copy the first of `names` the call sets into `e`'s field, else the version's
        default (noted as such)."""
        value, span = self.value(*names)
        if span is None:
            e.set(field, default, default=self.version.note)
            return default
        e.set(field, value, span=span)
        attr = next(self.block.attributes[n] for n in names if n in self.block.attributes)
        note_origin(self.module, e, field, attr, self.file)
        return value


def _containers(value: Any) -> list[int]:
    """The ids of the mappings and lists in `value`, all the way down."""
    found: list[int] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            found.append(id(item))
            stack.extend(item.values())
        elif isinstance(item, list):
            found.append(id(item))
            stack.extend(item)
        elif isinstance(item, UnknownItems):
            stack.append(item.item)
        elif isinstance(item, Partial):
            stack.append(item.known)
            stack.extend(item.rest)
    return found


def span_in(container: Any, key: Any, fallback: tuple[int, int]) -> tuple[int, int]:
    """The lines of `container[key]` when they are known, else `fallback`."""
    if isinstance(container, LDict) and key in container.key_lines:
        return container.key_lines[key]
    if isinstance(container, LList) and isinstance(key, int) and key < len(container.item_lines):
        return container.item_lines[key]
    return fallback


def node_role(call: Call, role: Any, via: str, span: tuple[int, int]) -> LList:
    """`instance_metadata.node_roles` of nodes a module makes with one role: the role as
    given (unknown when the module creates it), `via` what gives it, located at `span`."""
    roles = LList(line=span[0], end_line=span[1])
    roles.append(kinds.node_role(role, call.module.reference_of(role), via, call.file, span))
    return roles


def as_list(value: Any) -> list:
    """A value given for a list: the list, a lone value as one item, nothing for null; of a
    list only partly known, its known items and an unknown one for the rest."""
    value = items_known(value)
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def addon(
    call: Call,
    suffix: str,
    span: tuple[int, int],
    rtype: str,
    cluster_name: Any,
    name: Any,
    settings: dict,
    associations: Any,
    source: tuple[str, Any],
) -> list[Entity]:
    """An EKS add-on a module creates (`suffix` after the call's address in its key), with
    the ServiceAccount its `service_account_role_arn` is for and its pod identity
    associations (`[{role_arn, service_account}]`); `source` is the input and the key of its
    item that describe it."""
    from checks.normalize.tf_service_accounts import addon_identities

    e = call.entity("addon", suffix, span, rtype)
    e.set("cluster_name", cluster_name)
    e.set("name", name)
    call.note_input(e, ("name", "service_account_role_arn", "pod_identity_associations"), *source)
    role = settings.get("service_account_role_arn")
    role_span = (
        call.span_in(settings, "service_account_role_arn", span) if role is not None else None
    )
    e.set("service_account_role_arn", role, span=role_span)
    e.set("service_account_role_ref", call.module.reference_of(role))
    items = LList(line=span[0], end_line=span[1])
    pairs = []
    for index, item in enumerate(as_list(associations)):
        if not isinstance(item, dict):
            continue
        where = call.span_in(associations, index, span)
        items.append(
            {"service_account": item.get("service_account"), "role_arn": item.get("role_arn")}
        )
        items.item_lines.append(where)
        pairs.append((item.get("service_account"), item.get("role_arn"), where))
    e.set("pod_identity_associations", items, span=items.item_lines[0] if items else None)
    shown = f"{call.address}{suffix}"
    made = addon_identities(
        call.module, e.key, shown, call.file, span, cluster_name, name, role, role_span, pairs
    )
    return [e, *made]


def role(
    call: Call,
    suffix: str,
    name: Any,
    policies: list[tuple[Any, tuple[int, int] | None]],
    listed: bool,
    what: str,
) -> list[Entity]:
    """The `iam_role` a module creates (`suffix` after the call's address in its key, which its
    trust statements' `role_key` is too) and an `iam_policy_attachment` per (policy ARN,
    lines) of `policies`; `listed` False when the module also attaches policies it writes
    itself (its power is then not known from these alone)."""
    from checks.normalize.iam_roles import attachment_entity, role_entity

    key = call.key(suffix)
    shown = f"{call.address}{suffix}"
    e = role_entity(
        key=key,
        origin=call.module.origin,
        location=Location(call.file, *call.span),
        name=name,
        role_key=key,
        source=call.module.origin,
        arn=Unknown(f"{shown} ({what}) ARN is computed by AWS", f"{shown}.arn"),
        policies_listed=listed,
        resource_type=f"module:{what}",
    )
    out = [e]
    for index, (arn, span) in enumerate(policies):
        out.append(
            attachment_entity(
                key=f"{key}/policies[{index}]",
                origin=call.module.origin,
                location=Location(call.file, *(span or call.span)),
                policy_arn=arn,
                source=call.module.origin,
                policy_ref=call.module.reference_of(arn),
                role_key=key,
                resource_type=f"module:{what}",
            )
        )
    return out


def policy_arns(
    call: Call, value: Any, span: tuple[int, int] | None
) -> list[tuple[Any, tuple[int, int] | None]]:
    """(ARN, lines) of a list or map of policy ARNs as a module input gives them; one unknown
    item for a value not known."""
    if value is None:
        return []
    if isinstance(value, Unknown):
        return [(value, span)]
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list):
        items = list(enumerate(value))
    else:
        return [(value, span)]
    return [(arn, call.span_in(value, key, span) if span else None) for key, arn in items]


AWS_POLICY = "arn:aws:iam::aws:policy/"


def aws_policy(name: str) -> tuple[str, None]:
    """An AWS managed policy a module attaches by itself (no lines of its own)."""
    return (AWS_POLICY + name, None)
