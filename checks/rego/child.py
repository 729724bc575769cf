"""The child process that runs Rego (`python checks/rego/child.py`): a request on stdin, the
answer on stdout, both JSON.

Rego runs in a process of its own: regopy's native library must not share a heap with the
scan's (loaded next to google-re2 it corrupts it), a policy that loops or builds huge values
is stopped by the parent (checks.rego.policy.run_child watches its time and resident
memory; rego-cpp's allocator reserves far more address space than it uses, so an rlimit
cannot bound it), and a crash of the native library costs this process only. It imports
nothing of eks-checks.

Request: {"modules": [[file, text]...], "data": {...}, "inputs": [model JSON text...],
"entrypoints": ["pkg/findings"...]}. Answer: {"results": [[value or null per entrypoint]
per input]} (null: undefined), or {"error": {"stage": "compile" | "eval" | "setup", "file",
"line", "message"}}.
"""

from __future__ import annotations

import json
import os
import re
import sys
from typing import Any

_ERROR = re.compile(r"\(error (\d+):")
_MESSAGE = re.compile(r"\(errormsg (\d+):")


class RegoFailure(Exception):
    def __init__(self, stage: str, message: str, file: str = "", line: int = 0) -> None:
        super().__init__(message)
        self.stage, self.message, self.file, self.line = stage, message, file, line


def _sized(text: str, match: re.Match) -> str:
    """The length-prefixed string after an `(error N:` or `(errormsg N:` mark."""
    start = match.end()
    return text[start : start + int(match.group(1))]


def _compile_errors(text: str, sources: dict[str, str]) -> list[tuple[str, int, str]]:
    """(file, line, message) of each error of rego-cpp's error tree (`(error 6:a.rego|OFFSET|
    LENGTH (errormsg 16:message) ...)`); the offset counts bytes of the module's text."""
    out = []
    for match in _ERROR.finditer(text):
        where = _sized(text, match)
        rest = text[match.end() + len(where) :]
        offset = re.match(r"\|(\d+)\|", rest)
        message = _MESSAGE.search(rest)
        name = where.split("|", 1)[0] if "|" in where else where
        line = 0
        if offset and name in sources:
            head = sources[name].encode("utf-8")[: int(offset.group(1))]
            line = head.count(b"\n") + 1
        out.append((name, line, _sized(rest, message) if message else "error"))
    return out


def _eval_error(node: Any) -> str:
    """The messages (and codes) of an error result: rego-cpp gives no line for these."""
    from regopy import rego_shared as native

    messages = []
    for index in range(native.rego_node_size(node)):
        error = native.rego_node_get(node, index)
        parts = []
        for child in range(native.rego_node_size(error)):
            try:
                value = native.rego_node_value(native.rego_node_get(error, child))
            except Exception:  # noqa: BLE001 - a node without a value (the AST part)
                value = ""
            if value:
                parts.append(value)
        if parts:
            messages.append(parts[0] + (f" ({parts[-1]})" if len(parts) > 1 else ""))
    return "; ".join(dict.fromkeys(messages)) or "evaluation failed"


def _evaluate(interpreter: Any, bundle: Any, entrypoint: str) -> Any:
    """The value of `entrypoint` (`pkg/rule`) for the current input; None when undefined."""
    from regopy import rego_shared as native

    output = native.rego_bundle_query_entrypoint(interpreter._impl, bundle._impl, entrypoint)
    try:
        if not native.rego_output_ok(output):
            raise RegoFailure("eval", _eval_error(native.rego_output_node(output)))
        text = native.rego_output_string(output)
    finally:
        native.rego_free_output(output)
    if text.strip() == "undefined":
        return None
    if text.lstrip().startswith("("):
        message = _MESSAGE.search(text)
        raise RegoFailure("eval", _sized(text, message) if message else text.strip()[:200])
    answer = json.loads(text)
    if isinstance(answer, list):  # several results: the entrypoint's value is the same in each
        answer = answer[0] if answer else {}
    return answer.get("expressions", [None])[0]


def run(request: dict) -> dict:
    """Answer one request (in this process: the caller is the child's main). The modules are
    compiled once, with the entrypoints, and evaluated for each input."""
    try:
        import regopy
    except ImportError:
        return {"error": {"stage": "setup", "message": "regopy is not installed"}}
    interpreter = regopy.Interpreter()
    sources = {name: text for name, text in request.get("modules", [])}
    entrypoints = request.get("entrypoints", [])
    try:
        for name, text in sources.items():
            try:
                interpreter.add_module(name, text)
            except regopy.RegoError as exc:
                raise _compile_failure(str(exc), sources, name) from None
        if request.get("data") is not None:
            interpreter.add_data_json(json.dumps(request["data"]))
        if not entrypoints:
            return {"results": []}
        try:
            bundle = interpreter.build(None, entrypoints)
        except regopy.RegoError as exc:
            raise _compile_failure(str(exc), sources, "") from None
        if not bundle.ok():
            raise RegoFailure("compile", "the policies do not compile")
        results = []
        for model in request.get("inputs", []):
            interpreter.set_input_term(model if isinstance(model, str) else json.dumps(model))
            results.append([_evaluate(interpreter, bundle, e) for e in entrypoints])
    except RegoFailure as exc:
        return {
            "error": {
                "stage": exc.stage,
                "message": exc.message,
                "file": exc.file,
                "line": exc.line,
            }
        }
    except regopy.RegoError as exc:
        return {"error": {"stage": "eval", "message": str(exc)[:500]}}
    return {"results": results}


def _compile_failure(text: str, sources: dict[str, str], name: str) -> RegoFailure:
    errors = _compile_errors(text, sources) or [(name, 0, text.strip()[:200])]
    file, line, message = errors[0]
    return RegoFailure("compile", message, file, line)


def main() -> None:
    request = json.loads(sys.stdin.buffer.read())
    answer_to = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # what the native library prints must not mix with the answer
    answer = run(request)
    answer_to.write(json.dumps(answer))
    answer_to.flush()


if __name__ == "__main__":
    main()
