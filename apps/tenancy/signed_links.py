"""Links in emails that act for one person in one organisation (decide, rate).

One mechanism for every such link: the payload is signed with the organisation's schema
in the salt, so a link signed for one organisation means nothing in another, and it lives
``LINK_MAX_AGE``. Reading a link raises ``LinkInvalid`` (not ours, altered: 404) or
``LinkStale`` (too old: 410); each caller checks the payload's own fields.
"""

from __future__ import annotations

from datetime import timedelta

from django.core import signing
from django.db import connection

LINK_MAX_AGE = timedelta(days=31)


class LinkInvalid(Exception):
    """Not signed by us for this organisation, or altered (404)."""


class LinkStale(Exception):
    """Older than ``LINK_MAX_AGE``, or what it points at is gone (410)."""


def _salt(purpose: str) -> str:
    return f"{purpose}:{connection.schema_name}"


def link_sign(purpose: str, payload: dict) -> str:
    return signing.dumps(payload, salt=_salt(purpose), compress=True)


def link_read(purpose: str, token: str) -> dict:
    """The payload ``link_sign`` signed for ``purpose`` in this organisation."""
    try:
        data = signing.loads(token, salt=_salt(purpose), max_age=LINK_MAX_AGE)
    except signing.SignatureExpired as expired:
        raise LinkStale from expired
    except signing.BadSignature as bad:
        raise LinkInvalid from bad
    if not isinstance(data, dict):
        raise LinkInvalid
    return data
