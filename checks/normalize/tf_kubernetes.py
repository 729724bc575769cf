"""Kubernetes objects written in Terraform become the documents a manifest would give.

- `kubectl_manifest.yaml_body` (a heredoc, `file()`, `yamlencode({...})`): parsed with the
  same safe YAML loader, lines kept (inside a heredoc: the heredoc's lines in the .tf file).
- `kubernetes_manifest.manifest` (an object, `yamldecode(...)`): that object, as it is.
- `kubernetes_*` resources (`kubernetes_deployment`, `kubernetes_service_account_v1`, ...,
  listed in `checks/tfcatalog.py`): their blocks are turned into the manifest's shape
  (`service_account_name` -> `serviceAccountName`, repeated `container` blocks ->
  `containers`), so one normalizer serves both.
"""

from __future__ import annotations

from typing import Any

from checks.model import LDict, LList, Unknown
from checks.normalize.tf_eval import Evaluator
from checks.parse import ExpansionBudget
from checks.parse.hcltree import Block
from checks.tfcatalog import kubernetes_kind

# block name -> the manifest's list field it repeats into
LISTS = {
    "container": "containers",
    "init_container": "initContainers",
    "volume": "volumes",
    "volume_mount": "volumeMounts",
    "subject": "subjects",
    "rule": "rules",
    "sources": "sources",
    "env": "env",
    "port": "ports",
    "toleration": "tolerations",
    "cluster_role_selectors": "clusterRoleSelectors",
    "match_expressions": "matchExpressions",
}
# arguments whose manifest name is not the camelCase of the Terraform one
RENAMES = {"api_groups": "apiGroups", "non_resource_urls": "nonResourceURLs"}


def camel(name: str) -> str:
    if name in RENAMES:
        return RENAMES[name]
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def resource_document(ev: Evaluator, file: str, block: Block) -> LDict | None:
    """A `kubernetes_*` resource as the manifest it stands for."""
    found = kubernetes_kind(block.labels[0])
    if found is None:
        return None
    api_version, kind = found
    doc = _block(ev, file, block)
    # the provider's blocks sit where a manifest's fields do (metadata, spec, role_ref,
    # subject): only the type's apiVersion and kind are missing
    doc["apiVersion"] = api_version
    doc["kind"] = kind
    return doc


def _block(ev: Evaluator, file: str, block: Block) -> LDict:
    out = LDict(line=block.line, end_line=block.end_line)
    for name, attr in block.attributes.items():
        key = camel(name)
        value = ev.eval(attr.expr, file)
        if name in ("labels", "annotations") and isinstance(value, dict):
            entries = getattr(value, "key_lines", {})
            value = LDict(value, line=attr.line, end_line=attr.end_line)
            value.key_lines = dict(entries)  # an annotation's finding points at its line
        out[key] = value
        out.key_lines[key] = (attr.line, attr.end_line)
    for child in block.blocks:
        if child.type == "dynamic":
            continue
        value = _block(ev, file, child)
        if child.type in LISTS:
            key = LISTS[child.type]
            items = out.setdefault(key, LList(line=child.line, end_line=child.end_line))
            items.append(value)
            items.item_lines.append((child.line, child.end_line))
            items.end_line = child.end_line
            out.key_lines[key] = (items.line, items.end_line)
        else:
            key = camel(child.type)
            out[key] = value
            out.key_lines[key] = (child.line, child.end_line)
    return out


def manifest_documents(value: Any, budget: ExpansionBudget | None = None) -> list:
    """The documents of a `kubectl_manifest.yaml_body` value: text (a heredoc, `file()`) is
    parsed, with the module's YAML alias `budget`; a `yamlencode({...})` structure is used as
    it is; unknown gives nothing."""
    if isinstance(value, Unknown) or value is None:
        return []
    if isinstance(value, dict):
        return [value]
    if isinstance(value, str):
        from checks.parse.yamlsafe import load_all

        # raises ParseError for the caller to report against the resource
        offset = getattr(value, "line", 1) - 1
        return list(load_all(str(value), line_offset=offset, budget=budget))
    return []
