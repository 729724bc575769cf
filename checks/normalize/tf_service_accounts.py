"""ServiceAccounts that Terraform gives an IAM role without writing them: an EKS add-on's
(`service_account_role_arn`, `pod_identity_association` blocks) and a Helm release's
(`set`/`values` that set a ServiceAccount's `eks.amazonaws.com/role-arn` annotation).

Each becomes what the same role given in a manifest would be: a `service_account` entity
carrying `role_arn` (and `role_ref` when the role is a Terraform object), and a
`pod_identity_association` per association, so that the trust checks between a
ServiceAccount and its role (EKS701, EKS702) see them.
"""

from __future__ import annotations

import re
from typing import Any

from checks import kinds
from checks.model import Entity, LList, Location, Problem, Unknown
from checks.normalize.kubernetes import ROLE_ARN_ANNOTATION
from checks.normalize.tf_build import Module
from checks.parse import BudgetSpent, ParseError
from checks.parse.hcltree import Block

# add-on -> (its namespace, the ServiceAccount its IAM role is for), as the EKS user guide
# names them for each add-on that takes a role
ADDON_SERVICE_ACCOUNTS: dict[str, tuple[str, str]] = {
    "vpc-cni": ("kube-system", "aws-node"),
    "aws-ebs-csi-driver": ("kube-system", "ebs-csi-controller-sa"),
    "aws-efs-csi-driver": ("kube-system", "efs-csi-controller-sa"),
    "aws-mountpoint-s3-csi-driver": ("kube-system", "s3-csi-driver-sa"),
    "amazon-cloudwatch-observability": ("amazon-cloudwatch", "cloudwatch-agent"),
}


def addon_identities(
    module: Module,
    key: str,
    given_by: str,
    file: str,
    span: tuple[int, int],
    cluster_name: Any,
    addon: Any,
    role_arn: Any,
    role_span: tuple[int, int] | None,
    associations: list[tuple[Any, Any, tuple[int, int]]],
) -> list[Entity]:
    """The ServiceAccount an add-on's `service_account_role_arn` is for, and one pod identity
    association per (service account, role, lines) of `associations`; `key` is the add-on's
    entity key, which theirs start with, `given_by` what it is called in messages."""
    out: list[Entity] = []
    namespace, account = (
        ADDON_SERVICE_ACCOUNTS.get(addon, (None, None)) if isinstance(addon, str) else (None, None)
    )
    if role_arn is not None and account is not None:
        e = service_account(
            f"{key}/service_account", file, role_span or span, namespace, account, given_by
        )
        e.set("role_arn", role_arn, span=role_span)
        e.set("role_ref", module.reference_of(role_arn))
        out.append(e)
    for index, (name, role, lines) in enumerate(associations):
        a = Entity(
            "pod_identity_association",
            f"{key}/pod_identity_association[{index}]",
            module.origin,
            Location(file, *lines),
        )
        a.set("address", None)
        a.set("module_dir", None)
        a.set("resource_type", "aws_eks_addon")
        a.set("cluster_name", cluster_name)
        a.set(
            "namespace",
            namespace
            if namespace is not None
            else Unknown(f"the namespace of add-on {_text(addon)} is not known", _text(addon)),
        )
        a.set("service_account", name)
        a.set("role_arn", role, span=lines)
        a.set("role_ref", module.reference_of(role))
        out.append(a)
    return out


def service_account(
    key: str, file: str, span: tuple[int, int], namespace: Any, name: Any, given_by: str
) -> Entity:
    """A ServiceAccount that Terraform does not write but gives a role to, through the
    add-on or release at `given_by`."""
    e = Entity("service_account", key, "terraform", Location(file, *span))
    e.set("object_kind", "ServiceAccount")
    e.set("name", name)
    if namespace is None:
        kinds.set_default(e, "namespace")
    else:
        e.set("namespace", namespace)
    shown_namespace = _text(e.fields["namespace"])
    e.set("qualified_name", f"{shown_namespace}/{_text(name)}")
    e.set("module_dir", None)  # `terraform.normalize_blocks` sets the configuration
    e.set("automount", Unknown(f"{given_by} writes the ServiceAccount", given_by))
    e.set("given_by", given_by)
    return e


def _text(value: Any) -> str:
    return value.text if isinstance(value, Unknown) else str(value)


# ---- helm_release ----------------------------------------------------------------------------
_UNESCAPED_DOT = re.compile(r"(?<!\\)\.")
_ANNOTATION = "annotations"


def helm_release(module: Module, file: str, block: Block) -> tuple[list[Entity], list[Problem]]:
    """The ServiceAccounts a Helm release annotates with an IAM role, through `values` (a
    YAML document each, later ones winning) and `set` (winning over `values`): one per
    `...annotations."eks.amazonaws.com/role-arn"` path, named by the `name` beside those
    `annotations` (else the chart names it: unknown), in the release's namespace."""
    ev = module.ev
    values: dict = {}
    spans: dict[tuple, tuple[int, int]] = {}
    problems: list[Problem] = []
    given = ev.attribute(block, "values", file)
    for document in given if isinstance(given, list) else []:
        if isinstance(document, str):
            from checks.normalize.tf_kubernetes import manifest_documents

            try:
                parsed = manifest_documents(document, ev.yaml_budget)
            except (BudgetSpent, ParseError):
                continue
            document = parsed[0] if parsed else None
        if isinstance(document, dict):
            _merge(values, document)
    for path, value, lines in _set_entries(module, file, block):
        node = values
        for part in path[:-1]:
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        node[path[-1]] = value
        spans[tuple(path)] = lines
    address = module.address(block)
    release_namespace = ev.attribute(block, "namespace", file)
    out = []
    for path, found in _annotations(values):
        role = found.get(ROLE_ARN_ANNOTATION)
        if role is None:
            continue
        owner = _at(values, path[:-1])
        name = owner.get("name") if isinstance(owner, dict) else None
        if name is None:
            name = Unknown(
                f"{address}: the chart names the ServiceAccount",
                f"{address} ({'.'.join(path[:-1]) or 'values'})",
            )
        role_lines = spans.get((*path, ROLE_ARN_ANNOTATION), (block.line, block.end_line))
        e = service_account(
            module.key(file, f"{address}/{'.'.join(path[:-1])}"),
            file,
            role_lines,
            release_namespace,
            name,
            address,
        )
        e.set("role_arn", role, span=role_lines)
        e.set("role_ref", module.reference_of(role))
        out.append(e)
    return out, problems


def _set_entries(module: Module, file: str, block: Block) -> list[tuple[list[str], Any, tuple]]:
    """(path, value, lines) of each `set` block (or entry of a `set` list, provider v3)."""
    ev = module.ev
    out = []
    entries: list[tuple[Any, Any, tuple[int, int]]] = []
    for child in block.children("set"):
        entries.append(
            (
                ev.attribute(child, "name", file),
                ev.attribute(child, "value", file),
                (child.line, child.end_line),
            )
        )
    listed = ev.attribute(block, "set", file)
    if isinstance(listed, list):
        for index, item in enumerate(listed):
            if isinstance(item, dict):
                lines = (
                    listed.span(index)
                    if isinstance(listed, LList)
                    else (block.line, block.end_line)
                )
                entries.append((item.get("name"), item.get("value"), lines))
    for name, value, lines in entries:
        if isinstance(name, str):
            path = [part.replace("\\.", ".") for part in _UNESCAPED_DOT.split(name)]
            out.append((path, value, lines))
    return out


def _merge(into: dict, other: dict) -> None:
    """Helm's merge of a later values document into the earlier ones (maps deeply)."""
    stack = [(into, other)]
    while stack:
        target, source = stack.pop()
        for key, value in source.items():
            if isinstance(value, dict) and isinstance(target.get(key), dict):
                merged = dict(target[key])
                target[key] = merged
                stack.append((merged, value))
            else:
                target[key] = value


def _annotations(values: dict) -> list[tuple[list[str], dict]]:
    """(path, mapping) of every `annotations` mapping in the values (no recursion)."""
    out = []
    stack: list[tuple[list[str], Any]] = [([], values)]
    while stack:
        path, node = stack.pop()
        if not isinstance(node, dict):
            continue
        for key, value in node.items():
            if key == _ANNOTATION and isinstance(value, dict):
                out.append(([*path, key], value))
            elif isinstance(value, dict) and len(path) < 32:
                stack.append(([*path, str(key)], value))
    return sorted(out, key=lambda item: item[0])


def _at(values: dict, path: list[str]) -> Any:
    node: Any = values
    for part in path:
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node
