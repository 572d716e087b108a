"""How every command prints its result: one style for tables, times and statuses, and ``--json``.

- **Tables** are plain columns two spaces apart under UPPERCASE headers. A value is never cut or wrapped,
  whatever the terminal's width and whether stdout is a terminal or a pipe: an id can always be copied into
  the next command (a narrow terminal wraps the long line itself; ``less -S`` scrolls it).
- **Times** are local: ``2026-11-29 10:00:00`` in tables, ``2026-11-29T10:00:00+01:00`` in JSON.
- **Statuses** are SageMaker's words, coloured on a terminal (``reporting.STATUS_STYLES``), plain otherwise.
- **``--json``** prints one JSON document per command on stdout, in AWS's field names (the shape of the matching
  API's answer where there is one); progress and log records stay on stderr.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any

from showcase.reporting import STATUS_STYLES, when


@dataclass(frozen=True)
class Status:
    """A table cell holding a status word: coloured on a terminal."""

    word: str

    def __str__(self) -> str:
        return self.word


def cell_text(value: Any) -> str:
    """A value as a table shows it: ``-`` for nothing, local time for a moment, booleans as JSON writes them, and
    never a line break."""
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return when(value)
    return " ".join(str(value).split()) if "\n" in str(value) else str(value)


def table_lines(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[list[tuple[str, str]]]:
    """Each line of the table as ``(text, style)`` pieces, padded to the columns' widths; no value is cut."""
    body = [[cell_text(value) for value in row] for row in rows]
    styles = [[_style(value) for value in row] for row in rows] if body else []
    heads = [header.upper() for header in headers]
    widths = [max(len(text) for text in column) for column in zip(heads, *body, strict=True)]
    lines = [[(text.ljust(width) if i < len(heads) - 1 else text, "bold") for i, (text, width) in
              enumerate(zip(heads, widths, strict=True))]]  # fmt: skip
    for texts, row_styles in zip(body, styles, strict=True):
        line = []
        for i, (text, style) in enumerate(zip(texts, row_styles, strict=True)):
            last = i == len(texts) - 1
            line.append((text if last else text.ljust(widths[i]), style))
        lines.append(line)
    return lines


def _style(value: Any) -> str:
    if isinstance(value, Status) and value.word in STATUS_STYLES:
        return STATUS_STYLES[value.word].terminal
    return ""


def plain_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """The table as text (two spaces between columns, nothing cut); empty when there are no rows."""
    lines = table_lines(headers, list(rows))
    if len(lines) == 1:
        return ""
    return "\n".join("  ".join(text for text, _ in line).rstrip() for line in lines)


def to_json(document: Any) -> str:
    """JSON as the CLI prints it: indented, moments in local time with their offset, paths and enums as text."""
    return json.dumps(document, indent=2, default=_encode, ensure_ascii=False)


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return when(value, "iso")
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


class Output:
    """Where a command's result goes: stdout, as text or (``--json``) one JSON document."""

    def __init__(self, *, json_mode: bool = False) -> None:
        from rich.console import Console

        self.json = json_mode
        self._console = Console(file=sys.stdout, soft_wrap=True, highlight=False, emoji=False)

    def line(self, text: str = "") -> None:
        """A line of text, shown as it is (no markup, never wrapped or cut)."""
        if not self.json:
            from rich.text import Text

            self._console.print(Text(text), soft_wrap=True)

    def table(
        self, headers: Sequence[str], rows: Iterable[Sequence[Any]], *, empty: str = "", title: str | None = None
    ) -> None:
        """A table (``empty`` in its place when there are no rows, unless that is empty too)."""
        from rich.text import Text

        if self.json:
            return
        lines = table_lines(headers, list(rows))
        if len(lines) == 1:
            if empty:  # a note for the reader, on stderr: stdout holds the (empty) result
                from showcase.cli.common import stderr_console

                stderr_console().print(Text(empty), soft_wrap=True)
            return
        if title:
            self.line(title)
        for line in lines:
            text = Text()
            for i, (piece, style) in enumerate(line):
                if i:
                    text.append("  ")
                text.append(piece, style=style or None)
            text.rstrip()
            self._console.print(text, soft_wrap=True)

    def fields(self, pairs: Sequence[tuple[str, Any]]) -> None:
        """``name  value`` lines, the names aligned (a describe command's scalars)."""
        if self.json or not pairs:
            return
        width = max(len(name) for name, _ in pairs)
        from rich.text import Text

        for name, value in pairs:
            text = Text(name.ljust(width) + "  ", style="bold")
            text.append(cell_text(value), style=_style(value) or None)
            self._console.print(text, soft_wrap=True)

    def document(self, document: Mapping[str, Any]) -> None:
        """The command's one JSON document (with ``--json``; nothing otherwise)."""
        if self.json:
            sys.stdout.write(to_json(document) + "\n")
            sys.stdout.flush()
