"""Calls of terraform-aws-modules/iam's role modules, read as the trust policies they write.

Each reader builds the trust policy the module's `data "aws_iam_policy_document"` renders
for the call's inputs, with the defaults of the version the call gets (read from the
module's sources at v4.24, v5.60 and v6.5), and hands it to the same trust reader as any
role: `iam-role-for-service-accounts-eks` (v4, v5) and `iam-role-for-service-accounts` (v6),
`iam-assumable-role-with-oidc` (v3-v5), `iam-github-oidc-role` (v5), `iam-assumable-role`
(v3-v5) and `iam-role` (v6, which replaced the others). The statements sit at the inputs
that make them, else at the call.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from checks.model import Entity, LDict, Problem, Unknown
from checks.normalize import iam
from checks.normalize.tf_build import Module
from checks.normalize.tf_known import (
    Call,
    as_list,
    aws_policy,
    policy_arns,
    role,
    version_of,
)
from checks.parse.hcltree import Block

FAMILY = "terraform-aws-modules/iam"
_SOURCE = re.compile(
    r"(?:terraform-aws-modules/iam/aws|terraform-aws-iam(?:\.git)?)//modules/([\w-]+)"
)
# the account the role is in: the caller's, which the configuration does not say
CALLER_ACCOUNT = "${data.aws_caller_identity.current.account_id}"

Reader = Callable[[Module, str, Block, "str | None"], tuple[list[Entity], list[Problem]]]


def reader(source: Any) -> Reader | None:
    """The reader of a terraform-aws-modules/iam submodule's calls, if we read it."""
    if not isinstance(source, str):
        return None
    m = _SOURCE.search(source)
    return READERS.get(m.group(1)) if m else None


def _role(
    call: Call,
    statements: list,
    name: Any,
    span: tuple[int, int] | None,
    what: str,
    policies: list[tuple[Any, tuple[int, int] | None]],
    listed: bool = True,
) -> tuple[list[Entity], list[Problem]]:
    """The role: its trust statements, and the role with the policies attached to it
    (`listed` False when the module also attaches policies it writes)."""
    if name is None:
        name = Unknown(f"{call.address} role name not set", call.address)
    made, found = iam.trust_statements(
        {"Version": "2012-10-17", "Statement": statements},
        key=call.key(),
        origin=call.module.origin,
        file=call.file,
        span=span or call.span,
        role_name=name,
        role_ref=call.module.qualified(call.address),
        source=f"{call.address} ({what})",
    )
    return made + role(call, "", name, policies, listed, what), found


def _attached(call: Call, *names: str) -> list[tuple[Any, tuple[int, int] | None]]:
    """The policy ARNs of the first of `names` the call sets (a list or a map)."""
    value, span = call.value(*names)
    return policy_arns(call, value, span)


def _writes_policies(call: Call) -> bool:
    """Whether the call asks the module for a policy it writes (`attach_*_policy = true`,
    an inline policy): the role's power is then more than the ARNs it lists."""
    return any(
        (name.startswith("attach_") and name.endswith("_policy"))
        or name in ("create_inline_policy", "inline_policy_statements")
        for name, attr in call.block.attributes.items()
        if call.module.ev.eval(attr.expr, call.file) not in (False, None, [], {})
    )


def _name(call: Call, name_input: str, prefix_input: str | None, prefixed_by_default: bool) -> Any:
    """The role's name: `name_input`, a prefix of it when the module prefixes (v6's
    `use_name_prefix`), or the `prefix_input` given instead."""
    name = call.get(name_input, None)
    if prefix_input is None:
        prefixed = call.get("use_name_prefix", prefixed_by_default)
        if isinstance(name, str) and prefixed is True:
            return Unknown(f"{call.address} names its role with a prefix", f"{name}-*")
        return name
    if name is None:
        prefix = call.get(prefix_input, None)
        if isinstance(prefix, str):
            return Unknown(f"{call.address} names its role with a prefix", f"{prefix}*")
    return name


def _url(value: Any) -> Any:
    """An OIDC provider URL as the modules use it: without `https://`."""
    if isinstance(value, str):
        return value.replace("https://", "")
    return value


def _text(value: Any) -> str:
    return value.text if isinstance(value, Unknown) else str(value)


def _host(provider_arn: Any) -> str:
    """`replace(provider_arn, "/^(.*provider/)/", "")`: the provider's host and path, as the
    condition keys begin; `${...}` around what is not known."""
    if isinstance(provider_arn, str) and "${" not in provider_arn:
        return re.sub(r"^(.*provider/)", "", provider_arn)
    return "${" + _text(provider_arn) + "}"


def _federated(account: Any, url: Any) -> str:
    account_text = account if isinstance(account, str) and account else CALLER_ACCOUNT
    url_text = url if isinstance(url, str) else "${" + _text(url) + "}"
    return f"arn:aws:iam::{account_text}:oidc-provider/{url_text}"


def _conditions(items: Any) -> list[tuple[Any, Any, Any]]:
    """(test, variable, values) of a list of `{test, variable, values}` objects."""
    out = []
    for item in as_list(items):
        if isinstance(item, dict):
            out.append((item.get("test"), item.get("variable"), item.get("values")))
    return out


def _add(condition: dict, test: Any, variable: Any, values: Any) -> None:
    test_text = _text(test)
    condition.setdefault(test_text, {})[_text(variable)] = values


def _self_assume(call: Call, name: Any, path: Any) -> dict:
    """The `allow_self_assume_role` statement: anyone, conditioned on the role's own ARN."""
    shown = name if isinstance(name, str) else _text(name)
    return {
        "Sid": "ExplicitSelfRoleAssumption",
        "Effect": "Allow",
        "Action": "sts:AssumeRole",
        "Principal": {"AWS": "*"},
        "Condition": {
            "ArnLike": {
                "aws:PrincipalArn": f"arn:aws:iam::{CALLER_ACCOUNT}:role{path or '/'}{shown}"
            }
        },
    }


# ---- iam-role-for-service-accounts(-eks) ------------------------------------------------------
def irsa_role(
    module: Module, file: str, block: Block, installed: str | None = None
) -> tuple[list[Entity], list[Problem]]:
    """IRSA roles: one statement per `oidc_providers` entry, `<test> <host>:sub` for its
    `namespace_service_accounts` and `<test> <host>:aud = sts.amazonaws.com`, the same
    operator for both (v6 renamed the operator's input to `trust_condition_test`)."""
    source = module.ev.attribute(block, "source", file)
    v6_path = isinstance(source, str) and not re.search(
        r"iam-role-for-service-accounts-eks", source
    )
    names = block.attributes
    named_for = 6 if v6_path or any(n in names for n in ("name", "trust_condition_test")) else 5
    version = version_of(module, block, file, installed, FAMILY, 6 if v6_path else 5, named_for)
    call = Call(module, file, block, version)
    v6 = version.major >= 6
    if call.get("create" if v6 else "create_role", True) is not True:
        return [], []
    test = call.get("trust_condition_test" if v6 else "assume_role_condition_test", "StringEquals")
    test = test if isinstance(test, str) else _text(test)
    if v6:
        name = _name(call, "name", None, True)
    else:
        name = _name(call, "role_name", "role_name_prefix", False)
    providers, span = call.value("oidc_providers")
    statements = []
    if version.major == 5 and call.get("allow_self_assume_role", False) is True:
        statements.append(_self_assume(call, name, call.get("role_path", "/")))
    if isinstance(providers, dict):
        for key, provider in providers.items():
            if not isinstance(provider, dict):
                continue
            where = call.span_in(providers, key, span or call.span)
            arn = provider.get(
                "provider_arn", Unknown(f"{call.address} provider {key} has no provider_arn")
            )
            host = _host(arn)
            subjects = as_list(provider.get("namespace_service_accounts", []))
            stmt = LDict(line=where[0], end_line=where[1])
            stmt.update(
                {
                    "Effect": "Allow",
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Principal": {"Federated": arn},
                    "Condition": {
                        test: {
                            f"{host}:sub": [
                                s if isinstance(s, Unknown) else f"system:serviceaccount:{s}"
                                for s in subjects
                            ],
                            f"{host}:aud": ["sts.amazonaws.com"],
                        }
                    },
                }
            )
            statements.append(stmt)
    elif isinstance(providers, Unknown):
        statements.append(
            {
                "Effect": "Allow",
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Principal": {"Federated": providers},
            }
        )
    if not statements:
        return [], []
    policies = _attached(call, "policies" if v6 else "role_policy_arns")
    listed = not _writes_policies(call)
    return _role(call, statements, name, span, "iam-role-for-service-accounts", policies, listed)


# ---- iam-assumable-role-with-oidc -------------------------------------------------------------
def assumable_role_with_oidc(
    module: Module, file: str, block: Block, installed: str | None = None
) -> tuple[list[Entity], list[Problem]]:
    """One statement per provider URL (`provider_url`, `provider_urls`), each with that
    URL's conditions: `StringEquals :sub` for `oidc_fully_qualified_subjects`, `StringLike
    :sub` for `oidc_subjects_with_wildcards`, `StringLike :aud` for
    `oidc_fully_qualified_audiences` (v4.3+), then `provider_trust_policy_conditions`
    (v5.44+). The role exists only with `create_role = true`."""
    version = version_of(module, block, file, installed, FAMILY, 5)
    call = Call(module, file, block, version)
    if call.get("create_role", False) is not True:
        return [], []
    name = _name(call, "role_name", "role_name_prefix", False)
    urls: list = []
    for value in [*as_list(call.get("provider_urls", [])), call.get("provider_url", "")]:
        value = _url(value)
        if value in ("", None) or value in urls:
            continue
        urls.append(value)
    account = call.get("aws_account_id", "")
    actions = ["sts:AssumeRoleWithWebIdentity"]
    if version.at_least(5, 44):
        actions.append("sts:TagSession")
    exact = as_list(call.get("oidc_fully_qualified_subjects", []))
    wildcards = as_list(call.get("oidc_subjects_with_wildcards", []))
    audiences = as_list(call.get("oidc_fully_qualified_audiences", []))
    extra = (
        _conditions(call.get("provider_trust_policy_conditions", []))
        if version.at_least(5, 44)
        else []
    )
    statements = []
    if version.at_least(5, 5) and call.get("allow_self_assume_role", False) is True:
        statements.append(_self_assume(call, name, call.get("role_path", "/")))
    for url in urls:
        host = url if isinstance(url, str) else "${" + _text(url) + "}"
        condition: dict = {}
        if exact:
            _add(condition, "StringEquals", f"{host}:sub", exact)
        if wildcards:
            _add(condition, "StringLike", f"{host}:sub", wildcards)
        if audiences and version.at_least(4, 3):
            _add(condition, "StringLike", f"{host}:aud", audiences)
        for test, variable, values in extra:
            _add(condition, test, variable, values)
        stmt: dict = {
            "Effect": "Allow",
            "Action": list(actions),
            "Principal": {"Federated": _federated(account, url)},
        }
        if condition:
            stmt["Condition"] = condition
        statements.append(stmt)
    if not statements:
        return [], []
    _, span = call.value("provider_url", "provider_urls")
    policies = _attached(call, "role_policy_arns")
    listed = not _writes_policies(call)
    return _role(call, statements, name, span, "iam-assumable-role-with-oidc", policies, listed)


# ---- iam-github-oidc-role ---------------------------------------------------------------------
def github_oidc_role(
    module: Module, file: str, block: Block, installed: str | None = None
) -> tuple[list[Entity], list[Problem]]:
    """GitHub Actions' OIDC: `<subject_condition> (StringLike) <provider>:sub` for `subjects`,
    each prefixed `repo:` unless it is; iss and aud pinned."""
    version = version_of(module, block, file, installed, FAMILY, 5)
    call = Call(module, file, block, version)
    if call.get("create", True) is not True:
        return [], []
    name = _name(call, "name", "name_prefix", False)
    provider = _url(call.get("provider_url", "token.actions.githubusercontent.com"))
    host = provider if isinstance(provider, str) else "${" + _text(provider) + "}"
    subjects, span = call.value("subjects")
    test = call.get("subject_condition", "StringLike") if version.at_least(5, 45) else "StringLike"
    condition: dict = {}
    _add(condition, "ForAllValues:StringEquals", f"{host}:iss", [f"https://{host}"])
    _add(
        condition,
        "ForAllValues:StringEquals",
        f"{host}:aud",
        [call.get("audience", "sts.amazonaws.com")],
    )
    _add(condition, test, f"{host}:sub", _github_subjects(as_list(subjects)))
    for test_, variable, values in _conditions(call.get("additional_trust_policy_conditions", [])):
        _add(condition, test_, variable, values)
    statement = {
        "Sid": "GithubOidcAuth",
        "Effect": "Allow",
        "Action": ["sts:TagSession", "sts:AssumeRoleWithWebIdentity"],
        "Principal": {"Federated": _federated(None, provider)},
        "Condition": condition,
    }
    policies = _attached(call, "policies")
    return _role(call, [statement], name, span, "iam-github-oidc-role", policies)


def _github_subjects(subjects: list) -> list:
    """`"repo:${trimprefix(subject, "repo:")}"` of each subject."""
    return [
        s
        if isinstance(s, Unknown)
        else "repo:" + (str(s)[5:] if str(s).startswith("repo:") else str(s))
        for s in subjects
    ]


# ---- iam-role (v6) ----------------------------------------------------------------------------
def iam_role(
    module: Module, file: str, block: Block, installed: str | None = None
) -> tuple[list[Entity], list[Problem]]:
    """v6's one role module: generic OIDC statements (`enable_oidc`, one per provider URL),
    GitHub's (`enable_github_oidc`), Bitbucket's, SAML's, each with `trust_policy_conditions`,
    then the statements of `trust_policy_permissions` as written."""
    version = version_of(module, block, file, installed, FAMILY, 6)
    call = Call(module, file, block, version)
    if call.get("create", True) is not True:
        return [], []
    name = _name(call, "name", None, True)
    urls = [_url(u) for u in as_list(call.get("oidc_provider_urls", []))]
    subjects = as_list(call.get("oidc_subjects", []))
    wildcards = as_list(call.get("oidc_wildcard_subjects", []))
    audiences = as_list(call.get("oidc_audiences", []))
    shared = _conditions(call.get("trust_policy_conditions", []))
    web = ["sts:TagSession", "sts:AssumeRoleWithWebIdentity"]
    statements: list = []

    def hosted(url: Any) -> str:
        return url if isinstance(url, str) else "${" + _text(url) + "}"

    if call.get("enable_oidc", False) is True:
        for url in urls:
            condition: dict = {}
            if subjects:
                _add(condition, "StringEquals", f"{hosted(url)}:sub", subjects)
            if wildcards:
                _add(condition, "StringLike", f"{hosted(url)}:sub", wildcards)
            if audiences:
                _add(condition, "StringEquals", f"{hosted(url)}:aud", audiences)
            for test, variable, values in shared:
                _add(condition, test, variable, values)
            stmt: dict = {
                "Effect": "Allow",
                "Action": list(web),
                "Principal": {"Federated": _federated(call.get("oidc_account_id", None), url)},
            }
            if condition:
                stmt["Condition"] = condition
            statements.append(stmt)
    if call.get("enable_github_oidc", False) is True:
        gh = hosted(_url(call.get("github_provider", "token.actions.githubusercontent.com")))
        condition = {}
        _add(condition, "ForAllValues:StringEquals", f"{gh}:iss", [f"https://{gh}"])
        _add(
            condition, "ForAllValues:StringEquals", f"{gh}:aud", audiences or ["sts.amazonaws.com"]
        )
        if subjects:
            _add(condition, "StringEquals", f"{gh}:sub", _github_subjects(subjects))
        if wildcards:
            _add(condition, "StringLike", f"{gh}:sub", _github_subjects(wildcards))
        for test, variable, values in shared:
            _add(condition, test, variable, values)
        statements.append(
            {
                "Sid": "GithubOidcAuth",
                "Effect": "Allow",
                "Action": list(web),
                "Principal": {"Federated": _federated(None, gh)},
                "Condition": condition,
            }
        )
    if call.get("enable_bitbucket_oidc", False) is True:
        bb = hosted(urls[0]) if urls else "${element(oidc_provider_urls, 0)}"
        condition = {}
        _add(
            condition, "ForAllValues:StringEquals", f"{bb}:aud", audiences or ["sts.amazonaws.com"]
        )
        if subjects:
            _add(condition, "StringEquals", f"{bb}:sub", subjects)
        if wildcards:
            _add(condition, "StringLike", f"{bb}:sub", wildcards)
        for test, variable, values in shared:
            _add(condition, test, variable, values)
        statements.append(
            {
                "Sid": "BitbucketOidcAuth",
                "Effect": "Allow",
                "Action": list(web),
                "Principal": {"Federated": _federated(None, bb)},
                "Condition": condition,
            }
        )
    if call.get("enable_saml", False) is True:
        condition = {}
        endpoints = call.get("saml_endpoints", ["https://signin.aws.amazon.com/saml"])
        _add(condition, "StringEquals", "SAML:aud", endpoints)
        for test, variable, values in shared:
            _add(condition, test, variable, values)
        actions = ["sts:TagSession", "sts:AssumeRoleWithSAML"]
        for action in as_list(call.get("saml_trust_actions", [])):
            if action not in actions:
                actions.append(action)
        statements.append(
            {
                "Effect": "Allow",
                "Action": actions,
                "Principal": {"Federated": call.get("saml_provider_ids", [])},
                "Condition": condition,
            }
        )
    permissions, span = call.value("trust_policy_permissions")
    if isinstance(permissions, dict):
        for key, value in permissions.items():
            statements.append(
                _permission(key, value, call.span_in(permissions, key, span or call.span))
            )
    elif isinstance(permissions, Unknown):
        statements.append({"Effect": "Allow", "Action": permissions, "Principal": permissions})
    if not statements:
        return [], []
    policies = _attached(call, "policies")
    return _role(call, statements, name, None, "iam-role", policies, not _writes_policies(call))


def _permission(key: str, value: Any, span: tuple[int, int]) -> Any:
    """One `trust_policy_permissions` statement as the policy document writes it."""
    if not isinstance(value, dict):
        return value
    stmt = LDict(line=span[0], end_line=span[1])
    stmt["Sid"] = value.get("sid") or key
    stmt["Effect"] = value.get("effect") if value.get("effect") is not None else "Allow"
    if value.get("actions") is not None:
        stmt["Action"] = value["actions"]
    if value.get("not_actions") is not None:
        stmt["NotAction"] = value["not_actions"]
    for source, target in (("principals", "Principal"), ("not_principals", "NotPrincipal")):
        principals = value.get(source)
        if principals is None:
            continue
        merged: Any = {}
        for principal in as_list(principals):
            if isinstance(principal, Unknown):
                merged = principal  # principals not known: the statement's are not either
                break
            if not isinstance(principal, dict):
                continue
            ptype = _text(principal.get("type"))
            if ptype == "*":
                merged = "*"
                break
            if isinstance(merged, dict):
                merged.setdefault(ptype, []).extend(as_list(principal.get("identifiers")))
        stmt[target] = merged
    condition: dict = {}
    for test, variable, values in _conditions(value.get("condition")):
        _add(condition, test, variable, values)
    if condition:
        stmt["Condition"] = condition
    return stmt


# ---- iam-assumable-role (v3-v5) ---------------------------------------------------------------
def assumable_role(
    module: Module, file: str, block: Block, installed: str | None = None
) -> tuple[list[Entity], list[Problem]]:
    """`trusted_role_arns` and `trusted_role_services` may assume the role: with MFA by
    default (`role_requires_mfa`), an external id or a session name when asked; or a custom
    trust policy (v4: when given; v5: with `create_custom_role_trust_policy`)."""
    version = version_of(module, block, file, installed, FAMILY, 5)
    call = Call(module, file, block, version)
    if call.get("create_role", False) is not True:
        return [], []
    name = _name(call, "role_name", "role_name_prefix", False)
    custom, custom_span = call.value("custom_role_trust_policy")
    use_custom = (
        call.get("create_custom_role_trust_policy", False) is True
        if version.major >= 5
        else custom_span is not None and custom not in ("", None)
    )
    policies = _attached(call, "custom_role_policy_arns")
    for flag, input_name, policy in (
        ("attach_admin_policy", "admin_role_policy_arn", "AdministratorAccess"),
        ("attach_poweruser_policy", "poweruser_role_policy_arn", "PowerUserAccess"),
        ("attach_readonly_policy", "readonly_role_policy_arn", "ReadOnlyAccess"),
    ):
        given, flag_span = call.value(flag)
        if given is True:
            policies.append((call.get(input_name, aws_policy(policy)[0]), flag_span))
        elif isinstance(given, Unknown):
            policies.append((given, flag_span))
    if use_custom:
        made, found = iam.trust_statements(
            custom,
            key=call.key(),
            origin=call.module.origin,
            file=call.file,
            span=custom_span or call.span,
            role_name=name if name is not None else Unknown(f"{call.address} role name not set"),
            role_ref=call.module.qualified(call.address),
            source=f"{call.address} (iam-assumable-role custom_role_trust_policy)",
        )
        return made + role(call, "", name, policies, True, "iam-assumable-role"), found
    default_actions = (
        ["sts:AssumeRole", "sts:TagSession"] if version.major >= 5 else ["sts:AssumeRole"]
    )
    actions = ["sts:AssumeRole"]
    for action in as_list(call.get("trusted_role_actions", default_actions)):
        if action not in actions and action not in ("", None):
            actions.append(action)
    principal: dict = {}
    arns, span = call.value("trusted_role_arns")
    if arns is not None:
        principal["AWS"] = as_list(arns)
    services = call.get("trusted_role_services", [])
    if services:
        principal["Service"] = as_list(services)
    condition: dict = {}
    if call.get("role_requires_mfa", True) is True:
        _add(condition, "Bool", "aws:MultiFactorAuthPresent", ["true"])
        age = call.get("mfa_age", 86400)
        # the policy document writes every condition value as a string
        age = age if isinstance(age, Unknown) else str(age)
        _add(condition, "NumericLessThan", "aws:MultiFactorAuthAge", [age])
    external = [e for e in as_list(call.get("role_sts_externalid", [])) if e not in ("", None)]
    if external:
        _add(condition, "StringEquals", "sts:ExternalId", external)
    if version.major >= 5 and call.get("role_requires_session_name", False) is True:
        _add(
            condition,
            "StringEquals",
            "sts:RoleSessionName",
            call.get("role_session_name", ["${aws:username}"]),
        )
    for test, variable, values in _conditions(call.get("trust_policy_conditions", [])):
        _add(condition, test, variable, values)
    statements: list = []
    if version.major >= 5 and call.get("allow_self_assume_role", False) is True:
        statements.append(_self_assume(call, name, call.get("role_path", "/")))
    stmt: dict = {"Effect": "Allow", "Action": actions, "Principal": principal}
    if condition:
        stmt["Condition"] = condition
    statements.append(stmt)
    return _role(call, statements, name, span, "iam-assumable-role", policies)


READERS: dict[str, Reader] = {
    "iam-role-for-service-accounts-eks": irsa_role,
    "iam-role-for-service-accounts": irsa_role,
    "iam-assumable-role-with-oidc": assumable_role_with_oidc,
    "iam-github-oidc-role": github_oidc_role,
    "iam-role": iam_role,
    "iam-assumable-role": assumable_role,
}
