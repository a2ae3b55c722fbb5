"""Demo insights: detection over the demo interactions plus a hand-made set of every type
and severity, some already acted on or dismissed and rated, so every page has data."""

from __future__ import annotations

from datetime import timedelta

from apps.crm.models import Account
from apps.insights.models import Insight
from apps.insights.services import (
    alert_feedback_record,
    insight_act,
    insight_create,
    insight_dismiss,
    insights_detect,
)

# (key, account number, pattern, signal, severity, confidence, hours ago, title, evidence)
HAND_MADE = [
    (
        "demo-ins-1",
        3,
        "risk_indicator",
        "champion_silent",
        "critical",
        0.88,
        2,
        "Champion Dana Kim (VP Sales) silent for 26 days",
        {"contact": "Dana Kim", "silent_days": 26},
    ),
    (
        "demo-ins-2",
        1,
        "buying_signal",
        "buying_interest",
        "high",
        0.81,
        5,
        "Buying signals: 3 inbound pricing/demo/contract requests, 4 contacts engaging in 7 days",
        {"requests": 3, "stakeholders": 4, "examples": ["Asked for pricing for 200 seats"]},
    ),
    (
        "demo-ins-3",
        9,
        "buying_signal",
        "buying_interest",
        "critical",
        0.93,
        1,
        "Buying signals: contract redlines and a procurement contact in 3 days",
        {"requests": 4, "stakeholders": 3, "examples": ["Wanted a contract template"]},
    ),
    (
        "demo-ins-4",
        5,
        "engagement_change",
        "engagement_down",
        "medium",
        0.62,
        20,
        "Engagement down 64%: 2 interactions in the last 14 days, 12 in the 30 before",
        {"recent_14_days": 2, "previous_30_days": 12, "change_pct": -64.3},
    ),
    (
        "demo-ins-5",
        7,
        "engagement_change",
        "engagement_up",
        "low",
        0.55,
        30,
        "Engagement up 85%: 8 interactions in the last 14 days, 9 in the 30 before",
        {"recent_14_days": 8, "previous_30_days": 9, "change_pct": 85.7},
    ),
    (
        "demo-ins-6",
        11,
        "risk_indicator",
        "deal_stalled",
        "medium",
        0.66,
        8,
        "Deal stuck in proposal for 41 days (median 17)",
        {"stage": "proposal", "days_in_stage": 41, "median_days": 17},
    ),
    (
        "demo-ins-7",
        None,
        "cross_account_pattern",
        "negative_sentiment_streak",
        "high",
        0.74,
        3,
        "Negative sentiment streak on 3 software accounts in 7 days",
        {"industry": "software", "accounts": ["Lumen Media", "Nimbus Cloud", "Quartz Analytics"]},
    ),
    (
        "demo-ins-8",
        13,
        "risk_indicator",
        "negative_sentiment_streak",
        "high",
        0.79,
        40,
        "3 negative interactions in a row (mean sentiment -0.52)",
        {"mean_sentiment": -0.52},
    ),
    (
        "demo-ins-9",
        15,
        "buying_signal",
        "buying_interest",
        "medium",
        0.58,
        44,
        "Buying signals: 2 inbound pricing/demo requests in 7 days",
        {"requests": 2},
    ),
]
# What the demo manager already did: key -> ("act" | reason, useful?, comment)
DECISIONS = {
    "demo-ins-8": ("act", True, "Escalated to the account's exec sponsor."),
    "demo-ins-9": ("not_relevant", False, "Student asking for pricing, not a buyer."),
}


def planned_steps(ctx) -> int:
    return len(HAND_MADE) + 1


def seed(ctx) -> None:
    manager = ctx.users.get("maria")
    existing = set(
        Insight.objects.filter(evidence__has_key="demo").values_list("evidence__demo", flat=True)
    )
    accounts = {
        account.external_id: account
        for account in Account.objects.filter(external_id__startswith="demo-acc-")
    }
    for key, number, pattern, signal, severity, confidence, hours, title, evidence in HAND_MADE:
        account = accounts.get(f"demo-acc-{number}") if number else None
        if key in existing or (number and account is None):
            ctx.step()
            continue
        insight, created = insight_create(
            account=account,
            industry="" if account else evidence.get("industry", "software"),
            pattern_type=pattern,
            signal=signal,
            title=title,
            confidence=confidence,
            severity=severity,
            evidence={**evidence, "demo": key},
            detected_at=ctx.now - timedelta(hours=hours),
        )
        if created and manager is not None and key in DECISIONS:
            decision, useful, comment = DECISIONS[key]
            if decision == "act":
                insight_act(insight=insight, user=manager, note=comment)
            else:
                insight_dismiss(insight=insight, user=manager, reason=decision, note=comment)
            alert_feedback_record(insight=insight, user=manager, useful=useful, comment=comment)
        elif created and manager is not None and severity in ("critical", "high"):
            alert_feedback_record(insight=insight, user=manager, useful=True)
        ctx.step()
    insights_detect(now=ctx.now)
    ctx.step()
