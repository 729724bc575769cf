"""Configuration: `.eks-checks.yaml` (or `--config FILE`), validated by a JSON Schema.

Precedence: the file < the command line. Unknown keys are an error that names them. A
configuration file is read with the guards scanned input has (safe YAML, alias and nesting
limits, numbers that fit) before its schema is checked.

Where a configuration is found without `--config` (`find`): in each folder from each PATH up
to the top of its git repository (or the filesystem root), `.eks-checks.yaml`, else a
`pyproject.toml` that has a `[tool.eks-checks]` table; then the working directory. The first
found wins, as ruff, yamllint and pre-commit users expect.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_FILE = ".eks-checks.yaml"
MAX_BYTES = 1_000_000  # as for a rule file: no configuration comes near it
SCHEMA_PATH = Path(__file__).parent / "schemas" / "config.schema.json"


class ConfigError(Exception):
    """A configuration file that cannot be used; the message names the file and the path."""


@dataclass
class Config:
    select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    fail_on: str = "low"
    exclude: list[str] = field(default_factory=list)
    policy_dirs: list[str] = field(default_factory=list)
    var_files: dict[str, list[str]] = field(default_factory=dict)  # module dir -> files
    max_file_size: int = 5_000_000
    rules: dict[str, dict[str, Any]] = field(default_factory=dict)
    suppress: list[dict[str, Any]] = field(default_factory=list)
    rego: dict[str, Any] = field(default_factory=dict)  # timeout, memory_mb of Rego policies
    source: str = ""

    def path_suppressions(self) -> list:
        from checks.filter import PathSuppression

        return [
            PathSuppression(
                s["paths"],
                list(s["rules"]),
                s.get("reason", "").strip(),
                str(s.get("until", "")),
                self.source,
                f"$.suppress[{index}]",
            )
            for index, s in enumerate(self.suppress)
        ]

    @property
    def folder(self) -> str | None:
        """The folder of the file this configuration was read from (absolute), if any."""
        if not self.source:
            return None
        return os.path.dirname(os.path.abspath(self.source.removesuffix(PYPROJECT_SECTION)))


PYPROJECT_SECTION = " [tool.eks-checks]"  # how a pyproject.toml configuration is named


def git_toplevel(path: str) -> str | None:
    """The top folder of the git work tree `path` is in (absolute, links resolved): the
    nearest folder above it, itself included, that holds a `.git` folder or file (a
    worktree or a submodule); None outside a git work tree."""
    folder = os.path.realpath(path if os.path.isdir(path) else os.path.dirname(path) or ".")
    while True:
        if os.path.exists(os.path.join(folder, ".git")):
            return folder
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def find(starts: list[str]) -> str | None:
    """The configuration file for a scan of `starts` (files or folders): in each folder from
    each of them up to the top of its git repository, or the filesystem root outside one,
    `.eks-checks.yaml`, else a `pyproject.toml` with a `[tool.eks-checks]` table; then in the
    working directory. The first found, or None. Several PATHs that find different files
    are a ConfigError: one scan has one configuration."""
    found: dict[str, str] = {}  # configuration file -> the first start that found it
    for start in starts:
        folder = os.path.realpath(start if os.path.isdir(start) else os.path.dirname(start) or ".")
        top = git_toplevel(folder)
        while True:
            here = _in_folder(folder)
            if here is not None:
                found.setdefault(here, start)
                break
            parent = os.path.dirname(folder)
            if folder == top or parent == folder:
                break
            folder = parent
    if len(found) > 1:
        (one, first), (other, second) = list(found.items())[:2]
        raise ConfigError(
            f"{first} and {second} have different configurations ({_shown(one)} and "
            f"{_shown(other)}): scan them separately, or name one with --config"
        )
    if found:
        return _shown(next(iter(found)))
    here = _in_folder(os.getcwd())
    return _shown(here) if here is not None else None


def _in_folder(folder: str) -> str | None:
    """`.eks-checks.yaml` of `folder`, else its `pyproject.toml` when that has a
    `[tool.eks-checks]` table (one that cannot be read or parsed counts: loading it says
    why)."""
    candidate = os.path.join(folder, DEFAULT_FILE)
    if os.path.isfile(candidate):
        return candidate
    candidate = os.path.join(folder, "pyproject.toml")
    if not os.path.isfile(candidate):
        return None
    try:
        with open(candidate, "rb") as fh:
            head = fh.read(MAX_BYTES + 1)
        if len(head) <= MAX_BYTES and b"eks-checks" not in head:
            return None  # not parsed: most pyproject.toml files say nothing of us
        data = _pyproject(candidate)
    except (ConfigError, OSError):
        return candidate
    tool = data.get("tool")
    return candidate if isinstance(tool, dict) and "eks-checks" in tool else None


def _shown(path: str) -> str:
    """A configuration's path as messages show it: relative to the working directory when
    it is under it."""
    from checks.discover import display_path

    return display_path(path)


def load(path: str | None, starts: list[str] | None = None) -> Config:
    """The configuration from `path` (trusted: the command line names it); else the one
    `find(starts)` finds; else the defaults. A file found rather than given may be part of
    the pull request being scanned: the paths it names must stay in its folder."""
    trusted = path is not None
    if path is None:
        path = find(starts if starts else ["."])
        if path is None:
            return Config()
    if path.endswith(".toml"):
        return _from_pyproject(path, trusted)
    from checks.parse import MAX_SETTINGS_NESTING, ParseError
    from checks.parse.yamlsafe import load_all

    try:
        text = _read(path)
        docs = load_all(text, max_depth=MAX_SETTINGS_NESTING, strict_numbers=True)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not valid UTF-8") from None
    except ParseError as exc:
        where = f":{exc.line}" if exc.line else ""
        raise ConfigError(f"{path}{where}: {exc.message}") from None
    if len(docs) > 1:
        raise ConfigError(f"{path}: a configuration file holds one YAML document")
    return _build(path, docs[0] if docs else None, trusted)


def _read(path: str) -> str:
    """A configuration file's text, read no further than MAX_BYTES (a link may lead to a
    file of any size)."""
    from checks.parse import read_regular_file

    data = read_regular_file(path, MAX_BYTES)
    if len(data) > MAX_BYTES:
        raise ConfigError(f"{path}: configuration file larger than 1 MB")
    return data.decode("utf-8")


def _build(path: str, data: Any, trusted: bool = True) -> Config:
    from checks.parse import MAX_SETTINGS_NESTING, check_depth

    if data is None:
        data = {}
    if not check_depth(data, MAX_SETTINGS_NESTING):
        raise ConfigError(f"{path}: nested deeper than {MAX_SETTINGS_NESTING} levels")
    data = _dates_as_text(data)
    _validate(path, data)
    base = os.path.dirname(os.path.abspath(path.removesuffix(PYPROJECT_SECTION)))
    if not trusted:
        _paths_inside(path, base, data)
    config = Config(**{k: v for k, v in data.items()}, source=path)
    config.policy_dirs = [os.path.join(base, d) for d in config.policy_dirs]
    config.var_files = {
        os.path.join(base, d): [os.path.join(base, f) for f in files]
        for d, files in config.var_files.items()
    }
    return config


def _paths_inside(path: str, base: str, data: dict) -> None:
    """Every path the configuration names (policy folders and their rule files, var_files
    folders and files) resolves, links followed, inside `base`, and not in a folder the walk
    never reads (`.git`...)."""
    from checks.discover import SKIP_DIRS, inside
    from checks.parse import excerpt

    folder = os.path.realpath(base)

    def check(name: str, where: str) -> None:
        real = os.path.realpath(os.path.join(base, name))
        if inside(real, [folder]) is None:
            raise ConfigError(
                f"{path}: {where}: {excerpt(name)} is outside the folder of the configuration"
            )
        skipped = set(os.path.relpath(real, folder).split(os.sep)) & SKIP_DIRS
        if skipped:
            raise ConfigError(
                f"{path}: {where}: {excerpt(name)} is in {sorted(skipped)[0]}, which is never read"
            )

    for index, directory in enumerate(data.get("policy_dirs", [])):
        check(directory, f"$.policy_dirs[{index}]")
        try:
            entries = sorted(os.listdir(os.path.join(base, directory)))
        except OSError:
            entries = []  # loading the rules says what is wrong with it
        for entry in entries:
            if entry.endswith((".yaml", ".yml")):
                check(os.path.join(directory, entry), f"$.policy_dirs[{index}]")
    for directory, files in data.get("var_files", {}).items():
        check(directory, f"$.var_files.{directory}")
        for index, name in enumerate(files):
            check(name, f"$.var_files.{directory}[{index}]")


def _pyproject(path: str) -> dict:
    """A pyproject.toml, parsed with the guards of any configuration (size, nesting)."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    from checks.parse import MAX_SETTINGS_NESTING, ParseError, check_nesting

    try:
        text = _read(path)
        # tomllib recurses into arrays and inline tables
        check_nesting(text, "TOML", limit=MAX_SETTINGS_NESTING)
        return tomllib.loads(text)
    except ParseError as exc:
        raise ConfigError(f"{path}:{exc.line}: {exc.message}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: TOML nested too deeply") from None


def _from_pyproject(path: str, trusted: bool = True) -> Config:
    try:
        data = _pyproject(path)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    section = data.get("tool", {}).get("eks-checks")
    if section is None:
        return Config()
    # TOML users write fail-on as often as fail_on
    section = (
        {k.replace("-", "_"): v for k, v in section.items()}
        if isinstance(section, dict)
        else section
    )
    return _build(f"{path}{PYPROJECT_SECTION}", section, trusted)


def _dates_as_text(value: Any) -> Any:
    """YAML reads `until: 2027-01-31` as a date; the schema and the filter want the text."""
    import datetime

    if isinstance(value, dict):
        return {k: _dates_as_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_dates_as_text(v) for v in value]
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def _validate(path: str, data: Any) -> None:
    import jsonschema

    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    errors = sorted(
        jsonschema.Draft202012Validator(schema).iter_errors(data),
        key=lambda e: (-len(e.absolute_path), e.message),
    )
    if errors:
        err = errors[0]
        where = "$" + "".join(
            f"[{p}]" if isinstance(p, int) else f".{p}" for p in err.absolute_path
        )
        raise ConfigError(f"{path}: {where}: {err.message}")
