"""Rego policies beside YAML rules: a `.rego` file in a `--policy-dir` (or `policy_dirs`)
declares rules in OPA METADATA annotations and reports their findings over the model.

    # METADATA
    # title: Cluster names start with acme-
    # related_resources:
    #   - ref: https://wiki.example.com/naming
    # custom:
    #   id: ACME101
    #   slug: cluster-name-prefix
    #   severity: low
    #   entity: cluster
    #   remediation: Rename the cluster.
    findings contains finding if { ... }

Each METADATA block whose `custom` holds an `id` declares one rule. The package's `findings`
set holds `{"rule_id", "entity_key", "message"}` objects, evaluated with `input` = the
output of `eks-checks model`; they become findings of the declared rules, located at the
entity (or at the first of the rule's `location` fields it has lines for), and go through
suppressions, baselines, --select/--ignore and every report like any other.

Evaluation runs regopy in a child process (checks/rego/child.py) bounded in wall-clock time
and resident memory, without the scan's environment: a policy that fails to compile, fails
or exceeds a bound is an error that names its file and line, and the rest of the scan is
reported.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from checks import __version__
from checks.evaluate import locate
from checks.model import SEVERITIES, Entity, Finding, Problem
from checks.rego import RegoLimits
from checks.rules import Rule, RuleError, param_type

EXTRA = "pip install 'eks-checks[rego]'"
MAX_POLICY_BYTES = 1_000_000
MAX_ANSWER_BYTES = 64 * 1024 * 1024
MAX_ERRORS_SHOWN = 3
_ID = re.compile(r"^[A-Z][A-Z0-9]*[0-9]{3}$")
_SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_PACKAGE = re.compile(
    r"^[ \t]*package[ \t]+([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)", re.M
)
_FINDINGS_RULE = re.compile(r"^[ \t]*findings\b", re.M)
_CUSTOM_KEYS = {
    "id",
    "slug",
    "severity",
    "entity",
    "remediation",
    "help_uri",
    "location",
    "params",
    "tags",
}


class RegoRunError(Exception):
    """The child process did not answer: timed out, crashed, or over its memory."""


def available() -> bool:
    """regopy is installed (found without importing it: it must never load in the scan's
    own process)."""
    return importlib.util.find_spec("regopy") is not None


def policy_files(directory: str | Path) -> list[Path]:
    """The `.rego` files of a policy directory (not its subdirectories), by name."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.suffix == ".rego" and p.is_file())


@dataclass
class PolicyFile:
    """One .rego file: its package, its text, and the rules its METADATA blocks declare."""

    path: str
    package: str
    text: str
    rules: list[Rule]
    first_line: int  # of its first rule's METADATA block, for errors about the package


def read_policy(path: Path) -> PolicyFile:
    """Read a .rego file and the rules it declares; a RuleError names the file, the line and
    the METADATA key of every problem."""
    where = str(path)
    try:
        if path.stat().st_size > MAX_POLICY_BYTES:
            raise RuleError(f"{where}: policy file larger than 1 MB")
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RuleError(f"{where}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise RuleError(f"{where}: not valid UTF-8") from None
    match = _PACKAGE.search(text)
    if match is None:
        raise RuleError(f"{where}:1: no `package` statement")
    rules, errors, first = [], [], 0
    lines = text.splitlines()
    for line, block in _metadata_blocks(text):
        if isinstance(block, str):
            errors.append(f"{where}:{line}: METADATA: {block}")
            continue
        custom = block.get("custom")
        if not isinstance(custom, dict) or "id" not in custom:
            continue  # an annotation for OPA that declares no rule of ours
        problems = _rule_problems(block)
        errors += [
            f"{where}:{_key_line(lines, line, key)}: METADATA {key}: {problem}"
            for key, problem in problems
        ]
        if not problems:
            rules.append(_rule(block, where))
            first = first or line
    if errors:
        raise RuleError(errors)
    return PolicyFile(where, match.group(1), text, rules, first or 1)


def load_policies(directory: str | Path) -> list[Rule]:
    """The rules declared by the .rego files of `directory`. A RuleError when one cannot be
    used, or when regopy, which runs them, is not installed."""
    files = policy_files(directory)
    if files and not available():
        raise RuleError(f"{files[0]}: a Rego policy needs the Rego engine regopy: {EXTRA}")
    rules: list[Rule] = []
    for path in files:
        rules += read_policy(path).rules
    return rules


def _key_line(lines: list[str], start: int, key: str) -> int:
    """The line of a METADATA key (`custom.severity`: the `severity:` line after `custom:`)
    in the block that starts at line `start`; the block's line when it is not written."""
    wanted = key.split(".")[-1].split("[")[0]
    index = start
    while index < len(lines) and lines[index].lstrip().startswith("#"):
        if re.match(rf"#\s*-?\s*{re.escape(wanted)}\s*:", lines[index].lstrip()):
            return index + 1
        index += 1
    return start


def _metadata_blocks(text: str) -> list[tuple[int, Any]]:
    """(line, parsed YAML or an error text) of each `# METADATA` comment block."""
    import yaml

    lines = text.splitlines()
    out = []
    index = 0
    while index < len(lines):
        if lines[index].strip() != "# METADATA":
            index += 1
            continue
        start = index + 1
        body = []
        index += 1
        while index < len(lines) and lines[index].lstrip().startswith("#"):
            comment = lines[index].lstrip()[1:]
            body.append(comment[1:] if comment.startswith(" ") else comment)
            index += 1
        try:
            data = yaml.load("\n".join(body), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        except yaml.YAMLError as exc:
            out.append((start, f"invalid YAML: {getattr(exc, 'problem', exc)}"))
            continue
        out.append((start, data if isinstance(data, dict) else "not a mapping"))
    return out


def _rule_problems(block: dict) -> list[tuple[str, str]]:
    """What makes a METADATA block unusable as a rule, as (key, problem)."""
    from checks.kinds import KINDS

    custom = block["custom"]
    problems = []

    def text(value: Any) -> bool:
        return isinstance(value, str) and bool(value.strip())

    if not text(block.get("title")):
        problems.append(("title", "a rule needs a title"))
    if not (isinstance(custom.get("id"), str) and _ID.match(custom["id"])):
        problems.append(("custom.id", f"{custom.get('id')!r} is not an id like ACME101"))
    if not (isinstance(custom.get("slug"), str) and _SLUG.match(custom["slug"])):
        problems.append(("custom.slug", f"{custom.get('slug')!r} is not a slug like name-prefix"))
    if custom.get("severity") not in SEVERITIES:
        problems.append(("custom.severity", f"must be one of {', '.join(SEVERITIES)}"))
    if not text(custom.get("remediation")):
        problems.append(("custom.remediation", "a rule needs a remediation"))
    kinds = custom.get("entity")
    kinds = [kinds] if isinstance(kinds, str) else kinds
    if not (isinstance(kinds, list) and kinds and all(k in KINDS for k in kinds)):
        problems.append(("custom.entity", f"a kind or a list of kinds of {', '.join(KINDS)}"))
        kinds = []
    for name in sorted(set(custom) - _CUSTOM_KEYS):
        problems.append(
            (f"custom.{name}", f"unknown key (known: {', '.join(sorted(_CUSTOM_KEYS))})")
        )
    uri = custom.get("help_uri")
    if uri is not None and not (isinstance(uri, str) and re.match(r"^https?://\S+$", uri)):
        problems.append(("custom.help_uri", "must be an http(s) URL"))
    locations = custom.get("location", [])
    if not (isinstance(locations, list) and all(isinstance(n, str) for n in locations)):
        problems.append(("custom.location", "a list of field names"))
    else:
        for name in locations:
            if kinds and not any(
                KINDS[k].field_named(name) or name in KINDS[k].lines for k in kinds
            ):
                problems.append(("custom.location", f"{', '.join(kinds)} has no field {name!r}"))
    params = custom.get("params", {})
    if not isinstance(params, dict):
        problems.append(("custom.params", "a mapping of names to default values"))
    else:
        for name, default in params.items():
            if param_type(default) is None:
                problems.append(
                    (
                        f"custom.params.{name}",
                        "a default must be a string, a number, a boolean or a list of one of those",
                    )
                )
    tags = custom.get("tags", [])
    if not (isinstance(tags, list) and all(isinstance(t, str) for t in tags)):
        problems.append(("custom.tags", "a list of strings"))
    for index, ref in enumerate(_references(block)):
        if not (isinstance(ref, str) and ref.startswith("https://")):
            problems.append((f"related_resources[{index}]", "an https:// URL (or ref: URL)"))
    description = block.get("description")
    if description is not None and not isinstance(description, str):
        problems.append(("description", "must be text"))
    return problems


def _references(block: dict) -> list:
    resources = block.get("related_resources") or []
    if not isinstance(resources, list):
        return [resources]
    return [r.get("ref") if isinstance(r, dict) else r for r in resources]


def _rule(block: dict, path: str) -> Rule:
    custom = block["custom"]
    kinds = custom["entity"]
    return Rule(
        id=custom["id"],
        slug=custom["slug"],
        title=block["title"].strip(),
        severity=custom["severity"],
        entity=(kinds,) if isinstance(kinds, str) else tuple(kinds),
        when={},
        message="",
        remediation=custom["remediation"],
        params=dict(custom.get("params") or {}),
        location=list(custom.get("location") or []),
        description=block.get("description") or "",
        references=list(_references(block)),
        tags=list(custom.get("tags") or []),
        source=path,
        rego_policy=path,
        help_uri=custom.get("help_uri") or "",
    )


def check_policies(directory: str | Path, limits: RegoLimits | None = None) -> list[Problem]:
    """What is wrong with the .rego files of `directory`: their METADATA, and whether they
    compile together (`eks-checks validate-policies`)."""
    paths = policy_files(directory)
    if not paths:
        return []
    if not available():
        return [Problem(str(paths[0]), f"a Rego policy needs the Rego engine regopy: {EXTRA}")]
    problems: list[Problem] = []
    files: list[PolicyFile] = []
    for path in paths:
        try:
            files.append(read_policy(path))
        except RuleError as exc:
            problems += [_problem(str(path), m) for m in exc.messages]
    if problems:
        return problems
    try:
        request = {
            "modules": [[f.path, f.text] for f in files],
            "entrypoints": sorted({_entrypoint(f.package) for f in files if f.rules}),
        }
        answer = run_child(request, limits or RegoLimits())
    except RegoRunError as exc:
        return [Problem(files[0].path, f"Rego policy: {exc}")]
    if "error" in answer:
        return [_answer_error(answer["error"], _by_package(files), [], files[0])]
    return []


# ---- evaluation ---------------------------------------------------------------------------


def run_child(request: dict, limits: RegoLimits) -> dict:
    """Send `request` to a child process running checks/rego/child.py; its answer. The child
    is killed when it runs longer than `limits.timeout` or its resident memory grows past
    `limits.memory_mb` (where /proc tells it; elsewhere only the time is bounded). A
    RegoRunError when it is stopped or answers nothing usable."""
    child = Path(__file__).with_name("child.py")
    with (
        tempfile.TemporaryFile() as asked,
        tempfile.TemporaryFile() as answer,
        tempfile.TemporaryFile() as errors,
    ):
        asked.write(json.dumps(request).encode("utf-8"))
        asked.seek(0)
        try:
            process = subprocess.Popen(
                [sys.executable, str(child)],
                stdin=asked,
                stdout=answer,
                stderr=errors,
                # opa.runtime() hands a policy the environment: none of ours (CI secrets)
                env=_CHILD_ENVIRONMENT,
            )
        except OSError as exc:
            raise RegoRunError(f"cannot start the Rego engine: {exc}") from None
        stopped = _watch(process, limits)
        if stopped:
            raise RegoRunError(stopped)
        size = answer.seek(0, os.SEEK_END)
        if size > MAX_ANSWER_BYTES:
            raise RegoRunError(f"the policies' answer is larger than {MAX_ANSWER_BYTES} bytes")
        answer.seek(0)
        text = answer.read().decode("utf-8", "replace")
        if process.returncode != 0 or not text:
            raise RegoRunError(_crashed(process.returncode))
    try:
        doc = json.loads(text)
    except ValueError:
        raise RegoRunError("the Rego engine's answer is not JSON") from None
    if not isinstance(doc, dict):
        raise RegoRunError("the Rego engine's answer is not an object")
    return doc


_POLL_SECONDS = 0.02
_CHILD_ENVIRONMENT = {k: v for k, v in os.environ.items() if k in ("SYSTEMROOT",)}


def _watch(process: subprocess.Popen, limits: RegoLimits) -> str:
    """Wait for `process`; kill it and say why when it exceeds a limit, else ""."""
    deadline = time.monotonic() + limits.timeout
    ceiling = limits.memory_mb * 1024 * 1024
    while True:
        try:
            process.wait(timeout=_POLL_SECONDS)
            return ""
        except subprocess.TimeoutExpired:
            pass
        if time.monotonic() > deadline:
            why = (
                f"evaluation stopped after {limits.timeout:g} s, the time limit (a policy that "
                "loops or builds huge values)"
            )
        elif _resident_bytes(process.pid) > ceiling:
            why = (
                f"evaluation stopped at the memory limit ({limits.memory_mb} MiB; a policy "
                "that builds huge values)"
            )
        else:
            continue
        process.kill()
        process.wait()
        return why


def _resident_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm", encoding="ascii") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _crashed(code: int) -> str:
    if code < 0:
        try:
            return f"the Rego engine was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"the Rego engine was killed by signal {-code}"
    return f"the Rego engine exited with status {code}"


def evaluate_policies(
    rules: list[Rule],
    entities: list[Entity],
    problems: list[Problem],
    params: dict[str, dict] | None = None,
    limits: RegoLimits | None = None,
) -> tuple[list[Finding], list[Problem]]:
    """The findings of the Rego policies that declare `rules` (the selected Rego rules),
    and the errors of those policies. All .rego files of the rules' directories are loaded
    together (one may import another), as `opa eval -d DIR` would."""
    limits = limits or RegoLimits()
    selected = {r.id: r for r in rules if r.rego_policy}
    if not selected:
        return [], []
    directories = sorted({str(Path(r.rego_policy).parent) for r in selected.values()})
    files: list[PolicyFile] = []
    for directory in directories:
        for path in policy_files(directory):
            try:
                files.append(read_policy(path))
            except RuleError as exc:  # changed since it was loaded
                return [], [_problem(str(path), m) for m in exc.messages]
    packages = _by_package(files)
    declaring = [name for name, group in packages.items() if any(f.rules for f in group)]
    model = {  # what `eks-checks model` prints
        "version": 1,
        "tool": {"name": "eks-checks", "version": __version__},
        "entities": [e.to_json() for e in entities],
        "problems": [p.to_json() for p in problems],
    }
    configured = {
        rule.id: {**rule.params, **((params or {}).get(rule.id) or {})}
        for rule in selected.values()
        if rule.params
    }
    request = {
        "modules": [[f.path, f.text] for f in files],
        "data": {"eks_checks": {"params": configured}},
        "inputs": [json.dumps(model)],
        "entrypoints": [_entrypoint(name) for name in declaring],
    }
    first = packages[declaring[0]][0] if declaring else files[0]
    try:
        answer = run_child(request, limits)
    except RegoRunError as exc:
        # the engine does not say which policy: every file evaluated is named
        together = f" (evaluating {', '.join(f.path for f in files)})" if len(files) > 1 else ""
        return [], [Problem(first.path, f"Rego policy: {exc}{together}", _findings_line(first))]
    if "error" in answer:
        error = answer["error"] if isinstance(answer["error"], dict) else {}
        return [], [_answer_error(error, packages, declaring, first)]
    results = answer.get("results")
    if not (isinstance(results, list) and len(results) == 1 and len(results[0]) == len(declaring)):
        return [], [Problem(first.path, "Rego policy: the Rego engine's answer is malformed")]
    by_key: dict[str, list[Entity]] = {}  # copies of a Kubernetes object share a key
    for e in entities:
        by_key.setdefault(e.key, []).append(e)
    findings: list[Finding] = []
    errors: list[Problem] = []
    for name, value in zip(declaring, results[0], strict=True):
        group = packages[name]
        declared = {r.id for f in group for r in f.rules}
        home = next((f for f in group if _FINDINGS_RULE.search(f.text)), group[0])
        made, wrong = _findings_of(value, declared, selected, by_key)
        findings += made
        if wrong:
            # one line per policy: what it returned wrong, the first few cases
            shown = "; ".join(wrong[:MAX_ERRORS_SHOWN])
            more = len(wrong) - MAX_ERRORS_SHOWN
            message = f"Rego policy: data.{name}.findings: {shown}" + (
                f"; and {more} more" if more > 0 else ""
            )
            errors.append(Problem(home.path, message, _findings_line(home)))
    return findings, errors


def _by_package(files: list[PolicyFile]) -> dict[str, list[PolicyFile]]:
    packages: dict[str, list[PolicyFile]] = {}
    for f in files:
        packages.setdefault(f.package, []).append(f)
    return packages


def _entrypoint(package: str) -> str:
    return package.replace(".", "/") + "/findings"


def _findings_line(policy: PolicyFile) -> int:
    match = _FINDINGS_RULE.search(policy.text)
    return policy.text.count("\n", 0, match.start()) + 1 if match else policy.first_line


def _problem(path: str, message: str) -> Problem:
    match = re.match(r"^(.*?):(\d+): (.*)$", message)
    if match and match.group(1) == path:
        return Problem(path, f"invalid policy: {match.group(3)}", int(match.group(2)))
    return Problem(path, f"invalid policy: {message.removeprefix(path + ': ')}")


def _answer_error(
    error: dict, packages: dict[str, list[PolicyFile]], declaring: list[str], first: PolicyFile
) -> Problem:
    message = str(error.get("message") or "error")
    if error.get("stage") == "setup":
        return Problem(first.path, f"Rego policy: {message}: {EXTRA}", first.first_line)
    if error.get("stage") == "compile":
        path = str(error.get("file") or first.path)
        line = error.get("line") if isinstance(error.get("line"), int) else 0
        return Problem(path, f"Rego policy does not compile: {message}", line)
    # the engine does not say where an evaluation failed: the findings rule it evaluated
    home = next(
        (f for name in declaring for f in packages[name] if _FINDINGS_RULE.search(f.text)), first
    )
    return Problem(
        home.path, f"Rego policy failed while evaluating findings: {message}", _findings_line(home)
    )


def _findings_of(
    value: Any, declared: set[str], selected: dict[str, Rule], by_key: dict[str, list[Entity]]
) -> tuple[list[Finding], list[str]]:
    """Findings from what a package's `findings` returned, and what is wrong with it. A
    finding names its entity by key, and by `file` (its `location.file`) when it means one
    of the copies of an object written in several files; else it is on each copy."""
    if value is None:
        return [], ["not defined, although the package declares rules"]
    if not isinstance(value, list):
        return [], [f"must be a set of objects, not {_type_name(value)}"]
    findings, wrong = [], []
    for item in value:
        problem = _item_problem(item, declared, by_key)
        if problem:
            wrong.append(f"{problem}: {_short(item)}")
            continue
        rule = selected.get(item["rule_id"])
        if rule is None:
            continue  # declared here but not selected (--select/--ignore, enabled: false)
        copies = [
            e
            for e in by_key[item["entity_key"]]
            if "file" not in item or e.location.file == item["file"]
        ]
        if copies[0].kind not in rule.entity:
            wrong.append(
                f"{rule.id} is declared for {', '.join(rule.entity)}, but {copies[0].key} is "
                f"a {copies[0].kind}"
            )
            continue
        findings += [
            Finding(
                rule_id=rule.id,
                slug=rule.slug,
                severity=rule.severity,
                title=rule.title,
                message=item["message"],
                location=locate(rule.location, entity, {}),
                entity_key=entity.key,
                remediation=rule.remediation.strip(),
                references=list(rule.references),
                related=list(entity.related),  # the module calls that made it
                entity=entity,
            )
            for entity in copies
        ]
    return findings, wrong


def _item_problem(item: Any, declared: set[str], by_key: dict[str, list[Entity]]) -> str:
    if not isinstance(item, dict):
        return f"a finding must be an object, not {_type_name(item)}"
    missing = [k for k in ("rule_id", "entity_key", "message") if k not in item]
    if missing:
        return f"a finding needs {', '.join(missing)}"
    extra = sorted(set(item) - {"rule_id", "entity_key", "message", "file"})
    if extra:
        return f"a finding has only rule_id, entity_key, message and file, not {', '.join(extra)}"
    for key in ("rule_id", "entity_key", "message", "file"):
        if key in item and (not isinstance(item[key], str) or not item[key]):
            return f"{key} must be a non-empty string"
    if item["rule_id"] not in declared:
        known = ", ".join(sorted(declared))
        return f"rule_id {item['rule_id']} is not declared by a METADATA block ({known})"
    if item["entity_key"] not in by_key:
        return f"entity_key {item['entity_key']} is not an entity of the model"
    if "file" in item and all(e.location.file != item["file"] for e in by_key[item["entity_key"]]):
        return f"no entity of key {item['entity_key']} is in file {item['file']}"
    return ""


def _type_name(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), "a number" if isinstance(value, (int, float)) else "null"
    )


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 200 else text[:197] + "..."
