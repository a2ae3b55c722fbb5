"""Reads for outcomes: visible records, counts, and calibration (report and calibrated confidence).

Calibrated confidence is an isotonic fit of the stored bins: the bins' mean actual scores,
weighted by their counts, are made non-decreasing with pool-adjacent-violators; a raw
confidence is then mapped by linear interpolation between the bins' mean predicted
confidences (flat beyond the first and last). The map is therefore monotone in the raw value.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import DEFAULT_DB_ALIAS, connection
from django.db.models import Q, QuerySet, Subquery

from apps.crm.selectors import account_visibility
from apps.outcomes.models import (
    CALIBRATION_BINS,
    ActionType,
    CalibrationBin,
    OutcomeRecord,
    OutcomeStatus,
)
from apps.web.compiled import CompiledGet


def bin_bounds(index: int) -> tuple[float, float]:
    return index / CALIBRATION_BINS, (index + 1) / CALIBRATION_BINS


def _with_references(outcomes: QuerySet[OutcomeRecord]) -> QuerySet[OutcomeRecord]:
    return outcomes.select_related("action_type", "account", "deal", "clone")


def outcomes_visible_to(user) -> QuerySet[OutcomeRecord]:
    """Outcomes on the accounts the user may see (``account_visibility``: a rep, their own).

    The one definition: pages, API, ratings and exports all start from it.
    """
    return _with_references(OutcomeRecord.objects.filter(account_visibility(user, "account__")))


# A live outcome with its references, by id, in SQL compiled once (apps/web/compiled.py).
_OUTCOME_BY_ID = CompiledGet(lambda: _with_references(OutcomeRecord.objects.all()))


def outcome_get(pk, *, user) -> OutcomeRecord:
    """Outcome ``pk`` with its references, if ``user`` may see it (``outcomes_visible_to``);
    ``DoesNotExist`` otherwise, ValueError for an id that is not a number."""
    return _OUTCOME_BY_ID.get_within(outcomes_visible_to(user), pk)


# A live outcome with its id alone, by id, in SQL compiled once (apps/web/compiled.py).
_LIVE_OUTCOME_ID = CompiledGet(lambda: OutcomeRecord.objects.only("pk"))


def outcome_visible_id(user, pk) -> OutcomeRecord:
    """Outcome ``pk`` with its id alone, if ``user`` may see it (``outcomes_visible_to``);
    ``DoesNotExist`` otherwise. What a rating refers to: no related rows are read."""
    return _LIVE_OUTCOME_ID.get_within(
        outcomes_visible_to(user).select_related(None).only("pk"), pk
    )


@dataclass(frozen=True)
class VisibleOutcomeId:
    """Outcome ``pk``, to be checked by the write that refers to it: ``sql`` and ``params``
    select its id if the user may see it, no row otherwise, inside the write's statement."""

    pk: int
    sql: str
    params: list


def outcome_visible_id_later(
    user, pk, *, using: str = DEFAULT_DB_ALIAS
) -> OutcomeRecord | VisibleOutcomeId:
    """Outcome ``pk`` if ``user`` may see it, as ``outcome_visible_id``, or, for a user who
    sees every account's (``account_visibility`` filters nothing), as the statement that
    checks it, for the write to run within its own (on ``using``, the primary by default):
    one round trip instead of two.

    Raises ``DoesNotExist`` when no record can match (now, or for a record read now),
    ``ValueError`` or ``TypeError`` for a value an id cannot be."""
    if account_visibility(user, "account__"):
        return outcome_visible_id(user, pk)
    statement = _LIVE_OUTCOME_ID.statement(pk, using=using)
    if statement is None:
        raise OutcomeRecord.DoesNotExist(f"No outcome {pk}.")
    return VisibleOutcomeId(OutcomeRecord._meta.pk.get_prep_value(pk), *statement)


# Tabs count up to this many records per status and show "10,000+" beyond: an exact count
# of a million rows costs a scan on every page view and tells a manager nothing more.
STATUS_COUNT_CAP = 10_000


def outcome_status_counts(queryset: QuerySet[OutcomeRecord]) -> dict[str, int]:
    """How many of ``queryset`` are in each status, plus ``all`` (one query).

    Each count stops at ``STATUS_COUNT_CAP + 1``: more than the cap means "over the cap".
    Most recent first, like the list, so that PostgreSQL reads the per-status partial
    indexes rather than hoping a table scan meets enough matching rows early.
    """
    subsets = {"all": queryset} | {
        status: queryset.filter(status=status) for status in OutcomeStatus.values
    }
    columns, params = [], []
    for name, subset in subsets.items():
        sql, subset_params = (
            subset.order_by("-occurred_at", "-pk")
            .values("pk")[: STATUS_COUNT_CAP + 1]
            .query.sql_with_params()
        )
        columns.append(f'(SELECT count(*) FROM ({sql}) AS capped) AS "{name}"')
        params.extend(subset_params)
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(columns), params)
        return dict(zip(subsets, cursor.fetchone(), strict=True))


def older_than(queryset: QuerySet[OutcomeRecord], pk: int) -> QuerySet[OutcomeRecord]:
    """The records of ``queryset`` after record ``pk`` in the list's order (most recent
    action first, then highest id): the next page of a keyset-paged list."""
    anchor = OutcomeRecord.objects.filter(pk=pk).values("occurred_at")[:1]
    return queryset.filter(
        Q(occurred_at__lt=Subquery(anchor)) | Q(occurred_at=Subquery(anchor), pk__lt=pk)
    )


def status_count_label(count: int) -> str:
    """A count from ``outcome_status_counts`` as a tab shows it: "1,234" or "10,000+"."""
    return f"{STATUS_COUNT_CAP:,}+" if count > STATUS_COUNT_CAP else f"{count:,}"


def _empty_bin(index: int) -> dict:
    lower, upper = bin_bounds(index)
    return {
        "index": index,
        "lower": lower,
        "upper": upper,
        "count": 0,
        "mean_predicted": None,
        "mean_actual": None,
    }


def _report_from_bins(bins: list[CalibrationBin]) -> dict:
    by_index = {b.bin_index: b for b in bins}
    rows, sample_size, squared_error, updated_at = [], 0, 0.0, None
    for index in range(CALIBRATION_BINS):
        stored = by_index.get(index)
        row = _empty_bin(index)
        if stored is not None and stored.count:
            row |= {
                "count": stored.count,
                "mean_predicted": stored.mean_predicted,
                "mean_actual": stored.mean_actual,
            }
            sample_size += stored.count
            squared_error += stored.sum_squared_error
        if stored is not None and (updated_at is None or stored.updated_at > updated_at):
            updated_at = stored.updated_at
        rows.append(row)
    ece = brier = None
    if sample_size:
        ece = sum(
            row["count"] / sample_size * abs(row["mean_actual"] - row["mean_predicted"])
            for row in rows
            if row["count"]
        )
        brier = squared_error / sample_size
    return {
        "bins": rows,
        "ece": ece,
        "brier": brier,
        "sample_size": sample_size,
        "updated_at": updated_at,
    }


def calibration_report(*, action_type: ActionType) -> dict:
    """The stored reliability bins of an action type with ECE, Brier score and sample size.

    ``ece`` = Σ (n_b / N) · |mean_actual_b − mean_predicted_b|; ``brier`` = mean
    (confidence − score)²; both ``None`` while no outcome of the type is decided.
    ``updated_at`` is when the ``recalibrate`` job last changed the bins (``None`` never).
    """
    report = _report_from_bins(list(CalibrationBin.objects.filter(action_type=action_type)))
    return {"action_type": action_type.code, **report}


def calibration_reports(action_types: list[ActionType]) -> list[dict]:
    """Reports for several action types in one query (the calibration page)."""
    by_type: dict[int, list[CalibrationBin]] = {a.pk: [] for a in action_types}
    for stored in CalibrationBin.objects.filter(action_type__in=action_types):
        by_type[stored.action_type_id].append(stored)
    return [
        {"action_type": a.code, "name": a.name, "window_hours": a.window_hours}
        | _report_from_bins(by_type[a.pk])
        for a in action_types
    ]


def _isotonic(values: list[float], weights: list[int]) -> list[float]:
    """Weighted pool-adjacent-violators: the closest non-decreasing sequence."""
    blocks: list[list[float]] = []  # [value, weight, length]
    for value, weight in zip(values, weights, strict=True):
        blocks.append([value, float(weight), 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            value2, weight2, length2 = blocks.pop()
            value1, weight1, length1 = blocks.pop()
            total = weight1 + weight2
            blocks.append([(value1 * weight1 + value2 * weight2) / total, total, length1 + length2])
    fitted: list[float] = []
    for value, _, length in blocks:
        fitted.extend([value] * int(length))
    return fitted


def calibration_map(bins: list[dict]) -> list[tuple[float, float]]:
    """The isotonic map as (mean predicted, calibrated) points, in increasing order."""
    counted = [b for b in bins if b["count"]]
    fitted = _isotonic([b["mean_actual"] for b in counted], [b["count"] for b in counted])
    return [(b["mean_predicted"], value) for b, value in zip(counted, fitted, strict=True)]


def apply_calibration_map(points: list[tuple[float, float]], confidence: float) -> float | None:
    if not points:
        return None
    if confidence <= points[0][0]:
        return points[0][1]
    for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
        if confidence <= x1:
            return y0 if x1 == x0 else y0 + (y1 - y0) * (confidence - x0) / (x1 - x0)
    return points[-1][1]


def calibrated_confidence(*, action_type_code: str, confidence: float) -> float | None:
    """The agent's raw ``confidence`` mapped onto what actually happened (one query).

    ``None`` when the action type is unknown or has no decided outcomes in its bins yet.
    Monotone (non-decreasing) in ``confidence``; see the module docstring.
    """
    stored = CalibrationBin.objects.filter(action_type__code=action_type_code, count__gt=0)
    bins = [
        {"count": b.count, "mean_predicted": b.mean_predicted, "mean_actual": b.mean_actual}
        for b in stored.order_by("bin_index")
    ]
    value = apply_calibration_map(calibration_map(bins), confidence)
    return None if value is None else round(value, 6)


def calibration_updated_at(action_type: ActionType) -> datetime | None:
    return (
        CalibrationBin.objects.filter(action_type=action_type)
        .order_by("-updated_at")
        .values_list("updated_at", flat=True)
        .first()
    )
