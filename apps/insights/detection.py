"""Pattern detectors: one set-based SQL query each, returning candidate insights.

Each detector reads the CRM signals of the current organisation's schema and returns
``Candidate`` rows (one per account, or per industry for cross-account patterns). They do
not write; ``services.insights_detect`` dedupes, suppresses and stores them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from django.db import connection

from apps.crm.models import (
    Account,
    Channel,
    Deal,
    DealStage,
    DealStageChange,
    Direction,
    Interaction,
)
from apps.insights.models import (
    DismissReason,
    Insight,
    InsightSettings,
    InsightStatus,
    PatternType,
    Severity,
)

# The tables the detectors read, named by the models so a rename cannot break a statement;
# ``_rows`` puts them in for ``{interactions}`` etc.
_TABLES = {
    "interactions": Interaction._meta.db_table,
    "deals": Deal._meta.db_table,
    "stage_changes": DealStageChange._meta.db_table,
    "accounts": Account._meta.db_table,
    "insights": Insight._meta.db_table,
}

# The enum values the statements compare with, passed by ``_rows`` as parameters.
_VALUES = {
    "inbound": Direction.INBOUND.value,
    "crm_channel": Channel.CRM.value,
    "closed_won": DealStage.CLOSED_WON.value,
    "closed_lost": DealStage.CLOSED_LOST.value,
    "cross_account_pattern": PatternType.CROSS_ACCOUNT_PATTERN.value,
    "dismissed": InsightStatus.DISMISSED.value,
    "false_positive": DismissReason.FALSE_POSITIVE.value,
}

# Words in an inbound message that show buying intent. PostgreSQL regex, \m = word start.
BUYING_KEYWORDS = (
    r"\m(pricing|price|prices|quote|quotation|demo|contract|procurement|proposal|"
    r"trial|purchase|order form|seats|licen[cs]es?)"
)

SIGNAL_LABELS: dict[str, str] = {
    "buying_interest": "Buying interest",
    "negative_sentiment_streak": "Negative sentiment streak",
    "deal_stalled": "Deal stalled",
    "champion_silent": "Champion gone silent",
    "engagement_up": "Engagement up",
    "engagement_down": "Engagement down",
    "deal_inactive": "Deal without activity",
    "close_date_passed": "Close date passed",
    "single_threaded": "Single-threaded deal",
}


@dataclass
class Candidate:
    pattern_type: str
    signal: str
    title: str
    confidence: float
    severity: str
    evidence: dict = field(default_factory=dict)
    account_id: int | None = None
    industry: str = ""

    def insight(self, detected_at: datetime) -> Insight:
        """The insight to store for this candidate (its title cut to the column's length)."""
        return Insight(**asdict(self) | {"title": self.title[:200]}, detected_at=detected_at)


def _rows(sql: str, params: dict) -> list[dict]:
    """The rows of ``sql`` as dicts. Its ``{interactions}``-style table names are filled in
    (so a literal brace must be doubled); ``params`` come on top of the enum values."""
    with connection.cursor() as cursor:
        cursor.execute(sql.format(**_TABLES), {**_VALUES, **params})
        columns = [column.name for column in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def _clamp(value: float, low: float = 0.05, high: float = 0.97) -> float:
    return round(max(low, min(high, value)), 2)


def _account_risk(
    row: dict, signal: str, title: str, confidence: float, severity: str, evidence: dict
) -> Candidate:
    """A risk on the account of ``row``."""
    return Candidate(
        pattern_type=PatternType.RISK_INDICATOR,
        signal=signal,
        account_id=row["account_id"],
        title=title,
        confidence=confidence,
        severity=severity,
        evidence=evidence,
    )


def _deal_risk(
    row: dict, signal: str, problem: str, confidence: float, severity: str, **evidence
) -> Candidate:
    """A risk on one open deal: its title names the deal, then the problem; the deal's id,
    name, stage and amount lead the evidence."""
    return _account_risk(
        row,
        signal,
        title=f"Deal “{row['name']}” {problem}",
        confidence=confidence,
        severity=severity,
        evidence={
            "deal_id": row["id"],
            "deal": row["name"],
            "stage": row["stage"],
            "amount": str(row["amount"]),
            **evidence,
        },
    )


def detect_buying_signals(settings: InsightSettings, now: datetime) -> list[Candidate]:
    """Inbound pricing / demo / contract requests, or several contacts writing in, lately."""
    rows = _rows(
        """
        SELECT account_id,
               count(*) FILTER (WHERE summary ~* %(kw)s OR key_points::text ~* %(kw)s) AS hits,
               count(DISTINCT NULLIF(contact_name, '')) AS stakeholders,
               array_agg(id ORDER BY occurred_at)
                   FILTER (WHERE summary ~* %(kw)s OR key_points::text ~* %(kw)s) AS hit_ids,
               array_agg(DISTINCT contact_name) FILTER (WHERE contact_name <> '') AS contacts,
               array_agg(summary ORDER BY occurred_at)
                   FILTER (WHERE summary ~* %(kw)s OR key_points::text ~* %(kw)s) AS summaries
        FROM {interactions}
        WHERE direction = %(inbound)s AND channel <> %(crm_channel)s
          AND occurred_at > %(since)s AND occurred_at <= %(now)s
        GROUP BY account_id
        HAVING count(*) FILTER (WHERE summary ~* %(kw)s OR key_points::text ~* %(kw)s)
                   >= %(min_signals)s
            OR count(DISTINCT NULLIF(contact_name, '')) >= %(min_stakeholders)s
        """,
        {
            "kw": BUYING_KEYWORDS,
            "since": now - timedelta(days=settings.buying_window_days),
            "now": now,
            "min_signals": settings.buying_min_signals,
            "min_stakeholders": settings.buying_min_stakeholders,
        },
    )
    candidates = []
    for row in rows:
        hits, stakeholders = row["hits"], row["stakeholders"]
        strong_hits = hits >= settings.buying_min_signals + 1
        many_people = stakeholders >= settings.buying_min_stakeholders
        if strong_hits and many_people:
            severity = Severity.CRITICAL
        elif strong_hits or many_people:
            severity = Severity.HIGH
        else:
            severity = Severity.MEDIUM
        parts = []
        if hits:
            parts.append(f"{hits} inbound pricing/demo/contract request{'s' if hits != 1 else ''}")
        if stakeholders > 1:
            parts.append(f"{stakeholders} contacts engaging")
        candidates.append(
            Candidate(
                pattern_type=PatternType.BUYING_SIGNAL,
                signal="buying_interest",
                account_id=row["account_id"],
                title=f"Buying signals: {', '.join(parts)} in {settings.buying_window_days} days",
                confidence=_clamp(0.35 + 0.15 * hits + 0.08 * stakeholders),
                severity=severity,
                evidence={
                    "window_days": settings.buying_window_days,
                    "requests": hits,
                    "stakeholders": stakeholders,
                    "contacts": sorted(row["contacts"] or [])[:10],
                    "interaction_ids": (row["hit_ids"] or [])[:20],
                    "examples": (row["summaries"] or [])[:5],
                },
            )
        )
    return candidates


def detect_negative_streaks(settings: InsightSettings, now: datetime) -> list[Candidate]:
    """The account's last N interactions with a sentiment were all negative (last 30 days)."""
    rows = _rows(
        """
        WITH ranked AS (
            SELECT account_id, id, sentiment, summary, occurred_at,
                   row_number() OVER (PARTITION BY account_id
                                      ORDER BY occurred_at DESC, id DESC) AS position
            FROM {interactions}
            WHERE sentiment IS NOT NULL AND occurred_at > %(since)s AND occurred_at <= %(now)s
        )
        SELECT account_id, avg(sentiment) AS mean_sentiment,
               array_agg(id ORDER BY occurred_at) AS ids,
               array_agg(summary ORDER BY occurred_at) AS summaries
        FROM ranked
        WHERE position <= %(length)s
        GROUP BY account_id
        HAVING count(*) = %(length)s AND max(sentiment) < %(below)s
        """,
        {
            "since": now - timedelta(days=30),
            "now": now,
            "length": settings.negative_streak_length,
            "below": settings.negative_sentiment_below,
        },
    )
    candidates = []
    for row in rows:
        mean = float(row["mean_sentiment"])
        severity = (
            Severity.CRITICAL
            if mean <= -0.6
            else Severity.HIGH
            if mean <= -0.4
            else Severity.MEDIUM
        )
        candidates.append(
            _account_risk(
                row,
                "negative_sentiment_streak",
                title=f"{settings.negative_streak_length} negative interactions in a row "
                f"(mean sentiment {mean:+.2f})",
                confidence=_clamp(0.5 + 0.45 * min(1.0, -mean)),
                severity=severity,
                evidence={
                    "streak_length": settings.negative_streak_length,
                    "mean_sentiment": round(mean, 2),
                    "interaction_ids": row["ids"],
                    "examples": row["summaries"][:5],
                },
            )
        )
    return candidates


def detect_stalled_deals(settings: InsightSettings, now: datetime) -> list[Candidate]:
    """An open deal has sat in its stage far longer than the org's median stay there."""
    rows = _rows(
        """
        WITH stays AS (
            SELECT to_stage AS stage,
                   EXTRACT(EPOCH FROM lead(changed_at) OVER (PARTITION BY deal_id
                                                              ORDER BY changed_at, id)
                                      - changed_at) / 86400.0 AS days
            FROM {stage_changes}
        ), medians AS (
            SELECT stage, percentile_cont(0.5) WITHIN GROUP (ORDER BY days) AS median_days,
                   count(*) AS samples
            FROM stays WHERE days IS NOT NULL GROUP BY stage
        ), open_deals AS (
            SELECT d.account_id, d.id, d.name, d.stage, d.amount,
                   EXTRACT(EPOCH FROM %(now)s - d.stage_changed_at) / 86400.0 AS days_in_stage,
                   CASE WHEN m.samples >= 3 THEN GREATEST(m.median_days, 1)
                        ELSE %(default_median)s END AS median_days
            FROM {deals} d LEFT JOIN medians m ON m.stage = d.stage
            WHERE d.stage NOT IN (%(closed_won)s, %(closed_lost)s)
        )
        SELECT DISTINCT ON (account_id) account_id, id, name, stage, amount,
               days_in_stage, median_days, days_in_stage / median_days AS ratio
        FROM open_deals
        WHERE days_in_stage >= %(min_days)s AND days_in_stage > %(factor)s * median_days
        ORDER BY account_id, days_in_stage / median_days DESC
        """,
        {
            "now": now,
            "default_median": float(settings.stall_default_median_days),
            "min_days": settings.stall_min_days,
            "factor": settings.stall_factor,
        },
    )
    candidates = []
    for row in rows:
        ratio = float(row["ratio"])
        days, median = float(row["days_in_stage"]), float(row["median_days"])
        severity = (
            Severity.CRITICAL if ratio >= 4 else Severity.HIGH if ratio >= 3 else Severity.MEDIUM
        )
        candidates.append(
            _deal_risk(
                row,
                "deal_stalled",
                problem=f"stuck in {row['stage']} for {days:.0f} days (median {median:.0f})",
                confidence=_clamp(0.45 + 0.1 * ratio),
                severity=severity,
                days_in_stage=round(days, 1),
                median_days=round(median, 1),
                ratio=round(ratio, 2),
            )
        )
    return candidates


def detect_silent_champions(settings: InsightSettings, now: datetime) -> list[Candidate]:
    """A contact who wrote in often over 90 days has been silent lately; a deal is open."""
    rows = _rows(
        """
        SELECT DISTINCT ON (i.account_id)
               i.account_id, i.contact_name, max(i.contact_title) AS contact_title,
               count(*) AS messages, max(i.occurred_at) AS last_seen
        FROM {interactions} i
        WHERE i.direction = %(inbound)s AND i.contact_name <> ''
          AND i.occurred_at > %(since)s AND i.occurred_at <= %(now)s
          AND EXISTS (SELECT 1 FROM {deals} d WHERE d.account_id = i.account_id
                      AND d.stage NOT IN (%(closed_won)s, %(closed_lost)s))
        GROUP BY i.account_id, i.contact_name
        HAVING count(*) >= %(min_messages)s AND max(i.occurred_at) < %(silent_since)s
        ORDER BY i.account_id, count(*) DESC, max(i.occurred_at) DESC
        """,
        {
            "since": now - timedelta(days=90),
            "now": now,
            "min_messages": settings.champion_min_interactions,
            "silent_since": now - timedelta(days=settings.champion_silent_days),
        },
    )
    candidates = []
    for row in rows:
        silent_days = (now - row["last_seen"]).days
        who = row["contact_name"] + (f" ({row['contact_title']})" if row["contact_title"] else "")
        candidates.append(
            _account_risk(
                row,
                "champion_silent",
                title=f"Champion {who} silent for {silent_days} days",
                confidence=_clamp(0.5 + 0.05 * row["messages"]),
                severity=Severity.HIGH,
                evidence={
                    "contact": row["contact_name"],
                    "title": row["contact_title"],
                    "messages_90_days": row["messages"],
                    "last_seen": row["last_seen"].isoformat(),
                    "silent_days": silent_days,
                },
            )
        )
    return candidates


def detect_engagement_changes(settings: InsightSettings, now: datetime) -> list[Candidate]:
    """Interactions per day over the last 14 days vs the 30 days before, beyond a threshold."""
    rows = _rows(
        """
        WITH counts AS (
            SELECT account_id,
                   count(*) FILTER (WHERE occurred_at > %(split)s) AS recent,
                   count(*) FILTER (WHERE occurred_at <= %(split)s) AS baseline
            FROM {interactions}
            WHERE channel <> %(crm_channel)s AND occurred_at > %(since)s AND occurred_at <= %(now)s
            GROUP BY account_id
        )
        SELECT account_id, recent, baseline FROM counts
        WHERE GREATEST(recent, baseline) >= %(min_count)s
          AND (baseline = 0
               OR abs(recent / 14.0 - baseline / 30.0) / (baseline / 30.0) >= %(ratio)s)
        """,
        {
            "split": now - timedelta(days=14),
            "since": now - timedelta(days=44),
            "now": now,
            "min_count": settings.engagement_min_interactions,
            "ratio": settings.engagement_change_pct / 100.0,
        },
    )
    candidates = []
    for row in rows:
        recent_rate, baseline_rate = row["recent"] / 14.0, row["baseline"] / 30.0
        change = None if baseline_rate == 0 else (recent_rate - baseline_rate) / baseline_rate
        up = change is None or change > 0
        if up:
            severity = Severity.MEDIUM if change is None or change >= 1 else Severity.LOW
            label = "New engagement" if change is None else f"Engagement up {change * 100:.0f}%"
        else:
            severity = Severity.HIGH if change <= -0.75 else Severity.MEDIUM
            label = f"Engagement down {-change * 100:.0f}%"
        candidates.append(
            Candidate(
                pattern_type=PatternType.ENGAGEMENT_CHANGE,
                signal="engagement_up" if up else "engagement_down",
                account_id=row["account_id"],
                title=f"{label}: {row['recent']} interactions in the last 14 days, "
                f"{row['baseline']} in the 30 before",
                confidence=_clamp(0.45 + 0.05 * min(row["recent"] + row["baseline"], 9)),
                severity=severity,
                evidence={
                    "recent_14_days": row["recent"],
                    "previous_30_days": row["baseline"],
                    "recent_per_day": round(recent_rate, 3),
                    "previous_per_day": round(baseline_rate, 3),
                    "change_pct": None if change is None else round(change * 100, 1),
                },
            )
        )
    return candidates


def detect_cross_account_patterns(settings: InsightSettings, now: datetime) -> list[Candidate]:
    """The same signal on at least N accounts of one industry within the window."""
    rows = _rows(
        """
        SELECT a.industry, i.pattern_type, i.signal,
               count(DISTINCT i.account_id) AS accounts,
               array_agg(DISTINCT a.name) AS names,
               array_agg(DISTINCT i.account_id) AS account_ids,
               array_agg(i.id ORDER BY i.id) AS insight_ids,
               avg(i.confidence) AS mean_confidence
        FROM {insights} i JOIN {accounts} a ON a.id = i.account_id
        WHERE i.pattern_type <> %(cross_account_pattern)s AND a.industry <> ''
          AND i.detected_at > %(since)s AND i.detected_at <= %(now)s
          AND NOT (i.status = %(dismissed)s AND i.dismiss_reason = %(false_positive)s)
        GROUP BY a.industry, i.pattern_type, i.signal
        HAVING count(DISTINCT i.account_id) >= %(min_accounts)s
        """,
        {
            "since": now - timedelta(days=settings.cross_account_window_days),
            "now": now,
            "min_accounts": settings.cross_account_min_accounts,
        },
    )
    candidates = []
    for row in rows:
        count = row["accounts"]
        if row["pattern_type"] == PatternType.RISK_INDICATOR:
            severity = Severity.CRITICAL if count >= 5 else Severity.HIGH
        elif row["pattern_type"] == PatternType.BUYING_SIGNAL:
            severity = Severity.HIGH
        else:
            severity = Severity.MEDIUM
        label = SIGNAL_LABELS.get(row["signal"], row["signal"]).lower()
        candidates.append(
            Candidate(
                pattern_type=PatternType.CROSS_ACCOUNT_PATTERN,
                signal=row["signal"],
                industry=row["industry"],
                title=f"{label.capitalize()} on {count} {row['industry']} accounts "
                f"in {settings.cross_account_window_days} days",
                confidence=_clamp(float(row["mean_confidence"]) + 0.03 * (count - 3)),
                severity=severity,
                evidence={
                    "industry": row["industry"],
                    "source_pattern": row["pattern_type"],
                    "accounts": sorted(row["names"])[:20],
                    "account_ids": sorted(row["account_ids"])[:50],
                    "insight_ids": row["insight_ids"][:50],
                    "window_days": settings.cross_account_window_days,
                },
            )
        )
    return candidates


def detect_inactive_deals(settings: InsightSettings, now: datetime) -> list[Candidate]:
    """An open deal with no interaction on it, or on its account, for ``deal_inactive_days``.

    The deal's own last stage change counts as activity too (it is also when the deal was
    first mirrored); one candidate per account: its longest-silent deal.
    """
    rows = _rows(
        """
        WITH touches AS (
            -- One pass over the interactions (a correlated max per deal took seconds).
            SELECT account_id, deal_id, max(occurred_at) AS last_at
            FROM {interactions} WHERE occurred_at <= %(now)s
            GROUP BY account_id, deal_id
        ), last_touch AS (
            SELECT d.id, d.account_id, d.name, d.stage, d.amount,
                   GREATEST(d.stage_changed_at, own.last_at, general.last_at) AS last_activity
            FROM {deals} d
            LEFT JOIN touches own ON own.deal_id = d.id
            LEFT JOIN touches general
                   ON general.account_id = d.account_id AND general.deal_id IS NULL
            WHERE d.stage NOT IN (%(closed_won)s, %(closed_lost)s)
        )
        SELECT DISTINCT ON (account_id) account_id, id, name, stage, amount, last_activity,
               EXTRACT(EPOCH FROM %(now)s - last_activity) / 86400.0 AS idle_days
        FROM last_touch
        WHERE last_activity < %(idle_since)s
        ORDER BY account_id, last_activity, id
        """,
        {"now": now, "idle_since": now - timedelta(days=settings.deal_inactive_days)},
    )
    candidates = []
    for row in rows:
        idle = float(row["idle_days"])
        severity = Severity.HIGH if idle >= 2 * settings.deal_inactive_days else Severity.MEDIUM
        candidates.append(
            _deal_risk(
                row,
                "deal_inactive",
                problem=f"has had no activity for {idle:.0f} days",
                confidence=_clamp(0.5 + 0.1 * idle / settings.deal_inactive_days),
                severity=severity,
                last_activity=row["last_activity"].isoformat(),
                idle_days=round(idle, 1),
                threshold_days=settings.deal_inactive_days,
            )
        )
    return candidates


def detect_overdue_close_dates(settings: InsightSettings, now: datetime) -> list[Candidate]:
    """An open deal whose expected close date is past (by more than the grace days)."""
    rows = _rows(
        """
        SELECT DISTINCT ON (account_id) account_id, id, name, stage, amount, close_date,
               (%(today)s::date - close_date) AS overdue_days
        FROM {deals}
        WHERE stage NOT IN (%(closed_won)s, %(closed_lost)s) AND close_date IS NOT NULL
          AND close_date < %(today)s::date - %(grace)s
        ORDER BY account_id, close_date, id
        """,
        {"today": now.date(), "grace": settings.close_date_grace_days},
    )
    candidates = []
    for row in rows:
        overdue = int(row["overdue_days"])
        severity = Severity.CRITICAL if overdue >= 30 else Severity.HIGH
        candidates.append(
            _deal_risk(
                row,
                "close_date_passed",
                problem=f"was expected to close {overdue} day{'s' if overdue != 1 else ''} ago "
                f"and is still in {row['stage']}",
                confidence=_clamp(0.6 + 0.01 * overdue),
                severity=severity,
                close_date=row["close_date"].isoformat(),
                overdue_days=overdue,
            )
        )
    return candidates


def detect_single_threaded_deals(settings: InsightSettings, now: datetime) -> list[Candidate]:
    """An open deal on an account where only one customer contact wrote in lately."""
    rows = _rows(
        """
        WITH engaged AS (
            -- A person is their address or CRM id (``contact``) where the CRM sends one,
            -- else their name.
            SELECT account_id,
                   count(DISTINCT coalesce(nullif(contact, ''), contact_name)) AS contacts,
                   min(coalesce(nullif(contact_name, ''), contact)) AS contact,
                   count(*) AS messages
            FROM {interactions}
            WHERE direction = %(inbound)s AND channel <> %(crm_channel)s
              AND coalesce(nullif(contact, ''), contact_name) <> ''
              AND occurred_at > %(since)s AND occurred_at <= %(now)s
            GROUP BY account_id
        )
        SELECT DISTINCT ON (d.account_id) d.account_id, d.id, d.name, d.stage, d.amount,
               e.contact, e.messages
        FROM {deals} d JOIN engaged e ON e.account_id = d.account_id
        WHERE d.stage NOT IN (%(closed_won)s, %(closed_lost)s) AND e.contacts = 1
        ORDER BY d.account_id, d.amount DESC, d.id
        """,
        {"now": now, "since": now - timedelta(days=settings.single_thread_window_days)},
    )
    late_stages = {DealStage.PROPOSAL, DealStage.NEGOTIATION}
    candidates = []
    for row in rows:
        late = row["stage"] in late_stages
        candidates.append(
            _deal_risk(
                row,
                "single_threaded",
                problem=f"is single-threaded: only {row['contact']} engaged in "
                f"{settings.single_thread_window_days} days",
                confidence=_clamp(0.55 + (0.15 if late else 0) + 0.02 * row["messages"]),
                severity=Severity.HIGH if late else Severity.MEDIUM,
                contact=row["contact"],
                messages=row["messages"],
                window_days=settings.single_thread_window_days,
            )
        )
    return candidates


ACCOUNT_DETECTORS = [
    detect_buying_signals,
    detect_negative_streaks,
    detect_stalled_deals,
    detect_silent_champions,
    detect_engagement_changes,
    detect_inactive_deals,
    detect_overdue_close_dates,
    detect_single_threaded_deals,
]
