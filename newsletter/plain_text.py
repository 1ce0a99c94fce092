"""Plain-text email parts wrapped near 78 characters (RFC 5322's recommendation), as mail clients expect.

Only whole words are moved: a URL or a very long word stays on a line of its own, unbroken.
"""

from __future__ import annotations

import textwrap

WIDTH = 76  # two below 78: room for a client's quoting marker
INDENT = "  "


def wrapped(text: str, *, column: int = len(INDENT), indent: str = INDENT) -> str:
    """`text`, which starts at `column` of its first line, wrapped; continuation lines begin with `indent`."""
    if column + len(text) <= WIDTH and "\n" not in text:
        return text
    lines = textwrap.wrap(
        text,
        width=WIDTH,
        initial_indent="x" * column,  # stands for what precedes the text on its first line
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    )
    if not lines:
        return ""
    lines[0] = lines[0][column:]
    return "\n".join(lines)


def paragraphs_wrapped(text: str) -> str:
    """A whole plain-text body, each line longer than the width wrapped (its leading spaces kept as indent)."""
    out: list[str] = []
    for line in text.split("\n"):
        if len(line) <= WIDTH:
            out.append(line)
            continue
        indent = line[: len(line) - len(line.lstrip(" "))]
        out.append(indent + wrapped(line[len(indent) :], column=len(indent), indent=indent))
    return "\n".join(out)
