"""The smallest JSON patch that brings a figure dict from one state to the next.

Why: a live figure is recomputed whole every tick, but between two ticks of a running timeline
only a few bars grow and a few are added. Sending the figure again costs its whole size per tick
(about 1 MB/s for a 1,000-task run); a patch costs what changed. The browser side applies the
same operations (``plotly_view.js``) and redraws with ``Plotly.react``, which keeps the user's
zoom and pan (``uirevision``).

A patch is one of:

- ``{"=": value}``: replace the value whole;
- ``{"{": {key: patch, ...}, "-": [key, ...]}``: change these keys of a dict, remove those;
- ``{"[": length, "at": [index, ...], "p": [patch, ...], "+": [value, ...]}``: the list cut to
  ``length`` minus the appended values, its elements at these indices patched, then the values
  of ``+`` appended (each key only when it has something).

A list of plain values is patched element by element only when fewer than half of its elements
change: one that changed more is cheaper to replace. A list of dicts (the traces) always is.
"""

from __future__ import annotations

from typing import Any

Patch = dict[str, Any]
_UNSET: Any = object()


def diff(before: Any, after: Any) -> Patch | None:
    """The patch from ``before`` to ``after``; None when they are equal."""
    if before is after:
        return None
    if isinstance(before, dict) and isinstance(after, dict):
        changed: dict[str, Patch] = {}
        for key, value in after.items():
            sub = diff(before.get(key, _UNSET), value)
            if sub is not None:
                changed[key] = sub
        removed = [key for key in before if key not in after]
        if not changed and not removed:
            return None
        patch: Patch = {"{": changed}
        if removed:
            patch["-"] = removed
        return patch
    if isinstance(before, list | tuple) and isinstance(after, list | tuple):
        return _list_diff(before, after)
    if before is _UNSET or type(before) is not type(after) or before != after:
        return {"=": after}
    return None


def _list_diff(before: list[Any] | tuple[Any, ...], after: list[Any] | tuple[Any, ...]) -> Patch | None:
    common = min(len(before), len(after))
    at: list[int] = []
    patches: list[Patch] = []
    for i in range(common):
        sub = diff(before[i], after[i])
        if sub is not None:
            at.append(i)
            patches.append(sub)
    if not at and len(before) == len(after):
        return None
    nested = any(isinstance(item, dict) for item in after)
    if not nested and 2 * (len(at) + len(after) - common) >= len(after):
        return {"=": after}
    patch: Patch = {"[": len(after)}
    if at:
        patch["at"], patch["p"] = at, patches
    if len(after) > common:
        patch["+"] = list(after[common:])
    return patch


def apply(value: Any, patch: Patch | None) -> Any:
    """``value`` with ``patch`` applied (a new value; ``value`` is not changed). The browser does
    the same in ``plotly_view.js``; this one is what tests and the kernel side check against."""
    if patch is None:
        return value
    if "=" in patch:
        return patch["="]
    if "{" in patch:
        result = dict(value) if isinstance(value, dict) else {}
        for key, sub in patch["{"].items():
            result[key] = apply(result.get(key), sub)
        for key in patch.get("-", ()):
            result.pop(key, None)
        return result
    if "[" in patch:
        appended = patch.get("+", [])
        kept = patch["["] - len(appended)
        result_list = list(value)[:kept] if isinstance(value, list | tuple) else []
        result_list.extend([None] * (kept - len(result_list)))
        for index, sub in zip(patch.get("at", ()), patch.get("p", ()), strict=True):
            result_list[index] = apply(result_list[index], sub)
        return result_list + list(appended)
    raise ValueError(f"not a figure patch: {sorted(patch)}")
