"""The EKS guides' identity and access recommendations (checks/recommendations.yaml), which
rules name under `implements:`."""

from __future__ import annotations

from pathlib import Path

SOURCES = {
    "bp": (
        "EKS Best Practices Guide, identity and access management",
        "https://docs.aws.amazon.com/eks/latest/best-practices/identity-and-access-management.html",
    ),
    "ga": (
        "EKS user guide, grant access to Kubernetes APIs",
        "https://docs.aws.amazon.com/eks/latest/userguide/grant-k8s-access.html",
    ),
}


def load() -> list[dict]:
    import yaml

    text = (Path(__file__).parent / "recommendations.yaml").read_text(encoding="utf-8")
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def by_id() -> dict[str, dict]:
    return {r["id"]: r for r in load()}
