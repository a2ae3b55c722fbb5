"""Resolution and expiry: pending outcomes decided by the signals that answer them.

Attribution: a customer signal answers at most one outcome. An inbound email (or a
meeting) that names the outcome it answers (``in_reply_to``) answers exactly that one,
if the signal falls in its window. Without a reference it answers the most recent
outcome of the kinds it resolves on the account that happened before it and whose
window it falls in — one of the same ``contact`` first, when both carry one (an
outcome's contact is ``metadata["contact"]``). If that outcome is already decided the
signal decides nothing more: a second reply to an answered email resolves nothing.
Deal progression is scored per deal, unchanged.

Resolvers claim pending rows in batches with ``SELECT … FOR UPDATE SKIP LOCKED`` so that
two workers never resolve the same record; expiry is one ``UPDATE``. A signal that
happened inside an expired record's window but arrived after it expired corrects it
(expired → resolved, the correction kept in the record's history). Every job only touches
pending records, or expired ones a new signal answers, so running it twice changes
nothing the second time.

Times: ``resolved_at`` is when the outcome was decided in the world — the time of the
resolving signal, or the end of the window for an expired record — not when the job ran,
so that backfilled history reads true.

Table names and status values come from the models and enums (never typed by hand).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from apps.crm.models import STAGE_ORDER, Channel, DealStage, DealStageChange, Direction, Interaction
from apps.outcomes.models import (
    ActionType,
    OutcomeChange,
    OutcomeChangeKind,
    OutcomeRecord,
    OutcomeStatus,
    Signal,
)

# Stages advanced that give a full deal_progression score (0.2 per stage).
DEAL_STAGE_SCORE = 0.2
RESOLVE_BATCH = 5000
# How far back the late-signal pass looks for signals that arrived (by their arrival
# time, whatever time they say they happened): longer than any pause of the jobs.
LATE_SIGNAL_LOOKBACK = timedelta(days=7)
JOB_ACTOR = "resolution job"

_OUTCOMES = OutcomeRecord._meta.db_table
_INTERACTIONS = Interaction._meta.db_table
_STAGE_CHANGES = DealStageChange._meta.db_table
_CHANGES = OutcomeChange._meta.db_table
_STATUS = {
    "pending": OutcomeStatus.PENDING.value,
    "resolved": OutcomeStatus.RESOLVED.value,
    "expired": OutcomeStatus.EXPIRED.value,
}


def _stage_order_sql(column: str) -> str:
    """SQL giving a stage's position in the pipeline (NULL for closed-lost: not an advance)."""
    whens = " ".join(f"WHEN '{stage}' THEN {order}" for stage, order in STAGE_ORDER.items())
    return f"(CASE {column} {whens} ELSE NULL END)"


_TOP_STAGE = max(STAGE_ORDER.values())

# The interactions that are each signal (values from the enums).
_INTERACTION_SIGNAL = {
    Signal.INBOUND_EMAIL: (
        f"i.channel = '{Channel.EMAIL.value}' AND i.direction = '{Direction.INBOUND.value}'"
    ),
    Signal.MEETING: f"i.channel = '{Channel.MEETING.value}'",
}
_NOTES = {
    Signal.INBOUND_EMAIL: "Inbound email within the window",
    Signal.MEETING: "Meeting within the window",
}


def _answers(types: str) -> str:
    """SQL true when interaction ``i`` answers outcome ``o`` (of the action types in the
    parameter ``types``), ``i`` being inside ``o``'s window. The attribution rule, stated
    once; resolution, late correction and expiry all use it.

    Without a reference, ``o`` is the answer when no other candidate outranks it: a later
    one of the same contact rank, or (when ``i`` names a contact and ``o`` is not theirs)
    any candidate of ``i``'s contact. Written as NOT EXISTS probes of the (account,
    occurred_at) index, so each check reads a row or two, not the account's history.
    """
    contact = "coalesce({alias}.metadata ->> 'contact', '')"
    same_rank = (
        f"(i.contact = '' OR ({contact.format(alias='t')} = i.contact)"
        f" = ({contact.format(alias='o')} = i.contact))"
    )
    candidate = f"""
        t.account_id = o.account_id AND t.action_type_id = ANY(%({types})s)
        AND t.deleted_at IS NULL AND t.occurred_at < i.occurred_at
        AND t.window_ends_at >= i.occurred_at"""
    return f"""(
    CASE WHEN i.in_reply_to <> '' THEN i.in_reply_to = o.external_id
    ELSE NOT EXISTS (
            SELECT 1 FROM {_OUTCOMES} t WHERE {candidate}
              AND t.occurred_at >= o.occurred_at AND (t.occurred_at > o.occurred_at OR t.id > o.id)
              AND {same_rank})
        AND NOT (i.contact <> '' AND {contact.format(alias="o")} <> i.contact
                 AND EXISTS (SELECT 1 FROM {_OUTCOMES} t WHERE {candidate}
                             AND t.metadata ->> 'contact' = i.contact))
    END
    AND NOT EXISTS (SELECT 1 FROM {_OUTCOMES} used WHERE used.resolving_interaction_id = i.id)
)"""


def _answering_interaction(signal: str, types: str) -> str:
    """The first interaction of ``signal`` inside ``o``'s window that answers ``o``."""
    return f"""
    SELECT i.id, i.occurred_at FROM {_INTERACTIONS} i
    WHERE i.account_id = o.account_id AND {_INTERACTION_SIGNAL[signal]}
      AND i.occurred_at > o.occurred_at AND i.occurred_at <= o.window_ends_at
      AND {_answers(types)}
    ORDER BY i.account_id, i.occurred_at, i.id LIMIT 1
"""


# Where the deal stood when the action happened: the last stage reached at or before it,
# else (the action predates the recorded history) the stage the first later move left.
_BASE_STAGE = f"""
    SELECT COALESCE(
        (SELECT {_stage_order_sql("sc.to_stage")} FROM {_STAGE_CHANGES} sc
          WHERE sc.deal_id = o.deal_id AND sc.changed_at <= o.occurred_at
          ORDER BY sc.changed_at DESC, sc.id DESC LIMIT 1),
        (SELECT {_stage_order_sql("sc.from_stage")} FROM {_STAGE_CHANGES} sc
          WHERE sc.deal_id = o.deal_id AND sc.changed_at > o.occurred_at
          ORDER BY sc.changed_at, sc.id LIMIT 1),
        0) AS stage
"""
# The furthest stage the deal reached inside the window, and when it first got there.
_BEST_STAGE = f"""
    SELECT {_stage_order_sql("sc.to_stage")} AS reached, sc.changed_at
    FROM {_STAGE_CHANGES} sc
    WHERE sc.deal_id = o.deal_id AND sc.changed_at > o.occurred_at
      AND sc.changed_at <= o.window_ends_at AND {_stage_order_sql("sc.to_stage")} IS NOT NULL
    ORDER BY 1 DESC, sc.changed_at, sc.id LIMIT 1
"""
_CLOSED_LOST_IN_WINDOW = f"""
    EXISTS (SELECT 1 FROM {_STAGE_CHANGES} sc
            WHERE sc.deal_id = o.deal_id AND sc.to_stage = '{DealStage.CLOSED_LOST.value}'
              AND sc.changed_at > o.occurred_at AND sc.changed_at <= o.window_ends_at)
"""

_RESOLVE_BY_INTERACTION = """
WITH claimed AS (
    SELECT o.id, sig.id AS interaction_id, sig.occurred_at AS signal_at
    FROM {outcomes} o
    CROSS JOIN LATERAL ({answering}) sig
    WHERE o.status = %(pending)s AND o.action_type_id = ANY(%(types)s)
      AND o.deleted_at IS NULL AND o.id >= %(low)s AND o.id < %(high)s
    FOR UPDATE OF o SKIP LOCKED
)
UPDATE {outcomes} o
SET status = %(resolved)s, score = 1.0, resolved_at = c.signal_at,
    resolving_interaction_id = c.interaction_id, resolution_note = %(note)s
FROM claimed c WHERE o.id = c.id AND o.id >= %(low)s AND o.id < %(high)s
RETURNING o.id
"""

# Late signals: interactions that arrived recently and answer an expired record (they
# happened inside its window) turn it resolved; the correction goes to its history.
# One statement: claim (SKIP LOCKED), update, record the change.
_CORRECT_LATE = """
WITH arrived AS (
    SELECT i.* FROM {interactions} i
    WHERE i.created_at >= %(since)s AND {signal}
),
answered AS (
    SELECT DISTINCT ON (o.id) o.id, i.id AS interaction_id, i.occurred_at AS signal_at
    FROM arrived i
    JOIN {outcomes} o ON o.account_id = i.account_id AND o.action_type_id = ANY(%(types)s)
        AND o.status = %(expired)s AND o.deleted_at IS NULL
        AND i.occurred_at > o.occurred_at AND i.occurred_at <= o.window_ends_at
    WHERE {answers}
    ORDER BY o.id, i.occurred_at, i.id
),
claimed AS (
    SELECT o.id, a.interaction_id, a.signal_at FROM {outcomes} o JOIN answered a USING (id)
    WHERE o.status = %(expired)s
    FOR UPDATE OF o SKIP LOCKED
),
corrected AS (
    UPDATE {outcomes} o
    SET status = %(resolved)s, score = 1.0, resolved_at = c.signal_at,
        resolving_interaction_id = c.interaction_id, resolution_note = %(note)s
    FROM claimed c WHERE o.id = c.id
    RETURNING o.id, c.interaction_id, c.signal_at
)
INSERT INTO {changes} (outcome_id, kind, actor, changes, created_at)
SELECT id, %(kind)s, %(actor)s,
       jsonb_build_object(
           'status', jsonb_build_object('from', %(expired)s, 'to', %(resolved)s),
           'score', jsonb_build_object('from', 0.0, 'to', 1.0),
           'resolving_interaction', jsonb_build_object('from', NULL, 'to', interaction_id),
           'resolved_at', jsonb_build_object('to', signal_at)),
       %(now)s
FROM corrected
RETURNING outcome_id
"""

# A deal_progression record is scored once its window has ended, or earlier when the deal
# can move no further (won, or lost) — 0.2 per stage advanced since the action, at most 1.0.
_RESOLVE_BY_DEAL = f"""
WITH claimed AS (
    SELECT o.id, best.reached - base.stage AS advanced, best.changed_at AS signal_at
    FROM {_OUTCOMES} o
    CROSS JOIN LATERAL ({_BASE_STAGE}) base
    CROSS JOIN LATERAL ({_BEST_STAGE}) best
    WHERE o.status = %(pending)s AND o.action_type_id = ANY(%(types)s) AND o.deal_id IS NOT NULL
      AND o.deleted_at IS NULL AND o.id >= %(low)s AND o.id < %(high)s
      AND best.reached > base.stage
      AND (o.window_ends_at <= %(now)s OR best.reached = {_TOP_STAGE} OR {_CLOSED_LOST_IN_WINDOW})
    FOR UPDATE OF o SKIP LOCKED
)
UPDATE {_OUTCOMES} o
SET status = %(resolved)s,
    score = LEAST(1.0, {DEAL_STAGE_SCORE}::numeric * c.advanced)::float8,
    resolved_at = c.signal_at,
    resolution_note = 'Deal advanced ' || c.advanced || ' stage(s) after the action'
FROM claimed c WHERE o.id = c.id AND o.id >= %(low)s AND o.id < %(high)s
RETURNING o.id
"""

_EXPIRE = f"""
UPDATE {_OUTCOMES} o
SET status = %(expired)s, score = 0.0, resolved_at = o.window_ends_at,
    resolution_note = 'No signal within the window'
WHERE o.status = %(pending)s AND o.window_ends_at <= %(now)s AND o.deleted_at IS NULL
  AND NOT (
    (o.action_type_id = ANY(%(email_types)s)
      AND EXISTS ({_answering_interaction(Signal.INBOUND_EMAIL, "email_types")}))
    OR (o.action_type_id = ANY(%(meeting_types)s)
      AND EXISTS ({_answering_interaction(Signal.MEETING, "meeting_types")}))
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
            f"SELECT MIN(id), MAX(id) FROM {_OUTCOMES}"
            " WHERE status = %s AND action_type_id = ANY(%s)",
            [OutcomeStatus.PENDING, types],
        )
        low, high = cursor.fetchone()
    return None if low is None else (low, high)


def _resolve_in_chunks(
    sql: str, *, types: list[int], params: dict, batch: int, claimed: list[int] | None
) -> int:
    """Run a claiming UPDATE over consecutive id ranges, one short transaction each."""
    if not types:
        return 0
    id_range = _pending_id_range(types)
    if id_range is None:
        return 0
    resolved = 0
    for low in range(id_range[0], id_range[1] + 1, batch):
        with transaction.atomic(), connection.cursor() as cursor:
            _no_jit(cursor)
            cursor.execute(
                sql, {**_STATUS, **params, "types": types, "low": low, "high": low + batch}
            )
            ids = [row[0] for row in cursor.fetchall()]
        resolved += len(ids)
        if claimed is not None:
            claimed.extend(ids)
    return resolved


@transaction.atomic
def _correct_late(
    *, signal: str, types: list[int], now: datetime, claimed: list[int] | None
) -> int:
    sql = _CORRECT_LATE.format(
        interactions=_INTERACTIONS,
        outcomes=_OUTCOMES,
        changes=_CHANGES,
        signal=_INTERACTION_SIGNAL[signal],
        answers=_answers("types"),
    )
    params = {
        **_STATUS,
        "types": types,
        "since": now - LATE_SIGNAL_LOOKBACK,
        "note": f"{_NOTES[signal]} (arrived after expiry)",
        "kind": OutcomeChangeKind.LATE_SIGNAL.value,
        "actor": JOB_ACTOR,
        "now": now,
    }
    with connection.cursor() as cursor:
        _no_jit(cursor)
        cursor.execute(sql, params)
        ids = [row[0] for row in cursor.fetchall()]
    if claimed is not None:
        claimed.extend(ids)
    return len(ids)


def outcomes_resolve_by_interactions(
    *, signal: str, batch: int = RESOLVE_BATCH, claimed: list[int] | None = None
) -> int:
    """Resolve the records of the action types that ``signal`` (inbound email or meeting)
    resolves, each by the interaction that answers it (see the module docstring): score
    1.0, the interaction kept as the resolving signal. Pending records first; then expired
    ones answered by a signal that arrived late (history records the correction). Returns
    how many were resolved.

    Rows are claimed with ``FOR UPDATE SKIP LOCKED``: a record another worker holds is
    left to it. ``claimed`` (optional) collects the ids this call resolved.
    """
    if signal not in _INTERACTION_SIGNAL:
        raise ValueError(f"{signal} is not resolved by an interaction")
    types = _action_type_ids(signal)
    if not types:
        return 0
    sql = _RESOLVE_BY_INTERACTION.format(
        outcomes=_OUTCOMES, answering=_answering_interaction(signal, "types")
    )
    resolved = _resolve_in_chunks(
        sql, types=types, params={"note": _NOTES[signal]}, batch=batch, claimed=claimed
    )
    return resolved + _correct_late(signal=signal, types=types, now=timezone.now(), claimed=claimed)


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
        types=_action_type_ids(Signal.DEAL_PROGRESSION),
        params={"now": now or timezone.now()},
        batch=batch,
        claimed=claimed,
    )


@transaction.atomic
def outcomes_expire(*, now: datetime | None = None) -> int:
    """Expire (score 0.0) every pending record whose window ended without its signal.

    One set-based UPDATE. A record a signal answers (the attribution rule) is left pending
    for its resolver, however late that runs. Returns how many expired.
    """
    params = {
        **_STATUS,
        "now": now or timezone.now(),
        "email_types": _action_type_ids(Signal.INBOUND_EMAIL),
        "meeting_types": _action_type_ids(Signal.MEETING),
        "deal_types": _action_type_ids(Signal.DEAL_PROGRESSION),
    }
    with connection.cursor() as cursor:
        _no_jit(cursor)
        cursor.execute(_EXPIRE, params)
        return cursor.rowcount
