"""IAM condition operators (checks/normalize/iam_conditions.py), one at a time: what each
admits for a one-valued key, and what normalize and link conclude from it."""

from __future__ import annotations

import pytest

from checks.link import link
from checks.model import Entity, Location, Unknown
from checks.normalize.iam import trust_statements
from checks.normalize.iam_conditions import condition_admits, is_pattern, narrows, operator

SA = "system:serviceaccount:shop:cart"
ROLE = "arn:aws:iam::111122223333:role/ci/deploy"


def admits(op: str, values: list, value: str):
    return condition_admits({"operator": op, "key": "k", "values": values}, value)


@pytest.mark.parametrize(
    "op, values, value, expected",
    [
        # StringEquals: literal and case-sensitive, any of the values
        ("StringEquals", [SA], SA, True),
        ("StringEquals", ["system:serviceaccount:shop:*"], SA, False),
        ("StringEquals", [SA.upper()], SA, False),
        ("StringEquals", ["other", SA], SA, True),
        ("StringEquals", [], SA, False),
        # StringNotEquals: none of the values
        ("StringNotEquals", [SA], SA, False),
        ("StringNotEquals", ["other"], SA, True),
        ("StringNotEquals", ["system:serviceaccount:shop:*"], SA, True),
        # IgnoreCase: literal, any case
        ("StringEqualsIgnoreCase", [SA.upper()], SA, True),
        ("StringEqualsIgnoreCase", ["system:serviceaccount:shop:*"], SA, False),
        ("StringNotEqualsIgnoreCase", [SA.upper()], SA, False),
        ("StringNotEqualsIgnoreCase", ["other"], SA, True),
        # StringLike: * any run, ? one character, nothing else special
        ("StringLike", ["system:serviceaccount:shop:*"], SA, True),
        ("StringLike", ["system:serviceaccount:*:cart"], SA, True),
        ("StringLike", ["system:serviceaccount:shop:car?"], SA, True),
        ("StringLike", ["system:serviceaccount:shop:ca?"], SA, False),
        ("StringLike", ["system:serviceaccount:dev:*"], SA, False),
        ("StringLike", ["[s]ystem:serviceaccount:shop:cart"], SA, False),
        ("StringLike", [SA.upper()], SA, False),
        ("StringNotLike", ["system:serviceaccount:shop:*"], SA, False),
        ("StringNotLike", ["system:serviceaccount:dev:*"], SA, True),
        # ARN operators: ArnEquals is ArnLike; wildcards stay inside one part of the ARN
        ("ArnEquals", [ROLE], ROLE, True),
        ("ArnEquals", ["arn:aws:iam::*:role/*"], ROLE, True),
        ("ArnLike", ["arn:aws:iam::111122223333:role/ci/*"], ROLE, True),
        ("ArnLike", ["arn:aws:iam::111122223333:role/?i/deploy"], ROLE, True),
        ("ArnLike", ["arn:aws:iam::*"], ROLE, False),  # five parts: no ARN pattern
        ("ArnLike", ["arn:*:role/ci/deploy"], ROLE, False),  # `*` does not span a `:`
        ("ArnLike", ["arn:aws:iam::111122223333:role/CI/deploy"], ROLE, False),
        ("ArnLike", ["arn:aws:iam::111122223333:*"], SA, False),  # not an ARN
        ("ArnNotEquals", ["arn:aws:iam::*:role/*"], ROLE, False),
        ("ArnNotLike", ["arn:aws:iam::*:user/*"], ROLE, True),
        # set operators and IfExists change nothing for a key with one value
        ("ForAnyValue:StringLike", ["system:serviceaccount:shop:*"], SA, True),
        ("ForAllValues:StringEquals", [SA], SA, True),
        ("ForAllValues:StringEquals", ["other"], SA, False),
        ("StringLikeIfExists", ["system:serviceaccount:dev:*"], SA, False),
        ("ForAnyValue:StringNotEqualsIfExists", [SA], SA, False),
        ("stringequals", [SA], SA, True),  # IAM's operator names are not case-sensitive
    ],
)
def test_each_operator_admits_what_iam_does(op, values, value, expected):
    assert admits(op, values, value) is expected


def test_a_value_not_known_decides_only_when_no_known_value_does():
    unknown = Unknown("var.sub has no default", "${var.sub}")
    assert admits("StringEquals", [SA, unknown], SA) is True
    assert admits("StringNotEquals", [SA, unknown], SA) is False
    for op in ("StringEquals", "StringNotEquals", "StringLike", "ArnLike"):
        found = admits(op, ["other", unknown], SA)
        assert isinstance(found, Unknown) and found.text == "${var.sub}", op


@pytest.mark.parametrize("op", ["NumericEquals", "Bool", "Null", "IpAddress", "DateLessThan"])
def test_operators_we_do_not_evaluate_are_unknown(op):
    found = admits(op, [SA], SA)
    assert isinstance(found, Unknown)
    assert (found.reason, found.text) == (f"condition operator {op} is not evaluated", op)


@pytest.mark.parametrize(
    "op, narrowing, pattern",
    [
        ("StringEquals", True, False),
        ("ForAnyValue:StringEqualsIgnoreCaseIfExists", True, False),
        ("StringLike", True, True),
        ("ArnEquals", True, True),
        ("ArnLike", True, True),
        ("StringNotEquals", False, False),
        ("StringNotLike", False, True),
        ("ArnNotLike", False, True),
        ("Null", False, False),
    ],
)
def test_what_an_operator_pins(op, narrowing, pattern):
    assert narrows(op) is narrowing
    assert is_pattern(op, "system:serviceaccount:shop:*") is pattern
    assert is_pattern(op, SA) is False
    assert operator(op).negated is (op.startswith(("StringNot", "ArnNot")))


def _statement(conditions: dict) -> Entity:
    (statement,), _ = trust_statements(
        {
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Principal": {"Federated": "arn:aws:iam::1:oidc-provider/oidc.eks.x/id/A"},
                    "Condition": conditions,
                }
            ]
        },
        key="iam:catalog.json",
        origin="iam",
        file="catalog.json",
        span=(1, 1),
        role_name="catalog",
    )
    return statement


@pytest.mark.parametrize(
    "conditions, scope",
    [
        ({"StringEquals": {"oidc.eks.x/id/A:sub": SA}}, "scoped"),
        ({"StringLike": {"oidc.eks.x/id/A:sub": "system:serviceaccount:shop:*"}}, "wildcard"),
        ({"StringEquals": {"oidc.eks.x/id/A:sub": "system:serviceaccount:shop:*"}}, "scoped"),
        # ArnEquals reads wildcards as ArnLike does
        ({"ArnEquals": {"oidc.eks.x/id/A:sub": "arn:aws:iam::*:role/*"}}, "wildcard"),
        ({"StringNotEquals": {"oidc.eks.x/id/A:sub": SA}}, "none"),
    ],
)
def test_normalize_reads_what_a_subject_condition_pins(conditions, scope):
    assert _statement(conditions).fields["sub_scope"] == scope


def _service_account(role: str) -> Entity:
    sa = Entity(
        "service_account", "k8s:shop/ServiceAccount/cart", "test", Location("sa.yaml", 1, 1)
    )
    sa.fields.update(name="cart", namespace="shop", role_arn=f"arn:aws:iam::1:role/{role}")
    return sa


@pytest.mark.parametrize(
    "conditions, expected",
    [
        # every :sub condition must hold: one that does not decides over one not known
        (
            {
                "StringLike": {"oidc.eks.x/id/A:sub": "${var.subject}"},
                "StringNotEquals": {"oidc.eks.x/id/A:sub": SA},
            },
            False,
        ),
        (
            {
                "StringEquals": {"oidc.eks.x/id/A:sub": SA},
                "StringNotLike": {"oidc.eks.x/id/A:sub": "system:serviceaccount:dev:*"},
            },
            True,
        ),
        ({"StringEquals": {"oidc.eks.x/id/A:aud": "sts.amazonaws.com"}}, True),
    ],
)
def test_link_admits_a_subject_when_every_subject_condition_does(conditions, expected):
    sa = _service_account("catalog")
    link([sa, _statement(conditions)])
    assert sa.fields["irsa_trust_admits"] is expected
