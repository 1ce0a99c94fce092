"""The editors' admin for the newsletter: editions, subscribers, the ledger, interests and the dashboard.

A package by sub-domain (the house rule on module size); importing it registers everything.
"""

from __future__ import annotations

from django.contrib import admin

from newsletter.admin import dashboard, editions, feedback, ledger, login, papers, subscribers, uploads

__all__ = ["dashboard", "editions", "feedback", "ledger", "login", "papers", "subscribers", "uploads"]

dashboard.install(admin.site)
login.install(admin.site)
papers.install(admin.site)
uploads.install(admin.site)
