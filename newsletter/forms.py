"""The subscribe form and the preferences form. Validation only; the views call one service each."""

from __future__ import annotations

from functools import cache
from typing import Any
from zoneinfo import available_timezones

from django import forms
from django.core.exceptions import ValidationError

from newsletter.addresses import AddressError, email_checked
from newsletter.matching.interests import MAX_INTEREST_LENGTH, MAX_INTERESTS, InterestError, parse_interests
from newsletter.matching.labels import interest_labels, interests_as_typed
from newsletter.models import Subscriber
from newsletter.services.subscriptions import Preferences

# The wording shown next to the button; stored with each subscription as the consent given.
CONSENT_TEXT = (
    "By subscribing you agree that Paperboy emails you a confirmation link now and, once you confirm, a digest "
    "of new papers matching your interests at the schedule you chose. Every email has a one-click unsubscribe "
    "link, and you can change, export or delete your data at any time."
)
HOURS = [(h, f"{h:02d}:00") for h in range(24)]
MAX_INTERESTS_FIELD_LENGTH = (MAX_INTEREST_LENGTH + 2) * MAX_INTERESTS


@cache
def timezone_choices() -> list[tuple[str, str]]:
    return [(name, name.replace("_", " ")) for name in sorted(available_timezones()) if "/" in name or name == "UTC"]


class PreferencesForm(forms.Form):
    interests = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": 'in-context learning\nRLHF\n"exact phrase" -survey'}),
        max_length=MAX_INTERESTS_FIELD_LENGTH,
        help_text=(
            f'One per line or comma separated (up to {MAX_INTERESTS}). "Quotes" for an exact phrase, '
            "-word to leave out papers that mention it."
        ),
    )
    frequency = forms.ChoiceField(choices=Subscriber.Frequency.choices, initial=Subscriber.Frequency.DAILY)
    weekday = forms.TypedChoiceField(
        choices=Subscriber.Weekday.choices,
        coerce=int,
        empty_value=None,  # missing or blank: fine for a daily digest, asked for by clean() for a weekly one
        initial=Subscriber.Weekday.MONDAY,
        required=False,
        help_text="For the weekly digest.",
    )
    send_hour = forms.TypedChoiceField(choices=HOURS, coerce=int, initial=7, label="Delivery time")
    timezone = forms.ChoiceField(choices=timezone_choices, initial="UTC", label="Time zone")

    def clean_interests(self) -> tuple[str, ...]:
        raw = self.cleaned_data["interests"]
        if "\r" in raw:
            raw = raw.replace("\r\n", "\n").replace("\r", "\n")
        try:
            interests = parse_interests(raw)
        except InterestError as exc:
            raise ValidationError(list(exc.errors)) from exc
        if not interests:
            raise ValidationError("Add at least one interest, such as a topic, a method or an acronym.")
        self.interest_labels = interest_labels(raw)  # the reader's spelling, shown back to them
        return tuple(dict.fromkeys(i.text for i in interests))  # de-duplicated, order kept

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("frequency") == Subscriber.Frequency.WEEKLY and data.get("weekday") is None:
            self.add_error("weekday", "Choose the day of the week for your weekly digest.")
        return data

    def preferences(self) -> Preferences:
        data = self.cleaned_data
        return Preferences(
            interests=data["interests"],
            frequency=data["frequency"],
            # A daily digest has no weekday; the stored one is then only the default for a later weekly choice.
            weekday=data["weekday"] if data.get("weekday") is not None else Subscriber.Weekday.MONDAY,
            send_hour=data["send_hour"],
            timezone=data["timezone"],
            interest_labels=getattr(self, "interest_labels", {}),
        )

    @classmethod
    def initial_for(cls, subscriber: Subscriber) -> dict[str, Any]:
        return {
            "interests": "\n".join(interests_as_typed(subscriber.interests, subscriber.interest_labels)),
            "frequency": subscriber.frequency,
            "weekday": subscriber.weekday,
            "send_hour": subscriber.send_hour,
            "timezone": subscriber.timezone,
        }


class SubscribeForm(PreferencesForm):
    email = forms.EmailField(max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    # Honeypot: hidden from people by CSS, filled in by bots. A filled one is accepted and ignored.
    website = forms.CharField(required=False, label="Leave this field empty", max_length=200)

    field_order = ("email", "interests", "frequency", "weekday", "send_hour", "timezone", "website")

    def clean_email(self) -> str:
        # One form per mailbox (see newsletter/addresses.py): full-width and upper-case variants are the
        # same address; a look-alike domain mixing alphabets is refused here, next to the field.
        try:
            return email_checked(self.cleaned_data["email"])
        except AddressError as exc:
            raise ValidationError(str(exc)) from exc

    @property
    def is_bot(self) -> bool:
        return bool(self.cleaned_data.get("website"))
