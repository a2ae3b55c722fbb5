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
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import DataError, IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.agents.models import Clone
from apps.crm.models import STAGE_ORDER, Account, Deal
from apps.outcomes.models import (
    CALIBRATION_BINS,
    ActionType,
    OutcomeRecord,
    Signal,
)

MAX_BULK_ITEMS = 1000
MAX_OUTPUT_TEXT = 50_000
# An agent's clock may run a little ahead of ours; an action far in the future is a bug.
FUTURE_TOLERANCE = timedelta(minutes=5)
# Stages advanced that give a full deal_progression score (0.2 per stage).
DEAL_STAGE_SCORE = 0.2
RESOLVE_BATCH = 5000
# No place on Earth is further from UTC than 14 hours; PostgreSQL takes up to 15:59.
MAX_UTC_OFFSET = timedelta(hours=16)
NUL_MESSAGE = "Null characters are not allowed."  # PostgreSQL cannot store them


# --- recording ---------------------------------------------------------------------------


def _time_error(occurred_at: object, *, latest: datetime) -> str | None:
    if not isinstance(occurred_at, datetime):
        return "A date and time with a time zone is required (ISO 8601)."
    offset = occurred_at.utcoffset()
    if offset is None:
        return "Give a time zone (for example 2026-01-31T09:00:00Z)."
    if abs(offset) >= MAX_UTC_OFFSET:
        return "The time zone is out of range."
    if occurred_at > latest:
        return "An action cannot have happened in the future."
    return None


def _confidence_error(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        return "A number between 0 and 1 is required."
    if not 0 <= value <= 1:
        return "Must be between 0 and 1."
    return None


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
    if confidence_error := _confidence_error(predicted_confidence):
        errors["predicted_confidence"] = confidence_error
    if time_error := _time_error(occurred_at, latest=now + FUTURE_TOLERANCE):
        errors["occurred_at"] = time_error
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


# A whole bulk call in one statement: the items are read from the request's own JSON text,
# checked and matched to their action type, account, deal and clone; the good ones are
# inserted (ON CONFLICT DO NOTHING: the unique constraint decides); and the response body,
# one result per item, is built in SQL. The rules and messages are those of
# ``_check_values`` and ``_check_references``. So the work per item is PostgreSQL's, in C:
# no Python object is made per item beyond the parse of the envelope.
# Bad input cannot make it raise: each cast sits behind a CASE that has checked its input
# (CASE evaluates lazily). Python does what PostgreSQL cannot do safely: it parses the times
# (``times`` and ``time_errors`` run beside the items) and takes out NUL characters, which
# PostgreSQL cannot turn into text (``_encode``). Anything else it cannot store (a lone
# surrogate, a number beyond numeric) fails the statement, and then ``_record_each``.
_BULK_SQL = r"""
WITH item AS (
    SELECT e.index - 1 AS index, jsonb_typeof(e.value) = 'object' AS is_object,
           e.occurred_at::timestamptz AS occurred_at, e.time_error,
           CASE jsonb_typeof(e.value -> 'external_id') WHEN 'string'
               THEN e.value ->> 'external_id' END AS external_id,
           CASE jsonb_typeof(e.value -> 'action_type') WHEN 'string'
               THEN e.value ->> 'action_type' END AS action_type,
           CASE jsonb_typeof(e.value -> 'account') WHEN 'string'
               THEN e.value ->> 'account' END AS account,
           coalesce(e.value -> 'deal' NOT IN ('null', '""'), false) AS deal_given,
           CASE jsonb_typeof(e.value -> 'deal') WHEN 'string' THEN e.value ->> 'deal' END AS deal,
           coalesce(e.value -> 'clone' NOT IN ('null', '""'), false) AS clone_given,
           CASE jsonb_typeof(e.value -> 'clone') WHEN 'string'
               THEN e.value ->> 'clone' END AS clone,
           jsonb_typeof(e.value -> 'predicted_confidence') AS confidence_type,
           e.value -> 'predicted_confidence' AS confidence,
           jsonb_typeof(e.value -> 'output_text') AS output_text_type,
           CASE jsonb_typeof(e.value -> 'output_text') WHEN 'string'
               THEN e.value ->> 'output_text' END AS output_text,
           jsonb_typeof(e.value -> 'metadata') AS metadata_type,
           e.value -> 'metadata' AS metadata
    FROM ROWS FROM (
        jsonb_array_elements((
            SELECT CASE jsonb_typeof(given) WHEN 'object' THEN given -> 'outcomes' ELSE given END
            FROM CAST(%(document)s AS jsonb) AS given
        )),
        json_array_elements_text(%(times)s::json),
        json_array_elements_text(%(time_errors)s::json)
    ) WITH ORDINALITY AS e(value, occurred_at, time_error, index)
),
checked AS (
    SELECT item.index, item.external_id, item.confidence, item.occurred_at,
           item.output_text, item.metadata, item.metadata_type, kind.id AS action_type_id,
           kind.window_hours, account.id AS account_id, deal.id AS deal_id, clone.id AS clone_id,
           -- "field<TAB>message" lines; '' when the item is good
           CASE WHEN NOT item.is_object THEN E'non_field_errors\tEach action must be a JSON object.'
           ELSE concat_ws(E'\n',
               CASE WHEN btrim(coalesce(item.external_id, ''), E' \t\n\r\f\v') = ''
                       THEN E'external_id\tThis field is required.'
                   WHEN char_length(item.external_id) > 200
                       THEN E'external_id\tEnsure this field has no more than 200 characters.'
                   END,
               CASE WHEN kind.id IS NULL OR NOT kind.is_active
                   THEN E'action_type\tUnknown or inactive action type.' END,
               CASE WHEN account.id IS NULL THEN E'account\tUnknown account.' END,
               CASE WHEN item.deal_given AND deal.id IS NULL THEN E'deal\tUnknown deal.'
                   WHEN item.deal_given AND deal.account_id <> account.id
                       THEN E'deal\tThis deal belongs to another account.'
                   WHEN NOT item.deal_given AND kind.signal = %(deal_signal)s
                       THEN E'deal\tA ' || kind.code
                            || ' action needs the deal it is meant to progress.'
                   END,
               CASE WHEN item.clone_given AND clone.id IS NULL THEN E'clone\tUnknown clone.' END,
               CASE WHEN item.confidence_type IS DISTINCT FROM 'number'
                       THEN E'predicted_confidence\tA number between 0 and 1 is required.'
                   WHEN item.confidence::numeric NOT BETWEEN 0 AND 1
                       THEN E'predicted_confidence\tMust be between 0 and 1.' END,
               E'occurred_at\t' || item.time_error,
               CASE WHEN item.output_text_type NOT IN ('string', 'null')
                       THEN E'output_text\tMust be text.'
                   WHEN char_length(item.output_text) > %(max_text)s
                       THEN E'output_text\tEnsure this field has no more than '
                            || %(max_text)s || ' characters.' END,
               CASE WHEN item.metadata_type NOT IN ('object', 'null')
                   THEN E'metadata\tMust be a JSON object.' END
           ) END AS errors
    FROM item
    LEFT JOIN outcomes_actiontype kind ON kind.code = item.action_type
    LEFT JOIN crm_account account ON account.external_id = item.account
    LEFT JOIN crm_deal deal ON deal.external_id = item.deal
    LEFT JOIN personas_clone clone ON clone.external_id = item.clone
),
inserted AS (
    INSERT INTO outcomes_outcomerecord (
        external_id, action_type_id, account_id, deal_id, clone_id, predicted_confidence,
        occurred_at, window_ends_at, output_text, metadata, status, resolution_note,
        created_at)
    SELECT external_id, action_type_id, account_id, deal_id, clone_id,
           confidence::numeric::float8,
           coalesce(occurred_at, %(now)s),
           coalesce(occurred_at, %(now)s) + make_interval(hours => window_hours),
           coalesce(output_text, ''),
           CASE WHEN metadata_type = 'object' THEN metadata ELSE '{}' END, 'pending', '', %(now)s
    FROM checked
    WHERE errors = ''
    ORDER BY index
    ON CONFLICT (external_id) DO NOTHING
    RETURNING id, external_id
),
result AS (
    SELECT checked.index, checked.external_id, checked.errors,
           CASE WHEN checked.errors <> '' THEN 'error'
                WHEN inserted.id IS NOT NULL AND row_number() OVER (
                    PARTITION BY checked.external_id, checked.errors ORDER BY checked.index
                ) = 1 THEN 'created'
                ELSE 'existing' END AS status,
           -- stored before this statement began; NULL if a concurrent call stored it since
           coalesce(inserted.id, CASE WHEN checked.errors = '' THEN (
               SELECT stored.id FROM outcomes_outcomerecord stored
               WHERE stored.external_id = checked.external_id) END) AS id
    FROM checked
    LEFT JOIN inserted ON checked.errors = '' AND inserted.external_id = checked.external_id
)
SELECT json_build_object(
    'created', count(*) FILTER (WHERE status = 'created'),
    'existing', count(*) FILTER (WHERE status = 'existing'),
    'failed', count(*) FILTER (WHERE status = 'error'),
    'results', json_agg(CASE status
        WHEN 'error' THEN json_build_object(
            'index', index, 'external_id', external_id, 'status', status,
            'errors', (SELECT json_object_agg(split_part(line, E'\t', 1),
                                              split_part(line, E'\t', 2))
                       FROM unnest(string_to_array(errors, E'\n')) AS line))
        ELSE json_build_object(
            'index', index, 'external_id', external_id, 'status', status, 'id', id)
        END ORDER BY index)
)::text, count(*) FILTER (WHERE status = 'existing' AND id IS NULL)
FROM result
"""

_EXISTING_SQL = """
SELECT external_id, id FROM outcomes_outcomerecord
WHERE external_id IN (SELECT json_array_elements_text(%s::json))
"""


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


def _times(items: list, now: datetime) -> tuple[list, list]:
    """Each item's time as ISO text (None: not given, recorded as now) and its error."""
    latest = now + FUTURE_TOLERANCE
    times, errors = [], []
    for item in items:
        value = _parse_time(item.get("occurred_at")) if isinstance(item, dict) else None
        error = None if value is None else _time_error(value, latest=latest)
        times.append(None if value is None or error else value.isoformat())
        errors.append(error)
    return times, errors


def _has_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(key) or _has_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


def _to_json(value: object) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _unencodable(item: object) -> dict[str, str]:
    """Field errors for what JSON or PostgreSQL cannot carry: NUL characters, NaN, infinity."""
    if not isinstance(item, dict):
        return {}
    errors = {}
    for key, value in item.items():
        name = "non_field_errors" if _has_nul(key) else key
        if _has_nul(value) or _has_nul(key):
            errors[name] = NUL_MESSAGE
            continue
        try:
            json.dumps(value, default=_to_json, allow_nan=False)
        except ValueError:  # NaN or infinity
            errors[name] = (
                _confidence_error(value)
                if key == "predicted_confidence"
                else "Numbers must be finite."
            )
    return errors


def _encode(items: list) -> tuple[str, dict[int, dict[str, str]]]:
    """The items as one JSON document for ``_BULK_SQL``, and the errors of those left out.

    One encoder pass for the whole call. Only when the text shows a NUL escape or the
    encoder meets NaN does the (rare) slow path look at each item; items it rejects are
    sent as ``null`` and reported with their own errors.
    """
    try:
        encoded = json.dumps(items, default=_to_json, allow_nan=False)
        if "\\u0000" not in encoded:
            return encoded, {}
    except ValueError:  # NaN or infinity somewhere
        pass
    rejected = {index: errors for index, item in enumerate(items) if (errors := _unencodable(item))}
    kept = [None if index in rejected else item for index, item in enumerate(items)]
    return json.dumps(kept, default=_to_json), rejected


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def _check_envelope(items: object) -> None:
    if not isinstance(items, list):
        raise ValidationError({"outcomes": "A list of actions is required."})
    if not items:
        raise ValidationError({"outcomes": "Give at least one action."})
    if len(items) > MAX_BULK_ITEMS:
        raise ValidationError(
            {"outcomes": f"At most {MAX_BULK_ITEMS} actions per call ({len(items)} given)."}
        )


def _error(index: int, item: object, errors: dict[str, str]) -> dict:
    external_id = item.get("external_id") if isinstance(item, dict) else None
    return {
        "index": index,
        "external_id": external_id if isinstance(external_id, str) else None,
        "status": "error",
        "errors": errors,
    }


def _summary(results: list[dict]) -> dict:
    counts = Counter(result["status"] for result in results)
    return {
        "created": counts["created"],
        "existing": counts["existing"],
        "failed": counts["error"],
        "results": results,
    }


def _run(document: str, items: list, now: datetime) -> str:
    """``_BULK_SQL`` on ``document`` (whose items are ``items``): the response body."""
    times, time_errors = _times(items, now)
    with connection.cursor() as cursor:
        cursor.execute(
            _BULK_SQL,
            {
                "document": document,
                "times": json.dumps(times),
                "time_errors": json.dumps(time_errors),
                "now": now,
                "max_text": MAX_OUTPUT_TEXT,
                "deal_signal": Signal.DEAL_PROGRESSION,
            },
        )
        body, unresolved = cursor.fetchone()
        if not unresolved:
            return body
        # Stored by a concurrent call after this statement began: read them now.
        summary = json.loads(body)
        missing = [
            result
            for result in summary["results"]
            if result["status"] == "existing" and result["id"] is None
        ]
        cursor.execute(_EXISTING_SQL, [json.dumps([result["external_id"] for result in missing])])
        stored = dict(cursor.fetchall())
    for result in missing:
        result["id"] = stored.get(result["external_id"])
    return json.dumps(summary)


def _record_each(items: list, rejected: dict, now: datetime) -> list[dict]:
    """Item by item, for a call whose statement failed on input the checks did not foresee:
    the item that fails is reported, the others are stored."""
    results = []
    for index, item in enumerate(items):
        if index in rejected:
            results.append(_error(index, item, rejected[index]))
            continue
        try:
            with transaction.atomic():
                body = _run(json.dumps([item], default=_to_json), [item], now)
            (result,) = json.loads(body)["results"]
        except DataError as error:
            message = str(error).splitlines()[0]
            reason = {"non_field_errors": f"This action could not be stored: {message}"}
            result = _error(index, item, reason)
        results.append(result | {"index": index})
    return results


def _record(items: list, document: str | None = None) -> str:
    """Record the items of a bulk call (``document`` is their JSON text, when at hand);
    the response body as JSON text."""
    now = timezone.now()
    rejected: dict[int, dict[str, str]] = {}
    if document is None or "\\u0000" in document:
        document, rejected = _encode(items)
    try:
        with transaction.atomic():
            body = _run(document, items, now)
    except DataError:  # something the checks did not foresee: find the item
        rejected = rejected or _encode(items)[1]
        return json.dumps(_summary(_record_each(items, rejected, now)))
    if not rejected:
        return body
    results = json.loads(body)["results"]
    for index, errors in rejected.items():
        results[index] = _error(index, items[index], errors)
    return json.dumps(_summary(results))


def outcomes_record_bulk_json(*, document: str | bytes) -> str:
    """A bulk call as the API receives it: the request body in, the response body out.

    ``document`` is ``{"outcomes": [...]}`` or a bare list. The items travel to PostgreSQL
    as the client wrote them; Python only reads the envelope and the times. A document that
    is not JSON, or whose envelope is wrong, raises ``ValidationError`` and stores nothing.
    """
    try:
        text = document.decode() if isinstance(document, bytes) else document
        data = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as error:
        raise ValidationError({"detail": f"JSON parse error - {error}"}) from error
    items = data.get("outcomes") if isinstance(data, dict) else data
    _check_envelope(items)
    return _record(items, text)


def outcomes_record_bulk(*, items: list) -> list[BulkItemResult]:
    """Record up to ``MAX_BULK_ITEMS`` actions at once; one result per item, in order.

    Items are plain dicts of the API payload (references by external id / code). Bad items
    are reported with field errors and skipped; good ones are stored, and repeated ids come
    back as ``existing``. Checks, reference lookups, the insert and the per-item results are
    one SQL statement (``_BULK_SQL``), so the work per item is PostgreSQL's, and the number
    of queries is fixed whatever the size.
    """
    _check_envelope(items)
    return [
        BulkItemResult(
            index=result["index"],
            external_id=result["external_id"],
            status=result["status"],
            id=result.get("id"),
            errors=result.get("errors") or {},
        )
        for result in json.loads(_record(items))["results"]
    ]


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
