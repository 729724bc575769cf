"""Exported live state: the AWS CLI's JSON of EKS and EC2 (`describe-cluster`,
`list-access-entries`, `describe-access-entry`, `list-associated-access-policies`, the pod
identity associations, `describe-identity-provider-config`, `describe-nodegroup`,
`describe-launch-template-versions`, `describe-instances`), one output a file or several in a
file keyed by command (`checks.normalize.live`). IAM outputs alone are the `iam` source's, and
`kubectl get -o yaml|json` lists the `kubernetes` source's."""

from __future__ import annotations

from typing import Any

from checks.normalize.live import OUTPUT_KEYS
from checks.parse import ParseError
from checks.sources.base import JSON, Context, Normalized
from checks.sources.sniff import keys_pattern, text_says

BY_DIRECTORY = False
SYNTAXES = (JSON,)
# a combined file's outputs carry these keys too (or the IAM and Kubernetes sources' keys)
JSON_KEYS = tuple(OUTPUT_KEYS)
# the keys of a file of outputs keyed by command (`"aws eks describe-cluster"`)
JSON_KEY_PATTERNS = (r'(?:aws\s+)?(?:eks|ec2|iam)\s[^"]*', r'kubectl\s[^"]*')
_KEYS = keys_pattern(
    "resourcesvpcconfig",
    "accessentry",
    "accessentries",
    "associatedaccesspolicies",
    "associationarn",
    "identityproviderconfig",
    "nodegroup",
    "launchtemplateversions",
    "reservations",
    r"(?:aws\s+)?(?:eks|ec2)\s+[a-z-]+",
)


def is_ours(text: str, error: ParseError | None) -> bool:
    """An AWS CLI output of EKS or EC2 is ours: its keys say so."""
    return text_says(_KEYS, text)


def claims(document: Any) -> bool:
    """One output of a command this source reads, or a file of outputs keyed by command."""
    from checks.normalize.live import is_combined, is_output

    return is_output(document) or is_combined(document)


def normalize(file: str, document: Any, context: Context) -> Normalized:
    """The clusters, access entries and their policies, pod identity associations, identity
    providers and instance metadata the outputs hold; in a combined file, each IAM output and
    Kubernetes object is read by its own source, as in a file of its own."""
    from checks.model import Problem
    from checks.normalize import live

    found = live.duplicate_notes(file, context.duplicates)
    if not live.is_combined(document):
        return live.normalize_output(file, document), found
    from checks.sources import iam, kubernetes

    cluster = live.only_cluster(document)
    made = []
    for command, where, output, line in live.combined_outputs(file, document):
        if live.is_output(output):
            made += live.normalize_output(file, output, where, cluster)
            continue
        for other in (iam, kubernetes):
            if other.claims(output):
                entities, problems = other.normalize(
                    file, output, Context(context.options, context.read_file, budget=context.budget)
                )
                made += entities
                found += problems
                break
        else:
            message = f"{command}: not an output eks-checks reads"
            found.append(Problem(file, message, line, "note"))
    return made, found
