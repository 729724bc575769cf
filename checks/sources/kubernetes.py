"""Kubernetes manifests: YAML streams and JSON files of API objects (`apiVersion`, `kind`),
`List` and typed lists (`RoleList`) expanded, the aws-auth ConfigMap among them
(`checks.normalize.kubernetes` and `checks.normalize.aws_auth`). aws-auth is no source of its
own: it is an object of a manifest, or a resource or module input of Terraform, never a file
format, and each of those two sources reads it where it is written."""

from __future__ import annotations

from typing import Any

from checks.parse import ParseError
from checks.sources.base import JSON, YAML, Context, Normalized
from checks.sources.sniff import keys_pattern, node_keys, text_says

BY_DIRECTORY = False
SYNTAXES = (YAML, JSON)
JSON_KEYS = ("apiVersion", "kind")
# kubectl reads a `.json` file that is YAML too: the same words count in both
_TEXT = keys_pattern("apiversion", "kind", words=("aws-auth", "map(?:roles|users|accounts)"))
_OBJECT_KEYS = {"apiversion", "kind"}
_AWS_AUTH_KEYS = {"maproles", "mapusers", "mapaccounts"}


def is_ours(text: str, error: ParseError | None) -> bool:
    """A manifest (`apiVersion`/`kind`) or an aws-auth ConfigMap (its name, `mapRoles`,
    `mapUsers`, `mapAccounts`) is ours even when it also holds `{{SessionName}}`, `!Sub` or
    `${x}`: kubectl applies what it reads, and a broken aws-auth locks people out. kubectl's
    YAML reader agrees with PyYAML on syntax and differs only once a document is composed (it
    ignores tags, merges keys, reads each document of a stream in turn), so a stream that
    composed is judged by the keys its documents really have; any other text by a generous
    look at it, in any document, indented, quoted, escaped or in flow style."""
    composed = error.composed if error is not None else None
    if composed is None:
        return text_says(_TEXT, text)
    return any(_is_object(node) for node in composed if node is not None)


def _is_object(root: Any) -> bool:
    keys = node_keys(root)
    if keys.keys() & _OBJECT_KEYS:
        return True
    data = keys.get("data")
    return data is not None and bool(node_keys(data).keys() & _AWS_AUTH_KEYS)


def claims(document: Any) -> bool:
    """An object of the Kubernetes API, a `List` of them included."""
    from checks.normalize.kubernetes import is_object

    return is_object(document)


def normalize(file: str, document: Any, context: Context) -> Normalized:
    """The entities of the object (of each item of a list), with Kubernetes' defaults."""
    from checks.normalize.json_keys import manifest_problems
    from checks.normalize.kubernetes import normalize_objects

    made, found = normalize_objects(file, [document], budget=context.budget)
    return made, found + manifest_problems(file, context.duplicates)
