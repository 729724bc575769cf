"""Terraform modules: the `.tf` files of a directory, read together with the variable files
Terraform loads by itself (terraform.tfvars, terraform.tfvars.json, then *.auto.tfvars(.json)
by name) and the -var-file files the command line or configuration gives the directory
(`checks.normalize.terraform` evaluates the module and builds the entities)."""

from __future__ import annotations

import os
import re

from checks.discover import SourceFile
from checks.parse import ParseError
from checks.sources.base import Context, Normalized, Options, ParsedFile, Syntax

BY_DIRECTORY = True
TFVARS_FIRST = ("terraform.tfvars", "terraform.tfvars.json")  # then *.auto.tfvars(.json), by name


def tf_name(name: str) -> bool:
    """A Terraform configuration file's name (lower case)."""
    return name.endswith(".tf")


def auto_variables_name(name: str) -> bool:
    """The name (lower case) of a variable file Terraform loads by itself."""
    # only the files Terraform loads by itself: others need -var-file, which we cannot see
    return name in TFVARS_FIRST or name.endswith((".auto.tfvars", ".auto.tfvars.json"))


TERRAFORM = Syntax(
    "terraform", tf_name, "checks.parse.hcl:parse_terraform", "a .tf file with no Terraform block"
)
VARIABLES = Syntax(
    "tfvars", auto_variables_name, "checks.parse.hcl:parse_tfvars", "a variable file with no value"
)
SYNTAXES = (TERRAFORM, VARIABLES)

# a line that opens a Terraform block or assigns a variable, or a variable file in JSON
_HEAD = re.compile(
    r"^[ \t]*(?:(?:resource|data|module|variable|output|locals|provider|terraform|moved|import"
    r"|removed|check)\b[^\n]*\{|[A-Za-z_][\w-]*[ \t]*=)|\A\s*\{",
    re.M,
)


def is_ours(text: str, error: ParseError | None) -> bool:
    """A `.tf` or variable file that fails to parse is ours whatever it holds (terraform
    refuses the whole module); one over the size limit is when its head opens a Terraform
    block or assigns a variable."""
    return error is not None or _HEAD.search(text) is not None


def prefilter(texts: dict[str, str], files: list[SourceFile]) -> dict[str, str]:
    """The module's .tf texts without the blocks no rule can use (`checks.prefilter`)."""
    from checks.prefilter import filter_module

    tf = {f.key: texts[f.key] for f in files if f.kind == TERRAFORM.name and f.key in texts}
    return filter_module(tf) if tf else {}


def given_files(directory: str, options: Options) -> list[tuple[SourceFile, str]]:
    """The -var-file files given to the module in `directory`, in the order given."""
    return [
        (SourceFile(name, name, VARIABLES.name), text)
        for name, text in options.var_files.get(directory, ())
    ]


def normalize(
    directory: str, parsed: list[ParsedFile], given: list[ParsedFile], context: Context
) -> Normalized:
    """The module's entities: its .tf files' blocks, its variables' values from the files
    Terraform loads by itself, in its order, then from the given files, in theirs."""
    from checks.normalize.terraform import normalize_module

    good = [p for p in parsed if p.problem is None]
    documents = {p.file.display: p.documents for p in good if p.file.kind == TERRAFORM.name}
    if not documents:
        return [], []
    own = [(p.file.display, p.documents) for p in good if p.file.kind == VARIABLES.name]
    tfvars = load_order(own)
    # then the -var-file files, in the order given, as terraform applies -var-file
    tfvars += [(p.file.display, p.documents) for p in given if p.problem is None]
    return normalize_module(
        directory, documents, context.read_file, tfvars, context.directory or directory
    )


def load_order(tfvars: list[tuple[str, dict]]) -> list[tuple[str, dict]]:
    """The order Terraform loads variable files in (a later file wins): terraform.tfvars,
    terraform.tfvars.json, then the *.auto.tfvars(.json) files by name."""

    def rank(item: tuple[str, dict]) -> tuple:
        base = os.path.basename(item[0])
        first = TFVARS_FIRST.index(base) if base in TFVARS_FIRST else len(TFVARS_FIRST)
        return (first, base)

    return sorted(tfvars, key=rank)
