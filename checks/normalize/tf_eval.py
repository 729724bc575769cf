"""The Terraform evaluator: the value of an expression inside one module instance.

A module's `Declarations` (its variables, locals, resources and data sources, by the address
references use: `checks/parse/hcltree.py`) are read once from its files. An `Evaluator` is one
instance of the module: those declarations, the expressions bound to its variables (from the
variable files Terraform loads; a module call's arguments would be bound the same way), and
what `file()` may read, through the `read_file` callback. `var.x` takes its bound value, else
its default; `local.x` its value; `data.aws_iam_policy_document.x.json` the policy its blocks
describe; a resource's attribute what it is set to. Anything that cannot be resolved stays
`Unknown` (never a guess).

Functions are one table, `FUNCTIONS`: name -> `Function(impl, accepts_unknown)`. Arguments
are evaluated first; a function that does not accept unknown arguments is unknown when one
is; an impl returns NOT_EVALUATED when its arguments are not what it computes with.

What evaluation may build is bounded (`tf_limits`): each named value is computed once per
instance, every name on a reference cycle is unknown, an expression nested deeper than
MAX_LEVELS is cut there, and values over the size limits or past the instance's budget are
unknown, each kind of limit noted once.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

from checks.discover import display_path
from checks.model import LDict, LList, Problem, Unknown
from checks.normalize.tf_limits import (
    BUDGET_NOTE,
    MAX_CHARS,
    MAX_ITEMS,
    MAX_LEVELS,
    SIZE_NOTE,
    Limits,
    capped_text,
)
from checks.normalize.tf_types import convert, parse_type
from checks.parse import ExpansionBudget
from checks.parse.hcltree import (
    INTERPOLATION,
    Attribute,
    Block,
    Call,
    Expression,
    Heredoc,
    Lit,
    ObjectExpr,
    Opaque,
    Ref,
    Target,
    Template,
    TupleExpr,
    declared,
    local_address,
    reference_parts,
)
from checks.tfcatalog import (
    DATA_ATTRIBUTES_READ,
    DATA_SOURCES,
    DESCRIBED_ATTRIBUTES,
    STORED_WITHOUT_SCHEME,
)

MAX_DEPTH = 40  # named values being evaluated, one inside the other
ReadFile = Callable[[str], tuple[str | None, str]]


class Located(str):
    """A string read from a heredoc or a file: where its first line is."""

    file: str = ""
    line: int = 0


class Declarations:
    """What a module's files declare, by the address references use (`var.x`, `local.x`,
    `t.n`, `data.t.n`), its module calls and outputs by name: the same for every instance of
    the module. Of two declarations of one address, the last is used."""

    def __init__(self, files: dict[str, list[Block]]) -> None:
        self.variables: dict[str, Block] = {}
        self.variable_files: dict[str, str] = {}  # address -> the file declaring it
        self.locals: dict[str, tuple[str, Attribute]] = {}
        self.blocks: dict[str, tuple[str, Block]] = {}  # resources and data sources
        self.modules: dict[str, tuple[str, Block]] = {}  # module calls, by name
        self.outputs: dict[str, tuple[str, Attribute]] = {}  # output values, by name
        for file, blocks in files.items():
            for block in blocks:
                if block.type == "locals":
                    for name, attr in block.attributes.items():
                        self.locals[local_address(name)] = (file, attr)
                    continue
                if block.type in ("module", "output") and len(block.labels) == 1:
                    if block.type == "module":
                        self.modules[block.labels[0]] = (file, block)
                    elif "value" in block.attributes:
                        self.outputs[block.labels[0]] = (file, block.attributes["value"])
                    continue
                address = declared(block.type, block.labels)
                if address is None:
                    continue
                if block.type == "variable":
                    self.variables[address] = block
                    self.variable_files[address] = file
                else:
                    self.blocks[address] = (file, block)

    def data_sources(self, data_type: str) -> list[tuple[str, str, Block]]:
        """(address, file, block) of each data source of a type."""
        return [
            (address, file, block)
            for address, (file, block) in self.blocks.items()
            if block.type == "data" and block.labels[0] == data_type
        ]


class CallSite(NamedTuple):
    """Where a function is called: the call, the file it is written in, and its text as an
    unknown value shows it."""

    call: Call
    file: str
    text: str


class Function(NamedTuple):
    """One Terraform function: `impl(evaluator, site, args)` gives its value, or NOT_EVALUATED
    when the arguments are not what it computes with; `accepts_unknown`: it is called with
    unknown arguments too (it keeps them in the structure it builds)."""

    impl: Callable[[Evaluator, CallSite, list], Any]
    accepts_unknown: bool


NOT_EVALUATED = object()  # an impl's answer for arguments it does not compute with


class ModuleCalls(Protocol):
    """What instantiates the module calls of an evaluator's module (`tf_calls.Calls`)."""

    def reference(self, ev: Evaluator, target: Target, ref: Ref) -> Any:
        """The value of `module.<name>...` in `ev`'s module."""


class _TooLarge(Exception):
    """A string being built has passed MAX_CHARS."""


class Evaluator:
    """One instance of a module: its declarations, the expressions bound to its variables
    (`bound`: variable name -> (file, expression), from variable files) or the values a
    module call gives them (`inputs`: variable name -> value, evaluated by the caller), and
    what `file()` reads (`read_file`, relative to `real_directory`). `directory` is the
    module's directory as shown: a Terraform address means something only inside it
    (`terraform_reference`). `calls` instantiates the module's own module calls (none: their
    outputs are unknown); `root_real_directory` is the root module's (`path.root`).

    The references an unknown value names (`Unknown.ref`) are addresses in this instance's
    module; one that names something of the module that called it starts with `../`."""

    def __init__(
        self,
        directory: str,
        declarations: Declarations,
        read_file: ReadFile,
        bound: dict[str, tuple[str, Expression]] | None = None,
        real_directory: str | None = None,
        inputs: dict[str, Any] | None = None,
        calls: ModuleCalls | None = None,
        root_real_directory: str | None = None,
    ) -> None:
        self.directory = directory
        self.real_directory = real_directory or directory
        self.root_real_directory = root_real_directory or self.real_directory
        self.declarations = declarations
        self.read_file = read_file
        self.bound = bound or {}
        self.inputs = inputs or {}
        self.calls = calls
        # `count.index`, `each.key`, `each.value` of the block being evaluated (a module
        # call's instance), by address
        self.iteration: dict[str, Any] = {}
        # notes, each once: why a file() was not read, per call ((file, line, message)), and
        # the first place each kind of evaluation limit was met (the kind)
        self.notes: dict[Any, Problem] = {}
        self.stack: list[str] = []  # the named values being evaluated, innermost last
        # each named value (local, variable, resource attribute, data source) once
        self.values: dict[str, Any] = {}
        self.cyclic: set[str] = set()  # names found on a reference cycle
        self.read_files: dict[str, tuple] = {}  # file() reads, once per path
        self.limits = Limits()
        self.nesting = 0  # expressions being evaluated, one inside the other
        self.yaml_budget = ExpansionBudget()  # shared by the YAML strings the instance holds
        self.rendered: set[str] = set()  # data sources a reference has rendered

    # ---- the public API ------------------------------------------------------------------
    def eval(self, expr: Any, file: str) -> Any:
        """The value of an expression written in `file`; unknown where it cannot be known or
        would be too large. An expression nested deeper than MAX_LEVELS (through references
        too) builds a value that deep: it is cut there, which also bounds the recursion."""
        if len(self.stack) > MAX_DEPTH:
            return Unknown("references nested too deeply")
        if self.nesting >= MAX_LEVELS:
            return self.too_large(getattr(expr, "text", "") or "(nested value)", expr, file)
        self.nesting += 1
        try:
            return self._value(expr, file)
        finally:
            self.nesting -= 1

    def attribute(self, block: Block, name: str, file: str) -> Any:
        """The value of a block's attribute; None when the block does not set it."""
        attr = block.attributes.get(name)
        return None if attr is None else self.eval(attr.expr, file)

    def problems(self) -> list[Problem]:
        """The notes evaluation made: files not read, and the limits met."""
        return list(self.notes.values())

    def too_large(self, text: str, expr: Any, file: str) -> Unknown:
        """The unknown value of something over the size limits (noted once per instance)."""
        self._note("size", file, expr.line, SIZE_NOTE)
        return Unknown("value over the size limit", short(text))

    # ---- expressions ---------------------------------------------------------------------
    def _value(self, expr: Any, file: str) -> Any:
        if isinstance(expr, Lit):
            return expr.value
        if isinstance(expr, Template):
            return self._template(expr, file)
        if isinstance(expr, Heredoc):
            interpolated = self._interpolate(expr.text, file)
            if interpolated is None:
                return self.too_large("(heredoc)", expr, file)
            text = Located(interpolated)
            text.file, text.line = file, expr.content_line
            return text if interpolated is expr.text else self._built(text, expr, file)
        if isinstance(expr, (TupleExpr, ObjectExpr)) and len(expr.items) > MAX_ITEMS:
            return self.too_large("[...]" if isinstance(expr, TupleExpr) else "{...}", expr, file)
        if isinstance(expr, TupleExpr):
            items = LList(line=expr.line, end_line=expr.end_line)
            for item in expr.items:
                items.append(self.eval(item, file))
                items.item_lines.append((item.line, item.end_line))
            return self._bounded(items, "[...]", expr, file)
        if isinstance(expr, ObjectExpr):
            obj = LDict(line=expr.line, end_line=expr.end_line)
            for key, value, line, end_line in expr.items:
                if not isinstance(key, str) and not isinstance(key, (int, float)):
                    key = self.eval(key, file)
                    key = key.text if isinstance(key, Unknown) else str(key)
                obj[key] = self.eval(value, file)
                obj.key_lines[key] = (line, end_line)
            return self._bounded(obj, "{...}", expr, file)
        if isinstance(expr, Ref):
            return self._ref(expr, file)
        if isinstance(expr, Call):
            return self._call(expr, file)
        if isinstance(expr, Opaque):
            return Unknown(f"expression {expr.text} is not evaluated", short(expr.text))
        return Unknown("unsupported expression")

    def _template(self, expr: Template, file: str) -> Any:
        if len(expr.parts) == 1 and not isinstance(expr.parts[0], str):
            return self.eval(expr.parts[0], file)
        out = []
        length = 0
        unknown = None
        for part in expr.parts:
            if isinstance(part, str):
                piece = part
            else:
                value = self.eval(part, file)
                if isinstance(value, Unknown):
                    unknown = unknown or value
                    piece = "${" + value.text + "}"
                elif isinstance(value, bool):
                    piece = "true" if value else "false"
                elif isinstance(value, (str, int, float)):
                    piece = str(value)
                else:
                    unknown = unknown or Unknown("a collection inside a string")
                    piece = "${...}"
            length += len(piece)
            if length > MAX_CHARS:
                return self.too_large('"..."', expr, file)
            out.append(piece)
        text = "".join(out)
        if unknown is not None:
            return Unknown(unknown.reason, capped_text(text), unknown.ref)
        return self._built(text, expr, file)

    def _interpolate(self, text: str, file: str) -> str | None:
        """A heredoc's text with each `${reference}` whose value is a string or a number put
        in; any other stays as written. None when the result would be longer than MAX_CHARS."""
        if "${" not in text:
            return text
        length = len(text)

        def repl(m: Any) -> str:
            nonlocal length
            ref = Ref(0, 0, reference_parts(m.group(1)), m.group(1))
            value = self._ref(ref, file)
            if isinstance(value, (str, int, float)) and not isinstance(value, bool):
                value = str(value)
                length += len(value) - len(m.group(0))
                if length > MAX_CHARS:
                    raise _TooLarge
                return value
            return m.group(0)

        try:
            return INTERPOLATION.sub(repl, text)
        except _TooLarge:
            return None

    # ---- references ----------------------------------------------------------------------
    def _ref(self, ref: Ref, file: str) -> Any:
        """The value a reference names, charged to the instance's budget: later stages walk
        every value handed out, so a large value referenced many times costs each time."""
        value = self._resolve(ref, file)
        if isinstance(value, Unknown):
            return value
        size = self.limits.size(value)
        if self.limits.over(size):  # a literal or a variable file's value can be that large
            return self.too_large(ref.text, ref, file)
        if not self.limits.spend(size[0], size[1]):
            return self._over_budget(ref.text, ref, file)
        return value

    def _resolve(self, ref: Ref, file: str) -> Any:
        target = ref.target
        if target is None:
            return Unknown(f"{ref.text} is not known before apply", ref.text)
        kind, address, rest = target.kind, target.address, target.rest
        if kind == "var":
            block = self.declarations.variables.get(address)
            if block is None:
                return Unknown(f"{address} has no default", ref.text)
            given = target.name in self.inputs or target.name in self.bound
            if not given and "default" not in block.attributes:
                return Unknown(f"{address} has no default", ref.text)
            value = self.named(address, file, block.line, lambda: self._variable(block))
            return _traverse(value, rest, ref)
        if kind == "local":
            found = self.declarations.locals.get(address)
            if found is None:
                return Unknown(f"{address} is not defined", ref.text)
            lfile, attr = found
            return _traverse(self._enter(address, attr.expr, lfile), rest, ref)
        if kind == "path":
            if target.name == "module" and not rest:
                return "."
            if target.name == "root" and not rest:
                # file() reads relative to this module's directory
                return os.path.relpath(self.root_real_directory, self.real_directory)
            # path.cwd: where Terraform runs, which the module does not say
            return Unknown(f"{ref.text} is not in this module", ref.text, address)
        if kind == "data":
            found = self.declarations.blocks.get(address)
            if found is not None and rest[:1] and rest[0] in DATA_SOURCES.get(target.type, ()):
                self.rendered.add(address)
                return self._render(address)
            if found is None or not rest or target.type not in DATA_ATTRIBUTES_READ:
                return Unknown(f"{ref.text} is not known before apply", ref.text, address)
            return self._block_attribute(ref, address, found, rest)
        if kind in ("count", "each") and address in self.iteration:
            return _traverse(self.iteration[address], rest, ref)
        if kind == "module" and self.calls is not None and target.name in self.declarations.modules:
            return self.calls.reference(self, target, ref)
        if kind != "resource":  # module outputs, count, each, self, terraform
            named = address if kind == "module" else None
            return Unknown(f"{ref.text} is not known before apply", ref.text, named)
        found = self.declarations.blocks.get(address)
        if found is None or not rest:
            return Unknown(f"{ref.text} is not in this module", ref.text, address)
        return self._block_attribute(ref, address, found, rest)

    def _block_attribute(self, ref: Ref, address: str, found: tuple[str, Block], rest: list) -> Any:
        """What `rest` reads of a resource or data source: an attribute it sets (or one of a
        nested block's: `metadata[0].name`), an attribute AWS computes that another one
        describes, else unknown."""
        rfile, block = found
        rtype = block.labels[0]
        attr = block.attributes.get(str(rest[0]))
        described = DESCRIBED_ATTRIBUTES.get((rtype, rest[0]))
        if described is not None and attr is None:
            name, words = described
            attr = block.attributes.get(name)
            value = None if attr is None else self._stored(rtype, name, address, attr.expr, rfile)
            value_text = str(value)
            if isinstance(value, Unknown):
                # written as an expression: marked so, for whoever reads the reason
                value_text = value.text if "${" in value.text else "${" + value.text + "}"
            return Unknown(
                f"{ref.text} is computed by AWS ({words} {value_text})", ref.text, address
            )
        if attr is not None:
            value = self._stored(rtype, str(rest[0]), address, attr.expr, rfile)
            return _traverse(value, rest[1:], ref)
        nested = block.children(str(rest[0])) if len(rest) > 2 else []
        index = rest[1] if len(rest) > 2 else None
        if isinstance(index, int) and -len(nested) <= index < len(nested):
            child = nested[index]
            attr = child.attributes.get(str(rest[2]))
            if attr is not None:
                name = f"{address}.{rest[0]}[{index % len(nested)}].{rest[2]}"
                return _traverse(self._enter(name, attr.expr, rfile), rest[3:], ref)
        return Unknown(f"{ref.text} is computed by AWS", ref.text, address)

    def _stored(self, rtype: str, name: str, address: str, expr: Any, file: str) -> Any:
        """An attribute's value as AWS stores it (IAM keeps an OIDC provider's URL without
        its scheme, and condition keys name the provider so)."""
        value = self._enter(f"{address}.{name}", expr, file)
        if (rtype, name) in STORED_WITHOUT_SCHEME and isinstance(value, str):
            return value.split("://", 1)[1] if "://" in value else value
        return value

    def _variable(self, block: Block) -> Any:
        """A variable's value: the caller's argument, else a variable file's, else the
        default; converted to its declared type (optional attributes' defaults filled in)."""
        name = block.labels[0]
        default = block.attributes.get("default")
        where = self.declarations.variable_files.get(f"var.{name}", "")
        if name in self.inputs:
            value = self.inputs[name]
        elif name in self.bound:
            bound_file, expr = self.bound[name]
            value = self.eval(expr, bound_file)
        else:
            value = None if default is None else self.eval(default.expr, where)
        nullable = block.attributes.get("nullable")
        if value is None and default is not None and (name in self.inputs or name in self.bound):
            if isinstance(nullable, Attribute) and self.eval(nullable.expr, where) is False:
                value = self.eval(default.expr, where)  # `nullable = false`: null is the default
        type_attr = block.attributes.get("type")
        if type_attr is None:
            return value
        return convert(value, parse_type(type_attr.expr), lambda expr: self.eval(expr, where))

    def output(self, name: str) -> Any:
        """The value of the module's output `name`, computed once; unknown when the module
        declares no such output."""
        found = self.declarations.outputs.get(name)
        if found is None:
            return Unknown(f"output {name} is not declared", f"output.{name}")
        ofile, attr = found
        return self.named(f"output.{name}", ofile, attr.line, lambda: self.eval(attr.expr, ofile))

    def _render(self, address: str) -> Any:
        """What the data source at `address` renders (an `aws_iam_policy_document`: the policy
        JSON structure), computed once."""
        file, block = self.declarations.blocks[address]
        renderer = DATA_RENDERERS[block.labels[0]]
        return self.named(address, file, block.line, lambda: renderer(self, file, block))

    def _enter(self, name: str, expr: Any, file: str) -> Any:
        return self.named(name, file, expr.line, lambda: self.eval(expr, file))

    def named(self, name: str, file: str, line: int, compute: Callable[[], Any]) -> Any:
        """The value of a named thing (defined at `file`:`line`), computed once per instance.
        Every name on a reference cycle is unknown (Terraform refuses cycles)."""
        if name in self.values:
            return self.values[name]
        if name in self.stack:
            cycle = self.stack[self.stack.index(name) :]
            self.cyclic.update(cycle)
            path = " -> ".join(cycle + [name])
            self._note("cycle", file, line, f"reference cycle {path}: read as unknown")
            return Unknown(f"{name} is part of a reference cycle", name)
        self.stack.append(name)
        # a named value never sees the `count`/`each` of the block that refers to it
        iteration, self.iteration = self.iteration, {}
        try:
            value = compute()
        finally:
            self.stack.pop()
            self.iteration = iteration
        if name in self.cyclic:
            value = Unknown(f"{name} is part of a reference cycle", name)
        self.values[name] = value
        return value

    # ---- functions -----------------------------------------------------------------------
    def _call(self, call: Call, file: str) -> Any:
        """A function call's value; what could build a value over the size limits is sized
        before it is built (by the impl), and what was built is sized and charged here."""
        args = [self.eval(a, file) for a in call.args]
        site = CallSite(call, file, short(call.text))
        function = FUNCTIONS.get(call.name)
        if not (function and function.accepts_unknown):
            first = next((a for a in args if isinstance(a, Unknown)), None)
            if first is not None:
                return Unknown(first.reason, site.text, first.ref)
        result = NOT_EVALUATED if function is None else function.impl(self, site, args)
        if result is NOT_EVALUATED:
            return Unknown(f"{call.name}() is not evaluated", site.text)
        return result if isinstance(result, Unknown) else self._built(result, call, file)

    def file_content(self, path: str, site: CallSite) -> Any:
        """A file's content (relative to the module), read once per instance (each use is
        still charged: later stages parse what file() hands out); why it was not read is
        noted once per call."""
        full = os.path.normpath(os.path.join(self.real_directory, path))
        if full not in self.read_files:
            content, refused = self.read_file(full)
            located = None
            if content is not None:
                located = Located(content)
                located.file, located.line = display_path(full), 1
            self.read_files[full] = (located, refused)
        located, refused = self.read_files[full]
        if located is None:
            if refused:
                file, line = site.file, site.call.line
                message = f"{site.text} not read: {refused}"
                self.notes[(file, line, message)] = Problem(file, message, line, "note")
            return Unknown(f"file {path} could not be read", site.text)
        return located

    # ---- limits --------------------------------------------------------------------------
    def _note(self, kind: str, file: str, line: int, message: str) -> None:
        """One note per kind of limit and instance: the first place it was met."""
        if kind not in self.notes:
            self.notes[kind] = Problem(file, message, line, "note")

    def _over_budget(self, text: str, expr: Any, file: str) -> Unknown:
        self._note("budget", file, expr.line, BUDGET_NOTE)
        return Unknown("the module's evaluation budget is spent", short(text))

    def _bounded(self, value: Any, text: str, expr: Any, file: str) -> Any:
        """`value`, or unknown when it expands past a size limit."""
        if self.limits.over(self.limits.size(value)):
            return self.too_large(text, expr, file)
        return value

    def _built(self, value: Any, expr: Any, file: str) -> Any:
        """A value an operation built: within the size limits and charged to the budget."""
        if not isinstance(value, (str, list, dict)):
            return value
        text = getattr(expr, "text", "") or '"..."'
        value = self._bounded(value, text, expr, file)
        if isinstance(value, Unknown):
            return value
        is_text = isinstance(value, str)
        if not self.limits.spend(0 if is_text else len(value), len(value) if is_text else 0):
            return self._over_budget(text, expr, file)
        return value


def _traverse(value: Any, rest: list, ref: Ref) -> Any:
    for part in rest:
        if isinstance(value, Unknown):
            return value
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and isinstance(part, int) and -len(value) <= part < len(value):
            value = value[part]
        else:
            return Unknown(f"{ref.text} is not known", ref.text)
    return value


def short(text: str) -> str:
    """An expression's text as an unknown value shows it: one line, at most 120 characters."""
    text = " ".join(text.split())
    return text if len(text) <= 120 else text[:117] + "..."


# ---- the functions ---------------------------------------------------------------------------
def _structure(ev: Evaluator, site: CallSite, args: list) -> Any:
    """jsonencode, yamlencode, tolist, toset, tomap: the structure itself (rules read
    structures, not JSON text)."""
    return args[0] if len(args) == 1 else NOT_EVALUATED


def _jsondecode(ev: Evaluator, site: CallSite, args: list) -> Any:
    if len(args) != 1 or not isinstance(args[0], str):
        return NOT_EVALUATED
    from checks.parse.jsonpos import load

    text = args[0]
    line = getattr(text, "line", 0)  # text from a heredoc or a file keeps its lines
    try:
        return load(str(text), line_offset=line - 1 if line else 0)
    except Exception:  # noqa: BLE001 - whatever the JSON reader refuses is invalid JSON here
        return Unknown("jsondecode of invalid JSON", site.text)


def _file(ev: Evaluator, site: CallSite, args: list) -> Any:
    if len(args) != 1 or not isinstance(args[0], str):
        return NOT_EVALUATED
    return ev.file_content(args[0], site)


def _concat(ev: Evaluator, site: CallSite, args: list) -> Any:
    if ev.limits.over(ev.limits.sum_size(args)):
        return ev.too_large(site.text, site.call, site.file)
    out = LList(line=site.call.line, end_line=site.call.end_line)
    for a in args:
        if isinstance(a, list):
            out.extend(a)
        else:
            out.append(a)
    return out


def _merge(ev: Evaluator, site: CallSite, args: list) -> Any:
    if ev.limits.over(ev.limits.sum_size(args)):
        return ev.too_large(site.text, site.call, site.file)
    if not all(isinstance(a, dict) for a in args):
        return NOT_EVALUATED
    merged: dict = {}
    for a in args:
        merged.update(a)
    return merged


def _flatten(ev: Evaluator, site: CallSite, args: list) -> Any:
    """flatten(), without recursion (a value may be nested deeply)."""
    if len(args) != 1 or not isinstance(args[0], list):
        return NOT_EVALUATED
    out: list = []
    stack = [iter(args[0])]
    while stack:
        for item in stack[-1]:
            if isinstance(item, list):
                stack.append(iter(item))
                break
            out.append(item)
        else:
            stack.pop()
    return out


def _compact(ev: Evaluator, site: CallSite, args: list) -> Any:
    if len(args) != 1 or not isinstance(args[0], list):
        return NOT_EVALUATED
    return [a for a in args[0] if a not in ("", None)]


def _distinct(ev: Evaluator, site: CallSite, args: list) -> Any:
    """distinct() in linear time: each known item by a hashable stand-in of its value."""
    if len(args) != 1 or not isinstance(args[0], list):
        return NOT_EVALUATED
    kept: list = []
    seen: set = set()
    for a in args[0]:
        if not isinstance(a, Unknown):
            key = _hashable(a)
            if key in seen:
                continue
            seen.add(key)
        kept.append(a)
    return kept


def _hashable(value: Any) -> Any:
    """A hashable stand-in for a value, equal for equal values."""
    if isinstance(value, list):
        return ("list", tuple(_hashable(v) for v in value))
    if isinstance(value, dict):
        return ("map", frozenset((k, _hashable(v)) for k, v in value.items()))
    return value


def _coalesce(ev: Evaluator, site: CallSite, args: list) -> Any:
    """The first argument that is neither null nor empty; an unknown one before it decides."""
    for a in args:
        if isinstance(a, Unknown):
            return a
        if a not in (None, ""):
            return a
    return None


def _strings(count: int, compute: Callable[..., Any]) -> Callable[..., Any]:
    """An impl of a function of `count` strings."""

    def impl(ev: Evaluator, site: CallSite, args: list) -> Any:
        if len(args) != count or not all(isinstance(a, str) for a in args):
            return NOT_EVALUATED
        return compute(*args)

    return impl


def _replace(ev: Evaluator, site: CallSite, args: list) -> Any:
    if len(args) != 3 or not all(isinstance(a, str) for a in args) or args[1].startswith("/"):
        return NOT_EVALUATED  # a regular expression (`/.../`) is not evaluated
    subject, old, new = args
    if len(subject) + subject.count(old) * (len(new) - len(old)) > MAX_CHARS:
        return ev.too_large(site.text, site.call, site.file)
    return subject.replace(old, new)


def _trimsuffix(ev: Evaluator, site: CallSite, args: list) -> Any:
    if len(args) != 2 or not all(isinstance(a, str) for a in args) or not args[1]:
        return NOT_EVALUATED
    return args[0][: -len(args[1])] if args[0].endswith(args[1]) else args[0]


def _join(ev: Evaluator, site: CallSite, args: list) -> Any:
    if len(args) != 2 or not isinstance(args[0], str) or not isinstance(args[1], list):
        return NOT_EVALUATED
    if not all(isinstance(a, str) for a in args[1]):
        return NOT_EVALUATED
    if sum(map(len, args[1])) + len(args[0]) * max(0, len(args[1]) - 1) > MAX_CHARS:
        return ev.too_large(site.text, site.call, site.file)
    return args[0].join(args[1])


FUNCTIONS: dict[str, Function] = {
    "jsonencode": Function(_structure, True),
    "yamlencode": Function(_structure, True),
    "tolist": Function(_structure, True),
    "toset": Function(_structure, True),
    "tomap": Function(_structure, False),
    "jsondecode": Function(_jsondecode, False),
    "file": Function(_file, False),
    "concat": Function(_concat, True),
    "merge": Function(_merge, True),
    "flatten": Function(_flatten, True),
    "compact": Function(_compact, True),
    "distinct": Function(_distinct, True),
    "coalesce": Function(_coalesce, True),
    "lower": Function(_strings(1, str.lower), False),
    "upper": Function(_strings(1, str.upper), False),
    "replace": Function(_replace, False),
    "trimprefix": Function(
        _strings(2, lambda s, prefix: s[len(prefix) :] if s.startswith(prefix) else s), False
    ),
    "trimsuffix": Function(_trimsuffix, False),
    "join": Function(_join, False),
}


# ---- data sources ----------------------------------------------------------------------------
def policy_document(ev: Evaluator, file: str, block: Block) -> LDict:
    """A `data "aws_iam_policy_document"` as the JSON structure it renders."""
    statements = LList(line=block.line, end_line=block.end_line)
    for stmt in block.children("statement"):
        out = LDict(line=stmt.line, end_line=stmt.end_line)
        effect = ev.attribute(stmt, "effect", file)
        out["Effect"] = "Allow" if effect is None else effect
        # `action` is not the data source's argument (`actions` is), but some repositories
        # write it and Terraform's own error is far away: read it rather than miss a trust
        for attr, key in (
            ("sid", "Sid"),
            ("action", "Action"),
            ("actions", "Action"),
            ("not_actions", "NotAction"),
            ("resources", "Resource"),
            ("not_resources", "NotResource"),
        ):
            value = ev.attribute(stmt, attr, file)
            if value is not None:
                out[key] = value
                out.key_lines[key] = (stmt.attributes[attr].line, stmt.attributes[attr].end_line)
        for block_type, key in (("principals", "Principal"), ("not_principals", "NotPrincipal")):
            principals = stmt.children(block_type)
            if principals:
                merged: dict = {}
                for p in principals:
                    ptype = ev.attribute(p, "type", file)
                    ids = ev.attribute(p, "identifiers", file)
                    ptype = ptype.text if isinstance(ptype, Unknown) else str(ptype)
                    ids_list = ids if isinstance(ids, list) else [ids]
                    if ptype == "*":
                        merged = "*"  # type: ignore[assignment]
                        break
                    merged.setdefault(ptype, []).extend(ids_list)
                out[key] = merged
                out.key_lines[key] = (principals[0].line, principals[-1].end_line)
        conditions = stmt.children("condition")
        if conditions:
            cond = LDict(line=conditions[0].line, end_line=conditions[-1].end_line)
            for c in conditions:
                test = ev.attribute(c, "test", file)
                variable = ev.attribute(c, "variable", file)
                values = ev.attribute(c, "values", file)
                test = test.text if isinstance(test, Unknown) else str(test)
                variable = variable.text if isinstance(variable, Unknown) else str(variable)
                cond.setdefault(test, {})[variable] = values
            out["Condition"] = cond
            out.key_lines["Condition"] = (cond.line, cond.end_line)
        statements.append(out)
        statements.item_lines.append((stmt.line, stmt.end_line))
    return LDict(
        {"Version": "2012-10-17", "Statement": statements},
        line=block.line,
        end_line=block.end_line,
    )


# data source type (checks/tfcatalog.py DATA_SOURCES) -> what renders it
DATA_RENDERERS: dict[str, Callable[[Evaluator, str, Block], Any]] = {
    "aws_iam_policy_document": policy_document,
}
