"""Resolution and expiry: pending outcomes decided from the signals that answer them.

Resolvers claim pending rows in batches with ``SELECT … FOR UPDATE SKIP LOCKED`` so that
two workers never resolve the same record; expiry is one ``UPDATE``. Every job only touches
pending rows, so running it twice changes nothing the second time.

Times: ``resolved_at`` is when the outcome was decided in the world — the time of the
resolving signal, or the end of the window for an expired record — not when the job ran,
so that backfilled history reads true.
"""

from __future__ import annotations

from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from apps.crm.models import STAGE_ORDER
from apps.outcomes.models import ActionType, Signal

# Stages advanced that give a full deal_progression score (0.2 per stage).
DEAL_STAGE_SCORE = 0.2
RESOLVE_BATCH = 5000


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
