"""Command line: `eks-checks scan | rules | explain | model | access | validate-policies |
rego export`.

Exit codes: 0 nothing at or above --fail-on; 1 findings; 2 usage error, unreadable or
unparseable input, invalid policy or configuration.
"""

from __future__ import annotations

import argparse
import atexit
import gc
import os
import signal
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from checks import __version__

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


class UsageError(Exception):
    pass


class _Stopped(BaseException):
    """SIGTERM, raised like Ctrl-C's KeyboardInterrupt so that worker processes are stopped on
    the way out and the exit code says which signal it was."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


DOCS = "https://github.com/eks-checks/eks-checks#readme"
EXIT_CODES = """exit codes:
  0  nothing at or above --fail-on (and with --exit-zero, whatever was found)
  1  findings at or above --fail-on
  2  usage error, unreadable or unparseable input, invalid policy or configuration"""
EXAMPLES = """examples:
  eks-checks scan .                              the gate: exit 1 on findings
  eks-checks scan . --output-format sarif:eks-checks.sarif
                                                 annotations or text, and SARIF, from one scan
  eks-checks scan --context-root=git infra/eks.tf
                                                 one file, with its repository as context"""
CONFIGURATION = """configuration: --config FILE; else, in each folder from each PATH (or from
  --context-root) up to the top of its git repository, or the filesystem root outside one,
  .eks-checks.yaml, else pyproject.toml with a [tool.eks-checks] table; else the same in the
  working directory. The first found wins; a configuration found, not given, names only paths
  inside its folder. The command line wins over the file.

paths: --exclude and `exclude` patterns (fnmatch: * also matches /), `suppress` paths and
  baseline paths are relative to the repository root: the top of the git repository of the
  PATHs, else the configuration's folder when the PATHs are in it, else their common folder.
  A pattern excludes the paths it matches and everything under them; one that matches
  nothing is a note."""


ACCESS_HELP = """examples:
  eks-checks access .                            every path, grouped by power
  eks-checks access . --to cluster-admin --from 'acme/*'
                                                 what the organisation's repositories reach
  eks-checks access . --format markdown >> "$GITHUB_STEP_SUMMARY"
  eks-checks access --context-root=git infra/github.tf
                                                 the paths through a changed file

exit codes: 0 the paths were listed; 2 usage error, or a file that could not be read"""


def _parser() -> argparse.ArgumentParser:
    from checks.model import SEVERITIES
    from checks.report import ACCESS_FORMATS, FORMATS

    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="eks-checks",
        description="Policy-as-code checks for Amazon EKS identity and access.",
        epilog=f"{EXIT_CODES}\n\n{EXAMPLES}\n\ndocumentation: {DOCS}",
        formatter_class=raw,
    )
    parser.add_argument("--version", action="store_true", help="show the version and exit")
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="with --version: also which program renders kustomizations, and its version",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    scan = sub.add_parser(
        "scan",
        help="scan files and directories (default: .)",
        description="Scan files and directories (default: .) and report what the rules find.",
        epilog=f"{CONFIGURATION}\n\n{EXIT_CODES}\n\n{EXAMPLES}\n\ndocumentation: {DOCS}",
        formatter_class=raw,
    )
    scan.add_argument(
        "--format",
        "-f",
        choices=list(FORMATS),
        default=None,
        help="default: text (github when GITHUB_ACTIONS=true)",
    )
    scan.add_argument("--output", "-o", metavar="FILE", help="write the report to FILE")
    scan.add_argument(
        "--output-format",
        action="append",
        default=[],
        type=_format_and_file,
        metavar="FORMAT:FILE",
        help="also write the report in FORMAT to FILE (repeatable): several reports, one scan",
    )
    _rule_options(scan)
    _input_options(scan)
    scan.add_argument(
        "--fail-on",
        choices=list(SEVERITIES),
        default=None,
        help="lowest severity that makes the exit code 1 (default: low)",
    )
    scan.add_argument(
        "--exit-zero",
        action="store_true",
        help="report only: exit 0 whatever is found (2 still means the scan could not be done)",
    )
    scan.add_argument(
        "--no-prefilter",
        action="store_true",
        help="parse every Terraform block and YAML document, even those no rule can use",
    )
    scan.add_argument(
        "--no-color",
        action="store_true",
        help="never colour text output (also NO_COLOR=1; FORCE_COLOR=1 colours it off a terminal)",
    )
    scan.add_argument(
        "--snippets",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show the offending lines under each finding in text output (default: on a terminal)",
    )
    scan.add_argument(
        "--show-unknown",
        action="store_true",
        help="list the checks that could not be decided because a value is unknown",
    )
    scan.add_argument(
        "--baseline",
        metavar="FILE",
        help="report and fail only on findings not in FILE (a baseline or JSON report); "
        "list the suppressions FILE does not hold as added by this change",
    )
    scan.add_argument(
        "--write-baseline",
        metavar="FILE",
        help="write the findings and suppressions to FILE as a baseline (exit 0 unless errors)",
    )
    scan.add_argument(
        "--no-inline-suppressions",
        action="store_true",
        help="audit: ignore `eks-checks: ignore[...]` comments and eks-checks.io/ignore "
        "annotations (the configuration's `suppress` still applies: give your own --config)",
    )
    scan.add_argument(
        "--rego-timeout",
        type=float,
        metavar="SECONDS",
        help="stop the evaluation of Rego policies after SECONDS (default 10)",
    )
    scan.add_argument(
        "--rego-memory",
        type=int,
        metavar="MB",
        help="stop the evaluation of Rego policies past MB of memory (default 512)",
    )

    rules = sub.add_parser("rules", help="list the rule catalog")
    _rule_options(rules)

    explain = sub.add_parser("explain", help="explain one rule")
    explain.add_argument("rule_id", metavar="RULE")
    explain.add_argument("--policy-dir", action="append", default=[], metavar="DIR")

    model = sub.add_parser(
        "model",
        help="print the normalized model as JSON",
        description="Print the normalized model of the PATHs as JSON, read with the same "
        "inputs, configuration and flags as `scan`.",
        epilog=f"{CONFIGURATION}\n\ndocumentation: {DOCS}",
        formatter_class=raw,
    )
    model.add_argument("--output", "-o", metavar="FILE", help="write the model to FILE")
    model.add_argument(
        "--config", metavar="FILE", help="configuration file (default: found as described below)"
    )
    _input_options(model)

    access = sub.add_parser(
        "access",
        help="who can reach the cluster and with what power; what pods reach in AWS",
        description="Walk the access graph of the PATHs (read with the same inputs, "
        "configuration and flags as `scan`): every path from an entry point (a trust "
        "statement's principals, a mapped IAM principal, a pod, the nodes whose pods reach "
        "IMDS) to a power (cluster-admin, RBAC capabilities, admin/edit/view and access "
        "policies by scope, AWS admin and iam_write), grouped by power, each hop with its "
        "file and line.",
        epilog=f"{ACCESS_HELP}\n\n{CONFIGURATION}\n\ndocumentation: {DOCS}",
        formatter_class=raw,
    )
    access.add_argument(
        "--format", "-f", choices=list(ACCESS_FORMATS), default="text", help="default: text"
    )
    access.add_argument("--output", "-o", metavar="FILE", help="write the paths to FILE")
    access.add_argument(
        "--from",
        dest="sources",
        action="append",
        default=[],
        metavar="PRINCIPAL",
        help="only paths from these entry points (repeatable): an ARN, a repository "
        "(owner/repo), namespace/serviceaccount, or any name shown, with * and ? wildcards",
    )
    access.add_argument(
        "--to",
        dest="targets",
        action="append",
        default=[],
        metavar="POWER",
        help="only paths to these powers (repeatable): cluster-admin, escalation, a "
        "capability, admin, edit, view, an access policy, aws, aws:admin, aws:iam_write",
    )
    access.add_argument(
        "--limit",
        type=int,
        default=None,
        metavar="N",
        help="at most N paths per power, and a count of the others (default 10; 0: all)",
    )
    access.add_argument(
        "--show-unknown",
        action="store_true",
        help="also list the paths through a hop the files do not decide",
    )
    access.add_argument("--no-color", action="store_true", help="never colour text output")
    access.add_argument(
        "--config", metavar="FILE", help="configuration file (default: found as described below)"
    )
    _input_options(access)

    validate = sub.add_parser(
        "validate-policies", help="check rule files against the schema (and compile .rego files)"
    )
    validate.add_argument("directories", nargs="+", metavar="DIR")

    rego = sub.add_parser("rego", help="OPA: the rule catalog as a Rego bundle")
    rego_sub = rego.add_subparsers(dest="rego_command", metavar="COMMAND", required=True)
    export = rego_sub.add_parser(
        "export",
        help="write the rules (bundled, --policy-dir, with the configuration's params) as an "
        "OPA bundle in DIR",
    )
    export.add_argument("directory", metavar="DIR")
    _rule_options(export)
    return parser


def _format_and_file(value: str) -> tuple[str, str]:
    """`FORMAT:FILE` of --output-format (the first colon splits: a FILE may hold more)."""
    from checks.report import FORMATS

    fmt, colon, file = value.partition(":")
    if not colon or not file:
        raise argparse.ArgumentTypeError(f"{value!r} is not FORMAT:FILE")
    if fmt not in FORMATS:
        raise argparse.ArgumentTypeError(
            f"unknown format {fmt!r} (choose from {', '.join(FORMATS)})"
        )
    return fmt, file


def _input_options(p: argparse.ArgumentParser) -> None:
    """What a command that reads a tree takes, so that `scan`, `model` (and any later
    command that reads the same inputs) see the same files with the same values."""
    p.add_argument("paths", nargs="*", metavar="PATH")
    p.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="GLOB",
        help="skip paths matching GLOB, relative to the repository root (repeatable)",
    )
    p.add_argument(
        "--max-file-size",
        type=int,
        default=None,
        metavar="BYTES",
        help="skip (and report) files larger than this (default 5000000)",
    )
    p.add_argument(
        "--var-file",
        action="append",
        default=[],
        metavar="FILE",
        help="a variable file you give terraform with -var-file (repeatable): applied after "
        "terraform.tfvars and *.auto.tfvars to each directory PATH (the root modules)",
    )
    p.add_argument(
        "--context-root",
        metavar="DIR",
        help="read the whole tree under DIR for cross-file links, report only on "
        "PATHs (pre-commit); `git` means the repository's top level",
    )
    p.add_argument(
        "--strict",
        action="store_true",
        help="every file that cannot be parsed is an error, even CloudFormation and templates",
    )
    p.add_argument(
        "--jobs",
        "-j",
        type=int,
        default=None,
        metavar="N",
        help="parser processes for large scans (default: all cores)",
    )
    p.add_argument(
        "--no-cache",
        action="store_true",
        help="do not use the parse cache (in $EKS_CHECKS_CACHE_DIR or ~/.cache/eks-checks)",
    )


def _rule_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--policy-dir",
        action="append",
        default=[],
        metavar="DIR",
        help="also load rules from DIR (repeatable)",
    )
    p.add_argument(
        "--select", metavar="IDS", help="only these rules (comma-separated ids, prefixes or slugs)"
    )
    p.add_argument("--ignore", metavar="IDS", help="not these rules (comma-separated)")
    p.add_argument(
        "--config",
        metavar="FILE",
        help="configuration file (default: .eks-checks.yaml or pyproject.toml, found from the "
        "PATHs up to the repository's top, then in the working directory)",
    )


# a scan keeps millions of objects to its end: at the collector's default threshold (700
# allocations) its full collections walked that whole heap over and over, a quarter of the
# CPU time at 20,000 files; past 10,000 they are rare (workers inherit it)
GC_THRESHOLD = 10_000


def run() -> None:
    """The `eks-checks` command: `main`, then the process ends at once. What a scan leaves
    (a model of tens of MiB) is not taken apart object by object at exit, a measurable part
    of a pre-commit hook's run; the exit handlers run first and the output is flushed
    (`main` has waited for the cache's writer)."""
    code = main()
    run_exit_handlers = getattr(atexit, "_run_exitfuncs", None)
    if run_exit_handlers is None:  # not CPython: the interpreter's own exit
        sys.exit(code)
    run_exit_handlers()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass  # a reader gone: what `main` could write it wrote
    os._exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line `argv` (default: the process's); the exit code."""
    threshold, collecting = gc.get_threshold(), gc.isenabled()
    gc.set_threshold(GC_THRESHOLD, *threshold[1:])
    try:
        return _main(argv)
    finally:
        gc.set_threshold(*threshold)
        if collecting:
            gc.enable()


def _main(argv: Sequence[str] | None) -> int:
    for stream in (sys.stdout, sys.stderr):
        # a terminal that cannot show a character gets an escape, never an error
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help/--version exit 0, bad usage exits 2
        return int(exc.code or 0)
    if args.version:
        print(f"eks-checks {__version__}")
        if args.verbose:
            from checks.sources.kustomize import renderer_version

            print(f"kustomize renderer: {renderer_version()}")
        return 0
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_ERROR
    previous = _raise_on_sigterm()
    try:
        code = COMMANDS[args.command](args)
        sys.stdout.flush()  # a write error shows here, not at exit
        return code
    except UsageError as exc:
        for line in str(exc).split("\n"):  # one line per problem, each a whole sentence
            _say(f"eks-checks: error: {line}")
        return EXIT_ERROR
    except BrokenPipeError:  # the reader went away (`| head`): nothing left to tell
        _silence_stdout()
        return EXIT_ERROR
    except OSError as exc:
        _silence_stdout()
        _say(f"eks-checks: error: cannot write to standard output: {exc.strerror or exc}")
        return EXIT_ERROR
    except KeyboardInterrupt:
        _say("eks-checks: stopped by SIGINT")
        return 128 + signal.SIGINT
    except _Stopped as stop:
        _say(f"eks-checks: stopped by {signal.Signals(stop.signum).name}")
        return 128 + stop.signum
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _raise_on_sigterm():
    """SIGTERM raises `_Stopped` while a command runs; the previous handler, to restore."""

    def stop(signum: int, _frame) -> None:
        raise _Stopped(signum)

    try:
        return signal.signal(signal.SIGTERM, stop)
    except ValueError:  # not the main thread: signals are someone else's
        return None


def _say(line: str) -> None:
    """One line on standard error, escaped: it may quote input."""
    from checks.safetext import safe_text

    try:
        print(safe_text(line), file=sys.stderr)
    except OSError:
        pass


def _silence_stdout() -> None:
    """After a failed write, the rest of the buffer must not fail again at exit."""
    if sys.stdout is sys.__stdout__ and sys.stdout is not None:
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass


def _load_rules(args, config, cache=None) -> list:
    from checks.rules import RuleError, load_bundled, load_dir

    try:
        rules = load_bundled(cache)
        for directory in list(config.policy_dirs) + list(getattr(args, "policy_dir", [])):
            rules.extend(load_dir(directory))
            if any(name.endswith(".rego") for name in os.listdir(directory)):
                from checks.rego.policy import load_policies

                rules.extend(load_policies(directory))
    except RuleError as exc:
        raise UsageError("\n".join(f"invalid policy: {m}" for m in exc.messages)) from None
    seen: dict[str, str] = {}
    for rule in rules:
        if rule.id in seen:
            raise UsageError(f"rule {rule.id} is defined twice: {seen[rule.id]} and {rule.source}")
        seen[rule.id] = rule.source
    return rules


def _matches(rule, selector: str) -> bool:
    selector = selector.strip()
    return (
        rule.id == selector.upper() or rule.slug == selector or rule.id.startswith(selector.upper())
    )


def _select(rules: list, select: list[str], ignore: list[str]) -> list:
    for selector in select + ignore:
        if not any(_matches(r, selector) for r in rules):
            raise UsageError(f"no rule matches {selector!r} (see `eks-checks rules`)")
    if select:
        rules = [r for r in rules if any(_matches(r, s) for s in select)]
    return [r for r in rules if not any(_matches(r, s) for s in ignore)]


def _split(value: str | None) -> list[str]:
    return [v for v in (value or "").split(",") if v.strip()]


def _config(args, starts: list[str] | None = None):
    """The configuration: --config, else the one found from `starts` (checks.config.find)."""
    from checks.config import ConfigError, load

    try:
        return load(getattr(args, "config", None), starts)
    except ConfigError as exc:
        raise UsageError(f"invalid configuration: {exc}") from None


def _prepared_rules(args, config, cache=None, loaded: list | None = None) -> list:
    """The rules a run evaluates: those loaded (`loaded`, else loaded here) with the
    configuration's overrides, selected by --select/--ignore and the configuration."""
    import copy

    from checks.rules import param_override_error

    rules = (
        [copy.copy(r) for r in loaded] if loaded is not None else _load_rules(args, config, cache)
    )
    wrong = []
    for rule in rules:
        override = config.rules.get(rule.id, {})
        if "severity" in override:
            rule.severity = override["severity"]
        unknown = set(override.get("params", {})) - set(rule.params)
        if unknown:
            raise UsageError(
                f"invalid configuration: {config.source}: $.rules.{rule.id}.params: "
                f"unknown parameter(s) {', '.join(sorted(unknown))}"
            )
        wrong += [
            f"invalid configuration: {config.source}: $.rules.{rule.id}.params.{name}: {why}"
            for name, value in override.get("params", {}).items()
            if (why := param_override_error(rule, name, value))
        ]
    if wrong:
        raise UsageError("\n".join(wrong))
    for rule_id in config.rules:
        if not any(r.id == rule_id for r in rules):
            raise UsageError(
                f"invalid configuration: {config.source}: $.rules.{rule_id}: no such rule"
            )
    disabled = [r.id for r in rules if config.rules.get(r.id, {}).get("enabled") is False]
    select = _split(args.select) if args.select else list(config.select)
    ignore = list(config.ignore) + _split(args.ignore) + disabled
    return _select(rules, select, ignore)


def _var_files(
    paths: list[str], given: list[str], configured: dict[str, list[str]]
) -> dict[str, list[tuple[str, str]]]:
    """Module directory (absolute) -> [(display path, text)] of its -var-file files: the
    configuration's first, then each --var-file for every directory PATH and the module of
    every .tf file PATH (so the command line wins). A file that cannot be read is a usage
    error."""
    from checks.discover import DEFAULT_MAX_BYTES, display_path, file_key, read_text
    from checks.sources import module_of

    def read(name: str, what: str) -> tuple[str, str]:
        shown = display_path(name)
        if not os.path.isfile(name):
            raise UsageError(f"{what} {shown}: no such file")
        text, reason = read_text(name, DEFAULT_MAX_BYTES)
        if text is None:
            raise UsageError(f"{what} {shown}: {reason}")
        return shown, text

    out: dict[str, list[tuple[str, str]]] = {}
    for directory, names in configured.items():
        what = f"var_files of {display_path(directory)}:"
        out.setdefault(file_key(directory), []).extend(read(n, what) for n in names)
    files = [read(name, "--var-file") for name in given]
    # the root modules: each directory PATH, and the module of each .tf file PATH
    modules = [p if os.path.isdir(p) else module_of(p) for p in paths]
    for module in sorted({file_key(m) for m in modules if m is not None}) if files else ():
        out.setdefault(module, []).extend(files)
    return out


def _check_paths(paths: list[str]) -> list[str]:
    paths = paths or ["."]
    for p in paths:
        if not os.path.lexists(p):
            raise UsageError(f"{p}: no such file or directory")
    return paths


def _open_cache(roots: list[str]):
    """The cache for a run that reads `roots`, or None (with a note when it is refused)."""
    from checks.cache import open_cache

    cache, note = open_cache(roots)
    if note:
        _say(f"eks-checks: note: {note}")
    return cache


@dataclass
class Inputs:
    """What a command that reads a tree reads, and how: the same for `scan` and `model`."""

    config: Any
    paths: list[str]
    context_root: str | None
    root: str  # the repository root (absolute): excludes and baseline paths are relative to it
    excludes: list[str]
    exclude_sources: dict[str, str]  # pattern -> where it was given
    var_files: dict[str, list[tuple[str, str]]]
    max_bytes: int
    cache: Any  # checks.cache.Cache, or None
    exclude_hits: set[str] = field(default_factory=set)

    def scan_options(self, args) -> dict:
        """The keyword arguments of checks.scan.scan that come from the inputs."""
        return {
            "context_root": self.context_root,
            "jobs": args.jobs,
            "strict": args.strict,
            "excludes": self.excludes,
            "max_bytes": self.max_bytes,
            "var_files": self.var_files,
            "root": self.root,
            "exclude_hits": self.exclude_hits,
        }

    def pack(self, kind: str):
        """The cache pack of this kind of run (the same trees from the same directory)."""
        if self.cache is None:
            return None
        trees = [self.context_root] if self.context_root is not None else self.paths
        identity = [kind, os.getcwd()] + [os.path.realpath(p) for p in trees]
        return self.cache.pack("\0".join(identity))

    def unmatched_excludes(self) -> list[str]:
        """One line per exclude pattern that matched nothing, saying where it was given."""
        from checks.discover import display_path

        return [
            f"{where}: exclude pattern {pattern!r} matches nothing under "
            f"{display_path(self.root)} (patterns are relative to the repository root)"
            for pattern, where in self.exclude_sources.items()
            if pattern not in self.exclude_hits
        ]


def _inputs(args, use_cache: bool = True) -> Inputs:
    """The inputs of a command that reads PATHs, checked: usage errors are raised here."""
    paths = _check_paths(args.paths)
    if args.jobs is not None and args.jobs < 1:
        raise UsageError(f"--jobs must be 1 or more, not {args.jobs}")
    context_root = _context_root(args.context_root) if args.context_root else None
    if context_root is not None:
        from checks.discover import inside

        tops = [os.path.realpath(context_root), os.path.abspath(context_root)]
        for p in paths:
            # where it is written, or where it leads (a link is still not read outside)
            if (
                inside(os.path.abspath(p), tops) is None
                and inside(os.path.realpath(p), tops) is None
            ):
                raise UsageError(f"{p}: not inside --context-root {context_root}")
    starts = [context_root] if context_root is not None else paths
    config = _config(args, starts)
    root = _repository_root(starts, config)
    sources = {pattern: config.source for pattern in config.exclude}
    sources.update({pattern: "--exclude" for pattern in args.exclude})
    cache = None
    if use_cache and not args.no_cache:
        cache = _open_cache(list(paths) + ([context_root] if context_root is not None else []))
    return Inputs(
        config=config,
        paths=paths,
        context_root=context_root,
        root=root,
        excludes=list(config.exclude) + list(args.exclude),
        exclude_sources=sources,
        var_files=_var_files(paths, args.var_file, config.var_files),
        max_bytes=args.max_file_size or config.max_file_size,
        cache=cache,
    )


def _repository_root(starts: list[str], config) -> str:
    """The folder paths of excludes, configured suppressions and baselines are relative to:
    the top of the git repository of the PATHs, else the configuration's folder when the
    PATHs are in it, else the PATHs' common folder."""
    from checks.config import git_toplevel
    from checks.discover import inside

    folders = [
        os.path.realpath(p if os.path.isdir(p) else os.path.dirname(p) or ".") for p in starts
    ]
    common = os.path.commonpath(folders)
    top = git_toplevel(common)
    if top is not None:
        return top
    folder = config.folder
    if folder is not None and inside(common, [os.path.realpath(folder)]) is not None:
        return os.path.realpath(folder)
    return common


def _color(args, to_terminal: bool) -> bool:
    """Colour: never with --no-color or a non-empty NO_COLOR (no-color.org); always with a
    non-empty FORCE_COLOR (force-color.org); else on a terminal."""
    if args.no_color or os.environ.get("NO_COLOR"):
        return False
    return bool(os.environ.get("FORCE_COLOR")) or to_terminal


def _reports(args) -> list[tuple[str, str | None]]:
    """(format, output file or None for standard output) of each report asked for."""
    fmt = args.format or ("github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text")
    return [(fmt, args.output)] + list(args.output_format)


def cmd_scan(args) -> int:
    if args.context_root:
        # the pre-commit hook: what it makes it keeps to its end, and the collector's passes
        # over what it decoded were 10 ms of a 0.3 s run; a whole scan without any peaks
        # as high (measured on the ten public repositories: 103 and 102 MiB)
        gc.disable()
    import datetime

    from checks.filter import rule_names
    from checks.model import SEVERITIES
    from checks.report import active, renderer
    from checks.scan import ContextMismatch, scan

    started = datetime.datetime.now(datetime.timezone.utc)
    inputs = _inputs(args)
    config = inputs.config
    everything = _load_rules(args, config, inputs.cache)  # what a suppression may name
    rules = _prepared_rules(args, config, inputs.cache, everything)
    params = {rule_id: o.get("params", {}) for rule_id, o in config.rules.items()}
    baseline = None
    if args.baseline:
        from checks.filter import BaselineError, load_baseline

        try:
            baseline = load_baseline(args.baseline)
        except BaselineError as exc:
            raise UsageError(f"invalid baseline: {exc}") from None
        baseline.root = inputs.root
    pack = inputs.pack("scan")
    reports = _reports(args)
    try:
        result = scan(
            inputs.paths,
            rules,
            params,
            pack=pack,
            prefilter=not args.no_prefilter,
            path_suppressions=config.path_suppressions(),
            baseline=baseline,
            rego_limits=_rego_limits(args, config),
            known_rules=rule_names(everything),
            inline_suppressions=not args.no_inline_suppressions,
            # only the conftest report shows the model
            keep_model=any(name == "conftest" for name, _ in reports),
            **inputs.scan_options(args),
        )
    except ContextMismatch as exc:  # $EKS_CHECKS_CHECK_CONTEXT: a reduced context is wrong
        _say(f"eks-checks: error: {exc}")
        return EXIT_ERROR
    if baseline is not None and baseline.notes:
        result.problems = sorted(
            result.problems + baseline.notes, key=lambda p: (p.file, p.line, p.message)
        )
    for line in inputs.unmatched_excludes():
        _say(f"eks-checks: note: {line}")
    if args.write_baseline:
        import json

        from checks.filter import baseline_document

        document = baseline_document(result.findings, inputs.root)
        _write(json.dumps(document, indent=2, allow_nan=False) + "\n", args.write_baseline)
        counted, kept = len(document["findings"]), len(document["suppressions"])
        _say(
            f"eks-checks: wrote {_plural(counted, 'finding')} and "
            f"{_plural(kept, 'suppressed finding')} to {args.write_baseline}"
        )
    fmt = reports[0][0]
    to_terminal = not args.output and sys.stdout.isatty()
    options = {
        "show_unknown": args.show_unknown,
        "fail_on": args.fail_on or config.fail_on,
        "max_bytes": inputs.max_bytes,
        "root": inputs.root,
        "started": started,
        "ended": datetime.datetime.now(datetime.timezone.utc),
    }
    for index, (name, output) in enumerate(reports):
        shown = index == 0 and not output  # the report on standard output
        text = renderer(name)(
            result,
            options
            | {
                "color": name == "text" and shown and _color(args, to_terminal),
                "snippets": name == "text"
                and (args.snippets if args.snippets is not None else shown and to_terminal),
            },
        )
        _write(text, output)
    if pack is not None:
        pack.wait()  # written while the report was made
        inputs.cache.prune()  # at most once a day: a bounded cache directory
    if args.output and fmt != "text":
        from checks.report.text import summary

        _say(summary(result))
    if any(p.level == "error" for p in result.problems):
        return EXIT_ERROR
    if args.exit_zero or args.write_baseline:
        return EXIT_OK
    fail_on = SEVERITIES[args.fail_on or config.fail_on].rank
    if any(SEVERITIES[f.severity].rank >= fail_on for f in active(result)):
        return EXIT_FINDINGS
    return EXIT_OK


def _plural(count: int, noun: str) -> str:
    from checks.report import plural

    return plural(count, noun)


def _rego_limits(args, config):
    from checks.rego import RegoLimits

    for flag, value in (("--rego-timeout", args.rego_timeout), ("--rego-memory", args.rego_memory)):
        if value is not None and value <= 0:
            raise UsageError(f"{flag} must be more than 0, not {value:g}")
    default = RegoLimits()
    return RegoLimits(
        timeout=args.rego_timeout or config.rego.get("timeout", default.timeout),
        memory_mb=args.rego_memory or config.rego.get("memory_mb", default.memory_mb),
    )


def _context_root(value: str) -> str:
    """--context-root: a folder, or `git` for the top of the working directory's git
    repository (a usage error outside one)."""
    if value != "git":
        if not os.path.isdir(value):
            raise UsageError(f"--context-root {value}: not a directory")
        return value
    from checks.config import git_toplevel

    top = git_toplevel(os.getcwd())
    if top is None:
        raise UsageError("--context-root=git: the working directory is not in a git repository")
    return os.path.relpath(top)


def _write(text: str | Iterable[str], output: str | None) -> None:
    """The report to `output`, else to standard output (whose write errors `main` reports):
    a text, or its pieces written as they are made."""
    pieces = [text] if isinstance(text, str) else text
    if output:
        try:
            with open(output, "w", encoding="utf-8", errors="backslashreplace") as fh:
                for piece in pieces:
                    fh.write(piece)
        except OSError as exc:
            raise UsageError(f"cannot write {output}: {exc.strerror or exc}") from None
    else:
        for piece in pieces:
            sys.stdout.write(piece)


def cmd_rules(args) -> int:
    from checks.safetext import safe_text

    config = _config(args)
    rules = _prepared_rules(args, config)
    width = max((len(r.slug) for r in rules), default=4)
    lines = [
        safe_text(f"{r.id}  {r.severity:<8}  {r.slug:<{width}}  {r.title}") + "\n" for r in rules
    ]
    _write("".join(lines), None)
    return EXIT_OK


def cmd_explain(args) -> int:
    from checks.config import Config

    rules = _load_rules(args, Config())
    matches = [
        r
        for r in rules
        if _matches(r, args.rule_id) and (r.id == args.rule_id.upper() or r.slug == args.rule_id)
    ]
    if not matches:
        raise UsageError(f"no rule {args.rule_id!r} (see `eks-checks rules`)")
    from checks import ruledoc

    _write(ruledoc.render(ruledoc.escaped(matches[0]), ruledoc.EXPLAIN), None)
    return EXIT_OK


def cmd_model(args) -> int:
    """The model of what `scan` would read, with the same inputs and configuration."""
    from checks.scan import scan

    inputs = _inputs(args)
    pack = inputs.pack("model")
    # every entity, so no pre-filter; no rules, so nothing to filter
    result = scan(inputs.paths, [], {}, pack=pack, prefilter=False, **inputs.scan_options(args))
    for line in inputs.unmatched_excludes():
        _say(f"eks-checks: note: {line}")
    doc = {
        "version": 1,
        "tool": {"name": "eks-checks", "version": __version__},
        "entities": [e.to_json() for e in result.entities],
        "problems": [p.to_json() for p in result.problems],
    }
    from checks.report import json_text

    _write(json_text(doc), args.output)
    if pack is not None:
        pack.wait()
        inputs.cache.prune()
    return EXIT_ERROR if any(p.level == "error" for p in result.problems) else EXIT_OK


def cmd_access(args) -> int:
    """The paths of the access graph of what `scan` would read, with the same inputs."""
    from checks.access import DEFAULT_LIMIT, listing
    from checks.report import access_renderer
    from checks.scan import scan

    if args.limit is not None and args.limit < 0:
        raise UsageError(f"--limit must be 0 or more, not {args.limit}")
    inputs = _inputs(args)
    config = inputs.config
    params = {rule_id: o.get("params", {}) for rule_id, o in config.rules.items()}
    pack = inputs.pack("access")
    result = scan(inputs.paths, [], params, pack=pack, **inputs.scan_options(args))
    for line in inputs.unmatched_excludes():
        _say(f"eks-checks: note: {line}")
    # with --context-root, the paths through a file passed (its hops or its entry point)
    touching = {f.display for f in result.files} if inputs.context_root is not None else None
    limit = DEFAULT_LIMIT if args.limit is None else args.limit
    found = listing(result.graph, args.sources, args.targets, limit, args.show_unknown, touching)
    to_terminal = not args.output and sys.stdout.isatty()
    options = {
        "color": args.format == "text" and _color(args, to_terminal),
        "sources": args.sources,
        "targets": args.targets,
        "limit": limit,
        "show_unknown": args.show_unknown,
    }
    _write(access_renderer(args.format)(result.graph, found, result, options), args.output)
    if pack is not None:
        pack.wait()
        inputs.cache.prune()
    return EXIT_ERROR if any(p.level == "error" for p in result.problems) else EXIT_OK


def cmd_validate_policies(args) -> int:
    from pathlib import Path

    from checks.rules import RuleError, load_file

    failed = 0
    count = 0
    for directory in args.directories:
        path = Path(directory)
        if not path.is_dir():
            raise UsageError(f"{directory}: not a directory")
        for f in sorted(path.iterdir()):
            if f.suffix not in (".yaml", ".yml"):
                continue
            count += 1
            try:
                load_file(f, validate=True)
            except RuleError as exc:
                failed += 1
                for message in exc.messages:  # one line per problem
                    _say(message)
        from checks.rego.policy import check_policies, policy_files

        rego_files = policy_files(path)
        count += len(rego_files)
        errors = check_policies(path) if rego_files else []
        failed += len({e.file for e in errors})
        for e in errors:
            _say(f"{e.file}{f':{e.line}' if e.line else ''}: {e.message}")
    _write(f"{count - failed} of {count} rule files valid\n", None)
    return EXIT_ERROR if failed else EXIT_OK


def cmd_rego(args) -> int:
    from checks.rego.export import ExportError, export, write

    config = _config(args)
    rules = _prepared_rules(args, config)
    params = {rule_id: o.get("params", {}) for rule_id, o in config.rules.items()}
    try:
        files = export(rules, params, config.fail_on)
        write(files, args.directory)
    except ExportError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"cannot write {args.directory}: {exc.strerror or exc}") from None
    packages = sum(1 for name in files if name.startswith("eks_checks/rules/"))
    print(f"wrote an OPA bundle of {packages} rules to {args.directory}", file=sys.stderr)
    return EXIT_OK


COMMANDS = {
    "scan": cmd_scan,
    "rules": cmd_rules,
    "explain": cmd_explain,
    "model": cmd_model,
    "access": cmd_access,
    "validate-policies": cmd_validate_policies,
    "rego": cmd_rego,
}
