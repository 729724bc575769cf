"""`python -m checks` is the same as the `eks-checks` command."""

from checks.cli import run

run()
