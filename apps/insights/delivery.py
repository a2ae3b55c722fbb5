"""Adapter to the organisation's chat webhook for critical insights.

The outbound-URL validator and ``post_json`` live in ``apps/tenancy/outbound.py`` and the
organisation's chat-webhook setting is added next to them (another branch, merged by the
lead). These three functions are the only place insights touch them: wire
``chat_webhook_url`` to that setting and ``chat_post`` to ``post_json`` at merge. Until
then no chat message leaves: nothing is ever posted to a URL that was not validated.
"""

from __future__ import annotations

import logging

from django.db import connection

from apps.insights.models import Insight

logger = logging.getLogger(__name__)


def chat_webhook_url() -> str:
    """The organisation's chat webhook URL, or "" when none is set."""
    tenant = getattr(connection, "tenant", None)
    return str(getattr(tenant, "chat_webhook_url", "") or "")


def chat_payload(insight: Insight, site: str) -> dict:
    """A Slack/Teams-compatible message (``text``) with the insight's facts alongside."""
    link = f"{site}/insights/{insight.pk}/" if site else ""
    text = f"*{insight.get_severity_display()}* · {insight.subject}: {insight.title}"
    return {
        "text": f"{text}\n{link}".strip(),
        "insight": {
            "id": insight.pk,
            "severity": insight.severity,
            "pattern_type": insight.pattern_type,
            "signal": insight.signal,
            "title": insight.title,
            "subject": insight.subject,
            "url": link,
        },
    }


def chat_post(url: str, payload: dict) -> int:
    """POST ``payload`` through the shared outbound module; 1 when it was sent, else 0."""
    try:
        from apps.tenancy.outbound import post_json  # the approvals branch provides it
    except ImportError:
        logger.warning("chat webhook set but apps.tenancy.outbound is missing: not sent")
        return 0
    try:
        post_json(url, payload)
    except Exception:  # noqa: BLE001 - a chat outage must not break detection
        logger.warning("chat webhook delivery failed", exc_info=True)
        return 0
    return 1
