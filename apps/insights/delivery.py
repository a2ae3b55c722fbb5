"""Critical insights to the organisation's chat webhook (Slack-compatible JSON).

The webhook is the one the organisation set for approvals (``ApprovalSettings``), checked
when saved and again at send time by ``apps.tenancy.outbound``: nothing is posted to a
URL that is not public.
"""

from __future__ import annotations

import json
import logging

from apps.approvals.selectors import approval_settings_get
from apps.insights.models import Insight
from apps.tenancy.outbound import OutboundRefused, post_json

logger = logging.getLogger(__name__)


def chat_webhook_url() -> str:
    """The organisation's chat webhook URL, or "" when none is set."""
    return approval_settings_get().chat_webhook_url or ""


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
    """POST ``payload`` to the chat webhook; 1 when it was accepted, else 0.

    Best effort: a chat outage or a refused URL must not break detection (the email and
    the inbox still reach people); the refusal is logged without the target's answer.
    """
    try:
        answer = post_json(url, json.dumps(payload).encode(), {"User-Agent": "LearningLoop/1"})
    except (OutboundRefused, OSError) as failure:
        logger.warning("chat webhook not reached: %s", failure)
        return 0
    return 1 if answer.ok else 0
