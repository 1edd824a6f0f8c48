"""Colours by task: one stable colour per task id, the same in every figure, process and session.

Why a hash and not the order tasks appear in: a task keeps its colour when other tasks come and
go, across refreshes, widgets, the sidebar and ``pynenc monitor`` (all drawn from these figure
builders on the server). The palette leaves out reds: red is for failures.
"""

from __future__ import annotations

import functools

TASK_PALETTE: tuple[str, ...] = (  # dark and light pairs of distinct hues; no red (failures), no grey (the queue)
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#bcbd22",
    "#17becf",
    "#aec7e8",
    "#ffbb78",
    "#98df8a",
    "#c5b0d5",
    "#c49c94",
    "#f7b6d2",
    "#dbdb8d",
    "#9edae5",
    "#393b79",
    "#637939",
    "#8c6d31",
    "#7b4173",
)
_FNV_OFFSET, _FNV_PRIME = 0x811C9DC5, 0x01000193


@functools.lru_cache(maxsize=4096)
def task_colour(task_id: str) -> str:
    """The palette colour of ``task_id``: FNV-1a (32 bit) of its UTF-8 bytes, modulo the palette.

    Python's ``hash()`` of a string changes from process to process; this does not.
    """
    value = _FNV_OFFSET
    for byte in task_id.encode():
        value = ((value ^ byte) * _FNV_PRIME) & 0xFFFFFFFF
    return TASK_PALETTE[value % len(TASK_PALETTE)]
