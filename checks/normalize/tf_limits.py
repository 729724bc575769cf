"""What evaluating one Terraform module may build: limits per value and a budget per module.

Named values are evaluated once per module, but sharing still lets a value *expand*, as YAML
aliases do: `concat(local.a, local.a)` or `[local.a, local.a]` thirty times over is 2**30
items that every later stage (rules, messages, reports) would walk. So each value is measured
as it would be expanded (items, characters, nesting levels; a container is measured once and
remembered), and a value over a limit is refused. The module as a whole has a budget for what
it builds and for what references hand out (each hand-out is walked again downstream), so that
many values each under the limits cannot add up to a blow-up either.
"""

from __future__ import annotations

from typing import Any

from checks.model import Partial, Unknown, UnknownItems

MAX_CHARS = 1_000_000  # characters in one value (its strings, keys included)
MAX_ITEMS = 100_000  # items in one value, counting nested ones
MAX_LEVELS = 100  # nesting levels of one value
BUDGET_CHARS = 64_000_000
BUDGET_ITEMS = 1_000_000
MAX_PARTS = 16  # parts of the rest of a collection known in part (each one judged apart)
MAX_UNKNOWN_TEXT = 1_000  # how an unknown value is shown: long enough to read, never grown

Size = tuple[int, int, int]  # (items, characters, levels)


class Limits:
    """The sizes of the containers a module's evaluation has seen, and its budget left."""

    def __init__(self) -> None:
        # id -> (the container, its size); holding the container keeps its id from being reused
        self._sizes: dict[int, tuple[Any, Size]] = {}
        self.chars_left = BUDGET_CHARS
        self.items_left = BUDGET_ITEMS

    def size(self, value: Any) -> Size:
        """`value`'s size as expanded; each container is walked once (no recursion). A walk
        stops once it has seen more than MAX_ITEMS containers: the size it gives is then over
        the limits, whatever the rest holds."""
        if isinstance(value, str):
            return (1, len(value), 0)
        if isinstance(value, UnknownItems):  # a container of its item (and its key)
            items, chars, depth = self.size(value.item)
            return (items + 1, chars + len(value.text), depth + 1)
        if isinstance(value, Partial):  # its known items and what stands for the rest
            known = self._sizes.get(id(value))
            if known is not None and known[0] is value:
                return known[1]
            items, chars, depth = self.size(value.known)
            for part in value.rest:
                p_items, p_chars, p_depth = self.size(part)
                items, chars, depth = items + p_items, chars + p_chars, max(depth, p_depth)
            self._sizes[id(value)] = (value, (items + 1, chars + len(value.text), depth + 1))
            return self._sizes[id(value)][1]
        if isinstance(value, Unknown):
            return (1, len(value.text), 0)
        if not isinstance(value, (list, dict)):
            return (1, 0, 0)
        sizes = self._sizes
        known = sizes.get(id(value))
        if known is not None and known[0] is value:
            return known[1]
        stack: list[tuple[Any, bool]] = [(value, False)]
        walked = 0
        while stack:
            node, children_done = stack.pop()
            known = sizes.get(id(node))
            if known is not None and known[0] is node:
                continue
            children = list(node.values()) if isinstance(node, dict) else node
            if not children_done:
                walked += 1
                if walked > MAX_ITEMS:
                    return (MAX_ITEMS + 1, 0, 0)
                stack.append((node, True))
                stack.extend((c, False) for c in children if isinstance(c, (list, dict)))
                continue
            items, chars, depth = 1, 0, 0
            if isinstance(node, dict):
                chars += sum(len(k) for k in node if isinstance(k, str))
            for child in children:
                if isinstance(child, (list, dict)):
                    c_items, c_chars, c_depth = sizes[id(child)][1]
                else:
                    c_items, c_chars, c_depth = self.size(child)
                items += c_items
                chars += c_chars
                depth = max(depth, c_depth)
            sizes[id(node)] = (node, (items, chars, depth + 1))
        return sizes[id(value)][1]

    def sum_size(self, values: list) -> Size:
        """A bound on the size of a container holding `values` (computed before building it)."""
        sizes = [self.size(v) for v in values]
        return (
            1 + sum(s[0] for s in sizes),
            sum(s[1] for s in sizes),
            1 + max((s[2] for s in sizes), default=0),
        )

    @staticmethod
    def over(size: Size) -> bool:
        items, chars, depth = size
        return items > MAX_ITEMS or chars > MAX_CHARS or depth > MAX_LEVELS

    def spend(self, items: int, chars: int) -> bool:
        """Charge the module's budget; False once it is spent (and from then on)."""
        self.items_left -= items
        self.chars_left -= chars
        return self.items_left >= 0 and self.chars_left >= 0


SIZE_NOTE = (
    f"value over the size limit ({MAX_CHARS} characters, {MAX_ITEMS} items, {MAX_LEVELS} levels): "
    "read as unknown"
)
BUDGET_NOTE = (
    f"the module's values grow past the evaluation budget ({BUDGET_CHARS} characters, "
    f"{BUDGET_ITEMS} items): further values are read as unknown"
)


def capped_text(text: str) -> str:
    """How an unknown value built from other unknown values is shown: never longer than
    MAX_UNKNOWN_TEXT, so that `"${local.u}${local.u}"` cannot double it at every step."""
    if len(text) <= MAX_UNKNOWN_TEXT:
        return text
    return text[: MAX_UNKNOWN_TEXT - 3] + "..."
