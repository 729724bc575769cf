"""CloudFormation templates, YAML (with the short-form function tags `!Ref`, `!Sub`...) or
JSON, AWS CDK's synthesized `cdk.out/*.template.json` among them
(`checks.normalize.cloudformation` reads their EKS, EC2 and IAM resources with
CloudFormation's defaults, and the Kubernetes objects CDK's custom resources apply)."""

from __future__ import annotations

from typing import Any

from checks.parse import ParseError
from checks.sources.base import JSON, YAML, Context, Normalized
from checks.sources.sniff import compiled, node_keys

BY_DIRECTORY = False
SYNTAXES = (YAML, JSON)
READS_INTRINSIC_TAGS = True  # the short-form tags are this format's own
JSON_KEYS = ("AWSTemplateFormatVersion", "Resources")
# a resource type: `AWS::EKS::Cluster`, a registry type (`AWSQS::EKS::Cluster`), `Custom::X`
_TYPE = r"[A-Za-z0-9]+::[A-Za-z0-9]+::[A-Za-z0-9]+|Custom::[A-Za-z0-9_@-]+"
# what only a template says: its format version, or a resource typed `AWS::...` under
# `Resources` (a key in any spelling YAML or JSON allows)
_VERSION = r"""(?<![\w-])["']?AWSTemplateFormatVersion["']?\s*:"""
_RESOURCES = r"""(?<![\w-])["']?Resources["']?\s*:"""
_AWS_TYPE = r"""(?<![\w-])["']?Type["']?\s*:\s*["']?AWS::[A-Za-z0-9]+::"""
# what a manifest has at its top, and a template never (CloudFormation refuses other sections)
_MANIFEST_KEYS = {"apiVersion", "kind"}


def is_ours(text: str, error: ParseError | None) -> bool:
    """A template is ours when it is clearly one: `AWSTemplateFormatVersion`, or `Resources`
    holding a resource of type `AWS::...`; a stream that composed is judged by its documents'
    keys, any other text by a look at it."""
    composed = error.composed if error is not None else None
    if composed is None:
        if compiled(_VERSION).search(text):
            return True
        resources, typed = compiled(_RESOURCES), compiled(_AWS_TYPE)
        return resources.search(text) is not None and typed.search(text) is not None
    return any(_is_template_node(node) for node in composed if node is not None)


def _is_template_node(root: Any) -> bool:
    keys = node_keys(root)
    if "awstemplateformatversion" in keys:
        return True
    resources = node_keys(keys.get("resources"))
    return any(
        str(getattr(node_keys(r).get("type"), "value", "")).startswith("AWS::")
        for r in resources.values()
    )


def claims(document: Any) -> bool:
    """A template: `AWSTemplateFormatVersion`, or `Resources` whose items are typed
    (`AWS::S3::Bucket`, `Custom::X`, a registry type), and not a Kubernetes object."""
    if not isinstance(document, dict) or _MANIFEST_KEYS <= document.keys():
        return False
    if "AWSTemplateFormatVersion" in document:
        return True
    resources = document.get("Resources")
    if not isinstance(resources, dict) or not resources:
        return False
    typed = compiled(_TYPE)
    return any(
        isinstance(r, dict) and isinstance(r.get("Type"), str) and typed.fullmatch(r["Type"])
        for r in resources.values()
    )


def normalize(file: str, document: Any, context: Context) -> Normalized:
    """The entities of the template's resources, with CloudFormation's defaults."""
    from checks.normalize.cloudformation import normalize_template
    from checks.normalize.json_keys import manifest_problems

    made, found = normalize_template(file, document, context.budget)
    return made, found + manifest_problems(file, context.duplicates)
