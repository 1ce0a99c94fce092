"""Fixtures for the admin tests: an editor (staff, in the Editors group, not a superuser) and their client."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.contrib.auth.models import Group, User
from django.test import Client

_editors_migration = importlib.import_module("newsletter.migrations.0002_editors_group")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "volume: admin pages over 100,000 subscribers and 50,000 papers")


def editors_group_ensure() -> Group:
    """The group the data migration made (made again, by the migration's own code, after a flush)."""
    if not Group.objects.filter(name=_editors_migration.GROUP).exists():
        _editors_migration.editors_group_create(django_apps, None)
    return Group.objects.get(name=_editors_migration.GROUP)


@pytest.fixture
def editors_group(db: None) -> Group:
    return editors_group_ensure()


@pytest.fixture
def editor(editors_group: Group) -> User:
    user = User.objects.create_user("ed", email="ed@paperboy.example", password="editor-password-1", is_staff=True)
    user.groups.add(editors_group)
    return user


@pytest.fixture
def editor_client(editor: User) -> Client:
    client = Client()
    client.force_login(editor)
    return client


def messages_of(response: Any) -> list[str]:
    """The admin messages a (followed) response carries."""
    return [str(message) for message in response.context["messages"]] if response.context else []
