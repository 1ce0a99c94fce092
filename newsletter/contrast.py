"""Colour contrast as WCAG 2 defines it: what the email tests check every text of every email against.

WCAG AA asks 4.5:1 for body text; a link told apart from the text around it by colour alone needs 3:1
against that text as well as an underline or another cue, so the title links of a digest are underlined.
"""

from __future__ import annotations

import re

AA_TEXT = 4.5
_HEX = re.compile(r"#([0-9a-f]{3}|[0-9a-f]{6})")
_RGB = re.compile(r"rgba?\(\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*(?:,\s*([\d.]+)\s*)?\)")
_NAMED = {"white": (255, 255, 255), "black": (0, 0, 0)}

Rgb = tuple[int, int, int]


def parse_color(value: str) -> Rgb | None:
    """An opaque colour from CSS text ("#1d1d1f", "#fff", "rgb(29, 29, 31)", "white"); None for transparent or
    anything else (a gradient, a keyword like "inherit")."""
    text = value.strip().lower()
    if text in _NAMED:
        return _NAMED[text]
    match = _HEX.fullmatch(text)
    if match:
        digits = match.group(1)
        if len(digits) == 3:
            digits = "".join(d * 2 for d in digits)
        return (int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16))
    match = _RGB.fullmatch(text)
    if match and (match.group(4) is None or float(match.group(4)) >= 1):
        return (int(match.group(1)), int(match.group(2)), int(match.group(3)))
    return None


def relative_luminance(color: Rgb) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in color)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(foreground: Rgb, background: Rgb) -> float:
    """From 1 (the same) to 21 (black on white)."""
    light, dark = sorted((relative_luminance(foreground), relative_luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)
