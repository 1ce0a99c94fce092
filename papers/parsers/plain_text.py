"""Line and paragraph helpers for the two text formats, keeping line numbers for error messages."""

from __future__ import annotations

from dataclasses import dataclass

# The page header both text forms start with; matched case-insensitively, whole paragraph.
HF_HEADER_LINES = frozenset(
    {
        "new",
        "get trending papers in your email inbox!",
        "get trending papers in your email inbox once a day!",
        "subscribe",
        "daily papers",
        "byak and the research community",
        "by ak and the research community",
    }
)


@dataclass(frozen=True, slots=True)
class Paragraph:
    line: int  # 1-based number of its first line in the file
    text: str  # its lines joined with single spaces


def without_front_matter(*, lines: list[str]) -> int:
    """The index of the first line after a leading markdown front matter block (0 when there is none)."""
    if not lines or lines[0].strip() != "---":
        return 0
    for index in range(1, len(lines)):
        if lines[index].strip() == "---":
            return index + 1
    return 0  # an unclosed block is not front matter; leave it for the format parser to judge


def paragraphs(*, text: str) -> list[Paragraph]:
    """Blank-line separated paragraphs; the lines inside one are joined (hard wraps are not breaks)."""
    lines = text.split("\n")
    found: list[Paragraph] = []
    current: list[str] = []
    start = 0
    skip = without_front_matter(lines=lines)
    for number, line in enumerate(lines[skip:], start=skip + 1):
        if line.strip():
            if not current:
                start = number
            current.append(line.strip())
        elif current:
            found.append(Paragraph(line=start, text=" ".join(current)))
            current = []
    if current:
        found.append(Paragraph(line=start, text=" ".join(current)))
    return found


def is_header_line(text: str) -> bool:
    return " ".join(text.split()).casefold() in HF_HEADER_LINES
