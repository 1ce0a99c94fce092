"""A digest as a phone shows it, in light and dark mode: screenshots at 375 px, and the contrast of every text
as the browser computes it from the email's CSS (the email tests compute the same from the CSS in Python)."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsletter.contrast import AA_TEXT, contrast_ratio, parse_color
from tests.e2e.browser import chromium
from tests.newsletter.email_kinds import digest_sent, html_of, march_edition_make, reader

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.django_db]

PHONE_375 = {"width": 375, "height": 812}
# Every element with text of its own: its computed colour, and the first opaque background behind it.
_TEXT_COLOURS = """() => {
  const out = [];
  for (const el of document.body.querySelectorAll('*')) {
    const own = [...el.childNodes].filter(n => n.nodeType === 3).map(n => n.textContent).join('').trim();
    if (!own || el.closest('.preheader') || !el.getClientRects().length) continue;
    let node = el, background = 'rgb(255, 255, 255)';
    while (node) {
      const bg = getComputedStyle(node).backgroundColor;
      if (bg && bg !== 'transparent' && !bg.startsWith('rgba(0, 0, 0, 0')) { background = bg; break; }
      node = node.parentElement;
    }
    out.push({text: own.slice(0, 60), color: getComputedStyle(el).color, background,
              underline: getComputedStyle(el).textDecorationLine, cls: el.className, tag: el.tagName});
  }
  return out;
}"""


@pytest.mark.usefixtures("allow_sync_orm_in_event_loop")
def test_a_digest_reads_well_on_a_phone_in_light_and_dark_mode(test_output_dir: Path) -> None:
    march_edition_make()
    reader()
    html = html_of(digest_sent())

    with chromium() as browser:
        for scheme in ("light", "dark"):
            page = browser.new_page(viewport=PHONE_375, color_scheme=scheme)  # type: ignore[arg-type]
            page.set_content(html)
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scroll
            texts = page.evaluate(_TEXT_COLOURS)
            assert len(texts) > 20
            for item in texts:
                foreground, background = parse_color(item["color"]), parse_color(item["background"])
                assert foreground and background, item
                ratio = contrast_ratio(foreground, background)
                assert ratio >= AA_TEXT, f"{scheme}: {item} at {ratio:.2f}:1"
            titles = [item for item in texts if item["tag"] == "A" and "Graph Databases" in item["text"]]
            assert titles and all("underline" in item["underline"] for item in titles)
            body = next(item for item in texts if item["tag"] == "H1")
            assert all(item["color"] != body["color"] for item in titles)  # title links are not body text
            page.screenshot(path=str(test_output_dir / f"digest-375-{scheme}.png"), full_page=True)
            page.close()
