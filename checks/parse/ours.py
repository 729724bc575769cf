"""Whether a file that failed to parse is one of our inputs (an error) or someone else's (a
note): decided from what the file is, before any template heuristic looks at it.

A Kubernetes manifest (`apiVersion`/`kind`), an aws-auth ConfigMap (its name, `mapRoles`,
`mapUsers`, `mapAccounts`), an IAM document (`Statement`, the CLI's `Role`, `Roles`,
`RoleDetailList`) or a Terraform plan is ours even when it also holds `{{SessionName}}`, `!Sub`
or `${x}`: kubectl applies what it reads, and a broken aws-auth locks people out. kubectl's
YAML reader agrees with PyYAML on syntax and differs only once a document is composed (it
ignores tags, merges keys, reads each document of a stream in turn), so a stream that composes
is judged by the keys its documents really have (escapes decoded, aliases and merge keys
followed); one that does not compose is judged by a generous look at its text, in any
document, indented, quoted, escaped or in flow style.
"""

from __future__ import annotations

import re

import yaml

_MANIFEST_KEYS = {"apiversion", "kind"}
_AWS_AUTH_KEYS = {"maproles", "mapusers", "mapaccounts"}
_IAM_KEYS = {
    "statement",
    "role",
    "roles",
    "roledetaillist",
    "assumerolepolicydocument",
    "attachedpolicies",
}
_PLAN_KEYS = {"format_version", "planned_values", "resource_changes"}

# a key in any spelling YAML or JSON allows: plain, quoted, after `{`, `,`, `?`, `-`, an anchor
_KEY = r"""(?<![\w-])["']?(?:{names})["']?\s*:"""
_YAML_TEXT = re.compile(
    _KEY.format(names="apiversion|kind")
    + r"|(?<![\w-])(?:aws-auth|map(?:roles|users|accounts))(?![\w-])",
    re.I,
)
_JSON_TEXT = re.compile(
    _KEY.format(names="|".join(sorted(_IAM_KEYS | _PLAN_KEYS | _MANIFEST_KEYS))), re.I
)
# backslash escapes of YAML and JSON double-quoted strings, and YAML's escaped line break
_ESCAPE = re.compile(r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|\n[ \t]*|.)", re.S)


def yaml_is_ours(text: str, composed: list | None = None) -> bool:
    """A YAML stream that is, or holds, a Kubernetes manifest or an aws-auth ConfigMap;
    `composed` is its documents' nodes when the stream composed (it failed later)."""
    if composed is None:
        return _text_says(_YAML_TEXT, text)
    return any(_is_manifest(node) for node in composed if node is not None)


def json_is_ours(text: str) -> bool:
    """A JSON file that is an IAM document, a Terraform plan or a manifest; kubectl also reads
    a `.json` file that is YAML, or a stream of JSON objects."""
    return _text_says(_JSON_TEXT, text) or _text_says(_YAML_TEXT, text)


def _text_says(pattern: re.Pattern, text: str) -> bool:
    if pattern.search(text):
        return True
    return "\\" in text and pattern.search(_ESCAPE.sub(_unescape, text)) is not None


def _unescape(m: re.Match) -> str:
    code = m.group(1)
    if code[0] in "xuU" and len(code) > 1:
        return chr(min(int(code[1:], 16), 0x10FFFF))
    return "" if code[0] == "\n" else code


def _is_manifest(root: yaml.Node) -> bool:
    keys = _keys(root)
    if keys.keys() & _MANIFEST_KEYS:
        return True
    data = keys.get("data")
    return data is not None and bool(_keys(data).keys() & _AWS_AUTH_KEYS)


def _keys(node: yaml.Node, depth: int = 0) -> dict[str, yaml.Node]:
    """A mapping node's keys (lower-cased) and values as kubectl would see them: aliases are
    the nodes they name, merge keys (`<<`) are followed."""
    out: dict[str, yaml.Node] = {}
    if not isinstance(node, yaml.MappingNode) or depth > 20:
        return out
    for key, value in node.value:
        if key.tag == "tag:yaml.org,2002:merge":
            for source in value.value if isinstance(value, yaml.SequenceNode) else [value]:
                for name, merged in _keys(source, depth + 1).items():
                    out.setdefault(name, merged)
        elif isinstance(key, yaml.ScalarNode):
            out[key.value.lower()] = value
    return out
