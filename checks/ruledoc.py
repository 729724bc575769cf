"""A rule's documentation, rendered once for every place that shows it: `eks-checks explain`
(text), the rule reference docs/rules.md (Markdown), and the help of SARIF rule descriptors
(text and Markdown).

A rule's documentation is a sequence of parts in one order (what it is, what it finds,
parameters, fix, failing and passing examples, recommendations, references); a format says
how each part it shows is written. A part the rule does not have is left out.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from checks.rules import Rule
from checks.safetext import safe_lines, safe_text

ORDER = (
    "heading",
    "description",
    "issuers",
    "params",
    "fix",
    "fail",
    "pass",
    "implements",
    "references",
)


@dataclass(frozen=True)
class Format:
    """How each part is written (a part missing here is not shown), and what joins them."""

    parts: dict[str, Callable[[Rule], str | None]]
    separator: str = "\n\n"
    end: str = "\n"


def render(rule: Rule, fmt: Format) -> str:
    """The rule's documentation in `fmt`."""
    written = (fmt.parts[name](rule) for name in ORDER if name in fmt.parts)
    return fmt.separator.join(text for text in written if text is not None) + fmt.end


def escaped(rule: Rule) -> Rule:
    """The rule with every text it shows escaped for a terminal (a rule file is input too):
    one-line texts whole, the others line by line, so that their own lines stay."""
    return dataclasses.replace(
        rule,
        id=safe_text(rule.id),
        slug=safe_text(rule.slug),
        title=safe_text(rule.title),
        severity=safe_text(rule.severity),
        description=safe_lines(rule.description),
        remediation=safe_lines(rule.remediation),
        params={safe_text(str(k)): safe_text(str(v)) for k, v in rule.params.items()},
        examples={k: safe_lines(v) for k, v in rule.examples.items()},
        implements=[safe_text(i) for i in rule.implements],
        references=[safe_text(r) for r in rule.references],
    )


def _description(rule: Rule) -> str | None:
    return rule.description.strip() if rule.description else None


def _issuers(markdown: bool) -> Callable[[Rule], str | None]:
    """The table of CI/CD OIDC issuers a rule judges (EKS405, EKS408), from the one table the
    normalizer reads."""

    def part(rule: Rule) -> str | None:
        from checks.normalize.oidc_providers import render_table

        return render_table(rule.id, markdown)

    return part


def _indented(text: str) -> str:
    return "\n".join("  " + line for line in text.rstrip().splitlines())


def _example(rule: Rule, label: str, title: str, block: Callable[[str], str]) -> str | None:
    text = rule.examples.get(label)
    return f"{title}{block(text)}" if text else None


def _recommendations(title: str, item: str) -> Callable[[Rule], str | None]:
    """The recommendations of the EKS guides a rule implements, each with its guides and
    id (`item` formats `text`, `guides`, `id`); a name the catalog lacks (a custom rule's
    own) is shown as written."""

    def part(rule: Rule) -> str | None:
        if not rule.implements:
            return None
        from checks.recommendations import by_id, guides

        known = by_id()
        lines = []
        for rec_id in rule.implements:
            rec = known.get(rec_id)
            if rec is None:
                lines.append(item.split("{text}")[0] + rec_id)
            else:
                lines.append(item.format(text=rec["text"], guides=guides(rec), id=rec_id))
        return title + "\n".join(lines)

    return part


def _references(title: str, item: str) -> Callable[[Rule], str | None]:
    def part(rule: Rule) -> str | None:
        if not rule.references:
            return None
        return title + "\n".join(item.format(r) for r in rule.references)

    return part


def _fence(text: str) -> str:
    """A Markdown code block, in the language the example is written in."""
    lang = (
        "hcl"
        if "resource " in text or "metadata_options" in text
        else ("json" if text.lstrip().startswith(("{", '"')) else "yaml")
    )
    return f"```{lang}\n{text.rstrip()}\n```"


EXPLAIN = Format(
    {
        "heading": lambda r: f"{r.id} {r.slug} ({r.severity})\n{r.title}",
        "description": _description,
        "issuers": _issuers(markdown=False),
        "params": lambda r: (
            "Parameters (override in .eks-checks.yaml under rules.<ID>.params):\n"
            + "\n".join(f"  {k}: {v}" for k, v in r.params.items())
            if r.params
            else None
        ),
        "fix": lambda r: f"Fix:\n{r.remediation.strip()}",
        "fail": lambda r: _example(r, "fail", "Fails:\n", _indented),
        "pass": lambda r: _example(r, "pass", "Passes:\n", _indented),
        "implements": _recommendations(
            "Implements these recommendations of the EKS guides:\n", "  - {text} ({guides}; {id})"
        ),
        "references": _references("References:\n", "  {}"),
    }
)

REFERENCE_PAGE = Format(
    {
        "heading": lambda r: (
            f"## {r.id} {r.slug}\n\n**{r.title}**\n\n"
            f"Severity: {r.severity}. Looks at: {', '.join(r.entity)}. "
            f"Since {r.since or 'unreleased'}."
        ),
        "description": lambda r: (
            f"### What it finds and why it matters\n\n{r.description.strip()}"
            if r.description
            else None
        ),
        "issuers": _issuers(markdown=True),
        "params": lambda r: (
            "### Configuration\n\nParameters, overridable in `.eks-checks.yaml` under "
            f"`rules: {{{r.id}: {{params: ...}}}}`:\n\n"
            + "\n".join(f"- `{k}`: default `{v}`" for k, v in r.params.items())
            if r.params
            else None
        ),
        "fix": lambda r: f"### Fix\n\n{r.remediation.strip()}",
        "fail": lambda r: _example(r, "fail", "Before (fires):\n\n", _fence),
        "pass": lambda r: _example(r, "pass", "After (passes):\n\n", _fence),
        "implements": _recommendations(
            "### Recommendations it checks\n\nFrom the EKS guides ([coverage](coverage.md)):\n\n",
            "- {text} ({guides}; `{id}`)",
        ),
        "references": _references("### References\n\n", "- <{}>"),
    }
)


def _plain_block(text: str) -> str:
    return f"```\n{text.rstrip()}\n```"


SARIF_MARKDOWN = Format(
    {
        "heading": lambda r: f"**{r.title}**",
        # always there, even empty: GitHub shows the help as written
        "description": lambda r: r.description.strip(),
        "fix": lambda r: f"**Fix:** {r.remediation.strip()}",
        "fail": lambda r: _example(r, "fail", "Fails:\n\n", _plain_block),
        "pass": lambda r: _example(r, "pass", "Passes:\n\n", _plain_block),
        "implements": _recommendations(
            "**Recommendations of the EKS guides it checks:**\n", "- {text} ({guides}; `{id}`)"
        ),
        "references": _references("**References:**\n", "- <{}>"),
    },
    end="",
)

SARIF_TEXT = Format(
    {
        "fix": lambda r: r.remediation.strip(),
        "implements": _recommendations(
            "Recommendations of the EKS guides it checks:\n", "- {text} ({guides}; {id})"
        ),
        "references": _references("References:\n", "- {}"),
    },
    end="",
)
