"""Keys written twice in one JSON object: JSON allows them (the last value wins), the readers
of our inputs do not, each in its own way.

- IAM refuses a policy in which a key is written twice (`"AWS"` twice in one `Principal`),
  whatever the values: an error naming the key and its line, for every document read as IAM
  (IAM JSON files, and the policies Terraform holds as text: heredocs, `file()`).
- Kubernetes (the API server's strict field validation, which kubectl asks for) refuses a
  field written twice; as for YAML manifests, two different values are an error and the same
  value twice a note. JSON that is neither IAM nor a manifest is not ours to judge.
"""

from __future__ import annotations

from checks.model import Problem
from checks.parse import excerpt
from checks.parse.jsonpos import Duplicate


def iam_problems(file: str, duplicates: list[Duplicate], what: str = "") -> list[Problem]:
    """One error per key written twice in an IAM document (`what` names it in the message:
    `trust policy of role x`)."""
    where = f"{what}: " if what else ""
    return [
        Problem(
            file,
            f"{where}duplicate key '{excerpt(d.key)}'"
            + (f" (first at line {d.first_line})" if d.first_line else "")
            + ": IAM refuses a policy that writes a key twice",
            d.line,
        )
        for d in duplicates
    ]


def manifest_problems(file: str, duplicates: list[Duplicate]) -> list[Problem]:
    """As for YAML manifests: different values are an error, the same value twice a note."""
    out = []
    for d in duplicates:
        first = f", first at line {d.first_line}" if d.first_line else ""
        if d.differs:
            message = f"duplicate key '{excerpt(d.key)}' with different values{first}"
            out.append(Problem(file, message, d.line))
        else:
            out.append(
                Problem(
                    file, f"duplicate key '{excerpt(d.key)}' (same value{first})", d.line, "note"
                )
            )
    return out
