"""Terraform plan JSON (`terraform show -json plan.out`): the resources the plan will create,
modules expanded and `for_each` keys included, into the same entities as `.tf` files.

Each planned resource's `values` become a synthetic block (nested blocks are lists of
objects in the plan) and go through the Terraform builders; a value the plan only knows
after apply (`after_unknown`) is unknown, never defaulted. Findings point at the resource in
the plan file and name its plan address.
"""

from __future__ import annotations

from typing import Any

from checks.model import Entity, LDict, LList, Problem, Unknown
from checks.parse.hcltree import Attribute, Block, Lit, Opaque

PLAN_TYPES_PREFIXES = ("aws_", "kubernetes_", "kubectl_")
AFTER_APPLY = Unknown("the plan knows this value only after apply", "(known after apply)")


def _walk_modules(module: Any):
    if not isinstance(module, dict):
        return
    for resource in module.get("resources") or []:
        if isinstance(resource, dict):
            yield resource
    for child in module.get("child_modules") or []:
        yield from _walk_modules(child)


def _known(value: Any) -> Any:
    """A null item of a planned list (an identifier of a resource the same plan creates) is
    known only after apply."""
    if not isinstance(value, list) or None not in value:
        return value
    known = LList([AFTER_APPLY if item is None else item for item in value])
    known.line, known.end_line = getattr(value, "line", 0), getattr(value, "end_line", 0)
    known.item_lines = list(getattr(value, "item_lines", []))
    return known


def _block(name: str, labels: list[str], values: Any, unknown: Any, line: int, end: int) -> Block:
    block = Block(name, labels, line, end)
    unknown = unknown if isinstance(unknown, dict) else {}
    if isinstance(values, dict):
        for key, value in values.items():
            span = values.span(key) if isinstance(values, LDict) else (line, end)
            if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
                nested_unknown = unknown.get(key)
                for i, item in enumerate(value):
                    item_unknown = (
                        nested_unknown[i]
                        if isinstance(nested_unknown, list) and i < len(nested_unknown)
                        else {}
                    )
                    s = value.span(i) if hasattr(value, "span") else span
                    block.blocks.append(_block(key, [], item, item_unknown, s[0], s[1]))
            elif value is None and unknown.get(key) is True:
                block.attributes[key] = Attribute(
                    key, Opaque(span[0], span[1], "(known after apply)"), *span
                )
            elif value is not None:
                block.attributes[key] = Attribute(key, Lit(span[0], span[1], _known(value)), *span)
    for key, flag in unknown.items():
        if (
            flag is True
            and key not in block.attributes
            and not any(b.type == key for b in block.blocks)
        ):
            block.attributes[key] = Attribute(
                key, Opaque(line, end, "(known after apply)"), line, end
            )
    return block


def normalize_plan(file: str, doc: dict, read_file) -> tuple[list[Entity], list[Problem]]:
    """Entities of the resources a plan creates, keyed and named by their plan addresses."""
    from checks.normalize.terraform import normalize_blocks
    from checks.normalize.tf_build import Module
    from checks.normalize.tf_eval import Declarations, Evaluator

    unknown_by_address = {
        rc.get("address"): (rc.get("change") or {}).get("after_unknown")
        for rc in doc.get("resource_changes") or []
        if isinstance(rc, dict)
    }
    blocks: list[Block] = []
    # (block type, resource type, label) -> the plan address; the labels are ours, unique in
    # the module the plan's resources form (two modules may both have an `aws_iam_role.this`)
    addresses: dict[tuple[str, str, str], str] = {}
    for resource in _walk_modules((doc.get("planned_values") or {}).get("root_module")):
        rtype, address = resource.get("type"), resource.get("address")
        if not isinstance(rtype, str) or not isinstance(address, str):
            continue
        if not rtype.startswith(PLAN_TYPES_PREFIXES):
            continue
        mode = "data" if resource.get("mode") == "data" else "resource"
        label = f"r{len(blocks)}"
        line = getattr(resource, "line", 1) or 1
        end = getattr(resource, "end_line", line) or line
        blocks.append(
            _block(
                mode,
                [rtype, label],
                resource.get("values"),
                unknown_by_address.get(address),
                line,
                end,
            )
        )
        addresses[(mode, rtype, label)] = address
    if not blocks:
        return [], []
    files = {file: blocks}
    evaluator = Evaluator(".", Declarations(files), read_file)
    return normalize_blocks(Module(evaluator, origin="plan", addresses=addresses), files)
