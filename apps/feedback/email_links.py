"""One-click rating links in emails (``feedback_source="email"``).

An approval email carries, per action, "rate the result" links (+1 / 0 / −1). A link is
signed like the approval links: over the rated action and the recipient, with this
organisation's schema in the salt, so it is void in any other organisation and for anyone
else. The link names the action, not its outcome: when the email goes out the action is
still pending, and the link works once it has been carried out and its outcome recorded.

Opening a link (GET) only shows a confirmation page with the rating preselected (mail
scanners follow links); submitting it (POST) rates through ``feedback_rate`` as the
recipient, so a second click updates the same entry.
"""

from __future__ import annotations

from datetime import timedelta

from django.core import signing
from django.db import connection
from django.urls import reverse

LINK_MAX_AGE = timedelta(days=31)
TARGETS = ("action",)  # what a link may rate; the action's outcome once it exists
RATINGS = (1, 0, -1)


class LinkInvalid(Exception):
    """Not signed by us for this organisation, or altered (404)."""


class LinkStale(Exception):
    """Older than ``LINK_MAX_AGE`` (410)."""


def _salt() -> str:
    # The schema in the salt: a link signed for one organisation is invalid in any other.
    return f"feedback.email-rating:{connection.schema_name}"


def rating_token(target: str, pk: int, user_id: int) -> str:
    if target not in TARGETS:
        raise ValueError(f"Cannot rate a {target} by email.")
    return signing.dumps({"t": target, "o": pk, "u": user_id}, salt=_salt(), compress=True)


def read_rating_token(token: str) -> tuple[str, int, int]:
    """(target, object id, user id) of a link, or ``LinkInvalid`` / ``LinkStale``."""
    try:
        data = signing.loads(token, salt=_salt(), max_age=LINK_MAX_AGE)
    except signing.SignatureExpired as expired:
        raise LinkStale from expired
    except signing.BadSignature as bad:
        raise LinkInvalid from bad
    if not isinstance(data, dict) or data.get("t") not in TARGETS:
        raise LinkInvalid
    try:
        return data["t"], int(data["o"]), int(data["u"])
    except (KeyError, TypeError, ValueError) as bad:
        raise LinkInvalid from bad


def rating_links(target: str, pk: int, user_id: int, *, base: str) -> list[dict]:
    """The +1 / 0 / −1 links of one object for one recipient (one token, the rating preset)."""
    url = base + reverse("feedback:email-rate", args=[rating_token(target, pk, user_id)])
    labels = {1: "+1 good", 0: "0 neutral", -1: "−1 poor"}
    return [{"rating": r, "label": labels[r], "url": f"{url}?rating={r}"} for r in RATINGS]
