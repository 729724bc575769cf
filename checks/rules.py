"""Rules: loading and validating the declarative YAML rule files.

Bundled rules (`policies/`) are validated by the test suite, so a scan does not import
jsonschema for them; rules from a user's `--policy-dir` are input like any other and are
validated with the JSON Schema in `checks/schemas/rule.schema.json` every time they load.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from checks.cache import Cache

SCHEMA_PATH = Path(__file__).parent / "schemas" / "rule.schema.json"
MAX_REGEX_LENGTH = 500


class RuleError(Exception):
    """A rule file that cannot be used: each of `messages` names the file and the JSON path
    of one problem."""

    def __init__(self, messages: str | list[str]) -> None:
        self.messages = [messages] if isinstance(messages, str) else list(messages)
        super().__init__("\n".join(self.messages))


@dataclass
class Rule:
    id: str
    slug: str
    title: str
    severity: str
    entity: tuple[str, ...]
    when: dict
    message: str
    remediation: str
    params: dict[str, Any] = field(default_factory=dict)
    location: list[str] = field(default_factory=list)
    description: str = ""
    examples: dict[str, str] = field(default_factory=dict)
    references: list[str] = field(default_factory=list)
    implements: list[str] = field(default_factory=list)
    related: list[dict] = field(default_factory=list)
    # an access path the findings carry: {shortest: FIELD, all_hops: FIELD}
    path: dict[str, str] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    confidence: str = "high"
    since: str = ""
    source: str = ""
    # a rule declared by a Rego policy (checks.rego.policy): the .rego file that reports it;
    # evaluate leaves such rules to their policy
    rego_policy: str = ""
    help_uri: str = ""  # the rule's page; a bundled rule's is in our docs
    bundled: bool = False  # shipped with eks-checks (policies/), not a user's rule

    @classmethod
    def from_data(cls, data: dict, source: str) -> Rule:
        entity = data["entity"]
        known = set(cls.__dataclass_fields__) - {"entity", "source", "rego_policy", "bundled"}
        errors = rule_errors(data, catalog=False)
        if errors:
            raise RuleError([f"{path}: {message}" for path, message in errors])
        return cls(
            entity=(entity,) if isinstance(entity, str) else tuple(entity),
            source=source,
            **{k: v for k, v in data.items() if k in known},
        )


def bundled_dir() -> Path:
    """`checks/policies` inside an installed wheel, else `policies/` of a source checkout."""
    inside = Path(__file__).parent / "policies"
    if inside.is_dir():
        return inside
    return Path(__file__).resolve().parent.parent / "policies"


def load_bundled(cache: Cache | None = None) -> list[Rule]:
    """The bundled rules; with a `cache`, from it while the rule files are unchanged (names,
    sizes and mtimes), which keeps PyYAML out of start-up for scans that hold no YAML."""
    directory = bundled_dir()
    if cache is None:
        return _as_bundled(load_dir(directory, validate=False))
    from checks.cache import key_digest

    stamp = "\n".join(
        f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}"
        for p in sorted(directory.glob("*.yaml"))
    )
    pack = cache.pack(f"rules\0{directory}")
    cached = pack.get(stamp, list[Rule])
    # what loading checks, regular expressions compiling included, holds for what was cached
    if cached is not None and not any(rule_errors(vars(r), catalog=False) for r in cached):
        pack.save()  # unchanged: only marked as used
        return cached
    rules = _as_bundled(load_dir(directory, validate=False))
    pack.save([(key_digest(stamp), rules)], list[Rule])
    return rules


def _as_bundled(rules: list[Rule]) -> list[Rule]:
    for rule in rules:
        rule.bundled = True
    return rules


def load_dir(directory: Path, validate: bool = True) -> list[Rule]:
    """Every `*.yaml`/`*.yml` rule file of a directory, sorted by id."""
    directory = Path(directory)
    if not directory.is_dir():
        raise RuleError(f"{directory}: not a directory")
    rules = []
    for path in sorted(directory.iterdir()):
        if path.suffix in (".yaml", ".yml") and path.is_file():
            rules.append(load_file(path, validate))
    return sorted(rules, key=lambda r: r.id)


def load_file(path: Path, validate: bool = True) -> Rule:
    """One rule file, read with the guards scanned input has (safe YAML, alias and nesting
    limits, numbers that fit) before its schema is checked."""
    from checks.model import to_plain
    from checks.parse import MAX_SETTINGS_NESTING, ParseError, read_regular_file
    from checks.parse.yamlsafe import load_all

    try:
        raw = read_regular_file(str(path), 1_000_000)  # a link may lead to a file of any size
        if len(raw) > 1_000_000:
            raise RuleError(f"{path}: rule file larger than 1 MB")
        text = raw.decode("utf-8")
        docs = load_all(text, max_depth=MAX_SETTINGS_NESTING, strict_numbers=True)
    except OSError as exc:
        raise RuleError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise RuleError(f"{path}: cannot read: {exc}") from None
    except ParseError as exc:
        where = f":{exc.line}" if exc.line else ""
        raise RuleError(f"{path}{where}: {exc.message}") from None
    if len(docs) > 1:
        raise RuleError(f"{path}: a rule file holds one YAML document")
    data = to_plain(docs[0]) if docs else None
    if validate:
        errors = validation_errors(data)
        if errors:
            raise RuleError([f"{path}: {e}" for e in errors])
    elif not isinstance(data, dict):
        raise RuleError(f"{path}: a rule file must be a mapping")
    try:
        return Rule.from_data(data, str(path))
    except RuleError as exc:
        raise RuleError([f"{path}: {m}" for m in exc.messages]) from None
    except (KeyError, TypeError) as exc:
        raise RuleError(f"{path}: malformed rule ({exc})") from None


def validation_errors(data: Any) -> list[str]:
    """Every problem of a rule file as `$.json.path: message`: what the catalog of kinds and
    the rule's own params say first (they name the closest right names), then the schema's
    violations at other paths."""
    found = rule_errors(data) if isinstance(data, dict) else []
    seen = {path for path, _ in found}
    out = [f"{path}: {message}" for path, message in found]
    # the schema's per-kind constraints say the same as the catalog's errors, less clearly
    schema = [e for e in schema_errors(data, per_kind=not found) if e.split(": ", 1)[0] not in seen]
    return out + schema


def schema_errors(data: Any, per_kind: bool = True) -> list[str]:
    """Schema violations as `$.json.path: message`, most specific first; without `per_kind`,
    not those of the generated per-kind constraints (the schema's top-level `allOf`)."""
    import jsonschema

    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(data), key=lambda e: (-len(e.absolute_path), e.message))
    out = []
    for err in errors:
        if not per_kind and err.absolute_schema_path and err.absolute_schema_path[0] == "allOf":
            continue
        # for a oneOf failure, the most relevant sub-error says more than "is not valid"
        best = jsonschema.exceptions.best_match([err]) if err.context else err
        path = "$" + "".join(
            f"[{p}]" if isinstance(p, int) else f".{p}" for p in best.absolute_path
        )
        out.append(f"{path}: {best.message}")
    return out


# ---- what the schema cannot say -------------------------------------------------------
PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
QUANTIFIERS = ("any_item", "no_item", "every_item")
MAX_CONDITION_DEPTH = 100


@dataclass(frozen=True)
class ParamType:
    """A rule parameter's type, the type of its default: `string`, `integer`, `number`,
    `boolean`, or `list` of `item` (any of those scalars when the default is empty)."""

    name: str
    item: str | None = None

    def accepts(self, value: Any) -> bool:
        if self.name != "list":
            return _scalar_fits(self.name, value)
        return isinstance(value, list) and all(
            _scalar_type(v) is not None and (self.item is None or _scalar_fits(self.item, v))
            for v in value
        )

    def describe(self) -> str:
        if self.name == "list":
            return f"a list of {self.item}s" if self.item else "a list"
        return f"an {self.name}" if self.name == "integer" else f"a {self.name}"


def _scalar_type(value: Any) -> str | None:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return None


def _scalar_fits(name: str, value: Any) -> bool:
    found = _scalar_type(value)
    return found == name or (name == "number" and found == "integer")


def param_type(default: Any) -> ParamType | None:
    """The type a parameter's default declares; None for a default of no supported type (a
    mapping, null, a list mixing types)."""
    if isinstance(default, list):
        items = {_scalar_type(v) for v in default}
        if None in items:
            return None
        if items == {"integer", "number"}:
            items = {"number"}
        if len(items) > 1:
            return None
        return ParamType("list", items.pop() if items else None)
    found = _scalar_type(default)
    return ParamType(found) if found else None


def param_override_error(rule: Rule, name: str, value: Any) -> str | None:
    """Why a configured value cannot replace a parameter's default, or None."""
    declared = param_type(rule.params.get(name))
    if declared is None or declared.accepts(value):
        return None
    return (
        f"must be {declared.describe()}, like the default {_json(rule.params[name])}, "
        f"not {_json(value)}"
    )


def _json(value: Any) -> str:
    return json.dumps(value, default=str, ensure_ascii=False)


# operator -> what its operand must be when it is a parameter
_OPERAND_NEEDS = {
    "in": "list",
    "not_in": "list",
    "contains_any": "list",
    "contains_all": "list",
    "contains": "scalar",
    "greater_than": "number",
    "less_than": "number",
}


def _operand_fits(need: str, declared: ParamType) -> bool:
    if need == "list":
        return declared.name == "list"
    if need == "number":
        return declared.name in ("integer", "number")
    return declared.name != "list"


@dataclass(frozen=True)
class _Scope:
    """What a condition's `field` names: a kind's fields, or those of the items of one of its
    list fields (`fields` None: the items are plain values)."""

    where: str  # `instance_metadata`, `rbac_binding.subjects`
    fields: tuple | None
    items: bool = False

    def label(self) -> str:
        return f"the items of {self.where}" if self.items else self.where


def rule_errors(data: dict, catalog: bool = True) -> list[tuple[str, str]]:
    """Every problem of a rule that the schema cannot see, as (JSON path, message): params
    that do not exist or do not fit their operator, unsafe regular expressions, and, with
    `catalog`, fields, locations, links and message placeholders the kinds do not have."""
    errors: list[tuple[str, str]] = []
    params = data.get("params") if isinstance(data.get("params"), dict) else {}
    types: dict[str, ParamType] = {}
    for name, default in params.items():
        declared = param_type(default)
        if declared is None:
            errors.append(
                (
                    f"$.params.{name}",
                    "a default must be a string, a number, a boolean or a list of one of those",
                )
            )
        else:
            types[name] = declared
    scopes = _kind_scopes(data.get("entity"), errors) if catalog else None
    _check_condition(data.get("when"), "$.when", scopes, params, types, errors, 0)
    if catalog and scopes:
        _check_names(data, scopes, params, errors)
    return errors


def _kind_scopes(entity: Any, errors: list) -> list[_Scope]:
    from checks.kinds import KINDS

    names = [entity] if isinstance(entity, str) else entity if isinstance(entity, list) else []
    scopes = []
    for index, name in enumerate(names):
        if name in KINDS:
            scopes.append(_Scope(name, KINDS[name].fields))
        elif isinstance(name, str):
            path = "$.entity" if isinstance(entity, str) else f"$.entity[{index}]"
            errors.append(
                (path, f"unknown kind {name!r}{_closest(name, KINDS)}; kinds: {', '.join(KINDS)}")
            )
    return scopes


def _closest(name: str, candidates) -> str:
    import difflib

    close = difflib.get_close_matches(name, list(candidates), n=3, cutoff=0.6)
    return f" (did you mean {' or '.join(close)}?)" if close else ""


def _check_condition(
    cond: Any,
    path: str,
    scopes: list[_Scope] | None,
    params: dict,
    types: dict[str, ParamType],
    errors: list,
    depth: int,
) -> None:
    if not isinstance(cond, dict):
        return
    if depth > MAX_CONDITION_DEPTH:
        errors.append((path, f"conditions nested more than {MAX_CONDITION_DEPTH} deep"))
        return
    for key in ("all", "any"):
        subs = cond.get(key)
        for index, sub in enumerate(subs if isinstance(subs, list) else []):
            _check_condition(
                sub, f"{path}.{key}[{index}]", scopes, params, types, errors, depth + 1
            )
    if "not" in cond:
        _check_condition(cond["not"], f"{path}.not", scopes, params, types, errors, depth + 1)
    name = cond.get("field")
    found: list[tuple[_Scope, Any]] = []
    if scopes is not None and isinstance(name, str):
        found = _resolve_field(name, scopes, f"{path}.field", errors)
    for quantifier in QUANTIFIERS:
        if quantifier not in cond:
            continue
        inner = scopes
        if scopes is not None and isinstance(name, str):
            inner = [_item_scope(scope, name, declared) for scope, declared in found]
        _check_condition(
            cond[quantifier], f"{path}.{quantifier}", inner, params, types, errors, depth + 1
        )
    for op, operand in cond.items():
        if op in _OPERAND_NEEDS or op in ("equals", "not_equals"):
            _check_param(op, operand, f"{path}.{op}", params, types, errors)
    if "matches" in cond:
        try:
            check_regex(str(cond["matches"]))
        except RuleError as exc:
            errors.append((f"{path}.matches", str(exc)))


def _check_param(op: str, operand: Any, path: str, params: dict, types: dict, errors: list):
    if not isinstance(operand, dict) or "param" not in operand:
        return
    name = operand["param"]
    if name not in params:
        known = f"params: {', '.join(params)}" if params else "the rule declares no params"
        errors.append((path, f"unknown param {name!r}{_closest(str(name), params)} ({known})"))
        return
    declared = types.get(name)
    need = _OPERAND_NEEDS.get(op)
    if declared is not None and need is not None and not _operand_fits(need, declared):
        wanted = {"list": "a list", "number": "a number", "scalar": "a single value"}[need]
        errors.append((path, f"{op} needs {wanted}, but param {name!r} is {declared.describe()}"))


def _resolve_field(
    name: str, scopes: list[_Scope], path: str, errors: list
) -> list[tuple[_Scope, Any]]:
    """The declared type of `name` (a field, or `field.sub` into objects) in each scope that
    has it; an error naming the scopes that do not."""
    found, missing = [], []
    for scope in scopes:
        declared, why = _field_type(scope, name)
        if declared is None:
            missing.append(why)
        else:
            found.append((scope, declared))
    if missing:
        also = f" ({', '.join(s.label() for s, _ in found)} has it)" if found else ""
        errors.append((path, "; ".join(missing) + also))
    return found


def _field_type(scope: _Scope, name: str) -> tuple[Any, str]:
    if scope.fields is None:
        return None, (
            f"{scope.label()} are plain values with no field {name!r} (leave out `field` to "
            "test the item itself)"
        )
    fields = scope.fields
    declared = None
    parts = name.split(".")
    for index, part in enumerate(parts):
        match = next((f for f in fields if f.name == part), None)
        if match is None:
            names = [f.name for f in fields]
            if index:
                where = f"{scope.where}.{'.'.join(parts[:index])} has"
            else:
                where = f"{scope.label()} {'have' if scope.items else 'has'}"
            return None, (
                f"{where} no field {part!r}{_closest(part, names)}; fields: {', '.join(names)}"
            )
        declared = match.type
        if index < len(parts) - 1:
            if declared.name != "object":
                done = ".".join(parts[: index + 1])
                return None, f"{done} is a {declared.describe()} with no field {parts[index + 1]!r}"
            fields = declared.fields
    return declared, ""


def _item_scope(scope: _Scope, name: str, declared: Any) -> _Scope:
    """What `field` names inside a quantifier over `name`: the fields of its items."""
    item = declared.item if declared.name == "list" else declared
    fields = item.fields if item is not None and item.name == "object" else None
    return _Scope(f"{scope.where}.{name}", fields, items=True)


def _check_names(data: dict, scopes: list[_Scope], params: dict, errors: list) -> None:
    """`location`, `related` and `{placeholders}` name what the rule's kinds have."""
    from checks.kinds import KINDS

    kinds = [KINDS[s.where] for s in scopes]
    _check_placeholders(data.get("message"), "$.message", kinds, params, errors)
    locations = data.get("location")
    for index, name in enumerate(locations if isinstance(locations, list) else []):
        if not isinstance(name, str):
            continue
        if any(k.field_named(name) or name in k.lines for k in kinds):
            continue
        where = "; ".join(
            f"{k.name} has fields {', '.join(k.field_names())}"
            + (f" and blocks {', '.join(k.lines)}" if k.lines else "")
            for k in kinds
        )
        candidates = {n for k in kinds for n in (*k.field_names(), *k.lines)}
        errors.append(
            (
                f"$.location[{index}]",
                f"no field or block {name!r} to point at{_closest(name, candidates)}: {where}",
            )
        )
    _check_path(data, kinds, errors)
    related = data.get("related")
    for index, spec in enumerate(related if isinstance(related, list) else []):
        if not isinstance(spec, dict) or not isinstance(spec.get("link"), str):
            continue
        link = spec["link"]
        lacking = [k for k in kinds if k.link(link) is None]
        for k in lacking:
            names = [lk.name for lk in k.links]
            links = f"its links: {', '.join(names)}" if names else "it has no links"
            errors.append(
                (
                    f"$.related[{index}].link",
                    f"{k.name} has no link {link!r}{_closest(link, names)}; {links}",
                )
            )
        if not lacking:
            targets = {KINDS[k.link(link).target].name: KINDS[k.link(link).target] for k in kinds}
            path = f"$.related[{index}].message"
            _check_placeholders(spec.get("message"), path, list(targets.values()), params, errors)


def _check_path(data: dict, kinds: list, errors: list) -> None:
    """`path` names, for each of the rule's kinds, a field that holds hops."""
    from checks.kinds import hop_fields

    spec = data.get("path")
    for role in ("shortest", "all_hops"):
        name = spec.get(role) if isinstance(spec, dict) else None
        if not isinstance(name, str):
            continue
        for kind in kinds:
            names = hop_fields(kind)
            if name not in names:
                listed = f"its fields of hops: {', '.join(names)}" if names else "it has none"
                errors.append(
                    (
                        f"$.path.{role}",
                        f"{kind.name} has no field of hops {name!r}{_closest(name, names)}; "
                        f"{listed}",
                    )
                )


def _check_placeholders(message: Any, path: str, kinds: list, params: dict, errors: list):
    if not isinstance(message, str):
        return
    for name in dict.fromkeys(PLACEHOLDER.findall(message)):
        if name in params:
            continue
        for kind in kinds:
            if kind.field_named(name) is None:
                names = list(kind.field_names())
                listed = f"its fields: {', '.join(names)}"
                if params:
                    listed += f"; params: {', '.join(params)}"
                errors.append(
                    (
                        path,
                        f"{{{name}}} is neither a param nor a field of {kind.name}"
                        f"{_closest(name, names + list(params))}; {listed}",
                    )
                )


_COMPILED: dict[str, Any] = {}


def check_regex(pattern: str) -> Any:
    """A rule's regular expression, compiled by RE2, which matches in time linear in the
    text (no backtracking, so no pattern can make a scan hang). RE2's syntax: no
    backreferences, no lookaround. Raises RuleError for what RE2 cannot compile, and when
    RE2 itself is missing: never a fallback to a backtracking engine."""
    compiled = _COMPILED.get(pattern)
    if compiled is not None:
        return compiled
    if len(pattern) > MAX_REGEX_LENGTH:
        raise RuleError(f"regular expression longer than {MAX_REGEX_LENGTH} characters")
    try:
        import re2
    except ImportError as exc:
        raise RuleError(
            "regular expressions need the google-re2 package (a linear-time engine), which "
            f"cannot be imported here ({exc}); reinstall eks-checks with its dependencies"
        ) from None
    options = re2.Options()
    options.log_errors = False  # the error is ours to report, in one line
    try:
        compiled = re2.compile(pattern, options)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise RuleError(
            f"regular expression {pattern!r} is not supported ({reason}); rules use RE2 "
            "syntax: no backreferences, no lookaround"
        ) from None
    except (UnicodeError, TypeError) as exc:
        raise RuleError(f"invalid regular expression {pattern!r}: {exc}") from None
    _COMPILED[pattern] = compiled
    return compiled


def regex_search(pattern: str, text: str) -> bool:
    """Whether `pattern` (already accepted by `check_regex`) occurs in `text`."""
    compiled = check_regex(pattern)
    try:
        return compiled.search(text) is not None
    except UnicodeEncodeError:  # a lone surrogate from some input cannot be UTF-8 for RE2
        clean = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
        return compiled.search(clean) is not None
