"""Formats we recognise and do not read: what a file that is none of ours is, named in the note
that says it was skipped. A format that becomes a source leaves this module for a row of the
table."""

from __future__ import annotations

import os

from checks.sources.sniff import compiled

_CFN_TAG = (
    r"!(Ref|Sub|GetAtt|Join|If|Equals|Not|And|Or|Select|Split|FindInMap|"
    r"GetAZs|ImportValue|Base64|Cidr|Condition|Transform)\b"
)
# `${` and a character other than `}`, before the last `}` of the text: a `${...}` somewhere, found
# without scanning to the end of the text from every `${`
_INTERPOLATION = r"\$\{[^}]"


def not_read(path: str, kind: str) -> str:
    """Why a file is not read although its name is one a source reads, "" when it is read:
    files under `<chart>/templates/` next to a Chart.yaml are Go templates Helm renders."""
    if kind != "yaml":
        return ""
    return not_read_in(os.path.dirname(os.path.abspath(path)), kind)


def not_read_in(folder: str, kind: str) -> str:
    """`not_read` of a file of syntax `kind` in `folder` (absolute, normalized): what it says
    depends on the folder alone, not on the file's name."""
    if kind != "yaml":
        return ""
    if f"{os.sep}templates{os.sep}" not in folder + os.sep:
        return ""  # the test below, for the common case
    parts = folder.split(os.sep)
    for i in range(len(parts) - 1, 0, -1):
        if parts[i] == "templates":
            chart = os.sep.join(parts[:i])
            if os.path.isfile(os.path.join(chart, "Chart.yaml")):
                return "Helm chart template (Helm renders it; not read)"
    return ""


def describe(kind: str, text: str, otherwise: str) -> str:
    """What a file of syntax `kind` that is none of ours is, from its text (`otherwise`: the
    syntax's own word for it)."""
    if kind == "yaml":
        if compiled(_CFN_TAG).search(text) or "AWSTemplateFormatVersion" in text:
            return "CloudFormation template"
        if "{{" in text and "}}" in text:
            return "Go or Helm template"
        if "%{" in text or compiled(_INTERPOLATION).search(text, 0, text.rfind("}")):
            return "Terraform template file"
    elif kind == "json" and ("${" in text or "{{" in text):
        return "template file"
    return otherwise
