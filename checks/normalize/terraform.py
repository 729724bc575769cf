"""Terraform module directories -> model entities.

All `.tf` files of one directory form a module. Expressions are evaluated inside it:
`var.x` takes its value from terraform.tfvars or *.auto.tfvars (else its default), `local.x`
its value, `data.aws_iam_policy_document.x.json` the policy its blocks describe,
`jsonencode`/`file`/heredocs become the same structures. Anything that cannot be resolved
stays `Unknown` (never a guess).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Any

from checks import kinds
from checks.discover import display_path
from checks.model import Entity, LDict, LList, Location, Problem, Unknown
from checks.normalize import aws_auth, iam, kubernetes, tf_kubernetes
from checks.normalize.access import principal_type
from checks.normalize.tf_limits import (
    BUDGET_NOTE,
    MAX_CHARS,
    MAX_ITEMS,
    MAX_LEVELS,
    SIZE_NOTE,
    Limits,
    capped_text,
)
from checks.parse import BudgetSpent, ExpansionBudget, ParseError, numbers
from checks.parse.hcltree import (
    Attribute,
    Block,
    Call,
    Heredoc,
    Lit,
    ObjectExpr,
    Opaque,
    Ref,
    Template,
    TupleExpr,
    index_number,
)

MAX_DEPTH = 40
# `_set_attr` without a fallback: the catalog's default
_CATALOG_DEFAULT = object()
_INTERP = re.compile(r"\$\{\s*([A-Za-z_][\w-]*(?:\.[\w-]+|\[\d+\]|\[\"[^\"]*\"\])*)\s*\}")

# Resource types a rule can look at, and the builder that turns each into entities.
_BUILDERS: dict[str, str] = {
    "aws_eks_cluster": "_cluster",
    "aws_launch_template": "_instance_metadata",
    "aws_launch_configuration": "_instance_metadata",
    "aws_instance": "_instance_metadata",
    "aws_iam_role": "_iam_role",
    "aws_eks_pod_identity_association": "_pod_identity_association",
    "aws_eks_access_entry": "_access_entry",
    "aws_eks_access_policy_association": "_access_policy_association",
    "aws_eks_identity_provider_config": "_identity_provider",
    "kubectl_manifest": "_kubectl_manifest",
    "kubernetes_config_map": "_config_map",
    "kubernetes_config_map_v1": "_config_map",
    "kubernetes_config_map_v1_data": "_config_map",
}


class _Located(str):
    """A string read from a heredoc or a file: where its first line is."""

    file: str = ""
    line: int = 0


def normalize_module(
    directory: str,
    files: dict[str, list[Block]],
    read_file: Callable[[str], tuple[str | None, str]],
    tfvars: list[tuple[str, dict[str, Attribute]]] = (),
    real_directory: str | None = None,
) -> tuple[list[Entity], list[Problem]]:
    """Entities of one module directory; `files` maps each file's display path to its blocks,
    `tfvars` gives the variable files Terraform loads by itself, in its order. `read_file`
    is what `file()` reads with: (text, "") or (None, why it was not read);
    `real_directory` is the directory as the filesystem knows it (default: `directory`)."""
    module = Module(directory, files, read_file, tfvars, real_directory)
    entities: list[Entity] = []
    problems: list[Problem] = []
    for file, blocks in files.items():
        for block in blocks:
            if block.type == "module" and len(block.labels) == 1:
                made, found = module.module_call(file, block)
                entities.extend(made)
                problems.extend(found)
                continue
            if block.type != "resource" or len(block.labels) != 2:
                continue
            builder = _BUILDERS.get(block.labels[0])
            if builder is None and tf_kubernetes.resource_kind(block.labels[0]):
                builder = "_kubernetes_resource"
            if builder:
                made, found = getattr(module, builder)(file, block)
                entities.extend(made)
                problems.extend(found)
    # A trust policy document that no role in this module uses still goes somewhere (a module
    # input, an output): judge it on its own, as a bare policy document
    for (dtype, dname), (file, block) in module.data.items():
        if dtype == "aws_iam_policy_document" and (dtype, dname) not in module.used_documents:
            made, found = iam.trust_statements(
                module._policy_document(file, block),
                key=f"terraform:{file}:data.{dtype}.{dname}",
                origin="terraform",
                file=file,
                span=(block.line, block.end_line),
                role_name=Unknown(
                    f"data.{dtype}.{dname} is not attached to a role here",
                    f"(policy document data.{dtype}.{dname})",
                ),
                source=f"data.{dtype}.{dname}",
            )
            entities.extend(made)
            problems.extend(found)
    return entities, problems + list(module.notes.values())


class _TooLarge(Exception):
    """A string being built has passed MAX_CHARS."""


class Module:
    def __init__(
        self,
        directory: str,
        files: dict[str, list[Block]],
        read_file,
        tfvars=(),
        real_directory: str | None = None,
    ) -> None:
        self.directory = directory
        self.real_directory = real_directory or directory
        self.read_file = read_file
        # notes, each once: why a file() was not read, per call ((file, line, message)), and
        # the first place each kind of evaluation limit was met (the kind)
        self.notes: dict[Any, Problem] = {}
        self.variables: dict[str, Block] = {}
        # var name -> (file, assignment) from terraform.tfvars / *.auto.tfvars: the last wins
        self.assigned: dict[str, tuple[str, Attribute]] = {
            name: (file, attr) for file, attrs in tfvars for name, attr in attrs.items()
        }
        self.locals: dict[str, tuple[str, Attribute]] = {}
        self.resources: dict[tuple[str, str], tuple[str, Block]] = {}
        self.data: dict[tuple[str, str], tuple[str, Block]] = {}
        self.stack: list[str] = []  # the named values being evaluated, innermost last
        # each named value (local, variable, resource attribute, data source) once per module
        self.values: dict[str, Any] = {}
        self.cyclic: set[str] = set()  # names found on a reference cycle
        self.read_files: dict[str, tuple] = {}  # file() reads, once per path
        self.limits = Limits()
        self.nesting = 0  # expressions being evaluated, one inside the other
        self.yaml_budget = ExpansionBudget()  # shared by the YAML strings the module holds
        self.used_documents: set[tuple[str, str]] = set()  # policy documents roles read
        for file, blocks in files.items():
            for block in blocks:
                if block.type == "variable" and block.labels:
                    self.variables[block.labels[0]] = block
                elif block.type == "locals":
                    for name, attr in block.attributes.items():
                        self.locals[name] = (file, attr)
                elif block.type == "resource" and len(block.labels) == 2:
                    self.resources[(block.labels[0], block.labels[1])] = (file, block)
                elif block.type == "data" and len(block.labels) == 2:
                    self.data[(block.labels[0], block.labels[1])] = (file, block)

    # ---- evaluation -------------------------------------------------------------------
    def eval(self, expr: Any, file: str) -> Any:
        """The value of an expression; unknown where it cannot be known or would be too large.
        An expression nested deeper than MAX_LEVELS (through references too) builds a value
        that deep: it is cut there, which also bounds the recursion."""
        if len(self.stack) > MAX_DEPTH:
            return Unknown("references nested too deeply")
        if self.nesting >= MAX_LEVELS:
            return self._too_large(getattr(expr, "text", "") or "(nested value)", expr, file)
        self.nesting += 1
        try:
            return self._value(expr, file)
        finally:
            self.nesting -= 1

    def _value(self, expr: Any, file: str) -> Any:
        if isinstance(expr, Lit):
            return expr.value
        if isinstance(expr, Template):
            return self._template(expr, file)
        if isinstance(expr, Heredoc):
            interpolated = self._interpolate(expr.text, file)
            if interpolated is None:
                return self._too_large("(heredoc)", expr, file)
            text = _Located(interpolated)
            text.file, text.line = file, expr.content_line
            return text if interpolated is expr.text else self._built(text, expr, file)
        if isinstance(expr, (TupleExpr, ObjectExpr)) and len(expr.items) > MAX_ITEMS:
            return self._too_large("[...]" if isinstance(expr, TupleExpr) else "{...}", expr, file)
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
            return Unknown(f"expression {expr.text} is not evaluated", _short(expr.text))
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
                return self._too_large('"..."', expr, file)
            out.append(piece)
        text = "".join(out)
        if unknown is not None:
            return Unknown(unknown.reason, capped_text(text), unknown.ref)
        return self._built(text, expr, file)

    def _interpolate(self, text: str, file: str) -> str | None:
        """Resolve simple `${ref}` in heredoc text; what cannot be resolved stays as written.
        None when the result would be longer than MAX_CHARS."""
        if "${" not in text:
            return text
        length = len(text)

        def repl(m: re.Match) -> str:
            nonlocal length
            parts = _split_ref(m.group(1))
            value = self._ref(Ref(0, 0, parts, m.group(1)), file)
            if isinstance(value, (str, int, float)) and not isinstance(value, bool):
                value = str(value)
                length += len(value) - len(m.group(0))
                if length > MAX_CHARS:
                    raise _TooLarge
                return value
            return m.group(0)

        try:
            return _INTERP.sub(repl, text)
        except _TooLarge:
            return None

    def _ref(self, ref: Ref, file: str) -> Any:
        """The value a reference names, charged to the module's budget: later stages walk
        every value handed out, so a large value referenced many times costs each time."""
        value = self._resolve(ref, file)
        if isinstance(value, Unknown):
            return value
        size = self.limits.size(value)
        if self.limits.over(size):  # a literal or a variable file's value can be that large
            return self._too_large(ref.text, ref, file)
        if not self.limits.spend(size[0], size[1]):
            return self._over_budget(ref.text, ref, file)
        return value

    def _resolve(self, ref: Ref, file: str) -> Any:
        parts = ref.parts
        root = parts[0]
        if root == "var" and len(parts) >= 2:
            block = self.variables.get(str(parts[1]))
            if block is not None and str(parts[1]) in self.assigned:
                where, value = self.assigned[str(parts[1])]
                return _traverse(self._enter(f"var.{parts[1]}", value.expr, where), parts[2:], ref)
            default = block.attributes.get("default") if block else None
            if default is None:
                return Unknown(f"var.{parts[1]} has no default", ref.text)
            value = self._enter(f"var.{parts[1]}", default.expr, file)
            return _traverse(value, parts[2:], ref)
        if root == "local" and len(parts) >= 2:
            found = self.locals.get(str(parts[1]))
            if found is None:
                return Unknown(f"local.{parts[1]} is not defined", ref.text)
            lfile, attr = found
            return _traverse(self._enter(f"local.{parts[1]}", attr.expr, lfile), parts[2:], ref)
        if root == "path" and len(parts) == 2 and parts[1] in ("module", "root"):
            return "."
        if root == "data" and len(parts) >= 3:
            dtype, dname = str(parts[1]), str(parts[2])
            found = self.data.get((dtype, dname))
            if (
                dtype == "aws_iam_policy_document"
                and found
                and parts[3:4] in (["json"], ["minified_json"])
            ):
                self.used_documents.add((dtype, dname))
                dfile, dblock = found
                return self._named(
                    f"data.{dtype}.{dname}",
                    dfile,
                    dblock.line,
                    lambda: self._policy_document(dfile, dblock),
                )
            return Unknown(
                f"{ref.text} is not known before apply", ref.text, f"data.{dtype}.{dname}"
            )
        if root in ("module", "each", "count", "self", "terraform") or len(parts) < 2:
            target = f"module.{parts[1]}" if root == "module" and len(parts) > 1 else None
            return Unknown(f"{ref.text} is not known before apply", ref.text, target)
        rtype, rname = str(root), str(parts[1])
        found = self.resources.get((rtype, rname))
        if found is None or len(parts) < 3:
            return Unknown(f"{ref.text} is not in this module", ref.text, f"{rtype}.{rname}")
        rfile, block = found
        if rtype == "aws_iam_openid_connect_provider" and parts[2] == "arn":
            # the provider's URL tells an EKS cluster's issuer from GitHub's
            url_attr = block.attributes.get("url")
            url = (
                None
                if url_attr is None
                else self._enter(f"{rtype}.{rname}.url", url_attr.expr, rfile)
            )
            url_text = url.text if isinstance(url, Unknown) else str(url)
            return Unknown(
                f"{ref.text} is computed by AWS (provider url {url_text})",
                ref.text,
                f"{rtype}.{rname}",
            )
        attr = block.attributes.get(str(parts[2]))
        if attr is None:
            return Unknown(f"{ref.text} is computed by AWS", ref.text, f"{rtype}.{rname}")
        value = self._enter(f"{rtype}.{rname}.{parts[2]}", attr.expr, rfile)
        return _traverse(value, parts[3:], ref)

    def _enter(self, name: str, expr: Any, file: str) -> Any:
        return self._named(name, file, expr.line, lambda: self.eval(expr, file))

    def _named(self, name: str, file: str, line: int, compute: Callable[[], Any]) -> Any:
        """The value of a named thing (defined at `file`:`line`), computed once per module.
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
        try:
            value = compute()
        finally:
            self.stack.pop()
        if name in self.cyclic:
            value = Unknown(f"{name} is part of a reference cycle", name)
        self.values[name] = value
        return value

    # ---- limits -----------------------------------------------------------------------
    def _note(self, kind: str, file: str, line: int, message: str) -> None:
        """One note per kind of limit and module: the first place it was met."""
        if kind not in self.notes:
            self.notes[kind] = Problem(file, message, line, "note")

    def _too_large(self, text: str, expr: Any, file: str) -> Unknown:
        self._note("size", file, expr.line, SIZE_NOTE)
        return Unknown("value over the size limit", _short(text))

    def _over_budget(self, text: str, expr: Any, file: str) -> Unknown:
        self._note("budget", file, expr.line, BUDGET_NOTE)
        return Unknown("the module's evaluation budget is spent", _short(text))

    def _bounded(self, value: Any, text: str, expr: Any, file: str) -> Any:
        """`value`, or unknown when it expands past a size limit."""
        if self.limits.over(self.limits.size(value)):
            return self._too_large(text, expr, file)
        return value

    def _built(self, value: Any, expr: Any, file: str, text: str = "") -> Any:
        """A value an operation built: within the size limits and charged to the budget."""
        if not isinstance(value, (str, list, dict)):
            return value
        text = text or getattr(expr, "text", "") or '"..."'
        value = self._bounded(value, text, expr, file)
        if isinstance(value, Unknown):
            return value
        is_text = isinstance(value, str)
        if not self.limits.spend(0 if is_text else len(value), len(value) if is_text else 0):
            return self._over_budget(text, expr, file)
        return value

    def _call(self, call: Call, file: str) -> Any:
        result = self._function(call, file)
        return result if isinstance(result, Unknown) else self._built(result, call, file)

    def _function(self, call: Call, file: str) -> Any:
        """A function call's value; what could build a value over the size limits is sized
        before it is built."""
        name = call.name
        args = [self.eval(a, file) for a in call.args]
        text = _short(call.text)
        if any(isinstance(a, Unknown) for a in args) and name not in (
            "jsonencode",
            "yamlencode",
            "concat",
            "tolist",
            "toset",
            "coalesce",
            "merge",
            "compact",
            "distinct",
            "flatten",
        ):
            first = next(a for a in args if isinstance(a, Unknown))
            return Unknown(first.reason, text, first.ref)
        if name in ("jsonencode", "yamlencode", "tolist", "toset", "tomap") and len(args) == 1:
            return args[0]  # the structure itself; rules read structures, not JSON text
        if name == "jsondecode" and len(args) == 1 and isinstance(args[0], str):
            try:
                return iam.load_policy(args[0])
            except Exception:
                return Unknown("jsondecode of invalid JSON", text)
        if name == "file" and len(args) == 1 and isinstance(args[0], str):
            return self._file(args[0], text, file, call.line)
        if name in ("concat", "merge") and self.limits.over(self.limits.sum_size(args)):
            return self._too_large(text, call, file)
        if name == "concat":
            out = LList(line=call.line, end_line=call.end_line)
            for a in args:
                if isinstance(a, list):
                    out.extend(a)
                else:
                    out.append(a)
            return out
        if name == "flatten" and len(args) == 1 and isinstance(args[0], list):
            return _flatten(args[0])
        if name in ("compact", "distinct") and len(args) == 1 and isinstance(args[0], list):
            kept: list = []
            seen: set = set()
            for a in args[0]:
                if name == "compact" and a in ("", None):
                    continue
                if name == "distinct" and not isinstance(a, Unknown):
                    key = _hashable(a)
                    if key in seen:
                        continue
                    seen.add(key)
                kept.append(a)
            return kept
        if name == "merge" and all(isinstance(a, dict) for a in args):
            merged: dict = {}
            for a in args:
                merged.update(a)
            return merged
        if name == "coalesce":
            for a in args:
                if isinstance(a, Unknown):
                    return a
                if a not in (None, ""):
                    return a
            return None
        if all(isinstance(a, str) for a in args):
            if name == "lower" and len(args) == 1:
                return args[0].lower()
            if name == "upper" and len(args) == 1:
                return args[0].upper()
            if name == "replace" and len(args) == 3 and not args[1].startswith("/"):
                subject, old, new = args
                grown = subject.count(old) * (len(new) - len(old))
                if len(subject) + grown > MAX_CHARS:
                    return self._too_large(text, call, file)
                return subject.replace(old, new)
            if name == "trimprefix" and len(args) == 2:
                return args[0][len(args[1]) :] if args[0].startswith(args[1]) else args[0]
            if name == "trimsuffix" and len(args) == 2 and args[1]:
                return args[0][: -len(args[1])] if args[0].endswith(args[1]) else args[0]
        if name == "join" and len(args) == 2 and isinstance(args[1], list):
            if all(isinstance(a, str) for a in args[1]) and isinstance(args[0], str):
                joined = sum(map(len, args[1])) + len(args[0]) * max(0, len(args[1]) - 1)
                if joined > MAX_CHARS:
                    return self._too_large(text, call, file)
                return args[0].join(args[1])
        return Unknown(f"{name}() is not evaluated", text)

    def _file(self, path: str, text: str, file: str, line: int) -> Any:
        """A file's content, read once per module (each use is still charged: later stages
        parse what file() hands out); why it was not read is noted once per call."""
        full = os.path.normpath(os.path.join(self.real_directory, path))
        if full not in self.read_files:
            content, refused = self.read_file(full)
            located = None
            if content is not None:
                located = _Located(content)
                located.file, located.line = display_path(full), 1
            self.read_files[full] = (located, refused)
        located, refused = self.read_files[full]
        if located is None:
            if refused:
                message = f"{text} not read: {refused}"
                self.notes[(file, line, message)] = Problem(file, message, line, "note")
            return Unknown(f"file {path} could not be read", text)
        return located

    def _policy_document(self, file: str, block: Block) -> Any:
        """A `data "aws_iam_policy_document"` as the JSON structure it renders."""
        statements = LList(line=block.line, end_line=block.end_line)
        for stmt in block.children("statement"):
            out = LDict(line=stmt.line, end_line=stmt.end_line)
            effect = self._attr(stmt, "effect", file)
            out["Effect"] = "Allow" if effect is None else effect
            # `action` is not the data source's argument (`actions` is), but some repositories
            # write it and Terraform's own error is far away: read it rather than miss a trust
            for attr, key in (
                ("sid", "Sid"),
                ("action", "Action"),
                ("actions", "Action"),
                ("not_actions", "NotAction"),
            ):
                value = self._attr(stmt, attr, file)
                if value is not None:
                    out[key] = value
            for block_type, key in (
                ("principals", "Principal"),
                ("not_principals", "NotPrincipal"),
            ):
                principals = stmt.children(block_type)
                if principals:
                    merged: dict = {}
                    for p in principals:
                        ptype = self._attr(p, "type", file)
                        ids = self._attr(p, "identifiers", file)
                        ptype = ptype.text if isinstance(ptype, Unknown) else str(ptype)
                        ids_list = ids if isinstance(ids, list) else [ids]
                        if ptype == "*":
                            merged = "*"  # type: ignore[assignment]
                            break
                        merged.setdefault(ptype, []).extend(ids_list)
                    out[key] = merged
            conditions = stmt.children("condition")
            if conditions:
                cond = LDict(line=conditions[0].line, end_line=conditions[-1].end_line)
                for c in conditions:
                    test = self._attr(c, "test", file)
                    variable = self._attr(c, "variable", file)
                    values = self._attr(c, "values", file)
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

    def _attr(self, block: Block, name: str, file: str) -> Any:
        attr = block.attributes.get(name)
        return None if attr is None else self.eval(attr.expr, file)

    def qualified(self, address: str) -> str:
        """A Terraform address means something only inside its module: `dir:address`."""
        return f"{self.directory}:{address}"

    def referred(self, value: Any) -> str | None:
        """`dir:address` of the Terraform object a not yet known value refers to, else None."""
        return self.qualified(value.ref) if isinstance(value, Unknown) and value.ref else None

    # ---- builders ---------------------------------------------------------------------
    def _entity(self, kind: str, file: str, block: Block, suffix: str = "") -> Entity:
        address = f"{block.labels[0]}.{block.labels[1]}"
        return Entity(
            kind=kind,
            key=f"terraform:{file}:{address}{suffix}",
            origin="terraform",
            location=Location(file, block.line, block.end_line),
            fields={"address": address, "resource_type": block.labels[0]},
        )

    def _set_attr(
        self,
        entity: Entity,
        field: str,
        block: Block | None,
        name: str,
        file: str,
        fallback: Any = _CATALOG_DEFAULT,
    ) -> Any:
        """Copy one attribute into a field; when it is absent, the field's default from the
        catalog (or `fallback`, a value of our own that is no AWS default)."""
        attr = block.attributes.get(name) if block is not None else None
        if attr is None:
            if fallback is _CATALOG_DEFAULT:
                return kinds.set_default(entity, field)
            entity.set(field, fallback)
            return fallback
        value = self.eval(attr.expr, file)
        entity.set(field, value, span=(attr.line, attr.end_line))
        return value

    def _cluster(self, file: str, block: Block):
        e = self._entity("cluster", file, block)
        e.set("module_major_version", None)
        self._set_attr(e, "name", block, "name", file, fallback=block.labels[1])
        vpc = (block.children("vpc_config") or [None])[0]
        self._set_attr(e, "endpoint_public_access", vpc, "endpoint_public_access", file)
        self._set_attr(e, "endpoint_private_access", vpc, "endpoint_private_access", file)
        self._set_attr(e, "public_access_cidrs", vpc, "public_access_cidrs", file)
        kinds.empty_to_default(e, "public_access_cidrs")
        self._set_attr(e, "enabled_log_types", block, "enabled_cluster_log_types", file)
        access = (block.children("access_config") or [None])[0]
        self._set_attr(e, "authentication_mode", access, "authentication_mode", file)
        self._set_attr(
            e,
            "bootstrap_cluster_creator_admin_permissions",
            access,
            "bootstrap_cluster_creator_admin_permissions",
            file,
        )
        compute = (block.children("compute_config") or [None])[0]
        self._set_attr(e, "auto_mode", compute, "enabled", file)
        return [e], []

    def _instance_metadata(self, file: str, block: Block):
        e = self._entity("instance_metadata", file, block)
        e.set("name", e.fields["address"])
        options = (block.children("metadata_options") or [None])[0]
        if options is not None:
            e.field_lines["metadata_options"] = (options.line, options.end_line)
        self._set_attr(e, "http_tokens", options, "http_tokens", file)
        self._set_attr(e, "http_endpoint", options, "http_endpoint", file)
        hop_limit = self._set_attr(e, "hop_limit", options, "http_put_response_hop_limit", file)
        e.fields["hop_limit"] = number(hop_limit)
        return [e], []

    def _iam_role(self, file: str, block: Block):
        attr = block.attributes.get("assume_role_policy")
        if attr is None:
            return [], []
        address = f"{block.labels[0]}.{block.labels[1]}"
        name = self._attr(block, "name", file)
        if name is None:
            prefix = self._attr(block, "name_prefix", file)
            name = (
                Unknown(f"{address} uses name_prefix", f"{prefix}*")
                if prefix
                else Unknown(f"{address} has a generated name", address)
            )
        policy = self.eval(attr.expr, file)
        if isinstance(policy, _Located):
            text = iam.PolicyText(policy)
            text.file, text.line = policy.file, policy.line
            policy = text
        source = _policy_source(attr)
        return iam.trust_statements(
            policy,
            key=f"terraform:{file}:{address}",
            origin="terraform",
            file=file,
            span=(attr.line, attr.end_line),
            role_name=name if name is not None else address,
            role_ref=self.qualified(address),
            source=source,
        )

    def _pod_identity_association(self, file: str, block: Block):
        e = self._entity("pod_identity_association", file, block)
        self._set_attr(e, "cluster_name", block, "cluster_name", file)
        self._set_attr(e, "namespace", block, "namespace", file)
        self._set_attr(e, "service_account", block, "service_account", file)
        role = self._set_attr(e, "role_arn", block, "role_arn", file)
        e.set("role_ref", self.referred(role))
        return [e], []

    def _access_entry(self, file: str, block: Block):
        e = self._entity("identity_mapping", file, block)
        e.set("source", "access_entry")
        e.set("map", None)
        self._set_attr(e, "cluster_name", block, "cluster_name", file)
        arn = self._set_attr(e, "principal_arn", block, "principal_arn", file)
        e.set("principal_type", principal_type(arn))
        e.set("principal_ref", self.referred(arn))
        self._set_attr(e, "entry_type", block, "type", file)
        self._set_attr(e, "username", block, "user_name", file)
        self._set_attr(e, "groups", block, "kubernetes_groups", file)
        e.set("role_name", None)
        e.set("role_path", None)
        e.set("problems", [])
        return [e], []

    def _access_policy_association(self, file: str, block: Block):
        e = self._entity("access_policy_association", file, block)
        self._set_attr(e, "cluster_name", block, "cluster_name", file)
        arn = self._set_attr(e, "principal_arn", block, "principal_arn", file)
        e.set("principal_ref", self.referred(arn))
        policy = self._set_attr(e, "policy_arn", block, "policy_arn", file)
        e.set(
            "policy_name",
            policy.rsplit("/", 1)[-1] if isinstance(policy, str) else policy,
            span=e.field_lines.get("policy_arn"),
        )
        scope = (block.children("access_scope") or [None])[0]
        self._set_attr(e, "scope_type", scope, "type", file)
        self._set_attr(e, "scope_namespaces", scope, "namespaces", file)
        return [e], []

    def _identity_provider(self, file: str, block: Block):
        e = self._entity("identity_provider", file, block)
        self._set_attr(e, "cluster_name", block, "cluster_name", file)
        oidc = (block.children("oidc") or [None])[0]
        if oidc is not None:
            e.field_lines["oidc"] = (oidc.line, oidc.end_line)
        self._set_attr(e, "name", oidc, "identity_provider_config_name", file)
        self._set_attr(e, "issuer_url", oidc, "issuer_url", file)
        self._set_attr(e, "groups_claim", oidc, "groups_claim", file)
        self._set_attr(e, "groups_prefix", oidc, "groups_prefix", file)
        self._set_attr(e, "username_claim", oidc, "username_claim", file)
        self._set_attr(e, "username_prefix", oidc, "username_prefix", file)
        return [e], []

    def module_call(self, file: str, block: Block):
        """Calls of modules whose inputs we know (terraform-aws-modules eks and iam)."""
        from checks.normalize import tf_modules

        source = self._attr(block, "source", file)
        if tf_modules.is_eks_module(source):
            return tf_modules.eks_module(self, file, block)
        if tf_modules.is_aws_auth_module(source):
            return tf_modules.aws_auth_module(self, file, block)
        if tf_modules.is_irsa_module(source):
            return tf_modules.irsa_module(self, file, block)
        return [], []

    def _kubectl_manifest(self, file: str, block: Block):
        attr = block.attributes.get("yaml_body")
        if attr is None:
            return [], []
        value = self.eval(attr.expr, file)
        where = getattr(value, "file", "") or file
        try:
            docs = tf_kubernetes.manifest_documents(value, self.yaml_budget)
        except BudgetSpent:
            return [], []  # an earlier YAML string spent the module's alias budget: reported
        except ParseError as exc:
            address = f"{block.labels[0]}.{block.labels[1]}"
            return [], [
                Problem(where, f"{address} yaml_body: {exc.message}", exc.line or attr.line)
            ]
        return kubernetes.normalize_objects(where, docs, origin="terraform")

    def _kubernetes_resource(self, file: str, block: Block):
        doc = tf_kubernetes.resource_document(self, file, block)
        if doc is None:
            return [], []
        return kubernetes.normalize_objects(file, [doc], origin="terraform")

    def _config_map(self, file: str, block: Block):
        metadata = (block.children("metadata") or [None])[0]
        name = self._attr(metadata, "name", file) if metadata else None
        namespace = self._attr(metadata, "namespace", file) if metadata else None
        if name != "aws-auth" or namespace != "kube-system":
            return [], []
        address = f"{block.labels[0]}.{block.labels[1]}"
        attr = block.attributes.get("data")
        data = self.eval(attr.expr, file) if attr else None
        doc = LDict(line=block.line, end_line=block.end_line)
        return aws_auth.normalize_config_map(
            file,
            doc,
            data,
            key_prefix=f"terraform:{file}:{address}",
            origin="terraform",
            structured_ok=True,
            budget=self.yaml_budget,
        )


def number(value: Any) -> Any:
    """Terraform converts a string of digits given for a number argument (`"2"`) to the
    number; anything else stays as it was written (rules compare numeric text exactly too),
    and so does a string of more digits than the parsers read as a number."""
    if (
        isinstance(value, str)
        and value.isascii()
        and value.isdigit()
        and len(value) <= numbers.MAX_DIGITS
    ):
        return int(value)
    return value


def _policy_source(attr: Attribute) -> str:
    expr = attr.expr
    if isinstance(expr, Heredoc):
        return "heredoc"
    if isinstance(expr, Call):
        return f"{expr.name}()"
    if isinstance(expr, Template) and len(expr.parts) == 1 and isinstance(expr.parts[0], Ref):
        return expr.parts[0].text
    if isinstance(expr, Ref):
        return expr.text
    return "string"


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


def _split_ref(text: str) -> list:
    parts: list = []
    for m in re.finditer(r"([A-Za-z_][\w-]*)|\[(\d+)\]|\[\"([^\"]*)\"\]", text):
        if m.group(1):
            parts.append(m.group(1))
        elif m.group(2):
            parts.append(index_number(m.group(2)))
        else:
            parts.append(m.group(3))
    return parts


def _flatten(items: list) -> list:
    """Terraform's flatten(), without recursion (a value may be nested deeply)."""
    out: list = []
    stack = [iter(items)]
    while stack:
        for item in stack[-1]:
            if isinstance(item, list):
                stack.append(iter(item))
                break
            out.append(item)
        else:
            stack.pop()
    return out


def _hashable(value: Any) -> Any:
    """A hashable stand-in for a value, equal for equal values (distinct() in linear time)."""
    if isinstance(value, list):
        return ("list", tuple(_hashable(v) for v in value))
    if isinstance(value, dict):
        return ("map", frozenset((k, _hashable(v)) for k, v in value.items()))
    return value


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 120 else text[:117] + "..."
