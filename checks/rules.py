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
from typing import Any

SEVERITIES = ("low", "medium", "high", "critical")
SCHEMA_PATH = Path(__file__).parent / "schemas" / "rule.schema.json"
MAX_REGEX_LENGTH = 500
# A quantified group that itself ends in a quantifier, e.g. (a+)+ or (\w*)*: the classic
# shape of catastrophic backtracking. User rules may not use it.
_NESTED_QUANTIFIER = re.compile(r"\((?:[^()\\]|\\.)*[+*}]\)[+*{?]")


class RuleError(Exception):
    """A rule file that cannot be used: names the file and the JSON path of the problem."""


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
    tags: list[str] = field(default_factory=list)
    confidence: str = "high"
    since: str = ""
    source: str = ""

    @classmethod
    def from_data(cls, data: dict, source: str) -> Rule:
        entity = data["entity"]
        known = set(cls.__dataclass_fields__) - {"entity", "source"}
        rule = cls(
            entity=(entity,) if isinstance(entity, str) else tuple(entity),
            source=source,
            **{k: v for k, v in data.items() if k in known},
        )
        _check_semantics(rule)
        return rule


def bundled_dir() -> Path:
    """`checks/policies` inside an installed wheel, else `policies/` of a source checkout."""
    inside = Path(__file__).parent / "policies"
    if inside.is_dir():
        return inside
    return Path(__file__).resolve().parent.parent / "policies"


def load_bundled(use_cache: bool = True) -> list[Rule]:
    """The bundled rules; from the cache while the rule files are unchanged (size and mtime),
    which keeps PyYAML out of start-up for scans that hold no YAML."""
    directory = bundled_dir()
    if not use_cache:
        return load_dir(directory, validate=False)
    from checks import cache

    stamp = "\n".join(
        f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}"
        for p in sorted(directory.glob("*.yaml"))
    )
    rules = cache.get("rules", f"{directory}\n{stamp}")
    if rules is None:
        rules = load_dir(directory, validate=False)
        cache.put("rules", f"{directory}\n{stamp}", rules)
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
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        if path.stat().st_size > 1_000_000:
            raise RuleError(f"{path}: rule file larger than 1 MB")
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
    except (OSError, UnicodeDecodeError) as exc:
        raise RuleError(f"{path}: cannot read: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise RuleError(f"{path}{where}: invalid YAML: {getattr(exc, 'problem', exc)}") from None
    if validate:
        errors = schema_errors(data)
        if errors:
            raise RuleError(f"{path}: {errors[0]}")
    elif not isinstance(data, dict):
        raise RuleError(f"{path}: a rule file must be a mapping")
    try:
        return Rule.from_data(data, str(path))
    except RuleError as exc:
        raise RuleError(f"{path}: {exc}") from None
    except (KeyError, TypeError) as exc:
        raise RuleError(f"{path}: malformed rule ({exc})") from None


def schema_errors(data: Any) -> list[str]:
    """Schema violations as `$.json.path: message`, most specific first."""
    import jsonschema

    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(data), key=lambda e: (-len(e.absolute_path), e.message))
    out = []
    for err in errors:
        # for a oneOf failure, the most relevant sub-error says more than "is not valid"
        best = jsonschema.exceptions.best_match([err]) if err.context else err
        path = "$" + "".join(
            f"[{p}]" if isinstance(p, int) else f".{p}" for p in best.absolute_path
        )
        out.append(f"{path}: {best.message}")
    return out


def _check_semantics(rule: Rule) -> None:
    """What the schema cannot say: params exist, regular expressions compile and are safe."""
    for cond in _walk(rule.when):
        for op, operand in cond.items():
            if (
                isinstance(operand, dict)
                and "param" in operand
                and op not in ("not", "any_item", "no_item", "every_item")
            ):
                if operand["param"] not in rule.params:
                    raise RuleError(f"$.when: unknown param {operand['param']!r}")
        if "matches" in cond:
            check_regex(str(cond["matches"]))


def _walk(cond: Any):
    if not isinstance(cond, dict):
        return
    yield cond
    for key in ("all", "any"):
        for sub in cond.get(key, []) or []:
            yield from _walk(sub)
    for key in ("not", "any_item", "no_item", "every_item"):
        if key in cond:
            yield from _walk(cond[key])


def check_regex(pattern: str) -> re.Pattern:
    """Compile a rule's regular expression, refusing shapes that can backtrack forever."""
    if len(pattern) > MAX_REGEX_LENGTH:
        raise RuleError(f"$.when: regular expression longer than {MAX_REGEX_LENGTH} characters")
    if _NESTED_QUANTIFIER.search(pattern) or re.search(r"\\[1-9]", pattern):
        raise RuleError(
            f"$.when: regular expression {pattern!r} has a nested quantifier or a "
            "backreference (can take exponential time)"
        )
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise RuleError(f"$.when: invalid regular expression {pattern!r}: {exc}") from None
