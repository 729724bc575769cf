"""Calls of terraform-aws-modules/eks-pod-identity, read as what they create (read from the
module's sources at v1.1, v1.12 and v2.8): one IAM role that trusts `pods.eks.amazonaws.com`
(`sts:AssumeRole` and `sts:TagSession`, plus `trust_policy_conditions`), and one Pod Identity
association per entry of `associations` giving that role to a namespace's ServiceAccount,
each setting an entry leaves out taken from `association_defaults`. `create = false` makes
nothing. The policies the module writes itself (`attach_*_policy`) are not read: the role is
marked as not listing all its policies."""

from __future__ import annotations

import re
from typing import Any

from checks.model import Entity, Problem, Unknown
from checks.normalize import iam
from checks.normalize.tf_build import Module
from checks.normalize.tf_known import Call, as_list, policy_arns, role, version_of
from checks.parse.hcltree import Block

FAMILY = "terraform-aws-modules/eks-pod-identity"
NEWEST = 2
_SOURCE = re.compile(r"terraform-aws-modules/eks-pod-identity/aws|terraform-aws-eks-pod-identity")
ROLE = ".role"
WHAT = "pod identity role"


def is_pod_identity_module(source: Any) -> bool:
    """Whether `source` is terraform-aws-modules/eks-pod-identity (registry or git)."""
    return isinstance(source, str) and _SOURCE.search(source) is not None


def pod_identity_module(
    module: Module, file: str, block: Block, installed: str | None = None
) -> tuple[list[Entity], list[Problem]]:
    """The role a call creates and its associations (see the module's docstring)."""
    call = Call(module, file, block, version_of(module, block, file, installed, FAMILY, NEWEST))
    if call.get("create", True) is False:
        return [], []
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Action": ["sts:AssumeRole", "sts:TagSession"],
        "Principal": {"Service": "pods.eks.amazonaws.com"},
    }
    conditions = _conditions(call.get("trust_policy_conditions", []))
    if conditions:
        statement["Condition"] = conditions
    name: Any = call.get("name", "")
    if call.get("use_name_prefix", True) in (True, "true"):
        name = Unknown(f"{call.address} names its {WHAT} with a prefix", f"{name}-*")
    statements, problems = iam.trust_statements(
        {"Version": "2012-10-17", "Statement": [statement]},
        key=call.key(ROLE),
        origin=call.module.origin,
        file=call.file,
        span=call.span,
        role_name=name,
        role_ref=call.module.qualified(call.address + ROLE),
        source=f"{call.address} ({WHAT})",
    )
    attached, span = call.value("additional_policy_arns")
    # the policies the module writes itself (attach_*_policy) are not read: not all listed
    roles = role(call, ROLE, name, policy_arns(call, attached, span), False, WHAT)
    return statements + roles + _associations(call), problems


def _conditions(given: Any) -> dict | Unknown:
    """`trust_policy_conditions` ({test, variable, values} objects) as an IAM Condition."""
    if isinstance(given, Unknown):
        return given
    out: dict[str, dict[str, list]] = {}
    for item in as_list(given):
        if isinstance(item, Unknown):
            return item
        if isinstance(item, dict):
            tests = out.setdefault(str(item.get("test")), {})
            tests.setdefault(str(item.get("variable")), []).extend(as_list(item.get("values")))
    return out


def _associations(call: Call) -> list[Entity]:
    """One `pod_identity_association` per entry of `associations`, located at the entry."""
    associations, span = call.value("associations")
    if span is None or associations is None:
        return []
    defaults = call.get("association_defaults", {})
    role_arn = Unknown(
        f"{call.address} ({WHAT}) ARN is computed by AWS", f"{call.address}.iam_role_arn"
    )
    role_ref = call.module.qualified(call.address + ROLE)
    if not isinstance(associations, dict):
        entries: list[tuple[str, Any]] = [("*", associations)]
    else:
        entries = sorted(associations.items(), key=lambda kv: str(kv[0]))
    out = []
    for key, entry in entries:
        where = call.span_in(associations, key, span)
        e = call.entity(
            "pod_identity_association",
            f'.associations["{key}"]',
            where,
            "module:eks-pod-identity",
        )
        settings = ("cluster_name", "namespace", "service_account")
        for field in settings:
            value, lines = _setting(call, entry, defaults, field, where)
            e.set(field, value, span=lines)
        call.note_input(e, settings, "associations", key if key != "*" else None)
        e.set("role_arn", role_arn)
        e.set("role_ref", role_ref)
        out.append(e)
    return out


def _setting(
    call: Call, entry: Any, defaults: Any, name: str, where: tuple[int, int]
) -> tuple[Any, Any]:
    """An association's setting and its lines: the entry's own, else `association_defaults`'
    (located at the entry); unknown when the entry or the defaults are."""
    for source in (entry, defaults):
        if isinstance(source, Unknown):
            return source, None
        if isinstance(source, dict) and source.get(name) is not None:
            lines = call.span_in(source, name, where) if source is entry else None
            return source[name], lines
    return Unknown(f"the association's {name} is not set", name), None
