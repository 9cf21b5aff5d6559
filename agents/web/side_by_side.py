"""A unified diff (what ``agents.selectors.version_diff`` returns) as rows of
a two-column, side-by-side table: removed lines on the left facing the lines
that replaced them on the right, unchanged context on both.  Pure: no Django."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

HUNK = re.compile(r"^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@")
SAME, REMOVED, ADDED, EMPTY = "same", "removed", "added", "empty"


@dataclass(frozen=True)
class Cell:
    number: int | None
    text: str
    kind: str  # same | removed | added | empty


@dataclass(frozen=True)
class Row:
    left: Cell
    right: Cell

    @property
    def changed(self) -> bool:
        return self.left.kind != SAME


@dataclass
class Hunk:
    left_start: int
    right_start: int
    rows: list[Row] = field(default_factory=list)


_BLANK = Cell(None, "", EMPTY)


def side_by_side(unified: str) -> list[Hunk]:
    """The hunks of ``unified`` as side-by-side rows (an empty list when nothing changed)."""
    hunks: list[Hunk] = []
    removed: list[Cell] = []
    added: list[Cell] = []
    left = right = 0

    def flush():
        for i in range(max(len(removed), len(added))):
            hunks[-1].rows.append(Row(removed[i] if i < len(removed) else _BLANK,
                                      added[i] if i < len(added) else _BLANK))
        removed.clear()
        added.clear()

    for line in unified.splitlines():
        match = HUNK.match(line)
        if match:
            if hunks:
                flush()
            left, right = int(match[1]), int(match[2])
            hunks.append(Hunk(left, right))
            continue
        if not hunks or line.startswith("\\"):  # the ---/+++ header, "\ No newline at end of file"
            continue
        mark, text = line[:1], line[1:]
        if mark == "-":
            removed.append(Cell(left, text, REMOVED))
            left += 1
        elif mark == "+":
            added.append(Cell(right, text, ADDED))
            right += 1
        else:
            flush()
            hunks[-1].rows.append(Row(Cell(left, text, SAME), Cell(right, text, SAME)))
            left, right = left + 1, right + 1
    if hunks:
        flush()
    return hunks
