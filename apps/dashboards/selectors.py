"""Reads behind the rep, manager and executive dashboards, the trends and pattern analytics.

Every function answers with plain data (dicts, lists, numbers, ISO strings) so that the same
result feeds the page, the API and the cache. Each runs a fixed number of set-based
queries whatever the data size: aggregates with FILTER clauses, GROUP BY and date buckets.
Outcome numbers are read from the daily summary (``OutcomeDaily``, kept by the
``refresh_analytics`` job every 5 minutes and recounted for today on "refresh"), so a page
sums a few thousand rows rather than a million outcomes.

Definitions shared by every dashboard:
- an outcome is *decided* once it is resolved or expired; *success rate* is resolved /
  decided (a customer signal arrived within the action's window);
- *reply rate* is the success rate of ``email_sent`` actions (an inbound email answered
  within 24 h);
- *mean score* averages the scores of decided outcomes (expired = 0);
- a deal is *influenced by the agent* when an outcome names it, or names its account
  without naming a deal.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db.models import (
    Aggregate,
    Avg,
    Case,
    Count,
    DateField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Trunc
from django.utils import timezone

from apps.approvals.models import ActionStatus, Category, ProposedAction
from apps.crm.models import Deal, DealStage
from apps.crm.selectors import accounts_visible_to
from apps.dashboards.models import OutcomeDaily, PatternRollup
from apps.dashboards.periods import Period
from apps.feedback.models import FeedbackEntry, FeedbackKind
from apps.feedback.selectors import learnings_ranked
from apps.goals.models import Goal, GoalStatus, GoalType
from apps.goals.selectors import goals_history
from apps.insights.models import SEVERITY_RANK, Insight, InsightStatus, Severity
from apps.outcomes.models import ActionType, OutcomeRecord
from apps.outcomes.selectors import calibration_reports
from apps.users.models import User
from apps.users.roles import Role, sees_only_own

CACHE_SECONDS = 300
EMAIL_ACTION = "email_sent"
OPEN_STAGES = [
    s for s in DealStage.values if s not in (DealStage.CLOSED_WON, DealStage.CLOSED_LOST)
]
TREND_METRICS: dict[str, str] = {
    "outcomes": "Agent actions",
    "success_rate": "Success rate",
    "reply_rate": "Reply rate",
    "mean_score": "Mean outcome score",
    "revenue_won": "Revenue won",
    "revenue_influenced": "Revenue won, influenced by the agent",
    "satisfaction": "Satisfaction (mean detailed rating, 1-5)",
    "usefulness": "Usefulness (mean, 1-5)",
}
FEEDBACK_METRICS = ("satisfaction", "usefulness")

_EMAIL = Q(action_type__code=EMAIL_ACTION)


# --- caching -------------------------------------------------------------------------


def cached(key: str, build: Callable[[], dict], *, refresh: bool = False) -> dict:
    """``build()`` at most once per 5 minutes per key; ``refresh`` rebuilds it now.

    Keys are tenant-prefixed by the cache's KEY_FUNCTION, so organisations never share an
    entry. The result says when it was computed (``generated_at``) and whether it came
    from the cache.
    """
    if not refresh:
        hit = cache.get(key)
        if hit is not None:
            return hit | {"from_cache": True}
    data = build() | {"generated_at": timezone.now().isoformat()}
    cache.set(key, data, CACHE_SECONDS)
    return data | {"from_cache": False}


def cache_key(kind: str, period: Period, scope: str = "org") -> str:
    return f"dashboards:{kind}:{scope}:{period.code}"


# --- small helpers -------------------------------------------------------------------


def _rate(part: int | None, whole: int | None) -> float | None:
    return round(part / whole, 4) if whole else None


def _mean(total: float | None, count: int | None) -> float | None:
    return round(total / count, 4) if count and total is not None else None


def _money(value: Decimal | None) -> float:
    return float(value or 0)


def _day(value: datetime | date) -> date:
    return value.astimezone(UTC).date() if isinstance(value, datetime) else value


def _outcome_counts(prefix: str = "", condition: Q | None = None) -> dict:
    """Sums over daily rows of one slice, to be combined in a single ``aggregate()``."""
    base = condition if condition is not None else Q()
    return {
        f"agg_{prefix}outcomes": Sum("outcomes", filter=base),
        f"agg_{prefix}decided": Sum("decided", filter=base),
        f"agg_{prefix}succeeded": Sum("succeeded", filter=base),
        f"agg_{prefix}score_sum": Sum("score_sum", filter=base),
        f"agg_{prefix}emails": Sum("decided", filter=base & _EMAIL),
        f"agg_{prefix}replied": Sum("succeeded", filter=base & _EMAIL),
    }


def _outcome_rates(row: dict, prefix: str = "") -> dict:
    outcomes, decided = row[f"agg_{prefix}outcomes"] or 0, row[f"agg_{prefix}decided"] or 0
    return {
        "outcomes": outcomes,
        "decided": decided,
        "pending": outcomes - decided,
        "succeeded": row[f"agg_{prefix}succeeded"] or 0,
        "success_rate": _rate(row[f"agg_{prefix}succeeded"], decided),
        "mean_score": _mean(row[f"agg_{prefix}score_sum"], decided),
        "emails_decided": row[f"agg_{prefix}emails"] or 0,
        "emails_replied": row[f"agg_{prefix}replied"] or 0,
        "reply_rate": _rate(row[f"agg_{prefix}replied"], row[f"agg_{prefix}emails"]),
    }


def daily_in_scope(rep: User | None) -> QuerySet[OutcomeDaily]:
    """Daily outcome rows of ``rep``'s accounts, or of every account when ``rep`` is ``None``."""
    rows = OutcomeDaily.objects.order_by()
    return rows.filter(owner=rep) if rep is not None else rows


def outcomes_in_scope(rep: User | None) -> QuerySet[OutcomeRecord]:
    """Outcomes on ``rep``'s accounts, or on every account when ``rep`` is ``None``."""
    outcomes = OutcomeRecord.objects.order_by()
    return outcomes.filter(account__owner=rep) if rep is not None else outcomes


# --- outcome sections ----------------------------------------------------------------


def outcome_summary(daily: QuerySet[OutcomeDaily], period: Period) -> dict:
    """This period's counts and rates, with the previous period's rates for the deltas."""
    current = Q(day__gte=period.start_day)
    previous = Q(day__lt=period.start_day)
    row = daily.filter(day__gte=period.previous_start_day).aggregate(
        **_outcome_counts("", current), **_outcome_counts("prev_", previous)
    )
    summary = _outcome_rates(row)
    before = _outcome_rates(row, "prev_")
    summary["previous"] = {
        key: before[key] for key in ("outcomes", "success_rate", "reply_rate", "mean_score")
    }
    return summary


def outcome_trend(daily: QuerySet[OutcomeDaily], period: Period) -> list[dict]:
    """One point per bucket (day, week or month) of the period, empty buckets included."""
    rows = (
        daily.filter(day__gte=period.start_day)
        .annotate(bucket=Trunc("day", period.bucket, output_field=DateField()))
        .values("bucket")
        .annotate(**_outcome_counts())
    )
    by_bucket = {_day(row["bucket"]): _outcome_rates(row) for row in rows}
    empty = _outcome_rates(dict.fromkeys(_outcome_counts(), 0))
    return [
        {"start": start.isoformat(), "label": period.bucket_label(start)}
        | by_bucket.get(start, empty)
        for start in period.bucket_starts()
    ]


def _outcomes_grouped(
    daily: QuerySet[OutcomeDaily], period: Period, columns: list[str], order_by: list[str]
) -> QuerySet:
    """The period's daily outcome rows summed per group of ``columns``."""
    return (
        daily.filter(day__gte=period.start_day)
        .values(*columns)
        .annotate(**_outcome_counts())
        .order_by(*order_by)
    )


def outcomes_by_action_type(daily: QuerySet[OutcomeDaily], period: Period) -> list[dict]:
    rows = _outcomes_grouped(
        daily, period, ["action_type__code", "action_type__name"], ["action_type__code"]
    )
    return [
        {"code": row["action_type__code"], "name": row["action_type__name"]} | _outcome_rates(row)
        for row in rows
    ]


def _team_outcomes(period: Period, columns: list[str], then_by: str) -> QuerySet:
    """The team's outcomes in the period per group of ``columns``, most active first."""
    return _outcomes_grouped(daily_in_scope(None), period, columns, ["-agg_outcomes", then_by])


def outcomes_by_rep(period: Period) -> list[dict]:
    """Team outcomes grouped by the account owner (the rep), most active first."""
    rows = _team_outcomes(
        period,
        ["owner_id", "owner__username", "owner__first_name", "owner__last_name"],
        "owner__username",
    )
    result = []
    for row in rows:
        first, last = row["owner__first_name"], row["owner__last_name"]
        full_name = f"{first or ''} {last or ''}".strip()
        name = full_name or row["owner__username"] or "Unassigned accounts"
        result.append(
            {
                "id": row["owner_id"],
                "username": row["owner__username"],
                "name": name,
            }
            | _outcome_rates(row)
        )
    return result


def outcomes_by_clone(period: Period) -> list[dict]:
    """Team outcomes grouped by the agent clone that acted, most active first."""
    rows = _team_outcomes(
        period, ["clone_id", "clone__name", "clone__external_id", "clone__is_active"], "clone__name"
    )
    return [
        {
            "id": row["clone_id"],
            "external_id": row["clone__external_id"],
            "name": row["clone__name"] or "No clone named",
            "is_active": row["clone__is_active"],
        }
        | _outcome_rates(row)
        for row in rows
    ]


def calibration_summary() -> list[dict]:
    """ECE, Brier score and the reliability bins of each active action type (two queries)."""
    action_types = list(ActionType.objects.filter(is_active=True).order_by("code"))
    reports = calibration_reports(action_types)
    for report in reports:
        report["updated_at"] = report["updated_at"].isoformat() if report["updated_at"] else None
    return reports


# --- deals -------------------------------------------------------------------------


def _influenced() -> Exists:
    return Exists(
        OutcomeRecord.objects.filter(
            Q(deal=OuterRef("pk")) | Q(deal__isnull=True, account=OuterRef("account_id"))
        )
    )


def deals_in_scope(rep: User | None) -> QuerySet[Deal]:
    deals = Deal.objects.order_by()
    return deals.filter(account__owner=rep) if rep is not None else deals


def pipeline_summary(period: Period, rep: User | None = None) -> dict:
    """Open pipeline and revenue won in the period, in total and influenced by the agent."""
    open_deal = Q(stage__in=OPEN_STAGES)
    won = Q(stage=DealStage.CLOSED_WON, closed_at__gte=period.start)
    influenced = Q(influenced=True)
    row = (
        deals_in_scope(rep)
        .annotate(influenced=_influenced())
        .aggregate(
            open_deals=Count("pk", filter=open_deal),
            open_amount=Sum("amount", filter=open_deal),
            open_influenced_deals=Count("pk", filter=open_deal & influenced),
            open_influenced_amount=Sum("amount", filter=open_deal & influenced),
            won_deals=Count("pk", filter=won),
            won_amount=Sum("amount", filter=won),
            won_influenced_deals=Count("pk", filter=won & influenced),
            won_influenced_amount=Sum("amount", filter=won & influenced),
        )
    )
    open_amount, won_amount = _money(row["open_amount"]), _money(row["won_amount"])
    open_influenced = _money(row["open_influenced_amount"])
    won_influenced = _money(row["won_influenced_amount"])
    return {
        "open_deals": row["open_deals"],
        "open_amount": open_amount,
        "open_influenced_deals": row["open_influenced_deals"],
        "open_influenced_amount": open_influenced,
        "open_influenced_share": _rate(open_influenced, open_amount),
        "won_deals": row["won_deals"],
        "won_amount": won_amount,
        "won_influenced_deals": row["won_influenced_deals"],
        "won_influenced_amount": won_influenced,
        "won_influenced_share": _rate(won_influenced, won_amount),
    }


def revenue_trend(period: Period, rep: User | None = None) -> list[dict]:
    rows = (
        deals_in_scope(rep)
        .filter(stage=DealStage.CLOSED_WON, closed_at__gte=period.start)
        .annotate(influenced=_influenced(), bucket=Trunc("closed_at", period.bucket, tzinfo=UTC))
        .values("bucket")
        .annotate(
            won=Sum("amount"),
            influenced_won=Sum("amount", filter=Q(influenced=True)),
            deals=Count("pk"),
        )
    )
    by_bucket = {_day(row["bucket"]): row for row in rows}
    points = []
    for start in period.bucket_starts():
        row = by_bucket.get(start, {})
        points.append(
            {
                "start": start.isoformat(),
                "label": period.bucket_label(start),
                "deals": row.get("deals", 0),
                "revenue_won": _money(row.get("won")),
                "revenue_influenced": _money(row.get("influenced_won")),
            }
        )
    return points


# --- pattern analytics ---------------------------------------------------------------


def pattern_analytics(rows: QuerySet[PatternRollup] | None = None) -> list[dict]:
    """The rollup rows kept by the ``refresh_analytics`` job, one per action type."""
    rows = PatternRollup.objects.all() if rows is None else rows
    rows = rows.select_related("action_type").order_by("action_type__code")
    return [
        {
            "action_type": row.action_type.code,
            "name": row.action_type.name,
            "total": row.total,
            "last_7_days": row.last_7_days,
            "last_30_days": row.last_30_days,
            "decided": row.decided,
            "succeeded": row.succeeded,
            "failed": row.failed,
            "success_rate": row.success_rate,
            "mean_score": row.mean_score,
            "ratings": row.ratings,
            "mean_satisfaction": row.mean_satisfaction,
            "mean_likelihood_to_reuse": row.mean_likelihood_to_reuse,
            "would_recommend": row.would_recommend,
            "mean_usefulness": row.mean_usefulness,
            "last_activity_at": row.last_activity_at.isoformat() if row.last_activity_at else None,
            "refreshed_at": row.refreshed_at.isoformat(),
        }
        for row in rows
    ]


RECENT_FEEDBACK = 20


def pattern_detail(action_type: ActionType, viewer) -> dict:
    """One action type: its rollup row, the last 20 ratings (with comments) on outcomes the
    viewer may see, and a weekly trend of success rate and satisfaction over 90 days.

    Four queries whatever the data size: the rollup row, the feedback page, the weekly
    outcome sums, the weekly mean rating.
    """
    rollup = pattern_analytics(PatternRollup.objects.filter(action_type=action_type))
    feedback = (
        FeedbackEntry.objects.filter(
            outcome__action_type=action_type,
            outcome__account__in=accounts_visible_to(viewer).values("pk"),
        )
        .select_related("user", "outcome")
        .order_by("-updated_at", "-id")[:RECENT_FEEDBACK]
    )
    period = Period("90d", timezone.now())
    outcomes = outcome_trend(daily_in_scope(None).filter(action_type=action_type), period)
    ratings = _feedback_means(
        FeedbackEntry.objects.filter(outcome__action_type=action_type), period
    )
    return {
        "action_type": action_type.code,
        "name": action_type.name,
        "rollup": rollup[0] if rollup else None,
        "recent_feedback": [
            {
                "id": entry.pk,
                "outcome": entry.outcome_id,
                "outcome_external_id": entry.outcome.external_id,
                "user": entry.user.username,
                "kind": entry.kind,
                "rating": entry.rating,
                "usefulness": entry.usefulness,
                "comment": entry.comment,
                "updated_at": entry.updated_at.isoformat(),
            }
            for entry in feedback
        ],
        "weekly_trend": [
            {
                "start": point["start"],
                "label": point["label"],
                "outcomes": point["outcomes"],
                "decided": point["decided"],
                "success_rate": point["success_rate"],
                "ratings": ratings.get(point["start"], {}).get("ratings", 0),
                "satisfaction": ratings.get(point["start"], {}).get("satisfaction"),
            }
            for point in outcomes
        ],
    }


def _feedback_means(entries: QuerySet[FeedbackEntry], period: Period) -> dict[str, dict]:
    """Mean detailed rating (1-5) and usefulness (1-5) per bucket of the period, by when the
    rating was given; one query."""
    rows = (
        entries.filter(kind=FeedbackKind.DASHBOARD, updated_at__gte=period.start)
        .annotate(bucket=Trunc("updated_at", period.bucket, tzinfo=UTC))
        .values("bucket")
        .annotate(
            ratings=Count("pk"),
            satisfaction=Avg("rating"),
            useful_count=Count("usefulness"),
            usefulness=Avg("usefulness"),
        )
        .order_by()
    )
    return {
        _day(row["bucket"]).isoformat(): {
            "ratings": row["ratings"],
            "satisfaction": _mean(row["satisfaction"], 1),
            "usefulness": _mean(row["usefulness"], 1),
            "rated_usefulness": row["useful_count"],
        }
        for row in rows
    }


def feedback_trend(metric: str, period: Period, rep: User | None) -> list[dict]:
    """Mean detailed rating (``satisfaction``) or usefulness per bucket, empty buckets None."""
    entries = FeedbackEntry.objects.all()
    if rep is not None:
        entries = entries.filter(outcome__account__owner=rep)
    means = _feedback_means(entries, period)
    return [
        {
            "start": start.isoformat(),
            "label": period.bucket_label(start),
            "value": means.get(start.isoformat(), {}).get(metric),
            "count": means.get(start.isoformat(), {}).get(
                "ratings" if metric == "satisfaction" else "rated_usefulness", 0
            ),
        }
        for start in period.bucket_starts()
    ]


# --- dashboards ----------------------------------------------------------------------


def reps_for_picker() -> list[dict]:
    """Reps a manager or executive may open the rep dashboard of."""
    reps = User.objects.filter(role=Role.REP, is_active=True).order_by("first_name", "username")
    return [
        {"username": u.username, "name": u.get_full_name() or u.username}
        for u in reps.only("username", "first_name", "last_name")
    ]


def rep_dashboard_data(rep: User | None, period: Period) -> dict:
    """The rep dashboard's numbers for ``rep``'s accounts (``None``: every account)."""
    outcomes = daily_in_scope(rep)
    return {
        "period": period.code,
        "bucket": period.bucket,
        "rep": rep.username if rep is not None else None,
        "summary": outcome_summary(outcomes, period),
        "trend": outcome_trend(outcomes, period),
        "by_action_type": outcomes_by_action_type(outcomes, period),
        "insights": open_insights_for(rep),
        "goals": goals_for(rep),
    }


def _team_overview(period: Period) -> dict:
    """What the team and executive dashboards open with: the period, its summary and trend."""
    outcomes = daily_in_scope(None)
    return {
        "period": period.code,
        "bucket": period.bucket,
        "summary": outcome_summary(outcomes, period),
        "trend": outcome_trend(outcomes, period),
    }


def manager_dashboard_data(period: Period) -> dict:
    """The team dashboard: outcomes by rep and by clone, calibration, the team's trend."""
    return {
        **_team_overview(period),
        "by_rep": outcomes_by_rep(period),
        "by_clone": outcomes_by_clone(period),
        "calibration": calibration_summary(),
        "patterns": pattern_analytics(),
        "approvals": approval_health(period),
        "feedback": feedback_distribution(period),
        "learnings": top_learnings(),
        "insights": insights_by_severity(),
    }


def executive_dashboard_data(period: Period) -> dict:
    """Pipeline and revenue influenced by the agent and the organisation's trends."""
    return {
        **_team_overview(period),
        "pipeline": pipeline_summary(period),
        "revenue_trend": revenue_trend(period),
        "autonomy": autonomy_breakdown(period),
        "goals": goal_attainment(period),
    }


def trend_data(metric: str, period: Period, rep: User | None) -> dict:
    """One metric over the period, bucketed like the dashboards' charts."""
    if metric in FEEDBACK_METRICS:
        points = feedback_trend(metric, period, rep)
    elif metric.startswith("revenue"):
        points = [
            {"start": p["start"], "label": p["label"], "value": p[metric]}
            for p in revenue_trend(period, rep)
        ]
    else:
        points = [
            {"start": p["start"], "label": p["label"], "value": p[metric]}
            for p in outcome_trend(daily_in_scope(rep), period)
        ]
    return {
        "metric": metric,
        "label": TREND_METRICS[metric],
        "period": period.code,
        "bucket": period.bucket,
        "points": points,
    }


class UnknownRep(ValueError):
    """The ``rep`` asked for is not a rep of this organisation."""


def rep_scope_for(user, username: str | None) -> User | None:
    """Whose accounts ``user`` sees on the rep dashboard and in rep-scoped analytics.

    A rep always sees their own (asking for someone else's is a PermissionDenied); a
    manager, executive, admin or the agent sees the rep named by ``username``, or every
    account when no name is given.
    """
    if sees_only_own(user):
        if username and username != user.username:
            raise PermissionDenied("Reps see their own dashboard only.")
        return user
    if not username:
        return None
    rep = User.objects.filter(username=username, role=Role.REP).first()
    if rep is None:
        raise UnknownRep(f"No rep with the username “{username}”.")
    return rep


# --- feedback, learnings -------------------------------------------------------------


def awaiting_my_rating(user: User, *, limit: int = 5, days: int = 30) -> list[OutcomeRecord]:
    """Recent agent outputs on ``user``'s accounts that they have not rated yet (one query).

    Read live, not cached: a rated output must leave the list at once. NOT EXISTS walks the
    ``occurred_at`` index backwards and stops at the fifth unrated output.
    """
    rated = FeedbackEntry.objects.filter(outcome=OuterRef("pk"), user=user)
    outcomes = (
        outcomes_in_scope(user)
        .filter(occurred_at__gte=timezone.now() - timedelta(days=days))
        .filter(~Exists(rated))
        .exclude(output_text="")
        .select_related("action_type", "account")
        .annotate(
            my_inline_rating=Value(None, output_field=IntegerField()),
            my_dashboard_rating=Value(None, output_field=IntegerField()),
        )
    )
    return list(outcomes.order_by("-occurred_at", "-pk")[:limit])


def feedback_distribution(period: Period) -> dict:
    """Inline −1 / 0 / +1 and detailed 1–5 ratings given in the period (one query)."""
    inline, detailed = Q(kind=FeedbackKind.INLINE), Q(kind=FeedbackKind.DASHBOARD)
    row = FeedbackEntry.objects.filter(updated_at__gte=period.start).aggregate(
        inline_total=Count("pk", filter=inline),
        **{
            f"inline_{name}": Count("pk", filter=inline & Q(rating=value))
            for name, value in _INLINE
        },
        detailed_total=Count("pk", filter=detailed),
        detailed_average=Avg("rating", filter=detailed),
        **{
            f"detailed_{value}": Count("pk", filter=detailed & Q(rating=value))
            for value in range(1, 6)
        },
    )
    inline_total, detailed_total = row["inline_total"], row["detailed_total"]
    return {
        "inline_total": inline_total,
        "inline": [
            {
                "rating": value,
                "label": label,
                "count": row[f"inline_{name}"],
                "share": _rate(row[f"inline_{name}"], inline_total),
            }
            for (name, value), label in zip(
                _INLINE, ("−1 poor", "0 usable with edits", "+1 good"), strict=True
            )
        ],
        "detailed_total": detailed_total,
        "detailed_average": _mean(row["detailed_average"], 1)
        if row["detailed_average"] is not None
        else None,
        "detailed": [
            {
                "rating": value,
                "count": row[f"detailed_{value}"],
                "share": _rate(row[f"detailed_{value}"], detailed_total),
            }
            for value in range(5, 0, -1)
        ],
    }


_INLINE = (("negative", -1), ("neutral", 0), ("positive", 1))


def top_learnings(limit: int = 5) -> list[dict]:
    """The active learnings the agent is given first (relevance × confidence × decay)."""
    return [
        {
            "id": learning.pk,
            "title": learning.title,
            "category": learning.get_category_display(),
            "action_type": learning.action_type.name if learning.action_type_id else "All actions",
            "success_rate": learning.success_rate,
            "confidence": learning.confidence_score,
            "applications": learning.application_count,
        }
        for learning in learnings_ranked()[:limit]
    ]


# --- insights ------------------------------------------------------------------------


def insights_by_severity(rep: User | None = None) -> dict:
    """Open (pending) insights per severity, for ``rep``'s accounts or the whole org."""
    insights = Insight.objects.order_by()
    if rep is not None:
        insights = insights.filter(account__owner=rep)
    counts = insights.filter(status=InsightStatus.PENDING).aggregate(
        total=Count("pk"),
        **{level: Count("pk", filter=Q(severity=level)) for level in Severity.values},
    )
    total = counts.pop("total")
    levels = sorted(Severity.values, key=lambda level: -SEVERITY_RANK[level])
    return {
        "total": total,
        "levels": [
            {
                "severity": level,
                "label": Severity(level).label,
                "count": counts[level],
                "share": _rate(counts[level], total),
            }
            for level in levels
        ],
    }


def open_insights_for(rep: User | None, *, limit: int = 5) -> list[dict]:
    """The most severe, most recent open insights on ``rep``'s accounts (one query)."""
    insights = Insight.objects.filter(status=InsightStatus.PENDING).select_related("account")
    if rep is not None:
        insights = insights.filter(account__owner=rep)
    rank = Case(
        *[When(severity=level, then=Value(n)) for level, n in SEVERITY_RANK.items()],
        default=Value(0),
    )
    return [
        {
            "id": insight.pk,
            "title": insight.title,
            "severity": insight.severity,
            "pattern": insight.get_pattern_type_display(),
            "subject": insight.subject,
            "detected_at": insight.detected_at.isoformat(),
        }
        for insight in insights.annotate(rank=rank).order_by("-rank", "-detected_at")[:limit]
    ]


# --- approvals -----------------------------------------------------------------------

EXPIRING_SOON = timedelta(hours=4)


class Median(Aggregate):
    """PostgreSQL's exact median of an expression (works on intervals too)."""

    function = "percentile_cont"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    allow_distinct = False


def approval_health(period: Period) -> dict:
    """Pending count, expiring soon, and the median time people take to decide (one query)."""
    now = timezone.now()
    pending = Q(status=ActionStatus.PENDING)
    human = Q(decided_by__isnull=False, decided_at__gte=period.start)
    row = ProposedAction.objects.order_by().aggregate(
        pending=Count("pk", filter=pending),
        expiring_soon=Count("pk", filter=pending & Q(expires_at__lte=now + EXPIRING_SOON)),
        decided=Count("pk", filter=human),
        approved=Count(
            "pk", filter=human & Q(status__in=[ActionStatus.APPROVED, ActionStatus.EXECUTED])
        ),
        expired=Count("pk", filter=Q(status=ActionStatus.EXPIRED, updated_at__gte=period.start)),
        median_decision=Median(
            ExpressionWrapper(F("decided_at") - F("proposed_at"), output_field=DurationField()),
            filter=human,
            output_field=DurationField(),
        ),
    )
    median = row["median_decision"]
    return {
        "pending": row["pending"],
        "expiring_soon": row["expiring_soon"],
        "decided": row["decided"],
        "approved": row["approved"],
        "approval_rate": _rate(row["approved"], row["decided"]),
        "expired": row["expired"],
        "median_decision_seconds": median.total_seconds() if median is not None else None,
    }


AUTONOMY_KINDS = (
    ("autonomous", "Autonomous", "good"),
    ("approved", "Approved by a person", "info"),
    ("rejected", "Rejected", "bad"),
    ("blocked", "Blocked by a guardrail", "critical"),
    ("expired", "Expired undecided", "muted"),
    ("pending", "Waiting for a decision", "warn"),
)


def autonomy_breakdown(period: Period) -> dict:
    """How the agent's proposals of the period were handled (one query).

    ``autonomous``: the guardrails let it act at once; ``approved`` / ``rejected``: a person
    decided; ``blocked``: a hard stop; ``expired``: nobody decided in time.
    """
    autonomous = Q(category=Category.AUTONOMOUS)
    needs_human = ~autonomous & ~Q(category=Category.HARD_STOP)
    conditions = {
        "autonomous": autonomous,
        "approved": needs_human & Q(status__in=[ActionStatus.APPROVED, ActionStatus.EXECUTED]),
        "rejected": Q(status=ActionStatus.REJECTED),
        "blocked": Q(status=ActionStatus.BLOCKED),
        "expired": Q(status=ActionStatus.EXPIRED),
        "pending": Q(status=ActionStatus.PENDING),
    }
    row = (
        ProposedAction.objects.order_by()
        .filter(proposed_at__gte=period.start)
        .aggregate(total=Count("pk"), **{k: Count("pk", filter=c) for k, c in conditions.items()})
    )
    total = row["total"]
    return {
        "total": total,
        "autonomous": row["autonomous"],
        "autonomy_rate": _rate(row["autonomous"], total),
        "kinds": [
            {
                "kind": kind,
                "label": label,
                "tone": tone,
                "count": row[kind],
                "share": _rate(row[kind], total),
            }
            for kind, label, tone in AUTONOMY_KINDS
        ],
    }


# --- goals ---------------------------------------------------------------------------


def _goal_row(goal: Goal) -> dict:
    target, current = float(goal.target), float(goal.current_value)
    return {
        "id": goal.pk,
        "name": goal.name,
        "type": goal.goal_type,
        "type_label": goal.get_goal_type_display().split(" (")[0],
        "target": target,
        "current": current,
        "progress": round(min(1.0, current / target), 4) if target else None,
        "status": goal.status,
        "period_start": goal.period_start.isoformat(),
        "period_end": goal.period_end.isoformat(),
        "is_percentage": goal.is_percentage,
        "is_money": goal.goal_type in (GoalType.PIPELINE, GoalType.REVENUE),
    }


def goals_for(rep: User | None, *, limit: int = 6) -> list[dict]:
    """Active goals of ``rep`` (their own or their clones'), or every active goal."""
    goals = Goal.objects.filter(status=GoalStatus.ACTIVE)
    if rep is not None:
        goals = goals.filter(Q(owner=rep) | Q(clone__owner=rep))
    return [_goal_row(goal) for goal in goals.order_by("period_end", "name")[:limit]]


def goal_attainment(period: Period, *, limit: int = 8) -> dict:
    """Goals whose period ended in the range: how many were met; and the active ones now."""
    ended = Q(period_end__gte=period.start.date(), period_end__lte=period.now.date())
    row = Goal.objects.order_by().aggregate(
        completed=Count("pk", filter=ended & Q(status=GoalStatus.COMPLETED)),
        missed=Count("pk", filter=ended & Q(status=GoalStatus.MISSED)),
        active=Count("pk", filter=Q(status=GoalStatus.ACTIVE)),
    )
    active = list(
        Goal.objects.filter(status=GoalStatus.ACTIVE).order_by("period_end", "name")[:limit]
    )
    history = goals_history(active, today=period.now.date())
    return {
        "completed": row["completed"],
        "missed": row["missed"],
        "active_count": row["active"],
        "attainment_rate": _rate(row["completed"], row["completed"] + row["missed"]),
        "active": [_goal_row(goal) | {"history": history[goal.pk]} for goal in active],
    }
