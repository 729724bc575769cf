"""eks-checks: policy-as-code checks for Amazon EKS identity and access."""

__version__ = "0.1.0"
