"""Module calls, instantiated as Terraform instantiates them.

A `module "x" { source = ... }` call whose module is on disk (a local path, or a registry or
git module that `terraform init` downloaded: `.terraform/modules/modules.json` says where)
is an instance of that module: its own `Evaluator`, with the call's arguments, evaluated by
the caller, bound to the module's variables (their defaults for the others). `count` and
`for_each` make one instance per index or key when they are known, none for `count = 0`,
and one instance whose index or key is unknown when they are not. `module.x.out` in the
caller is the instance's output `out`.

A module whose inputs eks-checks knows (`tf_modules`: terraform-aws-modules, cloudposse,
aws-ia) is read from the call by its reader, even when it is on disk: the reader knows each
version's defaults; the version `terraform init` installed decides which.

An instance is a function of its arguments: the same module called with the same arguments
is evaluated once (`Calls.memo`), and the references its unknown values name are relative
to it (`../` climbs to its caller), so one evaluation serves every call. Calls nest at most
MAX_DEPTH deep, a module that calls itself (through others) is not instantiated again, and a
root module evaluates at most MAX_INSTANCES instances; each limit met is noted once.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

from checks.model import LDict, LList, Partial, Problem, Unknown, UnknownItems
from checks.normalize.tf_eval import Argument, Declarations, Evaluator, Located, short
from checks.normalize.tf_values import EncodedDict, EncodedList, for_each_parts, given_number
from checks.parse.hcltree import Block, Ref, Target
from checks.tfcatalog import NULL_LABEL_CONTEXT, NULL_LABEL_SOURCE, is_local_module

MAX_DEPTH = 16  # module calls, one inside the other
MAX_INSTANCES = 1000  # module instances one root module evaluates
UP = "../"  # an unknown value's reference to its module's caller
UNKNOWN_KEY = "*"  # the index of an instance whose `count.index`/`each.key` is unknown
# a call's arguments that are no input of the module
META_ARGUMENTS = frozenset(("source", "version", "count", "for_each", "providers", "depends_on"))


@dataclass
class LoadedModule:
    """A module directory's files, parsed: `directory` as shown, `real_directory` as the
    filesystem knows it (absolute), the blocks of each file by its display path, and what
    reading them found (files that did not parse)."""

    directory: str
    real_directory: str
    files: dict[str, list[Block]]
    problems: list[Problem] = field(default_factory=list)
    declarations: Declarations | None = None

    def __post_init__(self) -> None:
        if self.declarations is None:
            self.declarations = Declarations(self.files)


class ModuleReader(Protocol):
    """What reads module directories for the normalizer (the Terraform source: the same
    parser, pre-filter and guards as a scanned directory, within the scanned trees)."""

    def load(self, directory: str) -> LoadedModule | str:
        """The module in `directory` (absolute), or why it is not read ("" when it does
        not exist)."""

    def manifest(self, directory: str) -> list[dict]:
        """The `Modules` of `<directory>/.terraform/modules/modules.json` (what `terraform
        init` downloaded for the root module in `directory`); empty when there is none."""


class Instance(NamedTuple):
    """One instance of a module call: its address in the caller (`module.x`, `module.x[0]`,
    `module.x["a"]`, `module.x[*]` when its key is unknown), its `count`/`each` values, and
    its evaluator when the module is evaluated from its source (else None: a known module's
    reader reads the call, or the module is not on disk)."""

    address: str
    key: Any
    iteration: dict[str, Any]
    evaluator: Evaluator | None


@dataclass
class Call:
    """What a module call is: its source, how it is read (`source`: evaluated from its files;
    `known`: by a reader of its inputs; `absent`: not at all), its instances, and whether
    `count` or `for_each` indexes them."""

    source: Any
    how: str
    instances: list[Instance]
    indexed: bool
    module: LoadedModule | None = None
    version: str | None = None  # the version terraform init installed, when it says


class _Frame(NamedTuple):
    """Where an evaluator's module sits: how deep, the directories of the modules around it
    (cycle detection), and its call names from the root (modules.json's `Key`)."""

    depth: int
    lineage: tuple[str, ...]
    key_path: tuple[str, ...]


class Calls:
    """The module instances of one root module's evaluation (`ModuleCalls` of its
    evaluators): the directories read, the instances evaluated, the notes made."""

    def __init__(
        self,
        reader: ModuleReader,
        root_real_directory: str,
        known: Callable[[str], bool] | None = None,
    ) -> None:
        self.reader = reader
        self.root_directory = root_real_directory
        self.read_file: Any = None  # the root evaluator's: what every instance's file() reads
        # whether a call's source is a module whose reader knows its inputs
        self.known = known or (lambda source: False)
        self.loaded: dict[str, LoadedModule | str] = {}
        self.memo: dict[tuple, Evaluator] = {}
        self.frames: dict[int, tuple[Evaluator, _Frame]] = {}
        self.count = 0  # instances evaluated and built
        self.notes: dict[Any, Problem] = {}
        self._manifest: dict[str, dict] | None = None

    def adopt_root(self, ev: Evaluator) -> Evaluator:
        """`ev`, the root module's evaluator, made the root of these calls."""
        ev.calls = self
        self.read_file = ev.read_file
        self.frames[id(ev)] = (ev, _Frame(0, (os.path.normpath(self.root_directory),), ()))
        return ev

    def problems(self) -> list[Problem]:
        return list(self.notes.values())

    def admit(self, file: str, line: int) -> bool:
        """Whether one more module instance may be evaluated or built (MAX_INSTANCES of each
        per root module); the first refusal is noted at the call."""
        self.count += 1
        if self.count <= MAX_INSTANCES:
            return True
        self._note(
            "instances",
            file,
            line,
            f"more than {MAX_INSTANCES} module instances: the later calls are not read",
        )
        return False

    # ---- calls ---------------------------------------------------------------------------
    def call(self, ev: Evaluator, name: str) -> Call | Unknown:
        """The call `module.<name>` of `ev`'s module, instantiated once."""
        file, block = ev.declarations.modules[name]
        return ev.named(f"module.{name}", file, block.line, lambda: self._call(ev, name))

    def _call(self, ev: Evaluator, name: str) -> Call:
        file, block = ev.declarations.modules[name]
        frame = self.frames[id(ev)][1]
        source = ev.attribute(block, "source", file)
        key_path = (*frame.key_path, name)
        installed = self._installed(key_path) if isinstance(source, str) else None
        version = installed.get("Version") if installed else None
        if not isinstance(source, str):
            how, directory = "absent", None
        elif self.known(source):
            how, directory = "known", None
        elif is_local_module(source):
            how, directory = "source", os.path.normpath(os.path.join(ev.real_directory, source))
        elif installed and isinstance(installed.get("Dir"), str):
            how = "source"
            directory = os.path.normpath(os.path.join(self.root_directory, installed["Dir"]))
        else:
            how, directory = "absent", None
        module = None
        if directory is not None:
            module = self._module(ev, file, block, directory, frame)
            if module is None:
                how = "absent"
        instances = []
        keys, indexed = self._keys(ev, file, block)
        for address_key, key, iteration in keys:
            if how == "source" and not self.admit(file, block.line):
                how = "absent"
            address = f"module.{name}{address_key}"
            child = None
            if how == "source" and module is not None:
                inputs = self._arguments(ev, file, block, iteration)
                arguments = {
                    arg: Argument(ev, file, attr, f"module.{name}")
                    for arg, attr in block.attributes.items()
                    if arg in inputs
                }
                child = self._instance(module, inputs, frame, name, arguments)
            instances.append(Instance(address, key, iteration, child))
        return Call(source, how, instances, indexed, module, version)

    def _module(
        self, ev: Evaluator, file: str, block: Block, directory: str, frame: _Frame
    ) -> LoadedModule | None:
        """The module a call's source names, read once; None (noted) when it is not read,
        would call itself, or sits deeper than MAX_DEPTH."""
        name = block.labels[0]
        if directory in frame.lineage:
            self._note(
                ("cycle", file, block.line),
                file,
                block.line,
                f"module.{name} calls a module that calls it: not evaluated again",
            )
            return None
        if frame.depth + 1 > MAX_DEPTH:
            self._note(
                "depth",
                file,
                block.line,
                f"module calls nested more than {MAX_DEPTH} deep: module.{name} is read as unknown",
            )
            return None
        if directory not in self.loaded:
            self.loaded[directory] = self.reader.load(directory)
        found = self.loaded[directory]
        if isinstance(found, str):
            if found:
                source = ev.attribute(block, "source", file)
                self._note(
                    ("load", file, block.line),
                    file,
                    block.line,
                    f"module.{name} ({short(str(source))}) not read: {found}",
                )
            return None
        return found

    def _keys(
        self, ev: Evaluator, file: str, block: Block
    ) -> tuple[list[tuple[str, Any, dict]], bool]:
        """(address suffix, key, count/each values) of each instance, and whether the call
        is indexed: `count = 0` makes none, an unknown count or for_each one with an unknown
        key."""
        if "count" in block.attributes:
            count = given_number(ev.attribute(block, "count", file))
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                unknown = Unknown("the instance's count.index is not known", "count.index")
                return [(f"[{UNKNOWN_KEY}]", None, {"count": {"index": unknown}})], True
            return [(f"[{i}]", i, {"count": {"index": i}}) for i in range(count)], True
        if "for_each" in block.attributes:
            value = ev.attribute(block, "for_each", file)
            each, parts = for_each_parts(value)
            pairs: list[tuple[Any, Any]] | None = None
            if isinstance(each, dict):
                pairs = sorted(each.items(), key=lambda kv: str(kv[0]))
            elif isinstance(each, list) and all(isinstance(v, str) for v in each):
                pairs = [(v, v) for v in sorted(set(each))]
            if parts or isinstance(value, Partial):  # the instances known, one for each part else
                known = [(f'["{k}"]', k, {"each": {"key": k, "value": v}}) for k, v in pairs or []]
                more = [
                    (f"[{UNKNOWN_KEY * (n + 1)}]", None, {"each": each})
                    for n, each in enumerate(parts)
                ]
                return known + more, True
            if pairs is None:
                unknown = Unknown("the instance's each.key is not known", "each.key")
                value = Unknown("the instance's each.value is not known", "each.value")
                iteration = {"each": {"key": unknown, "value": value}}
                return [(f"[{UNKNOWN_KEY}]", None, iteration)], True
            return [(f'["{k}"]', k, {"each": {"key": k, "value": v}}) for k, v in pairs], True
        return [("", None, {})], False

    def _arguments(
        self, ev: Evaluator, file: str, block: Block, iteration: dict[str, Any]
    ) -> dict[str, Any]:
        """The call's arguments for one instance, evaluated in the caller, as the module sees
        them (`crossed`)."""
        with ev.bound_names(iteration):
            return {
                name: crossed(ev.eval(attr.expr, file))
                for name, attr in block.attributes.items()
                if name not in META_ARGUMENTS
            }

    def _instance(
        self,
        module: LoadedModule,
        inputs: dict[str, Any],
        frame: _Frame,
        name: str,
        arguments: dict[str, Argument],
    ) -> Evaluator:
        """The evaluator of `module` with `inputs` given by `arguments`: one per module,
        arguments and call (whose arguments are where its findings' values come from)."""
        key_path = (*frame.key_path, name) if self._installed_any() else ()
        site = next(((a.file, a.attribute.line) for a in arguments.values()), None)
        memo_key = (module.real_directory, key_path, frozen(inputs), site)
        found = self.memo.get(memo_key)
        if found is not None:
            return found
        child = Evaluator(
            module.directory,
            module.declarations,  # type: ignore[arg-type]
            self.read_file,
            real_directory=module.real_directory,
            inputs=inputs,
            calls=self,
            root_real_directory=self.root_directory,
            arguments=arguments,
        )
        lineage = (*frame.lineage, module.real_directory)
        self.frames[id(child)] = (child, _Frame(frame.depth + 1, lineage, (*frame.key_path, name)))
        self.memo[memo_key] = child
        return child

    # ---- references ----------------------------------------------------------------------
    def reference(self, ev: Evaluator, target: Target, ref: Ref) -> Any:
        """`module.<name>`, `module.<name>.<output>...`, `module.<name>[key].<output>...`:
        the instances' outputs as the caller sees them."""
        name = target.name
        call = self.call(ev, name)
        if isinstance(call, Unknown):
            return Unknown(call.reason, ref.text)
        if call.how != "source":
            if isinstance(call.source, str) and NULL_LABEL_SOURCE.search(call.source):
                return _label_output(ev, name, list(target.rest), ref, call.indexed)
            return Unknown(f"{ref.text} is not known before apply", ref.text, f"module.{name}")
        rest = list(target.rest)
        if call.indexed:
            if not rest:
                return self._all(call, name, ref)
            key, rest = rest[0], rest[1:]
            found = [i for i in call.instances if i.key == key and i.key is not None]
            if not found:
                return Unknown(f"{ref.text}: no such instance is known", ref.text)
            instance = found[0]
        else:
            instance = call.instances[0] if call.instances else None
        if instance is None or instance.evaluator is None:
            return Unknown(f"{ref.text} is not known before apply", ref.text, f"module.{name}")
        return self._outputs(instance, rest, ref)

    def _outputs(self, instance: Instance, rest: list, ref: Ref) -> Any:
        child = instance.evaluator
        assert child is not None
        if not rest:
            value: Any = LDict()
            for output in child.declarations.outputs:
                value[output] = child.output(output)
        else:
            value = child.output(str(rest[0]))
            for part in rest[1:]:
                if isinstance(value, Unknown):
                    break
                if isinstance(value, dict) and part in value:
                    value = value[part]
                elif (
                    isinstance(value, list)
                    and isinstance(part, int)
                    and -len(value) <= part < len(value)
                ):
                    value = value[part]
                else:
                    return Unknown(f"{ref.text} is not known", ref.text)
        return crossed(value, instance.address)

    def _all(self, call: Call, name: str, ref: Ref) -> Any:
        """`module.<name>` of an indexed call: a list (count) or a map (for_each) of the
        instances' outputs."""
        if any(i.key is None or i.evaluator is None for i in call.instances):
            return Unknown(f"{ref.text} is not known before apply", ref.text, f"module.{name}")
        outputs = [self._outputs(i, [], ref) for i in call.instances]
        if all(isinstance(i.key, int) for i in call.instances):
            return LList(outputs)
        return LDict({i.key: out for i, out in zip(call.instances, outputs, strict=True)})

    # ---- modules.json --------------------------------------------------------------------
    def _installed(self, key_path: tuple[str, ...]) -> dict | None:
        """modules.json's entry for the call at `key_path` (its names from the root)."""
        return self._entries().get(".".join(key_path))

    def _installed_any(self) -> bool:
        return bool(self._entries())

    def _entries(self) -> dict[str, dict]:
        if self._manifest is None:
            self._manifest = {
                entry["Key"]: entry
                for entry in self.reader.manifest(self.root_directory)
                if isinstance(entry, dict) and isinstance(entry.get("Key"), str)
            }
        return self._manifest

    def _note(self, kind: Any, file: str, line: int, message: str) -> None:
        if kind not in self.notes:
            self.notes[kind] = Problem(file, message, line, "note")


# ---- values crossing a module's boundary ------------------------------------------------------
def _label_output(ev: Evaluator, name: str, rest: list, ref: Ref, indexed: bool) -> Any:
    """`module.<name>.enabled` and `.context` of a cloudposse/label/null call, as the label
    computes them from its arguments: `enabled`, else the given context's `enabled`, else
    true (its default context); the context's other attributes are not known. Any other
    output, or an instance of a call with `count`/`for_each`, is not known."""
    unknown = Unknown(f"{ref.text} is not known before apply", ref.text, f"module.{name}")
    if indexed or not rest or rest[0] not in ("enabled", "context"):
        return unknown
    file, block = ev.declarations.modules[name]
    enabled = ev.attribute(block, "enabled", file) if "enabled" in block.attributes else None
    if enabled is None:
        context = ev.attribute(block, "context", file) if "context" in block.attributes else None
        if context is None:
            enabled = True
        elif isinstance(context, dict):
            enabled = context.get("enabled")
        else:
            enabled = context
    if not isinstance(enabled, (bool, Unknown)):
        enabled = unknown
    if rest[0] == "enabled":
        return enabled if len(rest) == 1 else unknown
    context = LDict(
        {
            attribute: enabled
            if attribute == "enabled"
            else Unknown(f"{ref.text}.{attribute} is not known", f"{ref.text}.{attribute}")
            for attribute in NULL_LABEL_CONTEXT
        }
    )
    if len(rest) == 1:
        return context
    return context[rest[1]] if len(rest) == 2 and rest[1] in context else unknown


def crossed(value: Any, into_caller: str | None = None) -> Any:
    """`value` as the module on the other side of a call sees it: its references made
    relative to that module (a caller's value given to the module climbs `../`; a module's
    output seen by its caller through the instance at `into_caller` descends into it), and
    without the lines it was written at (another file's lines; a string that knows its file
    keeps it)."""
    if isinstance(value, Unknown):
        ref = _moved(value.ref, into_caller) if value.ref else value.ref
        if isinstance(value, Partial):
            known = crossed(value.known, into_caller)
            rest = [crossed(part, into_caller) for part in value.rest]
            return type(value)(value.reason, value.text, ref, known, rest, value.maybe)
        if isinstance(value, UnknownItems):
            item, key = crossed(value.item, into_caller), crossed(value.key, into_caller)
            return UnknownItems(value.reason, value.text, ref, item, key)
        return value if ref == value.ref else Unknown(value.reason, value.text, ref)
    # what jsonencode/yamlencode was given stays marked so: it is a string to the module
    if isinstance(value, dict):
        out = LDict()
        for key, item in value.items():
            out[key] = crossed(item, into_caller)
        return EncodedDict(out, value.format) if isinstance(value, EncodedDict) else out
    if isinstance(value, list):
        items = LList([crossed(item, into_caller) for item in value])
        if isinstance(value, EncodedList):
            return EncodedList(items, value.format, value.certain)
        return items
    return value


def _moved(ref: str, into_caller: str | None) -> str:
    if into_caller is None:
        return UP + ref
    if ref.startswith(UP):
        return ref[len(UP) :]
    return f"{into_caller}.{ref}"


def qualify(ref: str, call_path: tuple[str, ...]) -> str | None:
    """The absolute address (from the root module) of a reference made in the instance at
    `call_path`; None when it climbs out of the root."""
    ups = 0
    while ref.startswith(UP, ups * len(UP)):
        ups += 1
    if ups > len(call_path):
        return None
    return ".".join([*call_path[: len(call_path) - ups], ref[ups * len(UP) :]])


def frozen(value: Any) -> Any:
    """A hashable stand-in of a value, equal only for values no module can tell apart."""
    if isinstance(value, dict):
        return ("map", tuple(sorted(((str(k), frozen(v)) for k, v in value.items()))))
    if isinstance(value, list):
        return ("list", tuple(frozen(v) for v in value))
    if isinstance(value, UnknownItems):
        return ("items", value.reason, value.text, value.ref, frozen(value.item), frozen(value.key))
    if isinstance(value, Partial):
        rest = tuple(frozen(part) for part in value.rest)
        maybe = tuple(sorted(map(str, value.maybe)))
        return (type(value).__name__, value.reason, value.text, frozen(value.known), rest, maybe)
    if isinstance(value, Unknown):
        return ("unknown", value.reason, value.text, value.ref)
    if isinstance(value, Located):
        return ("located", str(value), value.file, value.line)
    return (type(value).__name__, value)
