"""The Terraform evaluator: the value of an expression inside one module instance.

A module's `Declarations` (its variables, locals, resources and data sources, by the address
references use: `checks/parse/hcltree.py`) are read once from its files. An `Evaluator` is one
instance of the module: those declarations, the expressions bound to its variables (from the
variable files Terraform loads; a module call's arguments would be bound the same way), and
what `file()` may read, through the `read_file` callback. `var.x` takes its bound value, else
its default, converted to its `type`; `local.x` its value; `data.aws_iam_policy_document.x.json`
the policy its blocks describe; a resource's attribute what it is set to. Every expression of
HCL is evaluated as Terraform evaluates it (operators, conditionals, `for`, splats, templates
and their directives, the functions of `tf_functions.FUNCTIONS`), with the values and rules of
`tf_values`. Anything that cannot be resolved stays `Unknown` (never a guess); what Terraform
refuses (`EvalError`) has no value: it is unknown, with a note where it is written.

Names a `for` expression, a splat, a resource's `for_each` or `count`, or a `dynamic` block
binds are scopes (`bound_names`), innermost last; a named value (a local, a variable) is
evaluated in the module's own scope.

What evaluation may build is bounded (`tf_limits`): each named value is computed once per
instance, every name on a reference cycle is unknown, an expression nested deeper than
MAX_LEVELS is cut there, values over the size limits or past the instance's budget are
unknown, each kind of limit noted once, and every item a `for` or a splat visits is charged.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Protocol

from checks.discover import display_path
from checks.model import LDict, LList, Partial, PartialList, Problem, Unknown, UnknownItems
from checks.normalize.tf_functions import FUNCTIONS, NOT_EVALUATED, CallSite
from checks.normalize.tf_limits import (
    BUDGET_NOTE,
    MAX_CHARS,
    MAX_ITEMS,
    MAX_LEVELS,
    MAX_UNKNOWN_TEXT,
    SIZE_NOTE,
    Limits,
    capped_text,
)
from checks.normalize.tf_values import (
    EvalError,
    Located,
    Undecided,
    convert,
    equal,
    first_unknown,
    is_number,
    json_string,
    known_in_part,
    number,
    partial_item,
    to_bool,
    to_integer,
    to_number,
    to_string,
    type_name,
    type_spec,
    union,
)
from checks.parse import ExpansionBudget, ParseError, numbers
from checks.parse.hcltree import (
    Attribute,
    Block,
    Call,
    Conditional,
    Expression,
    ForExpr,
    GetAttr,
    Heredoc,
    Index,
    Lit,
    ObjectExpr,
    Opaque,
    Operation,
    Ref,
    Splat,
    SplatItem,
    Target,
    Template,
    TemplateFor,
    TemplateIf,
    TupleExpr,
    declared,
    local_address,
    show,
)
from checks.tfcatalog import (
    DATA_ATTRIBUTES_READ,
    DATA_SOURCES,
    DESCRIBED_ATTRIBUTES,
    STORED_WITHOUT_SCHEME,
)

MAX_DEPTH = 40  # named values being evaluated, one inside the other
ReadFile = Callable[[str], tuple[str | None, str]]
SPLAT_ITEM = "[*]"  # the scope name a splat's item is bound to (no HCL name can be it)


class Declarations:
    """What a module's files declare, by the address references use (`var.x`, `local.x`,
    `t.n`, `data.t.n`), its module calls and outputs by name: the same for every instance of
    the module. Terraform refuses a module
    that declares a name twice (a resource or data source of one type and name, a variable,
    a local value, an output, a module call, a provider configuration): each repeat is an
    error in `duplicates`, and references read the first declaration. A repeat in another
    file is still judged (its entities are keyed by its file); one in the same file would
    share the first one's keys and fingerprints: it is in `repeated`, and not judged."""

    def __init__(self, files: dict[str, list[Block]]) -> None:
        self.variables: dict[str, Block] = {}
        self.variable_files: dict[str, str] = {}
        self.locals: dict[str, tuple[str, Attribute]] = {}
        self.blocks: dict[str, tuple[str, Block]] = {}  # resources and data sources
        self.modules: dict[str, tuple[str, Block]] = {}  # module calls, by name
        self.outputs: dict[str, tuple[str, Attribute]] = {}  # output values, by name
        self.duplicates: list[Problem] = []
        self.repeated: set[int] = set()  # ids of the blocks that repeat a declaration
        first: dict[tuple, tuple[str, int]] = {}  # what is declared -> where, first

        def declare(what: tuple, file: str, line: int) -> bool:
            if what not in first:
                first[what] = (file, line)
                return True
            where, at = first[what]
            name = _DECLARED[what[0]].format(*what[1:])
            message = (
                f"{name} is declared twice, here and at {where}:{at}: Terraform refuses "
                "a module that declares one name twice"
            )
            self.duplicates.append(Problem(file, message, line))
            return False

        for file, blocks in files.items():
            for block in blocks:
                if block.type == "locals":
                    for name, attr in block.attributes.items():
                        if declare(("locals", name), file, attr.line):
                            self.locals[local_address(name)] = (file, attr)
                    continue
                what = _declaration(block)
                if what is not None and not declare(what, file, block.line):
                    if first[what][0] == file:
                        self.repeated.add(id(block))  # it would share the first one's key
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


# how an error names what is declared twice
_DECLARED = {
    "resource": "resource {}.{}",
    "data": "data source data.{}.{}",
    "variable": "variable var.{}",
    "locals": "local value local.{}",
    "output": "output {}",
    "module": "module call module.{}",
    "provider": "provider configuration {}{}",
}


def _declaration(block: Block) -> tuple | None:
    """What a top-level block declares, as Terraform tells declarations apart; None for a
    block that may repeat."""
    if block.type in ("resource", "data") and len(block.labels) == 2:
        return (block.type, *block.labels)
    if block.type in ("variable", "output", "module") and len(block.labels) == 1:
        return (block.type, block.labels[0])
    if block.type == "provider" and len(block.labels) == 1:
        alias = block.attributes.get("alias")
        if alias is None:
            return ("provider", block.labels[0], "")
        if isinstance(alias.expr, Template) and all(isinstance(p, str) for p in alias.expr.parts):
            return ("provider", block.labels[0], " (alias " + "".join(alias.expr.parts) + ")")
    return None


@dataclass
class Bound:
    """An expression evaluated with names bound: the attributes of one instance of a
    resource (`each`, `count`) or of a `dynamic` block's content (its iterator)."""

    expr: Any
    names: dict
    line: int
    end_line: int


class _Failed:
    """A named value whose evaluation Terraform refuses: the error, raised at each use."""

    __slots__ = ("error",)

    def __init__(self, error: EvalError) -> None:
        self.error = error


class ModuleCalls(Protocol):
    """What instantiates the module calls of an evaluator's module (`tf_calls.Calls`)."""

    def reference(self, ev: Evaluator, target: Target, ref: Ref) -> Any:
        """The value of `module.<name>...` in `ev`'s module."""


class _TooLarge(Exception):
    """A string being built has passed MAX_CHARS."""


@dataclass(frozen=True)
class Argument:
    """Where a module call gives a variable its value: the caller's evaluator, the file and
    the argument's attribute, and the call's address (`module.x`)."""

    caller: Evaluator
    file: str
    attribute: Attribute
    call: str


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
        arguments: dict[str, Argument] | None = None,
    ) -> None:
        self.directory = directory
        self.real_directory = real_directory or directory
        self.root_real_directory = root_real_directory or self.real_directory
        self.declarations = declarations
        self.read_file = read_file
        self.bound = bound or {}
        self.inputs = inputs or {}
        self.arguments = arguments or {}  # where the call gives each input (for `origin`)
        self.calls = calls
        # notes, each once: why a file() was not read and what Terraform refuses, per place
        # ((file, line, message)), and the first place each kind of evaluation limit was met
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
        self.scopes: list[dict[str, Any]] = []  # names bound by for, splats, for_each...
        # in a templatefile() template: only the names it was given are bound
        self.isolated = ""  # what renders the template being rendered, which sees only its names
        self.templates: dict[int, list] = {}  # templatefile() templates read, by file content
        self.instance_blocks: dict[str, Block] = {}  # a resource instance's block, by address

    # ---- the public API ------------------------------------------------------------------
    def eval(self, expr: Any, file: str) -> Any:
        """The value of an expression written in `file`; unknown where it cannot be known, is
        refused by Terraform (noted where) or would be too large."""
        try:
            return self.evaluate(expr, file)
        except EvalError as err:
            return self.refused(err, expr, file)

    def attribute(self, block: Block, name: str, file: str) -> Any:
        """The value of a block's attribute; None when the block does not set it."""
        attr = block.attributes.get(name)
        return None if attr is None else self.eval(attr.expr, file)

    @contextmanager
    def bound_names(self, names: dict[str, Any]) -> Iterator[None]:
        """Evaluate with `names` bound (`each`, `count`, a dynamic block's iterator...)."""
        self.scopes.append(names)
        try:
            yield
        finally:
            self.scopes.pop()

    def problems(self) -> list[Problem]:
        """The notes evaluation made: files not read, expressions Terraform refuses, and the
        limits met."""
        return list(self.notes.values())

    def too_large(self, text: str, expr: Any, file: str) -> Unknown:
        """The unknown value of something over the size limits (noted once per instance)."""
        self._note("size", file, expr.line, SIZE_NOTE)
        return Unknown("value over the size limit", short(text))

    def refused(self, err: EvalError, expr: Any, file: str) -> Unknown:
        """The unknown value of an expression Terraform refuses, noted where the error is."""
        where = getattr(err, "file", "") or file
        line = err.line or getattr(expr, "line", 0)
        message = f"Terraform refuses this expression ({err.message}): read as unknown"
        self.notes.setdefault((where, line, message), Problem(where, message, line, "note"))
        return Unknown(f"Terraform refuses it: {err.message}", show(expr))

    # ---- expressions ---------------------------------------------------------------------
    def evaluate(self, expr: Any, file: str) -> Any:
        """The value of an expression; raise EvalError for what Terraform refuses (located at
        the innermost expression that refused). An expression nested deeper than MAX_LEVELS
        (through references too) builds a value that deep: it is cut there, which also
        bounds the recursion."""
        if len(self.stack) > MAX_DEPTH:
            return Unknown("references nested too deeply")
        if self.nesting >= MAX_LEVELS:
            return self.too_large(show(expr, 60) or "(nested value)", expr, file)
        self.nesting += 1
        try:
            return self._value(expr, file)
        except Undecided as undecided:
            value = undecided.value
            return Unknown(value.reason, show(expr), value.ref)
        except EvalError as err:
            if not getattr(err, "file", ""):
                err.file = file
                err.line = err.line or getattr(expr, "line", 0)
            raise
        finally:
            self.nesting -= 1

    def _value(self, expr: Any, file: str) -> Any:
        if isinstance(expr, Lit):
            return expr.value
        if isinstance(expr, Ref):
            return self._ref(expr, file)
        if isinstance(expr, Template):
            return self._template(expr, file)
        if isinstance(expr, Call):
            return self._call(expr, file)
        if isinstance(expr, (TupleExpr, ObjectExpr)) and len(expr.items) > MAX_ITEMS:
            return self.too_large("[...]" if isinstance(expr, TupleExpr) else "{...}", expr, file)
        if isinstance(expr, TupleExpr):
            items = LList(line=expr.line, end_line=expr.end_line)
            for item in expr.items:
                items.append(self.evaluate(item, file))
                items.item_lines.append((item.line, item.end_line))
            return self._bounded(items, "[...]", expr, file)
        if isinstance(expr, ObjectExpr):
            obj = LDict(line=expr.line, end_line=expr.end_line)
            for key, value, line, end_line in expr.items:
                key, unknown = self._key_of(key, file)
                obj[key] = self.evaluate(value, file)
                obj.key_lines[key] = (line, end_line)
                if unknown is not None:
                    obj.unknown_keys[key] = unknown
            return self._bounded(obj, "{...}", expr, file)
        if isinstance(expr, Heredoc):
            return self._heredoc(expr, file)
        if isinstance(expr, Operation):
            return self._operation(expr, file)
        if isinstance(expr, Conditional):
            return self._conditional(expr, file)
        if isinstance(expr, GetAttr):
            return get_attr(self.evaluate(expr.source, file), expr.name)
        if isinstance(expr, Index):
            return index(self.evaluate(expr.source, file), self.evaluate(expr.key, file))
        if isinstance(expr, Splat):
            return self._splat(expr, file)
        if isinstance(expr, SplatItem):
            return self._bound(SPLAT_ITEM)
        if isinstance(expr, ForExpr):
            return self._for(expr, file)
        if isinstance(expr, Bound):
            with self.bound_names(expr.names):
                return self.evaluate(expr.expr, file)
        if isinstance(expr, Opaque):
            return Unknown(f"{expr.text} is not known before apply", short(expr.text))
        return Unknown("unsupported expression")

    def _key_of(self, key: Any, file: str) -> tuple[str, Unknown | None]:
        """An object key's text: an expression's value as a string (an unknown one is kept
        as its text: `"${local.oidc}:sub"` still ends with `:sub`); and its unknown value
        when the expression is not known."""
        if isinstance(key, str):
            return key, None
        if is_number(key):
            return to_string(key), None
        if not hasattr(key, "line"):  # a number read as unknown
            return key.text, key if isinstance(key, Unknown) else None
        value = self.evaluate(key, file)
        if isinstance(value, Unknown):
            return value.text, value
        if value is None:
            raise EvalError("an object key must not be null")
        try:
            return to_string(value, "an object key"), None
        except Undecided as undecided:
            return undecided.value.text, undecided.value

    def _bound(self, name: str) -> Any:
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        return Unknown(f"{name} is not bound here", name)

    # ---- templates -----------------------------------------------------------------------
    def _template(self, expr: Template, file: str) -> Any:
        parts = expr.parts
        if len(parts) == 1 and not isinstance(parts[0], (str, TemplateIf, TemplateFor)):
            return self.evaluate(parts[0], file)  # `"${x}"` is x itself
        try:
            text, unknown = self._text(parts, file, expr)
        except _TooLarge:
            return self.too_large('"..."', expr, file)
        if unknown is not None:
            return Unknown(unknown.reason, capped_text(text), unknown.ref)
        return self._built(text, expr, file)

    def _heredoc(self, expr: Heredoc, file: str) -> Any:
        """A heredoc's text, with each interpolation it can compute put in and any other
        left as written (`"${var.x}"` in a JSON policy stays a string, read as unknown)."""
        if len(expr.parts) == 1 and isinstance(expr.parts[0], str):
            text = expr.parts[0]
        else:
            try:
                text, unknown = self._text(expr.parts, file, expr, keep_unknown=True)
            except _TooLarge:
                return self.too_large("(heredoc)", expr, file)
            if unknown is not None:
                return Unknown(unknown.reason, capped_text(text), unknown.ref)
        located = Located(text)
        located.file, located.line = file, expr.content_line
        located.rendered = _directed(expr.parts)
        return located if text is expr.text else self._built(located, expr, file)

    def _text(
        self, parts: list, file: str, expr: Any, keep_unknown: bool = False
    ) -> tuple[str, Unknown | None]:
        """A template's text, and the first unknown part when one decides it. An unknown
        interpolation is written `${...}` in the text; with `keep_unknown` (a heredoc) that
        text is the answer, else it shows the unknown value. A directive whose condition or
        collection is unknown makes the text unknown."""
        out: list[str] = []
        length = 0
        unknown: Unknown | None = None
        stack: list = [iter(parts)]
        while stack:
            part = next(stack[-1], None)
            if part is None:
                stack.pop()
                continue
            if isinstance(part, str):
                piece = part
            elif isinstance(part, TemplateIf):
                condition = to_bool(self.evaluate(part.condition, file), "the if condition")
                if isinstance(condition, Unknown):
                    return "${...}", condition
                stack.append(iter(part.then if condition else part.otherwise))
                continue
            elif isinstance(part, TemplateFor):
                pieces = self._template_for(part, file, expr, keep_unknown)
                if isinstance(pieces, Unknown):
                    return "${...}", pieces
                piece = pieces
            else:
                value = self.evaluate(part, file)
                if isinstance(value, Unknown):
                    if keep_unknown and _written_in_part(value):
                        piece = value.text  # `arn:...:${data.x.account_id}:user/y`
                    elif keep_unknown and isinstance(part, Ref) and part.target is None:
                        piece = "${" + value.text + "}"  # what a `%{for}`'s name stands for
                    elif keep_unknown:  # as written
                        piece = "${" + show(part) + "}"
                    else:
                        unknown = unknown or value
                        text = value.text or show(part)
                        # a string partly known is already written as a template: put in as is
                        piece = text if "${" in text else "${" + text + "}"
                else:
                    piece = to_string(value, "a value put in a string")
            length += len(piece)
            if length > MAX_CHARS:
                raise _TooLarge
            out.append(piece)
        return "".join(out), unknown

    def _template_for(
        self, part: TemplateFor, file: str, expr: Any, keep_unknown: bool = False
    ) -> str | Unknown:
        """The text a `%{for}` makes: its body once per item, with `keep_unknown` (a heredoc)
        the parts known only after apply written `${...}` as outside a directive."""
        collection = self.evaluate(part.collection, file)
        if isinstance(collection, Unknown):
            return collection
        pieces = []
        for key, value in self._items(collection, expr, file):
            names = {part.value_var: value}
            if part.key_var:
                names[part.key_var] = key
            with self.bound_names(names):
                text, unknown = self._text(part.body, file, expr, keep_unknown)
            if unknown is not None:
                return unknown
            pieces.append(text)
        return "".join(pieces)

    # ---- operators -----------------------------------------------------------------------
    def _operation(self, expr: Operation, file: str) -> Any:
        """Operators as HCL applies them: both operands evaluated, converted to what the
        operator takes (`"2" + 1` is 3), unknown when one is (but `false && x` is false and
        `true || x` true whatever x is)."""
        op = expr.operator
        values = [self.evaluate(operand, file) for operand in expr.operands]
        if len(values) == 1:
            if op == "!":
                value = to_bool(values[0], "the operand of !")
                return value if isinstance(value, Unknown) else not value
            value = to_number(values[0], "the operand of -")
            return value if isinstance(value, Unknown) else -value
        left, right = values
        if op in ("&&", "||"):
            a = to_bool(left, f"the operands of {op}")
            b = to_bool(right, f"the operands of {op}")
            decisive = op == "||"  # the value that decides alone
            if a is decisive or b is decisive:
                return decisive
            for side in (a, b):
                if isinstance(side, Unknown):
                    return Unknown(side.reason, show(expr), side.ref)
            return not decisive
        if op in ("==", "!="):
            same = equal(left, right)
            if same is None:
                known = first_unknown(left) or first_unknown(right)
                return Unknown(known.reason, show(expr), known.ref)
            return same if op == "==" else not same
        a = to_number(left, f"the operands of {op}")
        b = to_number(right, f"the operands of {op}")
        for side in (a, b):
            if isinstance(side, Unknown):
                return Unknown(side.reason, show(expr), side.ref)
        return arithmetic(op, a, b)

    def _conditional(self, expr: Conditional, file: str) -> Any:
        """`c ? a : b`: the branch the condition picks; with an unknown condition, the value
        both branches agree on, else unknown."""
        condition = to_bool(self.evaluate(expr.condition, file), "the condition")
        if not isinstance(condition, Unknown):
            return self.evaluate(expr.then if condition else expr.otherwise, file)
        branches = []
        for branch in (expr.then, expr.otherwise):
            try:
                branches.append(self.evaluate(branch, file))
            except EvalError:
                branches.append(None)
                return Unknown(condition.reason, show(expr), condition.ref)
        if equal(branches[0], branches[1]) is True:
            return branches[0]
        for as_map in (False, True):  # two lists or two maps: the items of either
            either = union(condition, show(expr), branches, as_map)
            if either is not None:
                return self._bounded(either, show(expr), expr, file)
        return Unknown(condition.reason, show(expr), condition.ref)

    # ---- collections ---------------------------------------------------------------------
    def _items(self, collection: Any, expr: Any, file: str) -> Iterator[tuple[Any, Any]]:
        """(key, value) of each item a `for` visits: a list's by index, an object's by its
        keys in lexical order; each charged to the budget."""
        if isinstance(collection, list):
            pairs: Any = enumerate(collection)
        elif isinstance(collection, dict):
            pairs = ((key, collection[key]) for key in sorted(collection))
        elif collection is None:
            raise EvalError("a for expression cannot iterate over null")
        else:
            raise EvalError(f"a for expression cannot iterate over a {type_name(collection)}")
        for pair in pairs:
            if not self.limits.spend(1, 0):
                raise _Spent
            yield pair

    def _for(self, expr: ForExpr, file: str) -> Any:
        """A `for` expression. Over a known collection, the body of each item its `if` keeps;
        an item whose `if` is not known is kept as one that may be absent, and one whose key
        is not known is an item the map may hold under a key not known. Over a collection
        known in part, the same of its known items, and `_for_unknown` of each part of its
        rest; over one not known at all, `_for_unknown`."""
        collection = self.evaluate(expr.collection, file)
        if isinstance(collection, Partial):
            known, parts, absent = collection.known, collection.rest, collection.maybe
        elif isinstance(collection, Unknown):
            return self._for_unknown(expr, collection, file)
        else:
            known, parts, absent = collection, [], frozenset()
        text = show(expr)
        make_object = expr.key is not None
        out: Any = (
            LDict(line=expr.line, end_line=expr.end_line, file=file)
            if make_object
            else LList(line=expr.line, end_line=expr.end_line, file=file)
        )
        rest: list[Unknown] = []
        maybe: set = set()
        why: Unknown | None = collection if isinstance(collection, Partial) else None
        # a list known in part: an item's index is known only when nothing before it may be
        # absent and no item not known may come before it
        first_maybe = min(absent, default=len(known)) if isinstance(known, list) else 0
        try:
            for key, value in self._items(known, expr, file):
                absent_here = key in absent
                names = {expr.value_var: value}
                if expr.key_var:
                    names[expr.key_var] = key
                    if isinstance(known, list) and (parts or key > first_maybe):
                        reason = f"the index of an item of {collection.text} is not known"
                        names[expr.key_var] = Unknown(reason, expr.key_var)
                with self.bound_names(names):
                    if expr.condition is not None:
                        keep = to_bool(self.evaluate(expr.condition, file), "the if condition")
                        if keep is False:
                            continue
                        if isinstance(keep, Unknown):
                            absent_here, why = True, why or keep
                    item = self.evaluate(expr.value, file)
                    if not make_object:
                        if absent_here:
                            maybe.add(len(out))
                        out.append(item)
                        continue
                    name = self.evaluate(expr.key, file)
                    if isinstance(name, Unknown):
                        if expr.group:  # which items are grouped together is not known
                            return Unknown(name.reason, text, name.ref)
                        rest.append(UnknownItems(name.reason, text, name.ref, item, name))
                        why = why or name
                        continue
                    name = to_string(name, "a for expression's key")
                    if expr.group:
                        group = out.setdefault(name, LList())
                        if absent_here:
                            maybe.add((name, len(group)))
                        group.append(item)
                    elif name in out and not (absent_here or name in maybe):
                        raise EvalError(f"two items of the for expression have the key {name!r}")
                    elif name in out:  # one of them may be absent: either may be there
                        rest.append(UnknownItems(why.reason, text, why.ref, item, name))
                        maybe.add(name)
                    else:
                        out[name] = item
                        if absent_here:
                            maybe.add(name)
            for part in parts:
                made = self._for_unknown(expr, part, file)
                if isinstance(made, Unknown):
                    rest.append(made)
        except _Spent:
            return self._over_budget(text, expr, file)
        if expr.group and maybe:
            maybe = self._groups_maybe(out, maybe, why, text)
        if why is None:
            return self._bounded(out, text, expr, file)
        value = known_in_part(why, text, out, rest, maybe)
        return self._bounded(value, text, expr, file)

    @staticmethod
    def _groups_maybe(groups: LDict, maybe: set, why: Unknown, text: str) -> set:
        """Of a grouping `for` (`k => v...`), each group with items that may be absent as a list
        known in part; the keys whose every item may be absent, which may be absent."""
        absent_keys = set()
        for name, group in groups.items():
            positions = frozenset(p for key, p in maybe if key == name)
            if positions:
                groups[name] = PartialList(why.reason, text, why.ref, group, [], positions)
            if len(positions) == len(group):
                absent_keys.add(name)
        return absent_keys

    def _for_unknown(self, expr: ForExpr, collection: Unknown, file: str) -> Any:
        """A `for` over a collection not known: how many items it makes and their keys are not
        known, but each is the body evaluated with the names the `for` binds not known (over
        what a `for` made of a collection not known, bound to its item and its keys):
        `UnknownItems`. A filter false whatever the item makes none (an empty collection);
        one not known keeps the item, as a `for_each` not known, which may be empty, makes an
        instance. What Terraform would refuse in the body is not known to happen (the
        collection may be empty): the whole is then unknown."""
        whole = Unknown(collection.reason, show(expr), collection.ref)
        if not self.limits.spend(1, 0):
            return self._over_budget(show(expr), expr, file)
        shaped = isinstance(collection, UnknownItems)
        names = {
            expr.value_var: collection.item
            if shaped
            else Unknown(collection.reason, expr.value_var, collection.ref)
        }
        if expr.key_var:
            key = collection.key if shaped else None  # a list's index is not known
            names[expr.key_var] = (
                key if key is not None else Unknown(collection.reason, expr.key_var, collection.ref)
            )
        make_object = expr.key is not None
        name: Any = None
        try:
            with self.bound_names(names):
                if expr.condition is not None:
                    keep = to_bool(self.evaluate(expr.condition, file), "the if condition")
                    if keep is False:
                        empty = LDict if make_object else LList
                        return empty(line=expr.line, end_line=expr.end_line, file=file)
                if make_object:
                    name = self.evaluate(expr.key, file)
                    if not isinstance(name, Unknown):
                        name = to_string(name, "a for expression's key")
                item = self.evaluate(expr.value, file)
        except (EvalError, Undecided):
            return whole
        if expr.group:  # each key's items: a list not known in length, each one the body
            item = UnknownItems(whole.reason, show(expr.value), whole.ref, item)
        items = UnknownItems(whole.reason, whole.text, whole.ref, item, name)
        return self._bounded(items, show(expr), expr, file)

    def _splat(self, expr: Splat, file: str) -> Any:
        """`x[*].a`: `a` of each item of x (x itself when it is no list; none when null)."""
        source = self.evaluate(expr.source, file)
        if isinstance(source, (Partial, UnknownItems)) and not _is_map(source):
            return self._splat_partial(expr, source, file)
        if isinstance(source, Unknown):
            return Unknown(source.reason, show(expr), source.ref)
        if source is None:
            return LList()
        items = source if isinstance(source, list) else [source]
        out = LList(line=expr.line, end_line=expr.end_line, file=file)
        try:
            for _index, item in self._items(items, expr, file):
                with self.bound_names({SPLAT_ITEM: item}):
                    out.append(self.evaluate(expr.each, file))
        except _Spent:
            return self._over_budget(show(expr), expr, file)
        return self._bounded(out, show(expr), expr, file)

    def _splat_partial(self, expr: Splat, source: PartialList | UnknownItems, file: str) -> Any:
        """`x[*].a` of a list known in part: `a` of each known item, and of the item that
        stands for each a part of the rest may hold (what Terraform would refuse there is not
        known to happen: that part is then not known)."""
        text = show(expr)
        parts = [source] if isinstance(source, UnknownItems) else source.rest
        known = LList() if isinstance(source, UnknownItems) else source.known
        out = LList(line=expr.line, end_line=expr.end_line, file=file)
        rest: list[Unknown] = []
        try:
            for _index, item in self._items(known, expr, file):
                with self.bound_names({SPLAT_ITEM: item}):
                    out.append(self.evaluate(expr.each, file))
            for part in parts:
                if not isinstance(part, UnknownItems):
                    rest.append(Unknown(part.reason, text, part.ref))
                    continue
                if not self.limits.spend(1, 0):
                    raise _Spent
                try:
                    with self.bound_names({SPLAT_ITEM: part.item}):
                        each = self.evaluate(expr.each, file)
                except (EvalError, Undecided):
                    rest.append(Unknown(part.reason, text, part.ref))
                    continue
                rest.append(UnknownItems(part.reason, text, part.ref, each))
        except _Spent:
            return self._over_budget(text, expr, file)
        maybe = frozenset() if isinstance(source, UnknownItems) else source.maybe
        return self._bounded(known_in_part(source, text, out, rest, maybe), text, expr, file)

    # ---- references ----------------------------------------------------------------------
    def _ref(self, ref: Ref, file: str) -> Any:
        """The value a reference names, charged to the instance's budget: later stages walk
        every value handed out, so a large value referenced many times costs each time."""
        root = ref.parts[0]
        for scope in reversed(self.scopes):
            if root in scope:
                return traverse(scope[root], ref.parts[1:], ref.text)
        if self.isolated:
            raise EvalError(f"the template refers to {root}, which {self.isolated} was not given")
        value = self._resolve(ref, file)
        if isinstance(value, Unknown) and not isinstance(value, UnknownItems):
            return value  # the items a `for` may make are handed out, and charged, as a value
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
            where = self.declarations.variable_files[address]
            value = self.named(address, where, block.line, lambda: self._variable(block))
            return traverse(value, rest, ref.text)
        if kind == "local":
            found = self.declarations.locals.get(address)
            if found is None:
                return Unknown(f"{address} is not defined", ref.text)
            lfile, attr = found
            return traverse(self._enter(address, attr.expr, lfile), rest, ref.text)
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
            if found is not None and rest and target.type in DATA_SOURCES:
                # `data.x.y.json`, or an instance's of one with count or for_each (`[0].json`)
                instance, after, names = self._instance(address, found[1], found[0], rest)
                if after[:1] and after[0] in DATA_SOURCES[target.type]:
                    self.rendered.add(address)
                    return traverse(self._render(address, instance, names), after[1:], ref.text)
            if found is None or not rest or target.type not in DATA_ATTRIBUTES_READ:
                return Unknown(f"{ref.text} is not known before apply", ref.text, address)
            return self._block_attribute(ref, address, found, rest)
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
        describes, else unknown. Of a resource with `for_each` or `count`, `rest` starts with
        the instance's key: what is read is that instance's (`each`/`count` bound), and an
        unknown value names the instance (`aws_iam_role.this["single"]`)."""
        rfile, block = found
        rtype = block.labels[0]
        address, rest, names = self._instance(address, block, rfile, rest)
        if not rest:
            return Unknown(f"{ref.text} is computed by AWS", ref.text, address)
        block = self._instance_block(address, rfile, block, names)
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
            return self._computed_inside(value, rest[1:], ref, address)
        nested = block.children(str(rest[0])) if len(rest) > 2 else []
        index = rest[1] if len(rest) > 2 else None
        if isinstance(index, int) and -len(nested) <= index < len(nested):
            child = nested[index]
            attr = child.attributes.get(str(rest[2]))
            if attr is not None:
                name = f"{address}.{rest[0]}[{index % len(nested)}].{rest[2]}"
                value = self._enter(name, attr.expr, rfile)
                return self._computed_inside(value, rest[3:], ref, address)
        return Unknown(f"{ref.text} is computed by AWS", ref.text, address)

    def _instance(
        self, address: str, block: Block, file: str, rest: list
    ) -> tuple[str, list, dict[str, Any]]:
        """When `rest` starts with an instance key of a resource with `for_each` (a string)
        or `count` (a number): the instance's address, the steps after the key and the
        names its attributes see; else `address` and `rest` as they are, and no names."""
        step = rest[0]
        if "for_each" in block.attributes and isinstance(step, str):
            each = self._enter(f"{address}.for_each", block.attributes["for_each"].expr, file)
            if isinstance(each, dict):
                value = each.get(step, Unknown(f"{address} has no instance {step!r}", step))
            elif isinstance(each, list) and step in each:
                value = step
            else:
                value = Unknown(f"each.value of {address}[{step!r}] is not known", "each.value")
            instance = f"{address}[{json_string(step)}]"
            return instance, rest[1:], {"each": {"key": step, "value": value}}
        if "count" in block.attributes and isinstance(step, int) and not isinstance(step, bool):
            return f"{address}[{step}]", rest[1:], {"count": {"index": step}}
        return address, rest, {}

    @staticmethod
    def _computed_inside(value: Any, rest: list, ref: Ref, address: str) -> Any:
        """`rest` followed in an attribute's value; what the provider computes inside an
        attribute (a step the configuration does not write) is unknown."""
        try:
            return traverse(value, rest, ref.text)
        except EvalError:
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
        where = self.declarations.variable_files[f"var.{name}"]
        given = name in self.inputs or name in self.bound
        if name in self.inputs:
            value = self.inputs[name]
        elif name in self.bound:
            bound_file, expr = self.bound[name]
            value = self.evaluate(expr, bound_file)
        else:
            value = None if default is None else self.evaluate(default.expr, where)
        nullable = block.attributes.get("nullable")
        if value is None and default is not None and given and nullable is not None:
            if self.evaluate(nullable.expr, where) is False:
                value = self.evaluate(default.expr, where)  # `nullable = false`: null is it
        type_attr = block.attributes.get("type")
        if type_attr is None:
            return value
        spec = type_spec(type_attr.expr)
        return convert(value, spec, lambda expr: self.evaluate(expr, where), name)

    def output(self, name: str) -> Any:
        """The value of the module's output `name`, computed once; unknown when the module
        declares no such output."""
        found = self.declarations.outputs.get(name)
        if found is None:
            return Unknown(f"output {name} is not declared", f"output.{name}")
        ofile, attr = found
        return self.named(f"output.{name}", ofile, attr.line, lambda: self.eval(attr.expr, ofile))

    def _render(self, address: str, instance: str, names: dict[str, Any]) -> Any:
        """What the data source at `address` renders (an `aws_iam_policy_document`: the policy
        JSON structure), computed once for each instance (`instance`, whose `count` or
        `each` are `names`)."""
        file, block = self.declarations.blocks[address]
        renderer = DATA_RENDERERS[block.labels[0]]
        block = self._instance_block(instance, file, block, names)
        return self.named(instance, file, block.line, lambda: renderer(self, file, block))

    def _instance_block(self, instance: str, file: str, block: Block, names: dict) -> Block:
        """The block of a resource's or data source's instance, every attribute seeing the
        instance's names (`count`, `each`: `_instance`), made once; `block` with none."""
        if not names:
            return block
        if instance not in self.instance_blocks:
            self.instance_blocks[instance] = expand(self, file, block, names)
        return self.instance_blocks[instance]

    def _enter(self, name: str, expr: Any, file: str) -> Any:
        return self.named(name, file, expr.line, lambda: self.evaluate(expr, file))

    def named(self, name: str, file: str, line: int, compute: Callable[[], Any]) -> Any:
        """The value of a named thing (defined at `file`:`line`), computed once per instance
        in the module's own scope (it never sees the `each`, `count` or `for` names of what
        refers to it). Every name on a reference cycle is unknown (Terraform refuses
        cycles); a value Terraform refuses is refused at each use."""
        if name in self.values:
            value = self.values[name]
            if isinstance(value, _Failed):
                raise value.error
            return value
        if name in self.stack:
            cycle = self.stack[self.stack.index(name) :]
            self.cyclic.update(cycle)
            path = " -> ".join(cycle + [name])
            self._note("cycle", file, line, f"reference cycle {path}: read as unknown")
            return Unknown(f"{name} is part of a reference cycle", name)
        self.stack.append(name)
        scopes, self.scopes = self.scopes, []
        try:
            value = compute()
        except EvalError as err:
            value = _Failed(err)
        finally:
            self.stack.pop()
            self.scopes = scopes
        if name in self.cyclic:
            value = Unknown(f"{name} is part of a reference cycle", name)
        self.values[name] = value
        if isinstance(value, _Failed):
            raise value.error
        return value

    # ---- functions -----------------------------------------------------------------------
    def _call(self, call: Call, file: str) -> Any:
        """A function call's value; what could build a value over the size limits is sized
        before it is built (by the impl), and what was built is sized and charged here."""
        site = CallSite(call, file, show(call))
        function = FUNCTIONS.get(call.name)
        if function is not None and function.lazy:
            result = function.impl(self, site, call.args)
        else:
            args = [self.evaluate(a, file) for a in call.args]
            if call.expand and args:
                last = args.pop()
                if isinstance(last, Unknown):
                    return Unknown(last.reason, site.text, last.ref)
                if not isinstance(last, list):
                    raise EvalError(
                        f"an argument expanded with ... must be a list, not a {type_name(last)}"
                    )
                args.extend(last)
            if function is None:
                return Unknown(f"{call.name}() is not evaluated", site.text)
            if not function.accepts_unknown:
                unknown = first_unknown(args)
                if unknown is not None:
                    return Unknown(unknown.reason, site.text, unknown.ref)
            result = function.impl(self, site, args)
        if result is NOT_EVALUATED:
            return Unknown(f"{call.name}() is not evaluated", site.text)
        if isinstance(result, Unknown) and not isinstance(result, (Partial, UnknownItems)):
            return result
        return self._built(result, call, file)

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

    def template_file(
        self, content: Located, names: dict, site: CallSite, renderer: str = "templatefile()"
    ) -> Any:
        """A templatefile() template (the file's `content`) rendered with only `names` bound
        (Terraform gives it nothing else); read once per file. `renderer` names what renders
        it (the template_file data source renders its template so too)."""
        from checks.parse import hclsyntax

        if self.isolated:
            raise EvalError("templatefile() cannot be called from a template")
        parts = self.templates.get(id(content))
        if parts is None:
            try:
                parts = hclsyntax.template(content, 1)
            except (hclsyntax.Unsupported, ParseError) as exc:
                raise EvalError(f"the template {content.file} is not valid: {exc}") from None
            self.templates[id(content)] = parts
        scopes, self.scopes, self.isolated = self.scopes, [dict(names)], renderer
        try:
            text, unknown = self._text(parts, content.file, site.call)
        except _TooLarge:
            return self.too_large(site.text, site.call, site.file)
        finally:
            self.scopes, self.isolated = scopes, ""
        if unknown is not None:
            return Unknown(unknown.reason, site.text, unknown.ref)
        located = Located(text)
        located.file, located.line = content.file, content.line or 1
        located.rendered = _directed(parts)
        return located

    def origin(self, expr: Any, file: str) -> tuple[str, int, int, str] | None:
        """Where the value of `expr` (written in `file`) is defined, when a reference brings
        it from elsewhere: (file, start line, end line, what is there) of a variable's
        default or its value in a variable file, or of a local value in another file
        (followed through references to others, and into an object or list written there),
        or of the argument of the module call that gives a variable its value (followed into
        the caller's own variables and locals); None for a value computed where it is
        written."""
        found = None
        use = file
        variable = False
        seen: set[int] = set()
        ev = self
        while id(expr) not in seen:
            seen.add(id(expr))
            if isinstance(expr, Bound):
                expr = expr.expr
            if (
                isinstance(expr, Template)
                and len(expr.parts) == 1
                and isinstance(expr.parts[0], Ref)
            ):
                expr = expr.parts[0]
            target = expr.target if isinstance(expr, Ref) else None
            if target is None or target.kind not in ("var", "local"):
                break
            if target.kind == "var":
                block = ev.declarations.variables.get(target.address)
                if block is None:
                    break
                if target.name in ev.inputs:
                    argument = ev.arguments.get(target.name)
                    if argument is None:
                        break
                    ev, file, expr = argument.caller, argument.file, argument.attribute.expr
                    what = f"the argument {target.name} of {argument.call}"
                elif target.name in ev.bound:
                    file, expr = ev.bound[target.name]
                    what = f"{target.address} set in {file}"
                else:
                    default = block.attributes.get("default")
                    if default is None:
                        break
                    file, expr = ev.declarations.variable_files[target.address], default.expr
                    what = f"the default of {target.address}"
                variable = True
            else:
                local = ev.declarations.locals.get(target.address)
                if local is None:
                    break
                file, attr = local
                expr, what = attr.expr, target.address
            for step in target.rest:  # into what is written there, as far as it is literal
                expr = _item(expr, step)
                if expr is None:
                    break
                what += f".{step}" if isinstance(step, str) else f"[{step}]"
            if expr is None:
                break
            found = (file, expr.line, expr.end_line, what)
        if found is None or (found[0] == use and not variable):
            return None
        return found

    def depends_on_unknown(self, expr: Any, file: str) -> Unknown | None:
        """What `try` and `can` ask before evaluating an argument (as Terraform does): the
        first reference in `expr` whose value is not wholly known, else None. A reference
        Terraform refuses to follow depends on nothing unknown."""
        for ref in references(expr):
            try:
                value = self._ref(ref, file)
            except EvalError:
                continue
            unknown = first_unknown(value)
            if unknown is not None:
                return unknown
        return None

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
        """A value an operation built: within the size limits and charged to the budget (a
        collection known in part, by its known items and the parts of its rest)."""
        if not isinstance(value, (str, list, dict, Partial, UnknownItems)):
            return value
        text = getattr(expr, "text", "") or show(expr, 60) or '"..."'
        built = self._bounded(value, text, expr, file)
        if built is not value:
            return built
        is_text = isinstance(value, str)
        if isinstance(value, Partial):
            items = len(value.known) + len(value.rest)
        else:
            items = 1 if isinstance(value, UnknownItems) else 0 if is_text else len(value)
        if not self.limits.spend(items, len(value) if is_text else 0):
            return self._over_budget(text, expr, file)
        return value


class _Spent(Exception):
    """The instance's budget is spent while a `for` or a splat visits items."""


def references(expr: Any) -> Iterator[Ref]:
    """The references in an expression that are not to names it binds itself (a `for`
    expression's), as Terraform's `Variables()` finds them."""
    stack: list[tuple[Any, frozenset]] = [(expr, frozenset())]
    while stack:
        node, bound = stack.pop()
        if isinstance(node, Ref):
            if node.parts[0] not in bound:
                yield node
        elif isinstance(node, (list, tuple)):
            stack.extend((item, bound) for item in node)
        elif isinstance(node, (ForExpr, TemplateFor)):
            inner = bound | {name for name in (node.key_var, node.value_var) if name}
            stack.append((node.collection, bound))
            parts = (
                [node.key, node.value, node.condition] if isinstance(node, ForExpr) else [node.body]
            )
            stack.extend((part, inner) for part in parts)
        elif hasattr(node, "__dataclass_fields__") and not isinstance(node, (Lit, Opaque)):
            stack.extend((getattr(node, name), bound) for name in node.__dataclass_fields__)


def _item(expr: Any, step: Any) -> Any:
    """The expression an object or tuple literal holds at `step`, else None."""
    if isinstance(expr, ObjectExpr) and isinstance(step, str):
        for key, value, _line, _end in expr.items:
            if key == step:
                return value
    if isinstance(expr, TupleExpr) and isinstance(step, int) and 0 <= step < len(expr.items):
        return expr.items[step]
    return None


def traverse(value: Any, steps: list, text: str) -> Any:
    """`value` followed through the constant steps of a reference (`.name`, `[0]`, `["k"]`)."""
    for step in steps:
        if isinstance(value, Unknown) and not isinstance(value, (Partial, UnknownItems)):
            return Unknown(value.reason, text, value.ref)
        value = get_attr(value, step) if isinstance(step, str) else index(value, step)
    return value


def get_attr(value: Any, name: str) -> Any:
    """`value.name`: an object's attribute (of a map known in part, the item only it can be)."""
    if isinstance(value, (Partial, UnknownItems)) and _is_map(value):
        return partial_item(value, name)
    if isinstance(value, (Partial, UnknownItems)):  # a list's: its items are no attributes
        return Unknown(value.reason, value.text, value.ref)
    if isinstance(value, Unknown):
        return value
    if isinstance(value, dict):
        if name in value:
            return value[name]
        raise EvalError(f"the object has no attribute {name!r}")
    if value is None:
        raise EvalError(f"cannot get the attribute {name!r} of null")
    if isinstance(value, list):
        raise EvalError(f"cannot get the attribute {name!r} of a list: index it, or use [*]")
    raise EvalError(f"cannot get the attribute {name!r} of a {type_name(value)}")


def _is_map(value: Partial | UnknownItems) -> bool:
    """Whether a collection known in part is a map (else a list)."""
    if isinstance(value, UnknownItems):
        return value.key is not None
    return isinstance(value.known, dict)


def index(value: Any, key: Any) -> Any:
    """`value[key]`: a list's item by position, a map's by key (converted as HCL converts); of a
    collection known in part, the item only it can be."""
    if isinstance(value, (Partial, UnknownItems)):
        return partial_item(value, key)
    if isinstance(value, Unknown):
        return value
    if isinstance(key, Unknown):
        return key
    if isinstance(value, list):
        position = to_integer(key, "a list index")
        if isinstance(position, Unknown):
            return position
        if not 0 <= position < len(value):
            raise EvalError(f"index {position} is out of range for a list of {len(value)}")
        return value[position]
    if isinstance(value, dict):
        name = to_string(key, "a map key")
        if isinstance(name, Unknown):
            return name
        if name in value:
            return value[name]
        raise EvalError(f"the map has no key {name!r}")
    if value is None:
        raise EvalError("cannot index null")
    raise EvalError(f"cannot index a {type_name(value)}")


def arithmetic(op: str, a: int | float, b: int | float) -> Any:
    """`a op b` for numbers, exact for whole numbers; a result out of range is unknown."""
    if op in ("<", ">", "<=", ">="):
        return {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op]
    if op in ("/", "%") and b == 0:
        raise EvalError("division by zero")
    if op == "*" and isinstance(a, int) and isinstance(b, int):
        if a.bit_length() + b.bit_length() > numbers.MAX_DIGITS * 4:
            return numbers.unknown(f"{a} * {b}", f"has more than {numbers.MAX_DIGITS} digits")
    if op == "+":
        result: Any = a + b
    elif op == "-":
        result = a - b
    elif op == "*":
        result = a * b
    elif op == "/":
        if isinstance(a, int) and isinstance(b, int):
            exact = Fraction(a, b)
            result = exact.numerator if exact.denominator == 1 else float(exact)
        else:
            result = a / b
    else:  # `%` keeps the sign of the dividend, as Go's math does
        if isinstance(a, int) and isinstance(b, int):
            result = abs(a) % abs(b) * (-1 if a < 0 else 1)
        else:
            result = math.fmod(a, b)
    result = number(result)
    if numbers.problem(result):
        return numbers.unknown(str(result)[:40], numbers.problem(result))
    return result


def _directed(parts: list) -> bool:
    """Whether a template holds a `%{for}` or `%{if}`: what it renders has lines of its own."""
    return any(isinstance(part, (TemplateFor, TemplateIf)) for part in parts)


def _written_in_part(value: Unknown) -> bool:
    """Whether an unknown value is a string known in part, written as a template with its
    unknown parts as `${...}` (`arn:aws:iam::${data.x.account_id}:user/y`), and whole (a text
    cut at MAX_UNKNOWN_TEXT is not the value)."""
    if isinstance(value, (Partial, UnknownItems)):
        return False
    return "${" in value.text and len(value.text) < MAX_UNKNOWN_TEXT and "\n" not in value.text


def short(text: str) -> str:
    """An expression's text as an unknown value shows it: one line, at most 120 characters."""
    text = " ".join(text.split())
    return text if len(text) <= 120 else text[:117] + "..."


# ---- data sources ----------------------------------------------------------------------------
def expand(ev: Evaluator, file: str, block: Block, names: dict) -> Block:
    """A copy of `block` whose expressions see `names`, with each `dynamic "t"` block
    replaced by the `t` blocks it makes (its iterator bound in each)."""
    if not names and not any(b.type == "dynamic" for b in _walk(block)):
        return block
    out = Block(block.type, list(block.labels), block.line, block.end_line)
    out.attributes = {
        name: Attribute(
            name,
            Bound(attr.expr, names, attr.expr.line, attr.expr.end_line),
            attr.line,
            attr.end_line,
        )
        if names
        else attr
        for name, attr in block.attributes.items()
    }
    for child in block.blocks:
        if child.type != "dynamic" or len(child.labels) != 1:
            out.blocks.append(expand(ev, file, child, names))
            continue
        iterator = child.labels[0]
        named = child.attributes.get("iterator")
        if named is not None and isinstance(named.expr, Ref) and len(named.expr.parts) == 1:
            iterator = named.expr.parts[0]
        contents = [b for b in child.blocks if b.type == "content"]
        for_each = child.attributes.get("for_each")
        value = Unknown("dynamic block without for_each") if for_each is None else None
        if value is None:
            with ev.bound_names(names):
                value = ev.eval(for_each.expr, file)
        known, parts = (value, []) if not isinstance(value, Partial) else (value.known, value.rest)
        keys = _dynamic_keys(known)
        if isinstance(value, UnknownItems):
            parts = [value]
        if parts:  # the blocks of the items known, and one for each item a part may make
            entries = [{iterator: {"key": k, "value": v}} for k, v in keys or []]
            for part in parts:
                index = Unknown(part.reason, f"{iterator}.key", part.ref)  # a list's: not known
                if isinstance(part, UnknownItems):
                    key = part.key if part.key is not None else index
                    entries.append({iterator: {"key": key, "value": part.item}})
                else:
                    entries.append({iterator: {"key": index, "value": part}})
        elif keys is None:
            entries = [{iterator: {"key": value, "value": value}}]
        else:
            entries = [{iterator: {"key": k, "value": v}} for k, v in keys]
        for entry in entries:
            for content in contents:
                made = expand(ev, file, content, {**names, **entry})
                if made is content:  # no names to bind: a copy all the same, renamed
                    made = Block(content.type, [], content.line, content.end_line)
                    made.attributes, made.blocks = content.attributes, content.blocks
                made.type, made.labels = child.labels[0], []
                out.blocks.append(made)
    return out


def _dynamic_keys(value: object) -> list[tuple[object, object]] | None:
    """(key, value) of each block a dynamic block's for_each makes: a list's items by index,
    a map's entries; None when unknown."""
    if isinstance(value, dict):
        return sorted(value.items())
    if isinstance(value, list):
        return list(enumerate(value))
    return None


def _walk(block: Block):
    stack = [block]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(node.blocks)


def policy_document(ev: Evaluator, file: str, block: Block) -> LDict:
    """A `data "aws_iam_policy_document"` as the JSON structure it renders: its dynamic
    blocks make the blocks their `for_each` says (none for an empty one)."""
    block = expand(ev, file, block, {})
    statements = LList(line=block.line, end_line=block.end_line, file=file)
    for stmt in block.children("statement"):
        out = LDict(line=stmt.line, end_line=stmt.end_line, file=file)
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
            cond = LDict(line=conditions[0].line, end_line=conditions[-1].end_line, file=file)
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
        file=file,
    )


def template_file(ev: Evaluator, file: str, block: Block) -> Any:
    """A `data "template_file"` (the template provider, before templatefile()): its
    `template`, which Terraform interpolates first, rendered with its `vars` and nothing else."""
    address = f"data.template_file.{block.labels[1]}"
    attr = block.attributes.get("template")
    template = ev.eval(attr.expr, file) if attr is not None else None
    names = ev.attribute(block, "vars", file) or {}
    if isinstance(template, Unknown):
        return Unknown(template.reason, f"{address}.rendered", address)
    if isinstance(names, Unknown):
        return Unknown(names.reason, f"{address}.rendered", address)
    if not isinstance(template, str) or not isinstance(names, dict):
        return Unknown(f"{address} has no template to render", f"{address}.rendered", address)
    if not isinstance(template, Located):
        template = Located(template)
        template.file, template.line = file, attr.line if attr is not None else block.line
    if not names:
        # nothing to put in: the text Terraform interpolated, whose `${...}` are parts it
        # knows only after apply (a template given no vars may hold no other)
        return template
    call = Call(block.line, block.end_line, "template_file", [], f"{address}.rendered")
    return ev.template_file(template, names, CallSite(call, file, call.text), "template_file")


def service_principal(ev: Evaluator, file: str, block: Block) -> Unknown:
    """A `data "aws_service_principal"`'s `name`: its `service_name` and the partition's DNS
    suffix, which Terraform knows after apply, written `${data.aws_service_principal.x.suffix}`
    (`checks.normalize.iam` reads a service principal so written in every partition)."""
    address = f"data.aws_service_principal.{block.labels[1]}"
    service = ev.attribute(block, "service_name", file)
    if not isinstance(service, str) or "${" in service:
        return Unknown(f"{address}.name is not known before apply", f"{address}.name", address)
    reason = f"{address}.name ends in the partition's DNS suffix, known after apply"
    return Unknown(reason, f"{service}.${{{address}.suffix}}", address)


# data source type (checks/tfcatalog.py DATA_SOURCES) -> what renders it
DATA_RENDERERS: dict[str, Callable[[Evaluator, str, Block], Any]] = {
    "aws_iam_policy_document": policy_document,
    "template_file": template_file,
    "aws_service_principal": service_principal,
}
