"""Numbers read from input: exact values, or unknown when out of range.

A number is a value like any other and is compared exactly (see `evaluate`), however large.
But Python cannot even print an integer of more than a few thousand digits (its int/str
conversion limit), and an infinity or a NaN is a number no Kubernetes, IAM or Terraform field
takes. Such a number is read as unknown, and the parser notes the line it is on.
"""

from __future__ import annotations

import math

from checks.model import Unknown

MAX_DIGITS = 600  # below the lowest int/str conversion limit Python can be set to (640)
_TOO_LARGE = 10**MAX_DIGITS


def oversized_int(text: str) -> bool:
    """True when the integer literal `text` has too many digits to be read at all."""
    return len(text) > MAX_DIGITS + 2  # a sign and a base prefix may come with the digits


def problem(value: int | float) -> str:
    """ "" for a number in range, else what is wrong with it."""
    if isinstance(value, bool):
        return ""
    if isinstance(value, int):
        return f"has more than {MAX_DIGITS} digits" if abs(value) >= _TOO_LARGE else ""
    if isinstance(value, float) and not math.isfinite(value):
        return "is not a finite number"
    return ""


def unknown(text: str, reason: str) -> Unknown:
    """The unknown value standing for the number written as `text`."""
    shown = text if len(text) <= 40 else f"{text[:20]}...({len(text)} characters)"
    return Unknown(f"the number {shown} {reason}", shown)


def note(value: Unknown) -> str:
    """The note a parser gives for a number it read as unknown."""
    return f"{value.reason}: read as unknown"
