"""Writes for outcomes: recording agent actions, resolving them from signals, expiry, calibration.

Resolution and expiry are set-based SQL. Resolvers claim pending rows in batches with
``SELECT … FOR UPDATE SKIP LOCKED`` so that two workers never resolve the same record;
expiry is one ``UPDATE``. Every job only touches pending rows (or rewrites bins only when
their numbers changed), so running it twice changes nothing the second time.

Times: ``resolved_at`` is when the outcome was decided in the world — the time of the
resolving signal, or the end of the window for an expired record — not when the job ran,
so that backfilled history reads true.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.crm.models import STAGE_ORDER, Account, Deal
from apps.outcomes.models import (
    CALIBRATION_BINS,
    ActionType,
    OutcomeRecord,
    Signal,
)
from apps.personas.models import Clone

MAX_BULK_ITEMS = 1000
MAX_OUTPUT_TEXT = 50_000
# An agent's clock may run a little ahead of ours; an action far in the future is a bug.
FUTURE_TOLERANCE = timedelta(minutes=5)
# Stages advanced that give a full deal_progression score (0.2 per stage).
DEAL_STAGE_SCORE = 0.2
RESOLVE_BATCH = 5000
NUL_MESSAGE = "Null characters are not allowed."  # PostgreSQL cannot store them


# --- recording ---------------------------------------------------------------------------


def _check_values(
    *,
    external_id: object,
    predicted_confidence: object,
    occurred_at: object,
    output_text: object,
    metadata: object,
    now: datetime,
) -> dict[str, str]:
    """Field errors of the plain values of one action (references are checked elsewhere)."""
    errors: dict[str, str] = {}
    if not isinstance(external_id, str) or not external_id.strip():
        errors["external_id"] = "This field is required."
    elif len(external_id) > 200:
        errors["external_id"] = "Ensure this field has no more than 200 characters."
    elif "\x00" in external_id:
        errors["external_id"] = NUL_MESSAGE
    if (
        isinstance(predicted_confidence, bool)
        or not isinstance(predicted_confidence, int | float)
        or math.isnan(predicted_confidence)
    ):
        errors["predicted_confidence"] = "A number between 0 and 1 is required."
    elif not 0 <= predicted_confidence <= 1:
        errors["predicted_confidence"] = "Must be between 0 and 1."
    if not isinstance(occurred_at, datetime):
        errors["occurred_at"] = "A date and time with a time zone is required (ISO 8601)."
    elif timezone.is_naive(occurred_at):
        errors["occurred_at"] = "Give a time zone (for example 2026-01-31T09:00:00Z)."
    elif occurred_at > now + FUTURE_TOLERANCE:
        errors["occurred_at"] = "An action cannot have happened in the future."
    if not isinstance(output_text, str):
        errors["output_text"] = "Must be text."
    elif len(output_text) > MAX_OUTPUT_TEXT:
        errors["output_text"] = f"Ensure this field has no more than {MAX_OUTPUT_TEXT} characters."
    elif "\x00" in output_text:
        errors["output_text"] = NUL_MESSAGE
    if not isinstance(metadata, dict):
        errors["metadata"] = "Must be a JSON object."
    return errors


def _check_references(
    *, action_type: ActionType | None, account: Account | None, deal: Deal | None
) -> dict[str, str]:
    errors: dict[str, str] = {}
    if action_type is None or not action_type.is_active:
        errors["action_type"] = "Unknown or inactive action type."
    if account is None:
        errors["account"] = "Unknown account."
    if deal is not None and account is not None and deal.account_id != account.pk:
        errors["deal"] = "This deal belongs to another account."
    if (
        action_type is not None
        and action_type.signal == Signal.DEAL_PROGRESSION
        and deal is None
        and "deal" not in errors
    ):
        errors["deal"] = f"A {action_type.code} action needs the deal it is meant to progress."
    return errors


def outcome_record(
    *,
    external_id: str,
    action_type: ActionType,
    account: Account,
    predicted_confidence: float,
    occurred_at: datetime | None = None,
    deal: Deal | None = None,
    clone: Clone | None = None,
    output_text: str = "",
    metadata: dict | None = None,
) -> tuple[OutcomeRecord, bool]:
    """Record one agent action. Idempotent on ``external_id``: returns (record, created).

    A repeated ``external_id`` returns the stored record unchanged (``created`` False),
    also under a retry storm: the unique constraint decides, not a prior read.
    ``occurred_at`` defaults to now and may lie in the past (backfill); the window ends
    ``action_type.window_hours`` after it. Bad input raises ``ValidationError`` keyed by field.
    """
    now = timezone.now()
    occurred_at = occurred_at or now
    metadata = {} if metadata is None else metadata
    errors = _check_values(
        external_id=external_id,
        predicted_confidence=predicted_confidence,
        occurred_at=occurred_at,
        output_text=output_text,
        metadata=metadata,
        now=now,
    )
    existing = (
        OutcomeRecord.objects.filter(external_id=external_id).first()
        if "external_id" not in errors
        else None
    )
    if existing is not None:
        return existing, False
    errors |= _check_references(action_type=action_type, account=account, deal=deal)
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            record = OutcomeRecord.objects.create(
                external_id=external_id,
                action_type=action_type,
                account=account,
                deal=deal,
                clone=clone,
                predicted_confidence=float(predicted_confidence),
                occurred_at=occurred_at,
                window_ends_at=occurred_at + timedelta(hours=action_type.window_hours),
                output_text=output_text,
                metadata=metadata,
            )
    except IntegrityError:
        # A concurrent call with the same external_id won the race: return its record.
        return OutcomeRecord.objects.get(external_id=external_id), False
    return record, True


@dataclass
class BulkItemResult:
    """What happened to one item of a bulk call: created, existing or error."""

    index: int
    external_id: str | None
    status: str
    id: int | None = None
    errors: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict:
        data: dict = {"index": self.index, "external_id": self.external_id, "status": self.status}
        if self.id is not None:
            data["id"] = self.id
        if self.errors:
            data["errors"] = self.errors
        return data


def _has_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(key) or _has_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


def _parse_time(value: object) -> object:
    if value is None or isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:  # the C parser takes the common RFC 3339 forms; Django's takes the rest
            return datetime.fromisoformat(value)
        except ValueError:
            pass
        try:
            return parse_datetime(value) or value
        except ValueError:
            return value
    return value


def _ref(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


# Every external reference of a bulk call resolved in one round trip. Each list travels as
# one JSON parameter: psycopg quotes a single string far faster than it binds a thousand
# placeholders (measured in bench/outcomes_bench.py).
_REFERENCES_SQL = """
SELECT 'account', a.external_id, a.id, NULL::bigint FROM crm_account a
 WHERE a.external_id IN (SELECT json_array_elements_text(%(accounts)s::json))
UNION ALL
SELECT 'deal', d.external_id, d.id, d.account_id FROM crm_deal d
 WHERE d.external_id IN (SELECT json_array_elements_text(%(deals)s::json))
UNION ALL
SELECT 'clone', c.external_id, c.id, NULL FROM personas_clone c
 WHERE c.external_id IN (SELECT json_array_elements_text(%(clones)s::json))
"""

_INSERT_SQL = """
INSERT INTO outcomes_outcomerecord (
    external_id, action_type_id, account_id, deal_id, clone_id, predicted_confidence,
    occurred_at, window_ends_at, output_text, metadata, status, resolution_note, created_at
)
SELECT item.external_id, item.action_type_id, item.account_id, item.deal_id, item.clone_id,
       item.predicted_confidence, item.occurred_at,
       item.occurred_at + make_interval(hours => item.window_hours), item.output_text,
       COALESCE(item.metadata::jsonb, '{}'::jsonb), 'pending', '', %s
FROM json_to_recordset(%s::json) AS item(
    external_id varchar, action_type_id bigint, account_id bigint, deal_id bigint,
    clone_id bigint, predicted_confidence float8, occurred_at timestamptz,
    window_hours int, output_text text, metadata json)
ON CONFLICT (external_id) DO NOTHING
RETURNING id, external_id
"""


def _references(dicts: list[dict]) -> tuple[dict, dict, dict, dict]:
    """(action types by code, account ids, (deal id, account id)s and clone ids by external id)."""
    wanted: dict[str, set[str]] = {
        key: set() for key in ("action_type", "account", "deal", "clone")
    }
    for item in dicts:
        for key, refs in wanted.items():
            if ref := _ref(item.get(key)):
                refs.add(ref)
    action_types = {a.code: a for a in ActionType.objects.filter(code__in=wanted["action_type"])}
    found: dict[str, dict] = {"account": {}, "deal": {}, "clone": {}}
    with connection.cursor() as cursor:
        cursor.execute(
            _REFERENCES_SQL,
            {
                "accounts": json.dumps(list(wanted["account"])),
                "deals": json.dumps(list(wanted["deal"])),
                "clones": json.dumps(list(wanted["clone"])),
            },
        )
        for kind, external_id, pk, account_id in cursor.fetchall():
            found[kind][external_id] = (pk, account_id) if kind == "deal" else pk
    return action_types, found["account"], found["deal"], found["clone"]


def outcomes_record_bulk(*, items: list) -> list[BulkItemResult]:
    """Record up to ``MAX_BULK_ITEMS`` actions at once; one result per item, in order.

    Items are plain dicts of the API payload (references by external id / code). Bad items
    are reported with field errors and skipped; good ones are stored in one INSERT
    (``ON CONFLICT DO NOTHING``), so repeated ids come back as ``existing``. A fixed
    number of queries whatever the size.
    """
    if not isinstance(items, list):
        raise ValidationError({"outcomes": "A list of actions is required."})
    if not items:
        raise ValidationError({"outcomes": "Give at least one action."})
    if len(items) > MAX_BULK_ITEMS:
        raise ValidationError(
            {"outcomes": f"At most {MAX_BULK_ITEMS} actions per call ({len(items)} given)."}
        )
    dicts = [item if isinstance(item, dict) else {} for item in items]
    action_types, accounts, deals, clones = _references(dicts)

    now = timezone.now()
    results: list[BulkItemResult] = []
    rows: list[dict] = []
    row_index: list[int] = []
    for index, (raw, item) in enumerate(zip(items, dicts, strict=True)):
        external_id = item.get("external_id")
        result = BulkItemResult(
            index=index,
            external_id=external_id if isinstance(external_id, str) else None,
            status="error",
        )
        results.append(result)
        if not isinstance(raw, dict):
            result.errors = {"non_field_errors": "Each action must be a JSON object."}
            continue
        occurred_at = _parse_time(item.get("occurred_at")) or now
        output_text = item.get("output_text") or ""
        metadata = item.get("metadata")
        metadata = {} if metadata is None else metadata
        errors = _check_values(
            external_id=external_id,
            predicted_confidence=item.get("predicted_confidence"),
            occurred_at=occurred_at,
            output_text=output_text,
            metadata=metadata,
            now=now,
        )
        action_type = action_types.get(_ref(item.get("action_type")))
        if action_type is None or not action_type.is_active:
            errors["action_type"] = "Unknown or inactive action type."
        account_id = accounts.get(_ref(item.get("account")))
        if account_id is None:
            errors["account"] = "Unknown account."
        deal_ref, deal_id = item.get("deal"), None
        if deal_ref not in (None, ""):
            deal = deals.get(_ref(deal_ref))
            if deal is None:
                errors["deal"] = "Unknown deal."
            elif account_id is not None and deal[1] != account_id:
                errors["deal"] = "This deal belongs to another account."
            else:
                deal_id = deal[0]
        elif action_type is not None and action_type.signal == Signal.DEAL_PROGRESSION:
            errors["deal"] = f"A {action_type.code} action needs the deal it is meant to progress."
        clone_ref, clone_id = item.get("clone"), None
        if clone_ref not in (None, ""):
            clone_id = clones.get(_ref(clone_ref))
            if clone_id is None:
                errors["clone"] = "Unknown clone."
        if errors:
            result.errors = errors
            continue
        rows.append(
            {
                "external_id": external_id,
                "action_type_id": action_type.pk,
                "account_id": account_id,
                "deal_id": deal_id,
                "clone_id": clone_id,
                "predicted_confidence": float(item["predicted_confidence"]),
                "occurred_at": occurred_at.isoformat(),
                "window_hours": action_type.window_hours,
                "output_text": output_text,
                "metadata": metadata,
            }
        )
        row_index.append(index)

    encoded = json.dumps(rows, default=str)  # one encoder pass for the whole call
    if "\\u0000" in encoded:  # PostgreSQL cannot store NUL: drop the (rare) rows that have one
        keep = [position for position, row in enumerate(rows) if not _has_nul(row["metadata"])]
        for position in set(range(len(rows))) - set(keep):
            results[row_index[position]].errors = {"metadata": NUL_MESSAGE}
        rows, row_index = [rows[p] for p in keep], [row_index[p] for p in keep]
        encoded = json.dumps(rows, default=str)

    if rows:
        with connection.cursor() as cursor:
            cursor.execute(_INSERT_SQL, [now, encoded])
            inserted = {external_id: pk for pk, external_id in cursor.fetchall()}
        missing = {row["external_id"] for row in rows} - inserted.keys()
        existing = dict(
            OutcomeRecord.objects.filter(external_id__in=missing).values_list("external_id", "pk")
            if missing
            else ()
        )
        for position, index in enumerate(row_index):
            result, external_id = results[index], rows[position]["external_id"]
            if external_id in inserted:
                result.status, result.id = "created", inserted.pop(external_id)
                existing[external_id] = result.id  # a repeat later in this call is "existing"
            else:
                result.status, result.id = "existing", existing.get(external_id)
    return results


# --- resolution and expiry ----------------------------------------------------------------


def _stage_order_sql(column: str) -> str:
    """SQL giving a stage's position in the pipeline (NULL for closed-lost: not an advance)."""
    whens = " ".join(f"WHEN '{stage}' THEN {order}" for stage, order in STAGE_ORDER.items())
    return f"(CASE {column} {whens} ELSE NULL END)"


_TOP_STAGE = max(STAGE_ORDER.values())

# The first customer signal on the account inside the record's window, per signal kind.
_INTERACTION_SIGNAL = {
    Signal.INBOUND_EMAIL: "i.channel = 'email' AND i.direction = 'inbound'",
    Signal.MEETING: "i.channel = 'meeting'",
}
_FIRST_INTERACTION = """
    SELECT i.id, i.occurred_at FROM crm_interaction i
    WHERE i.account_id = o.account_id AND {condition}
      AND i.occurred_at > o.occurred_at AND i.occurred_at <= o.window_ends_at
    ORDER BY i.account_id, i.occurred_at, i.id LIMIT 1
"""
# Where the deal stood when the action happened: the last stage reached at or before it,
# else (the action predates the recorded history) the stage the first later move left.
_BASE_STAGE = f"""
    SELECT COALESCE(
        (SELECT {_stage_order_sql("sc.to_stage")} FROM crm_dealstagechange sc
          WHERE sc.deal_id = o.deal_id AND sc.changed_at <= o.occurred_at
          ORDER BY sc.changed_at DESC, sc.id DESC LIMIT 1),
        (SELECT {_stage_order_sql("sc.from_stage")} FROM crm_dealstagechange sc
          WHERE sc.deal_id = o.deal_id AND sc.changed_at > o.occurred_at
          ORDER BY sc.changed_at, sc.id LIMIT 1),
        0) AS stage
"""
# The furthest stage the deal reached inside the window, and when it first got there.
_BEST_STAGE = f"""
    SELECT {_stage_order_sql("sc.to_stage")} AS reached, sc.changed_at
    FROM crm_dealstagechange sc
    WHERE sc.deal_id = o.deal_id AND sc.changed_at > o.occurred_at
      AND sc.changed_at <= o.window_ends_at AND {_stage_order_sql("sc.to_stage")} IS NOT NULL
    ORDER BY 1 DESC, sc.changed_at, sc.id LIMIT 1
"""
_CLOSED_LOST_IN_WINDOW = """
    EXISTS (SELECT 1 FROM crm_dealstagechange sc
            WHERE sc.deal_id = o.deal_id AND sc.to_stage = 'closed_lost'
              AND sc.changed_at > o.occurred_at AND sc.changed_at <= o.window_ends_at)
"""

_RESOLVE_BY_INTERACTION = """
WITH claimed AS (
    SELECT o.id, sig.id AS interaction_id, sig.occurred_at AS signal_at
    FROM outcomes_outcomerecord o
    CROSS JOIN LATERAL ({first_interaction}) sig
    WHERE o.status = 'pending' AND o.action_type_id = ANY(%(types)s)
      AND o.id >= %(low)s AND o.id < %(high)s
    FOR UPDATE OF o SKIP LOCKED
)
UPDATE outcomes_outcomerecord o
SET status = 'resolved', score = 1.0, resolved_at = c.signal_at,
    resolving_interaction_id = c.interaction_id, resolution_note = %(note)s
FROM claimed c WHERE o.id = c.id AND o.id >= %(low)s AND o.id < %(high)s
RETURNING o.id
"""

# A deal_progression record is scored once its window has ended, or earlier when the deal
# can move no further (won, or lost) — 0.2 per stage advanced since the action, at most 1.0.
_RESOLVE_BY_DEAL = f"""
WITH claimed AS (
    SELECT o.id, best.reached - base.stage AS advanced, best.changed_at AS signal_at
    FROM outcomes_outcomerecord o
    CROSS JOIN LATERAL ({_BASE_STAGE}) base
    CROSS JOIN LATERAL ({_BEST_STAGE}) best
    WHERE o.status = 'pending' AND o.action_type_id = ANY(%(types)s) AND o.deal_id IS NOT NULL
      AND o.id >= %(low)s AND o.id < %(high)s
      AND best.reached > base.stage
      AND (o.window_ends_at <= %(now)s OR best.reached = {_TOP_STAGE} OR {_CLOSED_LOST_IN_WINDOW})
    FOR UPDATE OF o SKIP LOCKED
)
UPDATE outcomes_outcomerecord o
SET status = 'resolved',
    score = LEAST(1.0, {DEAL_STAGE_SCORE}::numeric * c.advanced)::float8,
    resolved_at = c.signal_at,
    resolution_note = 'Deal advanced ' || c.advanced || ' stage(s) after the action'
FROM claimed c WHERE o.id = c.id AND o.id >= %(low)s AND o.id < %(high)s
RETURNING o.id
"""

_EXPIRE = f"""
UPDATE outcomes_outcomerecord o
SET status = 'expired', score = 0.0, resolved_at = o.window_ends_at,
    resolution_note = 'No signal within the window'
WHERE o.status = 'pending' AND o.window_ends_at <= %(now)s
  AND NOT (
    (o.action_type_id = ANY(%(email_types)s)
      AND EXISTS ({_FIRST_INTERACTION.format(condition=_INTERACTION_SIGNAL[Signal.INBOUND_EMAIL])}))
    OR (o.action_type_id = ANY(%(meeting_types)s)
      AND EXISTS ({_FIRST_INTERACTION.format(condition=_INTERACTION_SIGNAL[Signal.MEETING])}))
    OR (o.action_type_id = ANY(%(deal_types)s) AND o.deal_id IS NOT NULL
      AND EXISTS (SELECT 1 FROM ({_BASE_STAGE}) base, ({_BEST_STAGE}) best
                  WHERE best.reached > base.stage))
  )
"""


def _no_jit(cursor) -> None:
    """These statements are many cheap index probes; PostgreSQL's JIT, triggered by their
    large estimated cost, spends seconds compiling them for nothing (seen in the bench)."""
    cursor.execute("SET LOCAL jit = off")


def _action_type_ids(signal: str) -> list[int]:
    return list(ActionType.objects.filter(signal=signal).values_list("pk", flat=True))


def _pending_id_range(types: list[int]) -> tuple[int, int] | None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT MIN(id), MAX(id) FROM outcomes_outcomerecord"
            " WHERE status = 'pending' AND action_type_id = ANY(%s)",
            [types],
        )
        low, high = cursor.fetchone()
    return None if low is None else (low, high)


def _resolve_in_chunks(
    sql: str, *, signal: str, params: dict, batch: int, claimed: list[int] | None
) -> int:
    """Run a claiming UPDATE over consecutive id ranges, one short transaction each."""
    types = _action_type_ids(signal)
    if not types:
        return 0
    id_range = _pending_id_range(types)
    if id_range is None:
        return 0
    resolved = 0
    for low in range(id_range[0], id_range[1] + 1, batch):
        with transaction.atomic(), connection.cursor() as cursor:
            _no_jit(cursor)
            cursor.execute(sql, {**params, "types": types, "low": low, "high": low + batch})
            ids = [row[0] for row in cursor.fetchall()]
        resolved += len(ids)
        if claimed is not None:
            claimed.extend(ids)
    return resolved


def outcomes_resolve_by_interactions(
    *, signal: str, batch: int = RESOLVE_BATCH, claimed: list[int] | None = None
) -> int:
    """Resolve pending records of the action types that ``signal`` (inbound email or
    meeting) resolves, when such an interaction happened on the account inside the window:
    score 1.0, the interaction kept as the resolving signal. Returns how many were resolved.

    Rows are claimed with ``FOR UPDATE SKIP LOCKED``: a record another worker holds is
    left to it. ``claimed`` (optional) collects the ids this call resolved.
    """
    if signal not in _INTERACTION_SIGNAL:
        raise ValueError(f"{signal} is not resolved by an interaction")
    sql = _RESOLVE_BY_INTERACTION.format(
        first_interaction=_FIRST_INTERACTION.format(condition=_INTERACTION_SIGNAL[signal])
    )
    note = {
        Signal.INBOUND_EMAIL: "Inbound email within the window",
        Signal.MEETING: "Meeting within the window",
    }[signal]
    return _resolve_in_chunks(
        sql, signal=signal, params={"note": note}, batch=batch, claimed=claimed
    )


def outcomes_resolve_immediate_signals(**kwargs) -> int:
    """Inbound emails resolve ``email_sent``-like actions (the 15-minute job)."""
    return outcomes_resolve_by_interactions(signal=Signal.INBOUND_EMAIL, **kwargs)


def outcomes_resolve_engagement(**kwargs) -> int:
    """Meetings resolve meeting requests and escalations (the 6-hour job)."""
    return outcomes_resolve_by_interactions(signal=Signal.MEETING, **kwargs)


def outcomes_resolve_deal_progression(
    *, now: datetime | None = None, batch: int = RESOLVE_BATCH, claimed: list[int] | None = None
) -> int:
    """Score deal_progression records by the stages their deal advanced inside the window.

    Scored when the window has ended (or earlier once the deal is won or lost):
    min(1.0, 0.2 × stages advanced). A deal that did not advance is left to expiry.
    """
    return _resolve_in_chunks(
        _RESOLVE_BY_DEAL,
        signal=Signal.DEAL_PROGRESSION,
        params={"now": now or timezone.now()},
        batch=batch,
        claimed=claimed,
    )


@transaction.atomic
def outcomes_expire(*, now: datetime | None = None) -> int:
    """Expire (score 0.0) every pending record whose window ended without its signal.

    One set-based UPDATE. A record whose signal did arrive inside the window is left
    pending for its resolver, however late that runs. Returns how many expired.
    """
    params = {
        "now": now or timezone.now(),
        "email_types": _action_type_ids(Signal.INBOUND_EMAIL),
        "meeting_types": _action_type_ids(Signal.MEETING),
        "deal_types": _action_type_ids(Signal.DEAL_PROGRESSION),
    }
    with connection.cursor() as cursor:
        _no_jit(cursor)
        cursor.execute(_EXPIRE, params)
        return cursor.rowcount


# --- calibration -----------------------------------------------------------------------------

_RECALIBRATE = f"""
WITH decided AS (
    SELECT action_type_id,
           LEAST(FLOOR(predicted_confidence * {CALIBRATION_BINS})::int, {CALIBRATION_BINS - 1})
               AS bin_index,
           predicted_confidence AS predicted, score AS actual
    FROM outcomes_outcomerecord
    WHERE status IN ('resolved', 'expired') AND (%(type)s::bigint IS NULL OR action_type_id = %(type)s)
),
aggregated AS (
    SELECT action_type_id, bin_index, COUNT(*) AS n,
           ROUND(AVG(predicted)::numeric, 12)::float8 AS mean_predicted,
           ROUND(AVG(actual)::numeric, 12)::float8 AS mean_actual,
           ROUND(SUM((predicted - actual) ^ 2)::numeric, 12)::float8 AS sse
    FROM decided GROUP BY action_type_id, bin_index
),
grid AS (
    SELECT a.id AS action_type_id, g.bin_index
    FROM outcomes_actiontype a CROSS JOIN generate_series(0, {CALIBRATION_BINS - 1}) AS g(bin_index)
    WHERE %(type)s::bigint IS NULL OR a.id = %(type)s
)
INSERT INTO outcomes_calibrationbin AS bin (
    action_type_id, bin_index, lower, upper, count, mean_predicted, mean_actual,
    sum_squared_error, updated_at
)
SELECT grid.action_type_id, grid.bin_index,
       grid.bin_index::float8 / {CALIBRATION_BINS}, (grid.bin_index + 1)::float8 / {CALIBRATION_BINS},
       COALESCE(aggregated.n, 0), aggregated.mean_predicted, aggregated.mean_actual,
       COALESCE(aggregated.sse, 0), %(now)s
FROM grid LEFT JOIN aggregated USING (action_type_id, bin_index)
ON CONFLICT (action_type_id, bin_index) DO UPDATE
SET count = EXCLUDED.count, mean_predicted = EXCLUDED.mean_predicted,
    mean_actual = EXCLUDED.mean_actual, sum_squared_error = EXCLUDED.sum_squared_error,
    updated_at = EXCLUDED.updated_at
WHERE (bin.count, bin.mean_predicted, bin.mean_actual, bin.sum_squared_error)
      IS DISTINCT FROM
      (EXCLUDED.count, EXCLUDED.mean_predicted, EXCLUDED.mean_actual, EXCLUDED.sum_squared_error)
"""


@transaction.atomic
def calibration_recompute(*, action_type: ActionType | None = None) -> int:
    """Recompute the ten bins of one action type (or all) from decided outcomes.

    One INSERT … ON CONFLICT UPDATE; a bin is rewritten (and its ``updated_at`` moved)
    only when its numbers changed. Returns how many bins changed.
    """
    params = {"type": action_type.pk if action_type else None, "now": timezone.now()}
    with connection.cursor() as cursor:
        _no_jit(cursor)
        cursor.execute(_RECALIBRATE, params)
        return cursor.rowcount
