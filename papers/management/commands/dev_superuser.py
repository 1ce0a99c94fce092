"""`manage.py dev_superuser`: create the local admin once, with a generated password shown only then."""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

USERNAME = "admin"


class Command(BaseCommand):
    help = "Create a development superuser once and print how to log in to /admin/."

    def handle(self, *args: Any, **options: Any) -> None:
        users = get_user_model()
        admin_url = f"{settings.SITE_URL}/admin/"  # `make run PORT=...` sets the site's address
        if users.objects.filter(username=USERNAME).exists():
            self.stdout.write(
                f"Admin: {admin_url} as '{USERNAME}' (password shown when it was created; "
                f"reset it with: .venv/bin/python manage.py changepassword {USERNAME})"
            )
            return
        password = secrets.token_urlsafe(12)
        users.objects.create_superuser(username=USERNAME, email="admin@paperboy.localhost", password=password)
        self.stdout.write(self.style.SUCCESS("Created the development superuser (this password is shown once):"))
        self.stdout.write(f"  {admin_url}  user: {USERNAME}  password: {password}")
