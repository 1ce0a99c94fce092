"""What papers announces to the apps downstream of it; papers itself imports none of them.

The newsletter connects to `papers_added` (newsletter.apps) to prepare today's edition: papers knows nothing
of who listens.
"""

from __future__ import annotations

from django.dispatch import Signal

# Sent by the dumps scan when it created papers, inside the scan's task, before any transaction commits:
# receivers queue their work with delay_on_commit. No arguments.
papers_added = Signal()
