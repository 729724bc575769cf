"""The normalized model: entities, their locations, unknown values, problems and findings.

Every stage after parsing speaks these types. Values inside `Entity.fields` are plain JSON-like
Python values, or `Unknown` when the checker cannot know them (an unresolved `var.x`, a module
output). A field whose value came from an AWS or Kubernetes default is listed in
`Entity.defaulted` with the default's origin.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any


class Unknown:
    """A value the checker cannot know. `text` is how it was written (e.g. `${var.x}`),
    `reason` says why it is unknown, `ref` names a Terraform object it refers to, if any."""

    __slots__ = ("reason", "text", "ref")

    def __init__(self, reason: str, text: str = "", ref: str | None = None) -> None:
        self.reason = reason
        self.text = text or reason
        self.ref = ref

    def __repr__(self) -> str:
        return f"Unknown({self.text!r})"

    def __reduce__(self):  # picklable for worker processes
        return (Unknown, (self.reason, self.text, self.ref))


class Partial(Unknown):
    """A collection known in part: `known` holds the items known (an `LList`, or an `LDict`
    by key), `rest` what stands for the items not known, each an `UnknownItems` (any number
    of items of its shape) or an `Unknown` (any number of items, nothing known of them), and
    `maybe` the positions (of a list) or keys (of a map) of the known items that may be
    absent (a `for` whose `if` is not known for them, a key a later map may replace). To every
    function and operator that does not keep shapes it is unknown, as to Terraform before
    apply; what judges the items a collection may hold reads `items_known`: each
    known item, and each item of the rest, is one it may hold."""

    __slots__ = ("known", "rest", "maybe")

    def __init__(
        self,
        reason: str,
        text: str,
        ref: str | None,
        known: Any,
        rest: list | None = None,
        maybe: frozenset = frozenset(),
    ) -> None:
        super().__init__(reason, text, ref)
        self.known = known
        # by default the rest is items of which nothing is known, as concat() of a list not known
        self.rest: list[Unknown] = [Unknown(reason, text, ref)] if rest is None else rest
        self.maybe = maybe

    def __reduce__(self):  # picklable for worker processes
        return (type(self), (self.reason, self.text, self.ref, self.known, self.rest, self.maybe))


class PartialList(Partial):
    """A list whose length is not known but some of whose items are: what `concat` makes of
    known lists and one that is not known (`concat([for t in module.teams : t.role],
    [{ rolearn = ..., groups = ["system:masters"] }])`), or a `for` over a known list whose
    `if` is not known for some items. `known` is an `LList`."""

    __slots__ = ()


class PartialMap(Partial):
    """A map some of whose entries are known and which may hold others: what `merge` makes of
    a known map and one a `for` made over a collection not known, or a `for` over a known map
    whose `if` is not known for some items. `known` is an `LDict`; an `UnknownItems` of
    `rest` has its `key`."""

    __slots__ = ()


def items_judged(value: PartialList) -> list | None:
    """What membership, emptiness and the quantifiers of a rule judge of a list known in
    part: its known items (one not known is an unknown item), each that may be absent an
    unknown item, then an unknown item for each shape of what else it may hold; None when
    it surely holds no item (it may then be empty: it is unknown whole). The model's JSON
    gives OPA the same list (`Entity.to_json`'s `partial`)."""
    items: list = []
    held = False
    for at, item in enumerate(value.known):
        if at in value.maybe:
            items.append(Unknown(value.reason, value.text, value.ref))
        else:
            items.append(item)
            held = True
    if not held:
        return None
    return items + [Unknown(value.reason, value.text, value.ref) for _ in value.rest]


class UnknownItems(Unknown):
    """A list or map whose items are not known, neither how many nor their keys, but whose
    every item, if it holds any, is `item`: what a `for` makes of a collection not known (`{
    for arn in var.admins : arn => { policy_arn = "...ClusterAdminPolicy" } }`), its body
    evaluated with the names the `for` binds not known. `key` is the keys of a map (unknown,
    or a string when the body names one), None for a list. To every function and operator it
    is unknown, as to Terraform before apply; what judges each item a collection may hold
    (access entries, aws-auth roles, a resource's `for_each`) reads `item`."""

    __slots__ = ("item", "key")

    def __init__(self, reason: str, text: str, ref: str | None, item: Any, key: Any = None) -> None:
        super().__init__(reason, text, ref)
        self.item = item
        self.key = key

    def __reduce__(self):  # picklable for worker processes
        return (UnknownItems, (self.reason, self.text, self.ref, self.item, self.key))

    def representative(self) -> LList | LDict:
        """A list of the one item that stands for each the collection may hold, or a map of it
        under its key (an unknown key is its text, its value kept in `unknown_keys`)."""
        if self.key is None:
            return LList([self.item])
        if not isinstance(self.key, Unknown):
            return LDict({self.key: self.item})
        items = LDict({self.key.text: self.item})
        items.unknown_keys[self.key.text] = self.key
        return items


def items_known(value: Any) -> Any:
    """The items a collection may hold, as a known collection: of a `Partial`, its known items
    and, for each part of its rest, the item that stands for each it may hold (an
    `UnknownItems`' item, else an unknown item); of an `UnknownItems`, its item (in a map,
    under its key, an unknown one kept in `unknown_keys`); any other value as it is."""
    if isinstance(value, UnknownItems):
        return value.representative()
    if isinstance(value, PartialMap):
        known = value.known
        out = LDict(known, line=known.line, end_line=known.end_line, file=known.file)
        out.key_lines = dict(known.key_lines)
        out.unknown_keys = dict(known.unknown_keys)
        for part in value.rest:
            if isinstance(part, UnknownItems) and part.key is not None:
                key, item = next(iter(part.representative().items()))
            else:
                key, item = part.text, part
            key_value = part.key if isinstance(part, UnknownItems) else part
            name, n = key, 1
            while name in out:  # another part written the same: its own key all the same
                n += 1
                name = f"{key} ({n})"
            out[name] = item
            if isinstance(key_value, Unknown):
                out.unknown_keys[name] = key_value
        return out
    if not isinstance(value, PartialList):
        return value
    out = LList(value.known, line=value.known.line, end_line=value.known.end_line)
    for part in value.rest:
        if isinstance(part, UnknownItems):
            out.append(part.item)
        else:
            out.append(Unknown(part.reason, part.text, part.ref))
    if value.known.item_lines:
        out.item_lines = [*value.known.item_lines, *[(0, 0)] * len(value.rest)]
    return out


class LDict(dict):
    """A mapping that remembers where it was written: `line`/`end_line` of the whole mapping
    and `key_lines[key] = (start, end)` of each entry, taken from the parser's marks, and
    `file` when it was written in another file than what holds it ("" when the same).
    `unknown_keys[key]` is the unknown value of a key written as an expression that is not
    known (the key is its text): a reader for which keys are data (principal ARNs) reads it."""

    __slots__ = ("line", "end_line", "key_lines", "file", "unknown_keys")

    def __init__(
        self, *args: Any, line: int = 0, end_line: int = 0, file: str = "", **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.line = line
        self.end_line = end_line or line
        self.key_lines: dict[Any, tuple[int, int]] = {}
        self.file = file
        self.unknown_keys: dict[Any, Unknown] = {}

    def __reduce__(self):
        return (
            _rebuild_ldict,
            (dict(self), self.line, self.end_line, self.key_lines, self.file, self.unknown_keys),
        )

    def span(self, key: Any) -> tuple[int, int]:
        return self.key_lines.get(key, (self.line, self.end_line))

    def key_value(self, key: Any) -> Any:
        """A key as the value it stands for: unknown when written as an unknown expression."""
        return self.unknown_keys.get(key, key)


def _rebuild_ldict(
    items: dict,
    line: int,
    end_line: int,
    key_lines: dict,
    file: str = "",
    unknown_keys: dict | None = None,
) -> LDict:
    d = LDict(items, line=line, end_line=end_line, file=file)
    d.key_lines = key_lines
    d.unknown_keys = unknown_keys or {}
    return d


class LList(list):
    """A list that remembers its lines and each item's lines (`item_lines[i]`), and `file`
    as LDict does."""

    __slots__ = ("line", "end_line", "item_lines", "file")

    def __init__(self, *args: Any, line: int = 0, end_line: int = 0, file: str = "") -> None:
        super().__init__(*args)
        self.line = line
        self.end_line = end_line or line
        self.item_lines: list[tuple[int, int]] = []
        self.file = file

    def __reduce__(self):
        return (_rebuild_llist, (list(self), self.line, self.end_line, self.item_lines, self.file))

    def span(self, index: int) -> tuple[int, int]:
        if 0 <= index < len(self.item_lines):
            return self.item_lines[index]
        return (self.line, self.end_line)


def _rebuild_llist(
    items: list, line: int, end_line: int, item_lines: list, file: str = ""
) -> LList:
    items_list = LList(items, line=line, end_line=end_line, file=file)
    items_list.item_lines = item_lines
    return items_list


def copied(value: Any) -> Any:
    """A copy of a parsed document that may be changed without changing `value`: new
    mappings and lists all the way down (with their lines), the scalars shared. Several times
    faster than `copy.deepcopy`, which copies strings' and line tables' objects one by one."""
    if isinstance(value, LDict):
        out = LDict(
            {k: copied(v) for k, v in value.items()},
            line=value.line,
            end_line=value.end_line,
            file=value.file,
        )
        out.key_lines = dict(value.key_lines)
        return out
    if isinstance(value, LList):
        items = LList(
            [copied(v) for v in value], line=value.line, end_line=value.end_line, file=value.file
        )
        items.item_lines = list(value.item_lines)
        return items
    if type(value) is dict:
        return {k: copied(v) for k, v in value.items()}
    if type(value) is list:
        return [copied(v) for v in value]
    if value is None or type(value) in (str, int, float, bool):
        return value
    return copy.deepcopy(value)


class Documents(list):
    """The documents of a YAML stream, and `warnings` ((line, message)) that did not stop
    parsing. Defined here, not beside the YAML parser, so that unpickling cached documents
    does not import PyYAML."""

    warnings: list = []
    # keys written twice in one object (JSON): what their normalizer makes of them
    duplicates: list = []


def get_path(node: Any, *path: Any) -> Any:
    """node[path[0]][path[1]]..., or None as soon as a step is not a mapping."""
    for part in path:
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def key_span(node: Any, key: Any) -> tuple[int, int] | None:
    """The lines of `node[key]` when the parser marked them."""
    if isinstance(node, LDict) and key in node.key_lines:
        return node.key_lines[key]
    return None


def span_of(value: Any, default: tuple[int, int]) -> tuple[int, int]:
    line = getattr(value, "line", 0)
    if line:
        return (line, getattr(value, "end_line", line) or line)
    return default


@dataclass(frozen=True, slots=True)
class Location:
    file: str
    start_line: int
    end_line: int

    def to_json(self) -> dict:
        return {"file": self.file, "start_line": self.start_line, "end_line": self.end_line}


def _common_fields() -> dict[str, Any]:
    # every kind's `call_path` (checks/kinds.py): null unless a module instance made it
    return {"call_path": None}


@dataclass(slots=True)
class Entity:
    """One thing a rule can look at (a cluster, a trust statement, a ServiceAccount...)."""

    kind: str
    key: str
    origin: str
    location: Location
    fields: dict[str, Any] = field(default_factory=_common_fields)
    # field name -> where the default comes from ("AWS default", "Kubernetes default")
    defaulted: dict[str, str] = field(default_factory=dict)
    # field name -> (start_line, end_line) of the attribute that set it
    field_lines: dict[str, tuple[int, int]] = field(default_factory=dict)
    # relation name -> entity keys, filled by the link stage
    links: dict[str, list[str]] = field(default_factory=dict)
    # from a Kubernetes `eks-checks.io/ignore` annotation: (rule ids, reason, until, line)
    suppressions: list[tuple] = field(default_factory=list)
    # field name -> (where its value was defined, what that place is), when that is not where
    # the entity uses it (a variable's default, a value in a variable file, a local in
    # another file, a module call's argument, the role that uses a policy document): a
    # finding adds it as related
    field_origins: dict[str, tuple[Location, str]] = field(default_factory=dict)
    # places that explain every finding on it: the module calls, outermost first, that made
    # the module instance it belongs to; the Kustomize overlay that rendered it
    related: list[Related] = field(default_factory=list)
    # the file a field's lines (or a list field's item lines, `name[i]`) are in when it is
    # not the entity's own: a Kustomize patch that set the field
    line_files: dict[str, str] = field(default_factory=dict)

    def set(
        self,
        name: str,
        value: Any,
        span: tuple[int, int] | None = None,
        default: str | None = None,
    ) -> None:
        """Set a field; `default` names the default's origin when the input said nothing."""
        self.fields[name] = value
        if span and span[0]:
            self.field_lines[name] = span
        if default:
            self.defaulted[name] = default

    def span(self, name: str) -> tuple[int, int]:
        return self.field_lines.get(name, (self.location.start_line, self.location.end_line))

    def written_as(self, name: str, other: str) -> None:
        """Field `name` is written where field `other` is (its lines, in its file)."""
        self.field_lines[name] = self.span(other)
        if other in self.line_files:
            self.line_files[name] = self.line_files[other]
        else:
            self.line_files.pop(name, None)

    def to_json(self) -> dict:
        known: dict[str, Any] = {}
        unknown: dict[str, str] = {}
        partial: dict[str, list] = {}
        for name, value in self.fields.items():
            if isinstance(value, Unknown):
                unknown[name] = value.text
                items = items_judged(value) if isinstance(value, PartialList) else None
                if items is not None:
                    partial[name] = [to_plain(item) for item in items]
            else:
                known[name] = to_plain(value)
        out: dict[str, Any] = {
            "kind": self.kind,
            "key": self.key,
            "origin": self.origin,
            "location": self.location.to_json(),
            "fields": known,
        }
        if unknown:
            out["unknown"] = unknown
        if partial:
            # what a rule's membership, emptiness and quantifiers judge of a list known in part
            out["partial"] = partial
        if self.defaulted:
            out["defaulted"] = dict(self.defaulted)
        if self.field_lines:
            out["field_lines"] = {k: list(v) for k, v in self.field_lines.items()}
        # where each item of a list field was written: a finding of `any_item` points there
        # (not for a list written in another file: a finding points where it is used)
        lists = {k: v.known if k in partial else v for k, v in self.fields.items()}
        item_lines = {
            k: [list(span) for span in v.item_lines]
            for k, v in lists.items()
            if isinstance(v, LList) and v.item_lines and v.file in ("", self.location.file)
        }
        if item_lines:
            out["item_lines"] = item_lines
        if self.line_files:
            out["line_files"] = dict(self.line_files)
        if self.related:
            out["related"] = [
                {"location": r.location.to_json(), "message": r.message} for r in self.related
            ]
        if self.links:
            out["links"] = {k: list(v) for k, v in self.links.items()}
        if self.field_origins:
            out["field_origins"] = {
                k: {"location": where.to_json(), "message": what}
                for k, (where, what) in self.field_origins.items()
            }
        return out


def to_plain(value: Any) -> Any:
    """A JSON-ready copy: unknown values inside containers become `{"unknown": text}`. One
    call per nesting level (no comprehension frames), as deep as the parsers accept."""
    if isinstance(value, Unknown):
        return {"unknown": value.text}
    if isinstance(value, dict):
        plain = {}
        for key, item in value.items():
            plain[str(key)] = to_plain(item)
        return plain
    if isinstance(value, (list, tuple)):
        items = []
        for item in value:
            items.append(to_plain(item))
        return items
    return value


@dataclass(frozen=True)
class Severity:
    """One of the four severities of a rule, in order (`rank`: low 0 ... critical 3), with the
    SARIF `level` of its findings and the `security-severity` GitHub code scanning sorts by."""

    name: str
    rank: int
    sarif_level: str
    security_severity: str


# lowest first; the one definition every stage, report and schema reads
SEVERITIES: dict[str, Severity] = {
    s.name: s
    for s in (
        Severity("low", 0, "note", "3.0"),
        Severity("medium", 1, "warning", "5.5"),
        Severity("high", 2, "error", "8.0"),
        Severity("critical", 3, "error", "9.5"),
    )
}


@dataclass(frozen=True)
class Problem:
    """A file that could not be read or parsed (level `error`), or was skipped (`note`)."""

    file: str
    message: str
    line: int = 0
    level: str = "error"

    @property
    def skips_file(self) -> bool:
        """A note that a file or folder was not read at all (not ours, a template, a link not
        followed), as opposed to a note about something in a file that was read."""
        return self.level == "note" and (
            self.message.startswith("skipped: ")
            or self.message.endswith((": not read", ": not walked"))
        )

    def to_json(self) -> dict:
        out = {"file": self.file, "level": self.level, "message": self.message}
        if self.line:
            out["line"] = self.line
        return out


@dataclass(slots=True)
class Related:
    """Another place that explains a finding (the binding that grants cluster-admin...)."""

    location: Location
    message: str


@dataclass(slots=True)
class Finding:
    rule_id: str
    slug: str
    severity: str
    title: str
    message: str
    location: Location
    entity_key: str
    remediation: str = ""
    references: list[str] = field(default_factory=list)
    related: list[Related] = field(default_factory=list)
    suppressed: str | None = None  # the reason, when an inline or config suppression applies
    baselined: bool = False  # present in --baseline: reported as known, never fails the gate
    # suppressed, and the --baseline does not hold that suppression: added by the change
    new_suppression: bool = False
    # an access path (RULES.md, 8xx): its hops in order, each with its place and its words
    path: list[Related] = field(default_factory=list)
    # every hop of every path the finding stands for, as (hop, entity key, file, source,
    # target): a path that opens changes the fingerprint, even when each entity it goes
    # through was there before
    hops: tuple[tuple[str, ...], ...] = ()
    # the entity it is on, until suppressions are applied (never reported): the copies of an
    # object in several folders share its key, and each has its own lines and annotations
    entity: Entity | None = field(default=None, compare=False, repr=False)

    def sort_key(self) -> tuple:
        return (self.location.file, self.location.start_line, self.rule_id, self.entity_key)

    @property
    def fingerprint(self) -> str:
        """Stable across edits that move lines: rule, entity and file (and the hops of its
        paths), never the line."""
        return fingerprint(self.rule_id, self.entity_key, self.location.file, self.hops)


def fingerprint(
    rule_id: str, entity_key: str, file: str, hops: tuple[tuple[str, ...], ...] = ()
) -> str:
    """A finding's fingerprint: a digest of its rule, its entity's key and its file, and of
    the hops of its access paths when it has some."""
    import hashlib

    text = f"{rule_id}\0{entity_key}\0{file}"
    for hop in hops:
        text += "\0" + "\x1f".join(hop)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def wildcard_match(pattern: str, text: str) -> bool:
    """IAM's wildcards: `*` any run of characters, `?` exactly one; nothing else is special
    (unlike fnmatch, `[` is a plain character). Linear backtracking on the last `*`, no regex
    compiled per pattern."""
    if "*" not in pattern and "?" not in pattern:
        return pattern == text
    p = t = 0
    star = -1
    mark = 0
    while t < len(text):
        if p < len(pattern) and (pattern[p] == "?" or pattern[p] == text[t]):
            p += 1
            t += 1
        elif p < len(pattern) and pattern[p] == "*":
            star = p
            mark = t
            p += 1
        elif star >= 0:
            p = star + 1
            mark += 1
            t = mark
        else:
            return False
    while p < len(pattern) and pattern[p] == "*":
        p += 1
    return p == len(pattern)


def share_strings(entities: list[Entity]) -> None:
    """Make the equal strings of the entities' fields, origins and related places one object.
    Units read by worker processes or from the cache arrive one at a time, each with strings
    of its own, and the copies of a file in many directories (a monorepo's environments, a
    course's lessons) hold the same values many times: a third of the strings' memory on
    the real repositories scanned together."""
    memo: dict[str, str] = {}
    one = memo.setdefault

    def shared(value: Any) -> Any:
        kind = type(value)
        if kind is str:
            return one(value, value)
        if kind is LDict or kind is dict:
            for key, item in value.items():  # values only: the keys' order must not change
                value[key] = shared(item)
        elif kind is LList or kind is list:
            for index, item in enumerate(value):
                value[index] = shared(item)
        elif kind is Unknown or kind is PartialList or kind is PartialMap or kind is UnknownItems:
            value.reason, value.text = one(value.reason, value.reason), one(value.text, value.text)
            if kind is PartialList or kind is PartialMap:
                shared(value.known)
                value.rest = [shared(part) for part in value.rest]
            elif kind is UnknownItems:
                value.item, value.key = shared(value.item), shared(value.key)
        return value

    for entity in entities:
        shared(entity.fields)
        for name, (where, message) in entity.field_origins.items():
            entity.field_origins[name] = (where, one(message, message))
        for related in entity.related:
            related.message = one(related.message, related.message)
