"""What the Terraform builders share (`terraform.py`, `tf_modules.py`): the module being
normalized, that is its evaluator and how its entities are named, and `set_attr`."""

from __future__ import annotations

from typing import Any

from checks import kinds
from checks.model import Entity, Location
from checks.normalize.tf_eval import Evaluator
from checks.parse.hcltree import Block, declared

# `set_attr` without a fallback: the catalog's default
_CATALOG_DEFAULT = object()


class Module:
    """A module being normalized: its evaluator, and how its entities are named. Keys are
    `<origin>:<file>:<address>` (`terraform`, or `plan` for a plan's resources, whose blocks
    each carry the address the plan gives them, in `addresses`)."""

    def __init__(
        self, ev: Evaluator, origin: str = "terraform", addresses: dict | None = None
    ) -> None:
        self.ev = ev
        self.origin = origin
        self.addresses: dict[tuple, str] = addresses or {}

    def address(self, block: Block) -> str:
        """A resource's or data source's address (`t.n`, `data.t.n`), or a module call's
        (`module.m`)."""
        found = self.addresses.get((block.type, *block.labels))
        if found is not None:
            return found
        return declared(block.type, block.labels) or f"module.{block.labels[0]}"

    def key(self, file: str, address: str) -> str:
        """The key of what `address` in `file` makes (children append to it)."""
        return f"{self.origin}:{file}:{address}"

    def qualified(self, address: str) -> str:
        """How a `role_ref` or `principal_ref` names an object of this module."""
        return kinds.terraform_reference(self.ev.directory, address)

    def entity(self, kind: str, file: str, block: Block, address: str, rtype: str) -> Entity:
        """An entity for what `block` (at `address`, of type `rtype`) makes."""
        e = Entity(
            kind=kind,
            key=self.key(file, address),
            origin=self.origin,
            location=Location(file, block.line, block.end_line),
        )
        e.set("address", address)
        e.set("module_dir", self.ev.directory)
        e.set("resource_type", rtype)
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
    return value
