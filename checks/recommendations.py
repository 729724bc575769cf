"""The EKS guides' identity and access recommendations (checks/recommendations.yaml), which
rules name under `implements:`."""

from __future__ import annotations

from pathlib import Path

# Each guide the recommendations come from: its short name in the coverage table, its title
# in our words, and where it is published.
SOURCES = {
    "bp": (
        "EKS Best Practices Guide, identity and access management",
        "https://docs.aws.amazon.com/eks/latest/best-practices/identity-and-access-management.html",
    ),
    "ga": (
        "EKS user guide, grant access to Kubernetes APIs",
        "https://docs.aws.amazon.com/eks/latest/userguide/grant-k8s-access.html",
    ),
    "api": (
        "EKS API server authentication and authorization guide",
        "https://devfloor9.github.io/engineering-playbook/en/docs/eks-best-practices/"
        "security-authn/eks-api-server-authn-authz",
    ),
    "chain": (
        "AWS cloud to EKS authentication and access control (tutorial)",
        "https://devsecopsguru.in/kb/aws-cloud-to-eks-authentication-access-control/",
    ),
    "basics": (
        "EKS fundamentals: authentication (tutorial)",
        "https://notes.kodekloud.com/docs/AWS-EKS/EKS-Fundamentals/Authentication",
    ),
}

# Why a recommendation no rule implements is not checked, as the coverage page words it.
VERDICTS = {
    "no": "not statically checkable",
    "not yet": "not checked yet",
    "planned": "planned",
    "by design": "not a rule by design",
    "superseded": "no longer needed",
}


def load() -> list[dict]:
    import yaml

    text = (Path(__file__).parent / "recommendations.yaml").read_text(encoding="utf-8")
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def by_id() -> dict[str, dict]:
    return {r["id"]: r for r in load()}


def guides(recommendation: dict) -> str:
    """The titles of the guides that make a recommendation: `EKS Best Practices Guide, ...;
    EKS user guide, ...`."""
    return "; ".join(SOURCES[s][0] for s in recommendation["sources"])
