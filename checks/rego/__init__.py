"""eks-checks in Open Policy Agent pipelines, both ways: `export` writes the rule catalog as
an OPA bundle (Rego v1), `policy` runs the Rego policies of a --policy-dir over the model in a
bounded child process (`child`), and reports their findings like the YAML rules'.

The limits of that child are here, not in `policy`: every scan reads them from its options,
and only a scan that selects a Rego rule imports the module that runs one."""

from dataclasses import dataclass


@dataclass(frozen=True)
class RegoLimits:
    """What one evaluation of the Rego policies may use: wall-clock seconds and MiB of
    resident memory of the child process."""

    timeout: float = 10.0
    memory_mb: int = 512
