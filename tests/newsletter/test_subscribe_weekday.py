"""The weekday field: optional for a daily digest, required for a weekly one, and never a 500 (issue 15, item 12).

Also: nothing counts against a rate limit unless the sign-up was valid, so a person who fixes a mistake in the
form is not locked out, and a crashed post can never eat the attempt of the valid one after it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail
from django.test import Client

from newsletter.links import manage_url
from newsletter.models import SignupRequest, Subscriber
from tests.newsletter.conftest import form_data, path_of

pytestmark = pytest.mark.django_db

MISSING = object()


def _without_weekday(how: object, **overrides: str) -> dict[str, str]:
    data = form_data(**overrides)
    if how is MISSING:
        del data["weekday"]
    else:
        data["weekday"] = str(how)
    return data


def _field_block(html: str, field: str) -> str:
    return html.split(f'id="field-{field}"', 1)[1].split('<div class="field', 1)[0]


@pytest.mark.parametrize("how", [MISSING, ""], ids=["missing", "empty"])
def test_a_daily_sign_up_needs_no_weekday(
    client: Client, django_capture_on_commit_callbacks: Callable[..., Any], how: object
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/subscribe/", _without_weekday(how, frequency="daily"))

    assert response.status_code == 302 and response["Location"] == "/subscribe/check-your-inbox/"
    subscriber = Subscriber.objects.get()
    assert subscriber.frequency == "daily" and subscriber.weekday == Subscriber.Weekday.MONDAY
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["ada@example.org"]


@pytest.mark.parametrize("how", [MISSING, ""], ids=["missing", "empty"])
def test_a_weekly_sign_up_without_a_weekday_gets_a_message_next_to_the_field(client: Client, how: object) -> None:
    response = client.post("/subscribe/", _without_weekday(how, frequency="weekly"))

    assert response.status_code == 400
    block = _field_block(response.content.decode(), "weekday")
    assert 'class="errors"' in block and "day of the week" in block
    assert Subscriber.objects.count() == 0 and SignupRequest.objects.count() == 0 and not mail.outbox


def test_a_weekly_sign_up_keeps_the_weekday_it_was_given(
    client: Client, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/subscribe/", form_data(frequency="weekly", weekday="6"))

    assert Subscriber.objects.values_list("frequency", "weekday").get() == ("weekly", 6)


def test_posts_without_a_weekday_do_not_use_up_the_address_limit(
    django_capture_on_commit_callbacks: Callable[..., Any], settings: Any
) -> None:
    """Before, each post without a weekday was a 500 that still counted: the valid one after it was dropped."""
    client = Client(raise_request_exception=False)  # as production answers: a status, not a traceback
    statuses = {
        client.post("/subscribe/", _without_weekday("", frequency="weekly")).status_code
        for _ in range(settings.PAPERBOY_CONFIRMATIONS_PER_ADDRESS + 2)
    }

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/subscribe/", form_data(frequency="weekly", weekday="2"))

    assert statuses == {400} and response.status_code == 302
    assert [m.to for m in mail.outbox] == [["ada@example.org"]]
    assert Subscriber.objects.values_list("weekday", flat=True).get() == 2


def test_invalid_posts_do_not_use_up_the_network_limit(
    client: Client, django_capture_on_commit_callbacks: Callable[..., Any], settings: Any
) -> None:
    settings.PAPERBOY_SUBSCRIBES_PER_IP = 3
    for n in range(5):
        assert client.post("/subscribe/", form_data(email=f"typo{n}@")).status_code == 400

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/subscribe/", form_data(email="fixed@example.org"))

    assert response.status_code == 302
    assert [m.to for m in mail.outbox] == [["fixed@example.org"]]


@pytest.mark.parametrize("how", [MISSING, ""], ids=["missing", "empty"])
def test_the_manage_form_saves_a_daily_schedule_without_a_weekday(
    client: Client, active_subscriber: Subscriber, how: object
) -> None:
    data = {**_without_weekday(how, frequency="daily", interests="protein folding"), "action": "save"}

    response = client.post(path_of(manage_url(active_subscriber)), data)

    assert response.status_code == 302
    active_subscriber.refresh_from_db()
    assert active_subscriber.interests == ["protein folding"] and active_subscriber.frequency == "daily"


@pytest.mark.parametrize("how", [MISSING, ""], ids=["missing", "empty"])
def test_the_manage_form_asks_for_the_day_of_a_weekly_digest(
    client: Client, active_subscriber: Subscriber, how: object
) -> None:
    data = {**_without_weekday(how, frequency="weekly", interests="protein folding"), "action": "save"}

    response = client.post(path_of(manage_url(active_subscriber)), data)

    assert response.status_code == 400
    assert "day of the week" in _field_block(response.content.decode(), "weekday")
    active_subscriber.refresh_from_db()
    assert active_subscriber.interests == ["diffusion models"] and active_subscriber.frequency == "daily"


@pytest.mark.parametrize(
    "fields",
    [{"weekday": ""}, {"weekday": None}, {"weekday": 7}, {"frequency": "hourly"}, {"send_hour": 24}],
)
def test_preferences_the_columns_cannot_hold_are_refused_when_made(fields: dict[str, Any]) -> None:
    from newsletter.services.subscriptions import Preferences

    with pytest.raises(ValueError, match=next(iter(fields))):
        Preferences(interests=("rlhf",), **fields)
