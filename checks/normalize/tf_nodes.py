"""The IAM roles of the nodes a Terraform launch template, launch configuration or instance
makes (`instance_metadata.node_roles`): what any pod that reaches the instance metadata
service gets (RULES.md, 8xx).

- The instance profile it names (`iam_instance_profile { name | arn }` of a launch template,
  `iam_instance_profile` of a launch configuration or an instance): the `role` of that
  `aws_iam_instance_profile`, found by reference or by name in the module.
- The `aws_eks_node_group`s of the module whose `launch_template` names the launch template
  (by reference, or by its literal name or id): their `node_role_arn`.

A profile the module does not declare gives a role that is not known: kept as such, never
dropped (the graph shows it as an unknown hop).
"""

from __future__ import annotations

from typing import Any

from checks import kinds
from checks.model import LList, Unknown
from checks.normalize.tf_build import Module
from checks.parse.hcltree import Block, Expression, Ref, Template, declared

PROFILE = "aws_iam_instance_profile"
NODE_GROUP = "aws_eks_node_group"


def node_roles(module: Module, file: str, block: Block) -> LList:
    """The node roles of a launch template, launch configuration or instance."""
    roles = LList(line=block.line, end_line=block.end_line)
    if block.labels[0] == "aws_launch_template":
        profile = next(iter(block.children("iam_instance_profile")), None)
        attrs = profile.attributes if profile is not None else {}
        attr = attrs.get("arn") or attrs.get("name")
        if attr is not None:
            roles += _profile_roles(module, file, attr.expr, (attr.line, attr.end_line))
        # the address references to it are written with: the module's own
        local = declared(block.type, block.labels) or module.address(block)
        roles += _node_group_roles(module, local, block, file)
    else:
        attr = block.attributes.get("iam_instance_profile")
        if attr is not None:
            roles += _profile_roles(module, file, attr.expr, (attr.line, attr.end_line))
    return roles


def _referenced(expr: Expression, resource_type: str) -> str | None:
    """The address of the `resource_type` resource an expression is a reference to
    (`aws_iam_instance_profile.nodes.name`, or `"${...}"` of one), else None."""
    if isinstance(expr, Template) and len(expr.parts) == 1 and isinstance(expr.parts[0], Ref):
        expr = expr.parts[0]
    if isinstance(expr, Ref):
        found = expr.target
        if found is not None and found.kind == "resource" and found.type == resource_type:
            return found.address
    return None


def _declared(module: Module, resource_type: str) -> list[tuple[str, str, Block]]:
    """(address, file, block) of the module's resources of a type."""
    return [
        (address, file, block)
        for address, (file, block) in module.ev.declarations.blocks.items()
        if block.type == "resource" and block.labels[0] == resource_type
    ]


def _named(module: Module, resource_type: str, value: Any) -> str | None:
    """The address of the `resource_type` resource whose literal `name` is `value`, or whose
    ARN (`...:instance-profile/path/name`) ends with it; None when no one resource is."""
    if not isinstance(value, str):
        return None
    wanted = value.rsplit("/", 1)[-1]
    found = [
        address
        for address, file, block in _declared(module, resource_type)
        if module.ev.attribute(block, "name", file) == wanted
    ]
    return found[0] if len(found) == 1 else None


def _profile_roles(
    module: Module, file: str, expr: Expression, span: tuple[int, int]
) -> list[dict]:
    ev = module.ev
    address = _referenced(expr, PROFILE) or _named(module, PROFILE, ev.eval(expr, file))
    if address is None:
        written = ev.eval(expr, file)
        shown = written if isinstance(written, str) else getattr(written, "text", "(unknown)")
        role = Unknown(f"instance profile {shown} is not in this module", f"role of {shown}")
        return [kinds.node_role(role, None, f"instance profile {shown}", file, span)]
    pfile, profile = ev.declarations.blocks[address]
    attr = profile.attributes.get("role")
    if attr is None:
        return []
    role = ev.eval(attr.expr, pfile)
    ref = module.reference_of(role)
    if ref is None and _referenced(attr.expr, "aws_iam_role") is not None:
        ref = module.qualified(module.absolute(_referenced(attr.expr, "aws_iam_role")))
    return [
        kinds.node_role(
            role, ref, f"{module.absolute(address)} role", pfile, (attr.line, attr.end_line)
        )
    ]


def _node_group_roles(module: Module, template: str, block: Block, file: str) -> list[dict]:
    """The `node_role_arn` of each node group whose launch template is this one."""
    ev = module.ev
    name = ev.attribute(block, "name", file)
    literal = name if isinstance(name, str) else None
    out = []
    for address, gfile, group in _declared(module, NODE_GROUP):
        launch = next(iter(group.children("launch_template")), None)
        if launch is None:
            continue
        uses = False
        for key in ("id", "name"):
            attr = launch.attributes.get(key)
            if attr is None:
                continue
            if _referenced(attr.expr, "aws_launch_template") == template:
                uses = True
            elif key == "name" and literal is not None and ev.eval(attr.expr, gfile) == literal:
                uses = True
        attr = group.attributes.get("node_role_arn")
        if not uses or attr is None:
            continue
        role = ev.eval(attr.expr, gfile)
        out.append(
            kinds.node_role(
                role,
                module.reference_of(role),
                f"{module.absolute(address)} node_role_arn",
                gfile,
                (attr.line, attr.end_line),
            )
        )
    return out
