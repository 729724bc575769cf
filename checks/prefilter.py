"""Parse only what can matter: a cheap look at each Terraform file's top-level blocks, so that
blocks no rule can use (VPCs, buckets, databases: most of an infrastructure repository) are
never given to the HCL parser.

The decision is per module directory, because a relevant block may refer to any block of its
module: we keep every block a rule reads, every `variable`, `locals` and `module`, and then,
until nothing changes, every block that a kept block names (`aws_s3_bucket.logs.bucket`,
`data.aws_iam_policy_document.x`). Dropped blocks become blank lines, so every line number
stays what it was. The splitter is line based (the layout `terraform fmt` writes); when it is
unsure of a file (unbalanced braces, a block that does not start at column 0), the file is
kept whole. `--no-prefilter` turns all of this off; a test asserts it changes no finding.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_HEADER = re.compile(r'^([A-Za-z_][\w-]*)((?:\s+(?:"[^"\n]*"|[A-Za-z_][\w-]*))*)\s*\{')
_LABEL = re.compile(r'"([^"\n]*)"|([A-Za-z_][\w-]*)')
_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"')
_HEREDOC = re.compile(r"<<-?([A-Za-z_][\w.-]*)\s*$")
_COMMENT = re.compile(r"(#|//).*$")
_REFERENCE = re.compile(r"\b(data\.)?([a-z][a-z0-9]*_[a-z0-9_]+)\.([A-Za-z_][\w-]*)")

# `variable` and `locals` blocks are kept when a kept block names them (var.x, local.y);
# `module` calls only when they call a module whose inputs we read.
_MODULE_SOURCE = re.compile(
    r'^\s*source\s*=\s*"[^"]*(terraform-aws-modules/(eks|iam)|terraform-aws-eks)', re.M
)
_VAR = re.compile(r"\bvar\.([A-Za-z_][\w-]*)")
_LOCAL = re.compile(r"\blocal\.([A-Za-z_][\w-]*)")
_LOCAL_NAME = re.compile(r"^\s*([A-Za-z_][\w-]*)\s*=", re.M)
RESOURCES = {
    "aws_eks_cluster",
    "aws_launch_template",
    "aws_launch_configuration",
    "aws_instance",
    "aws_iam_role",
    "aws_eks_pod_identity_association",
    "aws_eks_access_entry",
    "aws_eks_access_policy_association",
    "aws_eks_identity_provider_config",
    "aws_iam_openid_connect_provider",
    "kubectl_manifest",
}
DATA = {"aws_iam_policy_document"}


@dataclass
class TopBlock:
    type: str
    labels: list[str]
    start: int  # 0-based line index of the header
    end: int  # 0-based line index of the closing brace

    @property
    def address(self) -> str | None:
        if self.type == "resource" and len(self.labels) == 2:
            return f"{self.labels[0]}.{self.labels[1]}"
        if self.type == "data" and len(self.labels) == 2:
            return f"data.{self.labels[0]}.{self.labels[1]}"
        return None

    def relevant(self, lines: list[str]) -> bool:
        if self.type == "module":
            body = "\n".join(lines[self.start : self.end + 1])
            return bool(_MODULE_SOURCE.search(body))
        if self.type == "resource" and self.labels:
            return self.labels[0] in RESOURCES or _kubernetes_resource(self.labels[0])
        if self.type == "data" and self.labels:
            return self.labels[0] in DATA
        return False


def _kubernetes_resource(resource_type: str) -> bool:
    """The kubernetes_* resources we read (objects a rule looks at, and the aws-auth map)."""
    from checks.normalize.tf_kubernetes import resource_kind

    return resource_kind(resource_type) is not None or resource_type in (
        "kubernetes_config_map",
        "kubernetes_config_map_v1",
        "kubernetes_config_map_v1_data",
    )


def split(lines: list[str]) -> list[TopBlock] | None:
    """The top-level blocks of a file, or None when the layout is not the usual one."""
    blocks: list[TopBlock] = []
    depth = 0
    heredoc: str | None = None
    in_comment = False
    current: TopBlock | None = None
    for index, line in enumerate(lines):
        if heredoc is not None:
            if line.strip() == heredoc:
                heredoc = None
            continue
        if in_comment:
            if "*/" in line:
                in_comment = False
            continue
        code = _STRING.sub('""', line) if '"' in line else line
        if "#" in code or "//" in code:
            code = _COMMENT.sub("", code)
        if "/*" in code:
            before, _, after = code.partition("/*")
            if "*/" not in after:
                in_comment = True
            code = before
        if depth == 0:
            stripped = code.strip()
            if not stripped:
                continue
            m = _HEADER.match(line)
            if not m:
                return None
            labels = [a or b for a, b in _LABEL.findall(m.group(2))]
            current = TopBlock(m.group(1), labels, index, index)
        depth += code.count("{") - code.count("}")
        if "<<" in code:
            found = _HEREDOC.search(code)
            if found:
                heredoc = found.group(1)
        if depth < 0:
            return None
        if depth == 0 and current is not None:
            current.end = index
            blocks.append(current)
            current = None
    if depth != 0 or heredoc is not None:
        return None
    return blocks


def filter_module(texts: dict[str, str]) -> dict[str, str]:
    """For the files of one module (path -> text): each file's text with the blocks nothing
    can need blanked out. A file the splitter is unsure of comes back unchanged."""
    lines = {path: text.split("\n") for path, text in texts.items()}
    splits = {path: split(ls) for path, ls in lines.items()}
    keep: dict[str, set[int]] = {}
    pending: list[tuple[str, TopBlock]] = []
    by_address: dict[str, list[tuple[str, int]]] = {}
    by_var: dict[str, list[tuple[str, int]]] = {}
    by_local: dict[str, list[tuple[str, int]]] = {}
    for path, blocks in splits.items():
        if blocks is None:
            # kept whole: what it names must be kept too
            pending.append((path, TopBlock("file", [], 0, len(lines[path]) - 1)))
            continue
        keep[path] = set()
        for i, block in enumerate(blocks):
            if block.address:
                by_address.setdefault(block.address, []).append((path, i))
            if block.type == "variable" and block.labels:
                by_var.setdefault(block.labels[0], []).append((path, i))
            if block.type == "locals":
                body = "\n".join(lines[path][block.start + 1 : block.end])
                for name in _LOCAL_NAME.findall(body):
                    by_local.setdefault(name, []).append((path, i))
            if block.relevant(lines[path]):
                keep[path].add(i)
                pending.append((path, block))
    # whatever a kept block names, anywhere in the module, is kept too
    while pending:
        path, block = pending.pop()
        body = "\n".join(lines[path][block.start : block.end + 1])
        named = [
            by_address.get(f"{'data.' if d else ''}{t}.{n}", ())
            for d, t, n in _REFERENCE.findall(body)
        ]
        named += [by_var.get(n, ()) for n in _VAR.findall(body)]
        named += [by_local.get(n, ()) for n in _LOCAL.findall(body)]
        for places in named:
            for where, i in places:
                if i not in keep[where]:
                    keep[where].add(i)
                    pending.append((where, splits[where][i]))
    out = {}
    for path, text in texts.items():
        blocks = splits[path]
        if blocks is None:
            out[path] = text
            continue
        kept_lines = lines[path][:]
        for i, block in enumerate(blocks):
            if i not in keep[path]:
                for j in range(block.start, block.end + 1):
                    kept_lines[j] = ""
        out[path] = "\n".join(kept_lines)
    return out
