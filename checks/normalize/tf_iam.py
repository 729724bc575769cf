"""Terraform's IAM roles and what they are given: `aws_iam_role` (its trust policy, its
`inline_policy` blocks and `managed_policy_arns`), `aws_iam_role_policy`, `aws_iam_policy`,
`aws_iam_role_policy_attachment`, `aws_iam_policy_attachment` and
`aws_iam_role_policy_attachments_exclusive`, as the entities of `iam_roles.py`. A resource
names its role by reference (`aws_iam_role.x.name`, `.id`: `role_ref`) or by name; the link
stage joins them. Builders for `checks/normalize/terraform.py`'s table.
"""

from __future__ import annotations

from typing import Any

from checks.model import Entity, LList, Location, Problem, Unknown
from checks.normalize import iam, iam_roles
from checks.normalize.policy_text import PolicyText
from checks.normalize.tf_build import Module
from checks.normalize.tf_eval import Bound, Located
from checks.parse.hcltree import (
    Attribute,
    Block,
    Call,
    Expression,
    Heredoc,
    Ref,
    Template,
    TupleExpr,
)

Built = tuple[list[Entity], list[Problem]]


def iam_role(module: Module, file: str, block: Block) -> Built:
    """The role, its trust statements, its inline policies and its `managed_policy_arns`."""
    ev = module.ev
    address = module.address(block)
    key = module.key(file, address)
    name = ev.attribute(block, "name", file)
    if name is None:
        prefix = ev.attribute(block, "name_prefix", file)
        # a prefix not known is shown as written (`ex-${basename(path.cwd)}-*`)
        written = prefix.text if isinstance(prefix, Unknown) else prefix
        name = (
            Unknown(f"{address} uses name_prefix", f"{written}*")
            if prefix
            else Unknown(f"{address} has a generated name", address)
        )
    entities: list[Entity] = []
    problems: list[Problem] = []
    trust = block.attributes.get("assume_role_policy")
    if trust is not None:
        made, found = iam.trust_statements(
            _policy_text(ev.eval(trust.expr, file)),
            key=key,
            origin=module.origin,
            file=file,
            span=(trust.line, trust.end_line),
            role_name=name,
            role_ref=module.qualified(address),
            source=_policy_source(trust.expr),
        )
        for statement in made:
            # a statement written outside the role's own attribute (a policy document, a
            # local, in this file or another) is found there; the role that uses it is where
            # the finding's related place points
            at = statement.location
            if at.file != file or not trust.line <= at.start_line <= trust.end_line:
                used = Location(file, trust.line, trust.end_line)
                statement.field_origins["role_name"] = (used, f"role {address} uses this statement")
        entities += made
        problems += found
    role = iam_roles.role_entity(
        key=key,
        origin=module.origin,
        location=Location(file, block.line, block.end_line),
        name=name,
        role_key=key,
        source=module.origin,
        arn=Unknown(f"{address}.arn is computed by AWS", f"{address}.arn", address),
        path=ev.attribute(block, "path", file),
        permissions_boundary=ev.attribute(block, "permissions_boundary", file),
        address=address,
        module_dir=module.scope,
        resource_type=block.labels[0],
        spans=_spans(block, ("name", "path", "permissions_boundary")),
    )
    entities.append(role)
    for index, inline in enumerate(block.children("inline_policy")):
        policy_name = ev.attribute(inline, "name", file)
        document = inline.attributes.get("policy")
        if document is None:
            continue  # an empty inline_policy block removes the role's inline policies
        made, found = iam_roles.policy_entity(
            key=f"{key}/inline_policy[{index}]",
            origin=module.origin,
            location=Location(file, inline.line, inline.end_line),
            document=_policy_text(ev.eval(document.expr, file)),
            name=policy_name,
            policy_type="inline",
            source=module.origin,
            role_name=name,
            role_key=key,
            document_span=(document.line, document.end_line),
        )
        entities.append(made)
        problems += found
    arns = block.attributes.get("managed_policy_arns")
    if arns is not None:
        entities += _attachments(
            module, file, arns, f"{key}/managed_policy_arns", role_key=key, role_name=name
        )
    return entities, problems


def iam_role_policy(module: Module, file: str, block: Block) -> Built:
    """`aws_iam_role_policy`: an inline policy of the role it names."""
    ev = module.ev
    address = module.address(block)
    document = block.attributes.get("policy")
    name = ev.attribute(block, "name", file)
    if name is None:
        name = Unknown(f"{address} has a generated name", address)
    role, role_ref = _role(module, file, block, "role")
    made, found = iam_roles.policy_entity(
        key=module.key(file, address),
        origin=module.origin,
        location=Location(file, block.line, block.end_line),
        document=_document(module, file, document, address),
        name=name,
        policy_type="inline",
        source=module.origin,
        role_name=role,
        role_ref=role_ref,
        address=address,
        module_dir=module.scope,
        resource_type=block.labels[0],
        document_span=None if document is None else (document.line, document.end_line),
    )
    return [made], found


def iam_policy(module: Module, file: str, block: Block) -> Built:
    """`aws_iam_policy`: a customer managed policy (its ARN known after apply)."""
    ev = module.ev
    address = module.address(block)
    document = block.attributes.get("policy")
    name = ev.attribute(block, "name", file)
    if name is None:
        name = Unknown(f"{address} has a generated name", address)
    made, found = iam_roles.policy_entity(
        key=module.key(file, address),
        origin=module.origin,
        location=Location(file, block.line, block.end_line),
        document=_document(module, file, document, address),
        name=name,
        policy_type="managed",
        source=module.origin,
        arn=Unknown(f"{address}.arn is computed by AWS", f"{address}.arn", address),
        address=address,
        module_dir=module.scope,
        resource_type=block.labels[0],
        document_span=None if document is None else (document.line, document.end_line),
    )
    return [made], found


def iam_role_policy_attachment(module: Module, file: str, block: Block) -> Built:
    """`aws_iam_role_policy_attachment`: one managed policy for the role it names."""
    role, role_ref = _role(module, file, block, "role")
    arn = block.attributes.get("policy_arn")
    if arn is None:
        return [], []
    return [
        _attachment(
            module,
            file,
            arn.expr,
            module.key(file, module.address(block)),
            (block.line, block.end_line),
            role_name=role,
            role_ref=role_ref,
            block=block,
        )
    ], []


def iam_policy_attachment(module: Module, file: str, block: Block) -> Built:
    """`aws_iam_policy_attachment`: one managed policy for each role of `roles`."""
    roles = block.attributes.get("roles")
    arn = block.attributes.get("policy_arn")
    if roles is None or arn is None:
        return [], []
    key = module.key(file, module.address(block))
    value = module.ev.eval(roles.expr, file)
    names = value if isinstance(value, list) else [value]
    refs = _refs_of(roles.expr, "aws_iam_role")
    out = []
    for index, role in enumerate(names):
        ref = refs[index] if index < len(refs) else None
        out.append(
            _attachment(
                module,
                file,
                arn.expr,
                f"{key}/roles[{index}]",
                _item_span(value, index, roles),
                role_name=role,
                role_ref=module.qualified(module.absolute(ref))
                if ref
                else module.reference_of(role),
                block=block,
            )
        )
    return out, []


def iam_role_policy_attachments_exclusive(module: Module, file: str, block: Block) -> Built:
    """`aws_iam_role_policy_attachments_exclusive`: every policy of `policy_arns`, for the
    role `role_name` names."""
    arns = block.attributes.get("policy_arns")
    if arns is None:
        return [], []
    role, role_ref = _role(module, file, block, "role_name")
    key = module.key(file, module.address(block))
    return _attachments(
        module, file, arns, f"{key}/policy_arns", role_name=role, role_ref=role_ref, block=block
    ), []


# ---- what they share -------------------------------------------------------------------------
def _attachments(
    module: Module,
    file: str,
    attr: Attribute,
    key: str,
    role_name: Any,
    role_key: str | None = None,
    role_ref: str | None = None,
    block: Block | None = None,
) -> list[Entity]:
    """One attachment per item of a list of policy ARNs (one unknown item for a list not
    known)."""
    value = module.ev.eval(attr.expr, file)
    items = value if isinstance(value, list) else [value]
    return [
        _attachment(
            module,
            file,
            item,
            f"{key}[{index}]",
            _item_span(value, index, attr),
            role_name=role_name,
            role_ref=role_ref,
            role_key=role_key,
            block=block,
            evaluated=True,
        )
        for index, item in enumerate(items)
    ]


def _attachment(
    module: Module,
    file: str,
    arn: Any,
    key: str,
    span: tuple[int, int],
    role_name: Any,
    role_ref: str | None = None,
    role_key: str | None = None,
    block: Block | None = None,
    evaluated: bool = False,
) -> Entity:
    ev = module.ev
    value = arn if evaluated else ev.eval(arn, file)
    policy_ref = module.reference_of(value)
    policy_name = None
    if policy_ref is not None and isinstance(value, Unknown) and value.ref:
        policy_name = _looked_up_name(module, value.ref)
    return iam_roles.attachment_entity(
        key=key,
        origin=module.origin,
        location=Location(file, *span),
        policy_arn=value,
        source=module.origin,
        policy_ref=policy_ref,
        policy_name=policy_name,
        role_name=role_name,
        role_ref=role_ref,
        role_key=role_key,
        address=module.address(block) if block is not None else None,
        module_dir=module.scope,
        resource_type=block.labels[0] if block is not None else None,
    )


def _looked_up_name(module: Module, address: str) -> Any:
    """The name a `data "aws_iam_policy"` looks a managed policy up by (its ARN is known
    after apply)."""
    found = module.ev.declarations.blocks.get(address)
    if found is None or found[1].type != "data" or found[1].labels[0] != "aws_iam_policy":
        return None
    file, block = found
    return module.ev.attribute(block, "name", file)


def _role(module: Module, file: str, block: Block, name: str) -> tuple[Any, str | None]:
    """The role a resource names in attribute `name`: its name as evaluated, and
    `<dir>:<address>` when it is written as a reference to an `aws_iam_role`."""
    attr = block.attributes.get(name)
    if attr is None:
        return None, None
    value = module.ev.eval(attr.expr, file)
    # a list written there names no one role, whatever it holds: a wrong-typed value
    refs = [] if isinstance(attr.expr, TupleExpr) else _refs_of(attr.expr, "aws_iam_role")
    ref = refs[0] if refs else None
    if ref is not None:
        return value, module.qualified(module.absolute(ref))
    return value, module.reference_of(value)


def _refs_of(expr: Expression, resource_type: str) -> list[str | None]:
    """For an expression (each item of a list written as one), the address of the
    `resource_type` resource it names directly (`aws_iam_role.x.name`,
    `"${aws_iam_role.x.id}"`), else None."""
    items = expr.items if isinstance(expr, TupleExpr) else [expr]
    out: list[str | None] = []
    for item in items:
        if isinstance(item, Template) and len(item.parts) == 1:
            item = item.parts[0]
        target = item.target if isinstance(item, Ref) else None
        named = target is not None and target.kind == "resource" and target.type == resource_type
        out.append(target.address if named else None)
    return out


def _document(module: Module, file: str, attr: Attribute | None, address: str) -> Any:
    if attr is None:
        return Unknown(f"{address} has no policy", address)
    return _policy_text(module.ev.eval(attr.expr, file))


def _policy_text(value: Any) -> Any:
    """A policy read from a heredoc or a file keeps where its first line is."""
    if isinstance(value, Located):
        text = PolicyText(value)
        text.file, text.line = value.file, value.line
        return text
    return value


def _spans(block: Block, names: tuple[str, ...]) -> dict[str, tuple[int, int]]:
    return {
        n: (block.attributes[n].line, block.attributes[n].end_line)
        for n in names
        if n in block.attributes
    }


def _item_span(value: Any, index: int, attr: Attribute) -> tuple[int, int]:
    if isinstance(value, LList) and index < len(value.item_lines) and value.item_lines[index][0]:
        return value.item_lines[index]
    return (attr.line, attr.end_line)


def _policy_source(expr: Expression) -> str:
    """How a role's trust policy is written, in words."""
    if isinstance(expr, Bound):
        expr = expr.expr
    if isinstance(expr, Heredoc):
        return "heredoc"
    if isinstance(expr, Call):
        return f"{expr.name}()"
    if isinstance(expr, Template) and len(expr.parts) == 1 and isinstance(expr.parts[0], Ref):
        return expr.parts[0].text
    if isinstance(expr, Ref):
        return expr.text
    return "string"
