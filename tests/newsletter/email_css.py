"""The colours an email client shows, computed from an email's own CSS: its <style> (with or without its
dark-mode media rules) and the inline styles the inliner wrote, with CSS's cascade (importance, inline,
specificity, order) and inheritance. For the contrast tests: no colour pair is written down by hand here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import lxml.html
from cssselect import GenericTranslator
from cssselect import parse as css_parse
from lxml.etree import _Element

from newsletter.contrast import Rgb, parse_color

_COMMENT = re.compile(r"/\*.*?\*/", re.S)
_MEDIA = re.compile(r"@media([^{]*)\{((?:[^{}]*\{[^{}]*\})*)\s*\}")
_RULE = re.compile(r"([^{}]+)\{([^{}]*)\}")
_DEFAULT_TEXT: Rgb = (0, 0, 0)
_DEFAULT_PAGE: Rgb = (255, 255, 255)
_SKIPPED_TAGS = {"head", "style", "title", "meta", "script"}


@dataclass(frozen=True)
class Declaration:
    value: str
    important: bool
    rank: tuple[int, int, tuple[int, int, int], int]  # important, inline, specificity, source order


def _declarations(text: str) -> Iterator[tuple[str, str, bool]]:
    for part in text.split(";"):
        name, colon, value = part.partition(":")
        if not colon:
            continue
        value = value.strip()
        important = value.lower().endswith("!important")
        if important:
            value = value[: -len("!important")].strip()
        yield name.strip().lower(), value, important


@dataclass
class EmailStyles:
    """The computed colours of one email's HTML, light or dark."""

    html: str
    dark: bool
    _computed: dict[_Element, dict[str, Declaration]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.document = lxml.html.document_fromstring(self.html)
        css = _COMMENT.sub("", "".join(style.text or "" for style in self.document.iter("style")))
        rules = _MEDIA.sub("", css)
        if self.dark:
            rules += "".join(body for query, body in _MEDIA.findall(css) if "prefers-color-scheme: dark" in query)
        order = 0
        for selectors, body in _RULE.findall(rules):
            declarations = list(_declarations(body))
            for selector in css_parse(selectors):
                order += 1
                xpath = GenericTranslator().selector_to_xpath(selector)
                for element in self.document.xpath(xpath):
                    self._apply(element, declarations, inline=False, specificity=selector.specificity(), order=order)
        for element in self.document.iter():
            style = element.get("style") if isinstance(element.tag, str) else None
            if style:
                self._apply(element, list(_declarations(style)), inline=True, specificity=(0, 0, 0), order=0)

    def _apply(
        self,
        element: _Element,
        declarations: list[tuple[str, str, bool]],
        *,
        inline: bool,
        specificity: tuple[int, int, int],
        order: int,
    ) -> None:
        computed = self._computed.setdefault(element, {})
        for name, value, important in declarations:
            if name == "background":
                name = "background-color"
                value = next((word for word in value.split() if parse_color(word) or word == "transparent"), "")
            declaration = Declaration(value, important, (int(important), int(inline), specificity, order))
            if name not in computed or declaration.rank >= computed[name].rank:
                computed[name] = declaration

    def value(self, element: _Element, name: str) -> str | None:
        declaration = self._computed.get(element, {}).get(name)
        return declaration.value if declaration else None

    def color(self, element: _Element) -> Rgb:
        """The text colour, inherited where not set (or set to "inherit")."""
        node: _Element | None = element
        while node is not None:
            value = self.value(node, "color")
            if value and value != "inherit" and parse_color(value):
                return parse_color(value)  # type: ignore[return-value]
            node = node.getparent()
        return _DEFAULT_TEXT

    def background(self, element: _Element) -> Rgb:
        """The colour behind the element: its own background, else the nearest ancestor's (a bgcolor attribute
        counts where no CSS background is set, as in Outlook)."""
        node: _Element | None = element
        while node is not None:
            value = self.value(node, "background-color")
            color = parse_color(value) if value else None
            if color is None and value is None and node.get("bgcolor"):
                color = parse_color(node.get("bgcolor", ""))
            if color is not None:
                return color
            node = node.getparent()
        return _DEFAULT_PAGE

    def hidden(self, element: _Element) -> bool:
        node: _Element | None = element
        while node is not None:
            if (self.value(node, "display") or "").strip() == "none":
                return True
            node = node.getparent()
        return False

    def texts(self) -> Iterator[tuple[_Element, str]]:
        """Each visible element with text of its own (its text, or the text after a child)."""
        for element in self.document.iter():
            if not isinstance(element.tag, str) or element.tag in _SKIPPED_TAGS:
                continue
            own = (element.text or "") + "".join(child.tail or "" for child in element)
            if own.strip() and not self.hidden(element):
                yield element, " ".join(own.split())
