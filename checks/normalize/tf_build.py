"""What the Terraform builders share (`terraform.py`, `tf_modules.py`): the module being
normalized, that is its evaluator and how its entities are named, the instances a block
makes (`for_each`, `count`, `dynamic` blocks), and `set_attr`."""

from __future__ import annotations

from typing import Any

from checks import kinds
from checks.model import Entity, Location, Partial, Unknown
from checks.normalize.tf_calls import qualify
from checks.normalize.tf_eval import Evaluator, expand
from checks.normalize.tf_values import for_each_parts, given_number, json_string
from checks.parse.hcltree import Attribute, Block, declared

# `set_attr` without a fallback: the catalog's default
_CATALOG_DEFAULT = object()


class Module:
    """A module instance being normalized: its evaluator, and how its entities are named.

    Addresses are Terraform's, from the root module: an instance of a module call is at
    `call_path` (`("module.platform", "module.eks[0]")`) and its objects' addresses start
    with it; `scope` is the root module's directory, which those addresses mean something in.
    Keys are `<origin>:<file>:<address>` (`terraform`, or `plan` for a plan's resources,
    whose blocks each carry the address the plan gives them, in `addresses`), and for an
    instance `<origin>:<file>:<scope>:<address>`: one module's file serves many instances,
    of many root modules."""

    def __init__(
        self,
        ev: Evaluator,
        origin: str = "terraform",
        addresses: dict | None = None,
        call_path: tuple[str, ...] = (),
        scope: str | None = None,
    ) -> None:
        self.ev = ev
        self.origin = origin
        self.addresses: dict[tuple, str] = addresses or {}
        self.call_path = call_path
        self.scope = ev.directory if scope is None else scope
        self.path = ".".join(call_path)  # the instance's address ("" for the root module)
        # id of an instance's block -> its address, from the root module
        self.instance_addresses: dict[int, str] = {}

    def address(self, block: Block) -> str:
        """A resource's or data source's address (`t.n`, `data.t.n`, `t.n["key"]` for an
        instance of `for_each`), or a module call's (`module.m`), from the root module."""
        found = self.instance_addresses.get(id(block)) or self.addresses.get(
            (block.type, *block.labels)
        )
        if found is not None:
            return found
        return self.absolute(declared(block.type, block.labels) or f"module.{block.labels[0]}")

    def key(self, file: str, address: str) -> str:
        """The key of what `address` in `file` makes (children append to it)."""
        if self.call_path:
            return f"{self.origin}:{file}:{self.scope}:{address}"
        return f"{self.origin}:{file}:{address}"

    def absolute(self, address: str) -> str:
        """The address from the root module of what is at `address` in this instance."""
        return f"{self.path}.{address}" if self.path else address

    def qualified(self, address: str) -> str:
        """How a `role_ref` or `principal_ref` names the object at `address` (from the root
        module)."""
        return kinds.terraform_reference(self.scope, address)

    def reference_of(self, value: Any) -> str | None:
        """`dir:address` of the Terraform object a not yet known value refers to, else None.
        A template (`arn:...:${data.x.account_id}:role/y`) refers to no one object: its
        first reference is only a part of it."""
        if not isinstance(value, Unknown) or not value.ref or "${" in value.text:
            return None
        address = qualify(value.ref, self.call_path)
        return None if address is None else self.qualified(address)

    def refer_principals(self, entities: list[Entity]) -> list[Entity]:
        """Give the aws-auth entries among `entities` whose ARN refers to a Terraform object
        (`rolearn = aws_iam_role.x.arn`) that object as `principal_ref`, as access entries
        have it: the ARN is computed by AWS, the role it names is known."""
        for e in entities:
            if e.kind == "identity_mapping" and e.fields.get("principal_ref") is None:
                e.set("principal_ref", self.reference_of(e.fields.get("principal_arn")))
        return entities

    def instance(self, address: str) -> Module:
        """The module instance this module's call makes at `address` (`module.x[0]`), for a
        known module's reader: its call is named by the instance's address."""
        inner = Module(self.ev, self.origin, dict(self.addresses), self.call_path, self.scope)
        inner.addresses[("module", address.split("[", 1)[0][len("module.") :])] = (
            f"{self.path}.{address}" if self.path else address
        )
        return inner

    def child(self, ev: Evaluator, address: str) -> Module:
        """The module instance at `address` (`module.x["a"]`) of a call of this module."""
        return Module(ev, self.origin, None, (*self.call_path, address), self.scope)

    def entity(self, kind: str, file: str, block: Block, address: str, rtype: str) -> Entity:
        """An entity for what `block` (at `address`, of type `rtype`) makes."""
        e = Entity(
            kind=kind,
            key=self.key(file, address),
            origin=self.origin,
            location=Location(file, block.line, block.end_line),
        )
        e.set("address", address)
        e.set("module_dir", self.scope)
        e.set("resource_type", rtype)
        kinds.name_settings(e)  # a module call names its own inputs instead
        return e


def set_attr(
    module: Module,
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
    value = module.ev.eval(attr.expr, file)
    entity.set(field, value, span=(attr.line, attr.end_line))
    note_origin(module, entity, field, attr, file)
    return value


def note_origin(module: Module, entity: Entity, field: str, attr: Attribute, file: str) -> None:
    """When `attr` (written in `file`) takes its value from a variable or a local defined
    elsewhere, that place is the field's origin: a finding on the field names it."""
    origin = module.ev.origin(attr.expr, file)
    if origin is not None:
        where, start, end, what = origin
        entity.field_origins[field] = (Location(where, start, end), f"{field} comes from {what}")


def instances(module: Module, file: str, block: Block) -> list[Block]:
    """The blocks a resource block stands for, as Terraform expands it: one per key of its
    `for_each` (`each` bound), one per index of its `count` (`count.index` bound), none when
    either is empty or zero; one whose `each`/`count` is unknown when they are. `dynamic`
    blocks become the blocks they make. Each instance is named by its address."""
    if module.origin != "terraform":
        return [block]  # a plan's resources are instances already
    ev = module.ev
    address = module.address(block)
    for_each = block.attributes.get("for_each")
    count = block.attributes.get("count")
    made: list[tuple[str, dict]]
    if for_each is not None:
        value = ev.eval(for_each.expr, file)
        known, parts = for_each_parts(value)
        keys = _for_each_keys(known)
        if parts or isinstance(value, Partial):  # the instances known, one for each part else
            made = [
                (f"{address}[{json_string(key)}]", {"each": {"key": key, "value": item}})
                for key, item in keys or []
            ]
            made += [
                (address if not n else f"{address}[*{n + 1}]", {"each": each})
                for n, each in enumerate(parts)
            ]
        elif keys is None:
            unknown = (
                value if isinstance(value, Unknown) else Unknown("for_each is not a map or set")
            )
            made = [(address, {"each": unknown})]
        else:
            made = [
                (f"{address}[{json_string(key)}]", {"each": {"key": key, "value": item}})
                for key, item in keys
            ]
    elif count is not None:
        value = given_number(ev.eval(count.expr, file))
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            unknown = value if isinstance(value, Unknown) else Unknown("count is not a number")
            made = [(address, {"count": {"index": unknown}})]
        else:
            made = [(f"{address}[{i}]", {"count": {"index": i}}) for i in range(value)]
    else:
        made = [(address, {})]
    out = []
    for name, names in made:
        instance = expand(ev, file, block, names)
        module.instance_addresses[id(instance)] = name
        out.append(instance)
    return out


def _for_each_keys(value: object) -> list[tuple[str, object]] | None:
    """(each.key, each.value) of a known for_each: a map's entries, a set of strings' items
    (key and value the same); None when it is unknown or neither."""
    if isinstance(value, dict):
        if any(isinstance(v, Unknown) for v in value):
            return None
        return sorted(value.items())
    if isinstance(value, list):
        if not all(isinstance(v, str) for v in value):
            return None
        return [(v, v) for v in sorted(set(value))]
    return None
