"""IAM policies written as text: where a policy held inside another file starts (a heredoc,
a `file()`), and how the text of a policy is read (JSON with lines, keys written twice noted;
the IAM API's URL-encoded documents)."""

from __future__ import annotations

from typing import Any


class PolicyText(str):
    """A policy written as text inside another file: where its first line sits."""

    file: str = ""
    line: int = 0


def load_policy(policy: Any, duplicates: list | None = None) -> Any:
    """A policy given as JSON text becomes a structure with lines (`duplicates` receives the
    keys written twice); anything else passes."""
    if isinstance(policy, str):
        from checks.parse.jsonpos import load

        offset = getattr(policy, "line", 1) - 1 if getattr(policy, "line", 0) else 0
        return load(str(policy), line_offset=offset, duplicates=duplicates)
    return policy


def cli_policy(value: Any) -> Any:
    """A policy document as the IAM API or an SDK gives it: a JSON object, the same as a
    JSON string, or URL-encoded (the raw API; the AWS CLI and boto3 decode it). A string
    is parsed without lines of its own: its statements are where the string is."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text[:3].upper() == "%7B":
        from urllib.parse import unquote

        text = unquote(text)
    from checks.parse.jsonpos import load

    return load(text, positions=False)
