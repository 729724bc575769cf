"""eksctl `ClusterConfig` files (apiVersion eksctl.io/v1alpha5), YAML or JSON
(`checks.normalize.eksctl` builds the cluster, its node groups, identity mappings, access
entries and identity providers with eksctl's defaults)."""

from __future__ import annotations

from typing import Any

from checks.parse import ParseError
from checks.sources.base import JSON, YAML, Context, Normalized
from checks.sources.sniff import keys_pattern, node_keys, text_says

BY_DIRECTORY = False
SYNTAXES = (YAML, JSON)
JSON_KEYS = ("apiVersion", "kind")
_KEYS = keys_pattern("apiversion", "kind")


def is_ours(text: str, error: ParseError | None) -> bool:
    """A ClusterConfig is written as a manifest: `apiVersion` and `kind` keys in a document
    that composed, else anywhere in the text."""
    composed = error.composed if error is not None else None
    if composed is None:
        return text_says(_KEYS, text)
    return any(
        node_keys(node).keys() & {"apiversion", "kind"} for node in composed if node is not None
    )


def claims(document: Any) -> bool:
    """A ClusterConfig of eksctl's API."""
    return (
        isinstance(document, dict)
        and document.get("kind") == "ClusterConfig"
        and str(document.get("apiVersion", "")).startswith("eksctl.io/")
    )


def normalize(file: str, document: Any, context: Context) -> Normalized:
    """The cluster and what the ClusterConfig says about it, with eksctl's defaults."""
    from checks.normalize.eksctl import normalize_cluster_config
    from checks.normalize.json_keys import manifest_problems

    made, found = normalize_cluster_config(file, document)
    return made, found + manifest_problems(file, context.duplicates)
