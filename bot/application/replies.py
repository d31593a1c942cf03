"""A command's response URL, used only while Slack surely takes it.

Slack takes 5 answers through a response URL within 30 minutes of the command
(https://api.slack.com/interactivity/handling#message_responses), and answers later ones
`expired_url` or `used_url`. Long work (a first scan of 20,000 findings posts for half an hour)
answers by DM instead once its URL is 25 minutes old or has had its 5 answers: each answer
through a URL is counted here.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

RESPONSE_URL_USES = 5
# Slack's 30 minutes, less the time an answer may take to get there (a slow Slack, retries).
RESPONSE_URL_AGE = timedelta(minutes=25)


class ResponseUrls:
    """The answers sent through each response URL (this process's, and those said before)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._uses: dict[str, tuple[datetime, int]] = {}

    def take(self, url: str, issued_at: datetime, now: datetime, used_before: int = 0) -> bool:
        """Whether `url` (handed out at `issued_at`, and used `used_before` times elsewhere)
        may take one more answer now; if so, that answer is counted."""
        with self._lock:
            for known, (issued, _uses) in list(self._uses.items()):
                if now - issued >= RESPONSE_URL_AGE:  # done with: Slack no longer takes it
                    del self._uses[known]
            if now - issued_at >= RESPONSE_URL_AGE:
                return False
            _issued, uses = self._uses.get(url, (issued_at, used_before))
            if uses >= RESPONSE_URL_USES:
                return False
            self._uses[url] = (issued_at, uses + 1)
            return True
