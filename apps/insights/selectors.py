"""Reads for insights: who sees which, inbox counts, the usefulness report, customer view."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import Avg, Case, Count, Q, QuerySet, Value, When
from django.utils import timezone

from apps.crm.models import Account, Channel, Interaction
from apps.insights.models import (
    DEFAULT_ALERT_CHANNELS,
    LIVE_CHANNELS,
    SEVERITY_RANK,
    AlertFeedback,
    AlertPreference,
    Insight,
    InsightSettings,
    InsightStatus,
    PatternType,
    Severity,
)
from apps.outcomes.models import OutcomeRecord
from apps.users.models import User
from apps.users.roles import Role, can


def insight_settings() -> InsightSettings:
    """The organisation's thresholds (the row is seeded by a migration; created if missing)."""
    return InsightSettings.objects.get_or_create(id=1)[0]


def sees_all_insights(user) -> bool:
    """Reps see the insights of their own accounts; everyone else who may read sees all."""
    return not isinstance(user, User) or can(user, "insights.view_all")


def insights_visible_to(user) -> QuerySet[Insight]:
    insights = Insight.objects.select_related("account", "account__owner", "resolved_by")
    if not can(user, "insights.read"):
        return insights.none()
    if sees_all_insights(user):
        return insights
    return insights.filter(account__owner=user)


def most_urgent_first(insights: QuerySet[Insight]) -> QuerySet[Insight]:
    """Critical before high before medium before low, newest first within a severity."""
    rank = Case(
        *[When(severity=level, then=Value(SEVERITY_RANK[level])) for level in Severity.values],
        default=Value(0),
    )
    return insights.annotate(severity_rank=rank).order_by("-severity_rank", "-detected_at", "-id")


def pending_count_for(user) -> int:
    return insights_visible_to(user).filter(status=InsightStatus.PENDING).count()


def severity_counts(insights: QuerySet[Insight]) -> dict[str, int]:
    """Pending insights by severity, in one query."""
    counts = insights.filter(status=InsightStatus.PENDING).aggregate(
        total=Count("id"),
        **{level: Count("id", filter=Q(severity=level)) for level in Severity.values},
    )
    return counts


def account_choices(insights: QuerySet[Insight], *, limit: int = 300) -> list[tuple[int, str]]:
    """(id, name) of the accounts with pending insights, for the inbox filter."""
    pending = insights.filter(status=InsightStatus.PENDING).values("account_id")
    return list(
        Account.objects.filter(pk__in=pending).order_by("name").values_list("id", "name")[:limit]
    )


@dataclass
class UsefulnessRow:
    key: str
    label: str
    total: int
    pending: int
    acted: int
    dismissed: int
    useful: int
    not_useful: int

    @property
    def rated(self) -> int:
        return self.useful + self.not_useful

    @property
    def useful_rate(self) -> float | None:
        return self.useful / self.rated if self.rated else None

    @property
    def acted_rate(self) -> float | None:
        closed = self.acted + self.dismissed
        return self.acted / closed if closed else None


def usefulness_report(*, since: datetime | None = None) -> list[UsefulnessRow]:
    """Per pattern type: what happened to the insights and how useful people found them."""
    insights = Insight.objects.all()
    feedback = AlertFeedback.objects.all()
    if since is not None:
        insights = insights.filter(detected_at__gte=since)
        feedback = feedback.filter(insight__detected_at__gte=since)
    outcomes = {
        row["pattern_type"]: row
        for row in insights.values("pattern_type").annotate(
            total=Count("id"),
            pending=Count("id", filter=Q(status=InsightStatus.PENDING)),
            acted=Count("id", filter=Q(status=InsightStatus.ACTED)),
            dismissed=Count("id", filter=Q(status=InsightStatus.DISMISSED)),
        )
    }
    ratings = {
        row["insight__pattern_type"]: row
        for row in feedback.values("insight__pattern_type").annotate(
            useful_count=Count("id", filter=Q(useful=True)),
            not_useful_count=Count("id", filter=Q(useful=False)),
        )
    }
    report = []
    for pattern in PatternType:
        counts = outcomes.get(pattern.value, {})
        rating = ratings.get(pattern.value, {})
        report.append(
            UsefulnessRow(
                key=pattern.value,
                label=pattern.label,
                total=counts.get("total", 0),
                pending=counts.get("pending", 0),
                acted=counts.get("acted", 0),
                dismissed=counts.get("dismissed", 0),
                useful=rating.get("useful_count", 0),
                not_useful=rating.get("not_useful_count", 0),
            )
        )
    return report


def recent_comments(*, limit: int = 10) -> QuerySet[AlertFeedback]:
    return (
        AlertFeedback.objects.exclude(comment="")
        .select_related("insight", "insight__account", "user")
        .order_by("-updated_at")[:limit]
    )


# --- customer view ------------------------------------------------------------------------

SUMMARY_WINDOWS = (30, 90, 365)


TIMELINE_ORDERS = ("newest", "oldest")


def account_timeline(
    account: Account,
    *,
    days: int | None = None,
    oldest_first: bool = False,
    now: datetime | None = None,
) -> QuerySet[Interaction]:
    """The account's interactions on every channel (within the last ``days`` when given),
    newest first or oldest first (paginate it)."""
    interactions = account.interactions.select_related("deal")
    if days is not None:
        interactions = interactions.filter(
            occurred_at__gt=(now or timezone.now()) - timedelta(days=days)
        )
    if oldest_first:
        return interactions.order_by("occurred_at", "id")
    return interactions.order_by("-occurred_at", "-id")


def account_summaries(account: Account, *, now: datetime | None = None) -> list[dict]:
    """30 / 90 / 365-day summaries: counts by channel, sentiment and its trend, key points.

    Two queries whatever the data size: one aggregate, one over the key points.
    """
    now = now or timezone.now()
    aggregates = {}
    for days in SUMMARY_WINDOWS:
        start, previous_start = now - timedelta(days=days), now - timedelta(days=2 * days)
        window = Q(occurred_at__gt=start, occurred_at__lte=now)
        aggregates[f"total_{days}"] = Count("id", filter=window)
        aggregates[f"inbound_{days}"] = Count("id", filter=window & Q(direction="inbound"))
        aggregates[f"sentiment_{days}"] = Avg("sentiment", filter=window)
        aggregates[f"previous_sentiment_{days}"] = Avg(
            "sentiment", filter=Q(occurred_at__gt=previous_start, occurred_at__lte=start)
        )
        for channel in Channel.values:
            aggregates[f"{channel}_{days}"] = Count("id", filter=window & Q(channel=channel))
    values = Interaction.objects.filter(
        account=account, occurred_at__gt=now - timedelta(days=2 * max(SUMMARY_WINDOWS))
    ).aggregate(**aggregates)
    key_points = _key_points_by_window(account, now)
    summaries = []
    for days in SUMMARY_WINDOWS:
        sentiment, previous = values[f"sentiment_{days}"], values[f"previous_sentiment_{days}"]
        if sentiment is None or previous is None:
            trend = "none"
        elif sentiment - previous > 0.1:
            trend = "up"
        elif previous - sentiment > 0.1:
            trend = "down"
        else:
            trend = "flat"
        summaries.append(
            {
                "days": days,
                "total": values[f"total_{days}"],
                "inbound": values[f"inbound_{days}"],
                "channels": [
                    (label, values[f"{value}_{days}"]) for value, label in Channel.choices
                ],
                "sentiment": sentiment,
                "previous_sentiment": previous,
                "trend": trend,
                "key_points": key_points[days],
            }
        )
    return summaries


def _key_points_by_window(account: Account, now: datetime, top: int = 5) -> dict[int, list]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT point,
                   count(*) FILTER (WHERE i.occurred_at > %(d30)s),
                   count(*) FILTER (WHERE i.occurred_at > %(d90)s),
                   count(*)
            FROM {Interaction._meta.db_table} i, jsonb_array_elements_text(i.key_points) AS point
            WHERE i.account_id = %(account)s AND jsonb_typeof(i.key_points) = 'array'
              AND i.occurred_at > %(d365)s AND i.occurred_at <= %(now)s
            GROUP BY point ORDER BY count(*) DESC, point LIMIT 200
            """,
            {
                "account": account.pk,
                "now": now,
                "d30": now - timedelta(days=30),
                "d90": now - timedelta(days=90),
                "d365": now - timedelta(days=365),
            },
        )
        rows = cursor.fetchall()
    result = {}
    for index, days in enumerate(SUMMARY_WINDOWS):
        ranked = sorted(
            ((row[0], row[index + 1]) for row in rows if row[index + 1]), key=lambda r: -r[1]
        )
        result[days] = ranked[:top]
    return result


def account_open_insights(account: Account) -> QuerySet[Insight]:
    return account.insights.filter(status=InsightStatus.PENDING).order_by("-detected_at")


def account_recent_outcomes(account: Account, *, limit: int = 10) -> QuerySet[OutcomeRecord]:
    return (
        OutcomeRecord.objects.filter(account=account)
        .select_related("action_type")
        .order_by("-occurred_at")[:limit]
    )


# --- alert delivery and digest ----------------------------------------------------------


def alert_channels_for(user) -> dict[str, str]:
    """The person's channel for each severity: their choice, else the default (one query)."""
    chosen = dict(AlertPreference.objects.filter(user=user).values_list("severity", "channel"))
    return {
        severity: chosen.get(severity, DEFAULT_ALERT_CHANNELS[severity])
        for severity in Severity.values
    }


def live_severities_for(user) -> set[str]:
    """Severities whose new insights should pop up in this person's open browser tabs (for
    the live stream's filter)."""
    if not isinstance(user, User):
        return set(Severity.values)  # API keys of the agent follow every event
    return {s for s, channel in alert_channels_for(user).items() if channel in LIVE_CHANNELS}


def digest_recipients() -> QuerySet[User]:
    return User.objects.filter(role=Role.MANAGER, is_active=True).exclude(email="")


# Which managers an insight concerns, with the channel each chose for its severity. The one
# statement of "a manager's team": accounts owned by the manager or by one of their reports
# (``User.manager``), plus accounts nobody owns (else no one would hear of them). A
# cross-account pattern concerns a manager when one of the accounts it names is in the team.
# One statement whatever the number of managers and insights.
_TEAM_ALERTS_SQL = """
SELECT m.id AS manager_id, i.id AS insight_id,
       COALESCE(p.channel, CASE i.severity {defaults} END) AS channel
FROM {users} m
CROSS JOIN {insights} i
LEFT JOIN {accounts} a ON a.id = i.account_id
LEFT JOIN {users} owner ON owner.id = a.owner_id
LEFT JOIN {preferences} p ON p.user_id = m.id AND p.severity = i.severity
WHERE m.role = %(manager)s AND m.is_active AND m.id = ANY(%(managers)s)
  AND i.id = ANY(%(ids)s)
  AND (
      (a.id IS NOT NULL AND (a.owner_id IS NULL OR owner.id = m.id OR owner.manager_id = m.id))
   OR (i.account_id IS NULL AND EXISTS (
          SELECT 1 FROM {accounts} named JOIN {users} o ON o.id = named.owner_id
          WHERE named.id IN (SELECT value::bigint
                               FROM jsonb_array_elements_text(
                                   CASE WHEN jsonb_typeof(i.evidence -> 'account_ids') = 'array'
                                        THEN i.evidence -> 'account_ids' ELSE '[]'::jsonb END))
            AND (o.id = m.id OR o.manager_id = m.id)))
  )
ORDER BY m.id, i.id
"""


def team_alerts(*, insight_ids: list[int], manager_ids: list[int]) -> list[tuple[int, int, str]]:
    """(manager id, insight id, channel chosen for its severity) for every insight that is
    about one of the manager's team's accounts."""
    if not insight_ids or not manager_ids:
        return []
    params: dict = {"manager": Role.MANAGER, "managers": manager_ids, "ids": insight_ids}
    defaults = []
    for number, (severity, channel) in enumerate(DEFAULT_ALERT_CHANNELS.items()):
        params[f"s{number}"], params[f"c{number}"] = severity, channel
        defaults.append(f"WHEN %(s{number})s THEN %(c{number})s")
    sql = _TEAM_ALERTS_SQL.format(
        defaults=" ".join(defaults),
        users=User._meta.db_table,
        insights=Insight._meta.db_table,
        accounts=Account._meta.db_table,
        preferences=AlertPreference._meta.db_table,
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [(manager, insight, channel) for manager, insight, channel in cursor.fetchall()]


def digest_insights(*, since: datetime, until: datetime) -> QuerySet[Insight]:
    return (
        Insight.objects.filter(detected_at__gt=since, detected_at__lte=until)
        .select_related("account")
        .order_by("account__name", "industry", "-detected_at")
    )
