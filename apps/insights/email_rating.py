"""Digest emails rate insights: "useful / not useful" links (``apps.feedback.email_links``).

An insight links no agent output, so what a manager can rate from the digest is the
insight itself, on the scale insight feedback already has (``alert_feedback_record``).
"""

from __future__ import annotations

from django.db.models import OuterRef, Subquery
from django.urls import reverse

from apps.feedback.email_links import RatingTarget, register
from apps.insights.models import AlertFeedback
from apps.insights.selectors import insights_visible_to
from apps.insights.services import alert_feedback_record


def _find(pk: int, user):
    mine = AlertFeedback.objects.filter(insight=OuterRef("pk"), user=user).values("useful")[:1]
    return insights_visible_to(user).annotate(my_useful=Subquery(mine)).filter(pk=pk).first()


def _save(insight, user, value: str) -> bool:
    created = insight.my_useful is None
    alert_feedback_record(insight=insight, user=user, useful=value == "yes")
    return created


register(
    "insight",
    RatingTarget(
        capability="insights.feedback",
        choices=(("yes", "Useful"), ("no", "Not useful")),
        find=_find,
        current=lambda insight: (
            None if insight.my_useful is None else ("yes" if insight.my_useful else "no")
        ),
        save=_save,
        describe=lambda insight: {
            "heading": f"Was this insight useful? {insight.title}",
            "body_title": f"{insight.get_severity_display()} · {insight.subject}",
            "body": insight.title,
            "url": reverse("insights:detail", args=[insight.pk]),
        },
        missing=("This insight is gone", "Open the insight inbox to see what is current."),
    ),
)
