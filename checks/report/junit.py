"""JUnit XML: one test suite per rule, a failing test case per finding, a passing one for
each rule without findings, and an erroring test case per file that could not be scanned."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from checks.report import active, added_suppressions
from checks.safetext import safe_lines, safe_text


def render(result, options) -> str:
    findings = active(result)
    root = ET.Element("testsuites", name="eks-checks")
    by_rule: dict[str, list] = {}
    for f in findings:
        by_rule.setdefault(f.rule_id, []).append(f)
    total_failures = 0
    for rule in result.rules:
        hits = by_rule.get(rule.id, [])
        suite = ET.SubElement(
            root,
            "testsuite",
            name=safe_text(f"{rule.id} {rule.slug}"),
            tests=str(max(1, len(hits))),
            failures=str(len(hits)),
            errors="0",
        )
        if not hits:
            ET.SubElement(suite, "testcase", classname=rule.id, name=safe_text(rule.title))
        for f in hits:
            file = safe_text(f.location.file)  # XML 1.0 cannot carry control characters
            case = ET.SubElement(
                suite,
                "testcase",
                classname=file,
                name=f"{f.rule_id} {file}:{f.location.start_line}",
                file=file,
                line=str(f.location.start_line),
            )
            failure = ET.SubElement(case, "failure", message=safe_text(f.message), type=f.severity)
            failure.text = f"{safe_text(f.message)}\n\n{safe_lines(f.remediation)}"
        total_failures += len(hits)
    errors = [p for p in result.problems if p.level == "error"]
    if errors:
        suite = ET.SubElement(
            root,
            "testsuite",
            name="input",
            tests=str(len(errors)),
            failures="0",
            errors=str(len(errors)),
        )
        for p in errors:
            file, message = safe_text(p.file), safe_text(p.message)
            case = ET.SubElement(suite, "testcase", classname=file, name=f"parse {file}")
            ET.SubElement(case, "error", message=message).text = message
    added = added_suppressions(result)
    if added:  # listed apart, as skipped test cases: a reviewer sees what the change waived
        suite = ET.SubElement(
            root,
            "testsuite",
            name="suppressed by this change",
            tests=str(len(added)),
            failures="0",
            errors="0",
            skipped=str(len(added)),
        )
        for f in added:
            file = safe_text(f.location.file)
            case = ET.SubElement(
                suite,
                "testcase",
                classname=file,
                name=f"{f.rule_id} {file}:{f.location.start_line}",
                file=file,
                line=str(f.location.start_line),
            )
            ET.SubElement(case, "skipped", message=safe_text(f"suppressed: {f.suppressed}"))
    root.set("failures", str(total_failures))
    root.set("errors", str(len(errors)))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
