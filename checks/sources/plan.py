"""Terraform plan JSON (`terraform show -json plan.out`): the planned resources, read by the
Terraform builders (`checks.normalize.plan`)."""

from __future__ import annotations

from typing import Any

from checks.parse import ParseError
from checks.sources.base import JSON, Context, Normalized
from checks.sources.sniff import keys_pattern, text_says

BY_DIRECTORY = False
SYNTAXES = (JSON,)
JSON_KEYS = ("format_version",)
_KEYS = keys_pattern("format_version", "planned_values", "resource_changes")


def is_ours(text: str, error: ParseError | None) -> bool:
    """A plan is ours whatever else it holds: its keys say so."""
    return text_says(_KEYS, text)


def claims(document: Any) -> bool:
    """A plan: its format version and planned values or resource changes."""
    return (
        isinstance(document, dict)
        and "format_version" in document
        and ("planned_values" in document or "resource_changes" in document)
    )


def normalize(file: str, document: Any, context: Context) -> Normalized:
    """The planned resources, through the Terraform builders."""
    from checks.normalize.plan import normalize_plan

    return normalize_plan(file, document, context.read_file)
