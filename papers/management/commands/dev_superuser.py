"""`manage.py dev_superuser`: create the local admin once, with a generated password shown only then."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

USERNAME = "admin"


class Command(BaseCommand):
    help = "Create a development superuser once and print how to log in to /admin/."

    def handle(self, *args: Any, **options: Any) -> None:
        users = get_user_model()
        if users.objects.filter(username=USERNAME).exists():
            self.stdout.write(
                f"Admin: http://127.0.0.1:8000/admin/ as '{USERNAME}' (password shown when it was created; "
                f"reset it with: .venv/bin/python manage.py changepassword {USERNAME})"
            )
            return
        password = secrets.token_urlsafe(12)
        users.objects.create_superuser(username=USERNAME, email="admin@paperboy.localhost", password=password)
        self.stdout.write(self.style.SUCCESS("Created the development superuser (this password is shown once):"))
        self.stdout.write(f"  http://127.0.0.1:8000/admin/  user: {USERNAME}  password: {password}")
