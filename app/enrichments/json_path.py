"""The JSONPath that PII configs use to point into an entity: `$.a.b`, `$['a', 'b']` (or `$.['a', 'b']`), `$.list[0]`,
`$.list[*]`, `$.*`, `$..name` (at any depth). Compiled once; `rewrite` replaces every string it
reaches, in place, and says how many it replaced."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

TOKEN = re.compile(
    r"""\.\.(?P<descend>[A-Za-z0-9_$@-]+)"""  # ..name
    r"""|\.(?P<name>[A-Za-z0-9_$@-]+)"""  # .name
    r"""|\.\*|\.?\[\*\]"""  # .* or [*]
    r"""|\.?\[(?P<index>-?\d+)\]"""  # [0]
    r"""|\.?\[(?P<names>\s*(?:'[^']*'|"[^"]*")(?:\s*,\s*(?:'[^']*'|"[^"]*"))*\s*)\]"""  # ['a', "b"]
)
QUOTED = re.compile(r"""'([^']*)'|"([^"]*)\"""")


@dataclass(frozen=True, slots=True)
class Step:
    kind: str  # names, index, all, descend
    names: tuple[str, ...] = ()
    index: int = 0


class JsonPathError(ValueError):
    pass


def compile_path(text: str) -> tuple[Step, ...]:
    if not text.startswith("$"):
        raise JsonPathError(f"{text!r} does not start with $")
    steps, position = [], 1
    while position < len(text):
        match = TOKEN.match(text, position)
        if match is None:
            raise JsonPathError(f"{text!r}: cannot read the path from {text[position:]!r}")
        if match["descend"]:
            steps.append(Step("descend", (match["descend"],)))
        elif match["name"]:
            steps.append(Step("names", (match["name"],)))
        elif match["index"] is not None:
            steps.append(Step("index", index=int(match["index"])))
        elif match["names"] is not None:
            steps.append(Step("names", tuple(a or b for a, b in QUOTED.findall(match["names"]))))
        else:
            steps.append(Step("all"))
        position = match.end()
    return tuple(steps)


def rewrite(node: Any, steps: tuple[Step, ...], change: Callable[[str], str]) -> int:
    """Replace each string `steps` reach inside `node` (a dict or list) by `change(string)`."""
    if not steps:
        return 0
    step, rest = steps[0], steps[1:]
    slots: list[tuple[Any, Any]] = []  # (container, key) pairs the step reaches
    if step.kind == "names" and isinstance(node, dict):
        slots = [(node, name) for name in step.names if name in node]
    elif step.kind == "index" and isinstance(node, list) and -len(node) <= step.index < len(node):
        slots = [(node, step.index)]
    elif step.kind == "all":
        slots = list(node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ())
        slots = [(node, key) for key, _ in slots]
    elif step.kind == "descend":
        return _descend(node, step.names[0], rest, change)
    changed = 0
    for container, key in slots:
        if rest:
            changed += rewrite(container[key], rest, change)
        elif isinstance(container[key], str):
            container[key] = change(container[key])
            changed += 1
    return changed


def _descend(node: Any, name: str, rest: tuple[Step, ...], change: Callable[[str], str]) -> int:
    changed = 0
    if isinstance(node, dict):
        if name in node:
            changed += rewrite(node, (Step("names", (name,)), *rest), change)
        children = list(node.values())
    elif isinstance(node, list):
        children = node
    else:
        return 0
    for child in children:
        changed += _descend(child, name, rest, change)
    return changed
