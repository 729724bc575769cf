"""Parsers: one per source kind, each a pure function from text to documents and problems.

The registry below is the one place that says which parser reads which kind of file.
"""

from __future__ import annotations

from typing import Callable

PARSERS: dict[str, str] = {
    # source kind -> "module:function"; imported lazily so that a scan with no .tf file
    # never imports python-hcl2 (start-up time matters for a pre-commit hook)
    "terraform": "checks.parse.hcl:parse_terraform",
    "yaml": "checks.parse.yamlsafe:parse_yaml_file",
    "json": "checks.parse.jsonpos:parse_json_file",
}


class ParseError(Exception):
    """Raised by a parser for input it cannot read; `line` is 0 when unknown."""

    def __init__(self, message: str, line: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


def parser_for(kind: str) -> Callable:
    import importlib

    module_name, func = PARSERS[kind].split(":")
    return getattr(importlib.import_module(module_name), func)
