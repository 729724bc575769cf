"""Telling a format from a text that does not parse: the keys it is written with, found in
any spelling YAML and JSON allow (plain, quoted, escaped, after `{`, `,`, `?`, `-` or an
anchor), or, for a YAML stream that composed and failed later, the keys its documents really
have as kubectl would read them (aliases followed, merge keys merged).
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

# a key in any spelling YAML or JSON allows: plain, quoted, after `{`, `,`, `?`, `-`, an anchor
_KEY = r"""(?<![\w-])["']?(?:{names})["']?\s*:"""
# backslash escapes of YAML and JSON double-quoted strings, and YAML's escaped line break
_ESCAPE = r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|\n[ \t]*|.)"


@cache
def compiled(pattern: str, flags: int = 0) -> re.Pattern:
    """`pattern` compiled when first used, once: what the sources look for in a text is
    asked of a file that fails to parse or is too large, and a run that parses nothing
    compiles none of it."""
    return re.compile(pattern, flags)


def keys_pattern(*names: str, words: tuple[str, ...] = ()) -> str:
    """A case-insensitive pattern of any of `names` written as a key, or of any of `words`
    standing alone (its text: `text_says` compiles it)."""
    pattern = _KEY.format(names="|".join(names))
    if words:
        pattern += rf"|(?<![\w-])(?:{'|'.join(words)})(?![\w-])"
    return "(?i)" + pattern


def text_says(pattern: str, text: str) -> bool:
    """Whether `pattern` is in `text`, as written or with its escapes decoded."""
    found = compiled(pattern)
    if found.search(text):
        return True
    if "\\" not in text:
        return False
    return found.search(compiled(_ESCAPE, re.S).sub(_unescape, text)) is not None


def _unescape(m: re.Match) -> str:
    code = m.group(1)
    if code[0] in "xuU" and len(code) > 1:
        return chr(min(int(code[1:], 16), 0x10FFFF))
    return "" if code[0] == "\n" else code


def node_keys(node: Any, depth: int = 0) -> dict[str, Any]:
    """A YAML mapping node's keys (lower-cased) and values as kubectl would see them: aliases
    are the nodes they name, merge keys (`<<`) are followed."""
    import yaml

    out: dict[str, Any] = {}
    if not isinstance(node, yaml.MappingNode) or depth > 20:
        return out
    for key, value in node.value:
        if key.tag == "tag:yaml.org,2002:merge":
            for source in value.value if isinstance(value, yaml.SequenceNode) else [value]:
                for name, merged in node_keys(source, depth + 1).items():
                    out.setdefault(name, merged)
        elif isinstance(key, yaml.ScalarNode):
            out[key.value.lower()] = value
    return out
