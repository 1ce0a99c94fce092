"""No stored URL becomes a link that runs script: pages, emails and the admin (issue 15, item 1).

Rows stored before the parsers checked links may hold `javascript:` and the like, so the rendering is tested
with such a row written straight to the database. The last tests are the class of test that would have caught
the hole: every URL-ish model field has the http(s)-only guard, and every template href of a variable either
goes through the `http_url` filter or is a link the site builds itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup
from django.apps import apps
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models
from django.test import Client

from newsletter.models import Subscriber
from newsletter.services.planning import digest_plan
from newsletter.services.sending import deliveries_send
from papers.models import Paper, validate_http_links
from papers.parsers.urls import http_url
from papers.services import paper_edit
from tests.factories import paper_create

REPO = Path(__file__).resolve().parents[1]
HOSTILE = {
    "github": "javascript:alert(document.domain)",
    "project": "  JaVaScRiPt:alert(document.domain)",
    "pdf": "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "paper": "vbscript:msgbox(1)",
    "arxiv": "java\tscript:alert(1)",
    "slides": "\x01javascript:alert(1)",
}
URL_ATTRIBUTES = ("href", "src", "action", "formaction", "srcset", "xlink:href", "data", "poster")


def unsafe_urls_in(html: str) -> list[str]:
    """Every URL attribute of `html` (and of the documents in its iframes' srcdoc) that is neither relative
    to this site nor an absolute http(s) URL."""
    found = []
    for element in BeautifulSoup(html, "html.parser").find_all(True):
        for attribute in URL_ATTRIBUTES:
            value = element.get(attribute)
            if value is None:
                continue
            value = " ".join(value) if isinstance(value, list) else str(value)
            relative = value.startswith(("/", "?", "#")) and not value.startswith("//")
            if not relative and http_url(value) != value and not value.startswith("mailto:"):
                found.append(f"<{element.name} {attribute}={value!r}>")
        if element.get("srcdoc"):
            found += unsafe_urls_in(str(element["srcdoc"]))
    return found


@pytest.fixture
def hostile_paper(db: None) -> Paper:
    """A paper as an old row may hold it: links written before links were checked (no validation on update)."""
    paper = paper_create(title="Attention is all you need, again", abstract="We study in-context learning.")
    Paper.objects.filter(pk=paper.pk).update(links=HOSTILE)
    paper.refresh_from_db()
    assert paper.links == HOSTILE
    return paper


def test_a_dump_with_script_links_is_ingested_without_them_and_says_so(client: Client, db: None) -> None:
    """The audit's case: an HF API item whose githubRepo and projectPage are javascript: URLs."""
    import json
    from datetime import date

    from papers.models import Dump
    from papers.services import dump_ingest

    paper = {
        "id": "2501.00001",
        "title": "A Title",
        "summary": "An abstract.",
        "githubRepo": "javascript:alert(document.domain)",
        "projectPage": " JAVASCRIPT:alert(1)",
    }
    data = json.dumps([{"paper": paper}]).encode()

    result = dump_ingest(data=data, name="hostile.json", today=date(2026, 11, 24))

    assert result.status == "ingested"
    stored = Paper.objects.get()
    assert stored.links == {"paper": "https://huggingface.co/papers/2501.00001"}
    warnings = Dump.objects.get().warnings
    assert any("github link" in w for w in warnings) and any("project link" in w for w in warnings)
    html = client.get(stored.get_absolute_url()).content.decode()
    assert unsafe_urls_in(html) == [] and "javascript" not in html.lower()


def test_the_paper_page_renders_no_link_of_another_scheme(client: Client, hostile_paper: Paper) -> None:
    html = client.get(hostile_paper.get_absolute_url()).content.decode()

    assert hostile_paper.title in html
    assert unsafe_urls_in(html) == []
    assert "javascript" not in html.lower() and "vbscript" not in html and "data:text" not in html


def test_a_paper_page_still_links_its_http_links(client: Client, hostile_paper: Paper) -> None:
    Paper.objects.filter(pk=hostile_paper.pk).update(links={**HOSTILE, "code": "https://github.com/org/repo"})

    html = client.get(hostile_paper.get_absolute_url()).content.decode()

    assert '<a href="https://github.com/org/repo" rel="noopener nofollow">code</a>' in html


@pytest.mark.parametrize("path", ["/", "/papers/", "/papers/?q=attention"])
def test_listing_pages_render_no_link_of_another_scheme(client: Client, hostile_paper: Paper, path: str) -> None:
    html = client.get(path).content.decode()

    assert hostile_paper.title in html.replace("<mark>", "").replace("</mark>", "")  # search highlights words
    assert unsafe_urls_in(html) == []


def test_the_best_link_of_a_paper_is_never_of_another_scheme(hostile_paper: Paper) -> None:
    assert hostile_paper.best_link == ""
    Paper.objects.filter(pk=hostile_paper.pk).update(links={**HOSTILE, "github": "https://github.com/org/repo"})
    hostile_paper.refresh_from_db()
    assert hostile_paper.best_link == "https://github.com/org/repo"


def test_the_digest_email_renders_no_link_of_another_scheme(
    hostile_paper: Paper, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    from newsletter.services.editions import edition_prepare

    assert edition_prepare() is not None
    Subscriber.objects.create(
        email="ada@example.org", interests=["in-context learning"], status="active", send_hour=0, timezone="UTC"
    )
    report = deliveries_send(delivery_ids=digest_plan().pending_ids)

    assert report.sent == 1
    (message,) = mail.outbox
    html = str(message.alternatives[0][0])  # type: ignore[union-attr]  # an EmailMultiAlternatives
    assert hostile_paper.title in html
    assert unsafe_urls_in(html) == []
    for body in (html, str(message.body)):
        assert "javascript" not in body.lower() and "vbscript" not in body and "data:text" not in body


@pytest.mark.parametrize(
    "page",
    [
        "/admin/papers/paper/",
        "/admin/papers/paper/{pk}/change/",
        "/admin/newsletter/edition/",
        "/admin/newsletter/edition/{edition}/change/",
        "/admin/newsletter/edition/{edition}/preview/?subscriber=ada@example.org",
    ],
)
def test_the_admin_renders_no_link_of_another_scheme(admin_client: Client, hostile_paper: Paper, page: str) -> None:
    from newsletter.services.editions import edition_prepare

    edition = edition_prepare()
    assert edition is not None
    Subscriber.objects.create(email="ada@example.org", interests=["in-context learning"], status="active")

    response = admin_client.get(page.format(pk=hostile_paper.pk, edition=edition.pk))

    assert response.status_code == 200
    html = response.content.decode()
    assert hostile_paper.title in html or "/edition/" in page
    assert unsafe_urls_in(html) == []


def test_an_editor_cannot_store_a_link_of_another_scheme(admin_client: Client, hostile_paper: Paper) -> None:
    Paper.objects.filter(pk=hostile_paper.pk).update(links={})
    url = f"/admin/papers/paper/{hostile_paper.pk}/change/"
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', admin_client.get(url).text))
    data = {
        **hidden,  # the listings inline's management form, as a browser sends it
        "title": hostile_paper.title,
        "abstract": hostile_paper.abstract,
        "authors": "",
        "links": '{"github": "javascript:alert(document.domain)", "code": " https://github.com/org/repo "}',
        "editor_note": "",
    }

    response = admin_client.post(url, data)

    assert response.status_code == 200  # the form again, with the error
    assert "Only absolute http(s) URLs can be links; not these: github." in response.content.decode()
    hostile_paper.refresh_from_db()
    assert hostile_paper.links == {}
    data["links"] = '{"code": " https://github.com/org/repo "}'
    assert admin_client.post(url, data).status_code == 302
    hostile_paper.refresh_from_db()
    assert hostile_paper.links == {"code": "https://github.com/org/repo"}


def test_the_edit_service_refuses_a_link_of_another_scheme(hostile_paper: Paper) -> None:
    with pytest.raises(ValidationError, match="github"):
        paper_edit(paper=hostile_paper, changes={"links": {"github": "javascript:alert(1)"}})


def test_a_later_listing_replaces_a_stored_link_of_another_scheme(hostile_paper: Paper) -> None:
    from papers.parsers import ParsedPaper
    from papers.services.upsert import paper_enrich

    item = ParsedPaper(title=hostile_paper.title, abstract="x", rank=1, links={"github": "https://github.com/org/repo"})

    assert paper_enrich(paper=hostile_paper, item=item) is True
    assert hostile_paper.links == {"github": "https://github.com/org/repo"}


# --- the class of test that would have caught it ----------------------------------------------------------

URL_ISH_NAME = re.compile(r"(^|_)(url|urls|uri|link|links|href|website|homepage)$")


def _url_ish_fields() -> Iterator[models.Field[Any, Any]]:
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, models.URLField) or URL_ISH_NAME.search(field.name):
                yield field


def _http_only(field: models.Field[Any, Any]) -> bool:
    for validator in field.validators:
        if validator is validate_http_links:
            return True
        if isinstance(validator, URLValidator) and set(validator.schemes or ()) <= {"http", "https"}:
            return True
    return False


def test_every_url_ish_model_field_accepts_http_urls_only() -> None:
    """A new URL column (a URLField allows ftp:// by default; a JSON of links allows anything) must come
    with the http(s)-only guard, or this fails."""
    fields = list(_url_ish_fields())

    assert "papers.Paper.links" in {f"{f.model._meta.label}.{f.name}" for f in fields}
    assert [f"{f.model._meta.label}.{f.name}" for f in fields if not _http_only(f)] == []


def test_the_model_validator_refuses_each_scheme_and_a_non_object() -> None:
    for name, url in HOSTILE.items():
        with pytest.raises(ValidationError, match=name):
            validate_http_links({name: url, "ok": "https://example.org/"})
    with pytest.raises(ValidationError, match="object"):
        validate_http_links(["https://example.org/"])
    validate_http_links({"ok": "https://example.org/", "also": "http://example.org/x"})


# A template href of a variable that the site builds itself (reverse(), signed links): no stored URL in it.
# Per template, so an allowed name in one template never excuses the same name holding a stored URL in another.
SIGNED = "a signed link to this site (newsletter.links)"
SLOT = "a fixed slot marker, replaced by a signed link to this site"
SITE_BUILT = {
    ("templates/newsletter/email/confirm.html", "confirm_url"): SIGNED,
    ("templates/newsletter/email/manage_link.html", "manage_url"): SIGNED,
    ("templates/newsletter/email/digest.html", "slots.manage_url"): SLOT,
    ("templates/newsletter/email/digest.html", "slots.unsubscribe_url"): SLOT,
    ("templates/newsletter/email/digest.html", "slots.view_url"): SLOT,
    ("templates/newsletter/email/digest.html", "pick.url"): "services.indexing: reverse('papers:detail')",
    ("templates/newsletter/email/digest_paper.html", "url"): "links.absolute(paper.get_absolute_url())",
    ("templates/papers/_paper_card.html", "paper.get_absolute_url"): "this site's paper page",
    ("templates/papers/_search_hit.html", "paper.get_absolute_url"): "this site's paper page",
    ("templates/newsletter/archive/_entry.html", "paper.get_absolute_url"): "this site's paper page",
    ("templates/newsletter/archive/edition_list.html", "entry.paper.get_absolute_url"): "this site's paper page",
    ("templates/newsletter/archive/feed_edition.html", "site_url"): "links.absolute('') + a paper page",
    ("templates/newsletter/archive/feed_paper.html", "site_url"): "links.absolute('') + {% url %}",
    (
        "templates/admin/newsletter/edition/detail.html",
        "row.paper_url",
    ): "reverse() of the paper's admin page (desk.py)",
    ("templates/admin/newsletter/edition/detail.html", "base"): "{% url 'admin:newsletter_edition_entry' … %}",
    # The reader's loop (issue 19): feedback links, the archive and its feed.
    ("templates/newsletter/email/digest.html", "slots.archive_url"): SLOT,
    ("templates/newsletter/email/digest_paper.html", "more_like_this_url"): "links.feedback_url_with_slot + a slot",
    ("templates/newsletter/email/digest_paper.html", "not_for_me_url"): "links.feedback_url_with_slot + a slot",
    ("templates/newsletter/feedback.html", "target.paper.get_absolute_url"): "this site's paper page",
    ("templates/newsletter/feedback_problem.html", "back"): "request.path: this very page",
    ("templates/newsletter/_feedback_paper.html", "paper.url"): "services.indexing: reverse('papers:detail')",
    ("templates/newsletter/reader_archive.html", "feed_url"): SIGNED,
    ("templates/newsletter/reader_archive.html", "digest.view_url"): SIGNED,
    ("templates/newsletter/_archive_papers.html", "paper.url"): "links.absolute(paper.get_absolute_url())",
    ("templates/newsletter/_archive_papers.html", "paper.more_like_this_url"): SIGNED,
    ("templates/newsletter/_archive_papers.html", "paper.not_for_me_url"): SIGNED,
}
_VARIABLE_IN_URL_ATTRIBUTE = re.compile(r"""\b(?:href|src|action|formaction|srcset)\s*=\s*["']\{\{\s*([^}]+?)\s*\}\}""")
_FILTERED_WITH = re.compile(r"\{%\s*with\s+(\w+)\s*=\s*[^%]*\|\s*http_url\s*%\}")


def _template_files() -> Iterator[Path]:
    yield from (REPO / "templates").rglob("*.html")
    for app in ("papers", "newsletter"):
        yield from (REPO / app).rglob("templates/**/*.html")


def test_every_template_href_of_a_variable_goes_through_http_url_or_is_built_by_the_site() -> None:
    unchecked = []
    for path in _template_files():
        text = path.read_text()
        filtered_names = set(_FILTERED_WITH.findall(text))
        for expression in _VARIABLE_IN_URL_ATTRIBUTE.findall(text):
            if expression.replace(" ", "").endswith("|http_url") or expression in filtered_names:
                continue
            if (str(path.relative_to(REPO)), expression) not in SITE_BUILT:
                unchecked.append(f"{path.relative_to(REPO)}: {{{{ {expression} }}}}")

    assert unchecked == [], "a stored URL in an href must go through |http_url (papers/templatetags/paper_links.py)"


def test_the_template_check_sees_the_paper_pages_links() -> None:
    """The walk above would catch the original hole: the paper page's links, unfiltered, are found by it."""
    text = (REPO / "templates/papers/paper_detail.html").read_text()
    assert _VARIABLE_IN_URL_ATTRIBUTE.findall(text) == ["link.url|http_url"]
    assert _VARIABLE_IN_URL_ATTRIBUTE.findall('<a href="{{ url }}">') == ["url"]
    assert not any(template == "templates/papers/paper_detail.html" for template, _ in SITE_BUILT)
