"""Bulk ingestion: a whole call checked, stored and answered in one SQL statement."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import DataError, connection, transaction
from django.utils import timezone

from apps.agents.models import Clone
from apps.crm.models import Account, Deal
from apps.outcomes.models import ActionType, OutcomeRecord, OutcomeStatus, Signal
from apps.outcomes.services.rules import (
    DELETED_MESSAGE,
    MAX_OUTPUT_TEXT,
    NUL_MESSAGE,
    _confidence_error,
    _time_error,
    parse_time,
)

MAX_BULK_ITEMS = 1000


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
_BULK_SQL = rf"""
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
    LEFT JOIN {ActionType._meta.db_table} kind ON kind.code = item.action_type
    LEFT JOIN {Account._meta.db_table} account ON account.external_id = item.account
    LEFT JOIN {Deal._meta.db_table} deal ON deal.external_id = item.deal
    LEFT JOIN {Clone._meta.db_table} clone ON clone.external_id = item.clone
),
inserted AS (
    INSERT INTO {OutcomeRecord._meta.db_table} (
        external_id, action_type_id, account_id, deal_id, clone_id, predicted_confidence,
        occurred_at, window_ends_at, output_text, metadata, status, resolution_note,
        created_at)
    SELECT external_id, action_type_id, account_id, deal_id, clone_id,
           confidence::numeric::float8,
           coalesce(occurred_at, %(now)s),
           coalesce(occurred_at, %(now)s) + make_interval(hours => window_hours),
           coalesce(output_text, ''),
           CASE WHEN metadata_type = 'object' THEN metadata ELSE '{{}}' END, %(pending)s, '', %(now)s
    FROM checked
    WHERE errors = ''
    ORDER BY index
    ON CONFLICT (external_id) DO NOTHING
    RETURNING id, external_id
),
matched AS (
    SELECT checked.index, checked.external_id, checked.errors, inserted.id AS inserted_id,
           row_number() OVER (
               PARTITION BY checked.external_id, checked.errors ORDER BY checked.index
           ) AS nth,
           stored.id AS stored_id, stored.deleted_at IS NOT NULL AS stored_deleted
    FROM checked
    LEFT JOIN inserted ON checked.errors = '' AND inserted.external_id = checked.external_id
    -- stored before this statement began (NULL if a concurrent call stored it since); only
    -- looked up for items not inserted now, so a call of new actions makes no extra probe
    LEFT JOIN LATERAL (
        SELECT s.id, s.deleted_at FROM {OutcomeRecord._meta.db_table} s
        WHERE checked.errors = '' AND inserted.id IS NULL AND s.external_id = checked.external_id
    ) stored ON true
),
result AS (
    SELECT index, external_id,
           CASE WHEN stored_deleted
               THEN E'external_id\t' || replace(%(deleted_message)s, '{{id}}', stored_id::text)
               ELSE errors END AS errors,
           CASE WHEN errors <> '' OR stored_deleted THEN 'error'
                WHEN inserted_id IS NOT NULL AND nth = 1 THEN 'created'
                ELSE 'existing' END AS status,
           coalesce(inserted_id, stored_id) AS id,
           CASE WHEN stored_deleted THEN stored_id END AS deleted_id
    FROM matched
)
SELECT json_build_object(
    'created', count(*) FILTER (WHERE status = 'created'),
    'existing', count(*) FILTER (WHERE status = 'existing'),
    'failed', count(*) FILTER (WHERE status = 'error'),
    'results', json_agg(CASE status
        WHEN 'error' THEN (json_build_object(
            'index', index, 'external_id', external_id, 'status', status,
            'errors', (SELECT json_object_agg(split_part(line, E'\t', 1),
                                              split_part(line, E'\t', 2))
                       FROM unnest(string_to_array(errors, E'\n')) AS line))::jsonb
            -- the deleted record an item's external_id belongs to
            || CASE WHEN deleted_id IS NOT NULL THEN jsonb_build_object('id', deleted_id)
                    ELSE '{{}}' END)::json
        ELSE json_build_object(
            'index', index, 'external_id', external_id, 'status', status, 'id', id)
        END ORDER BY index)
)::text, count(*) FILTER (WHERE status = 'existing' AND id IS NULL)
FROM result
"""

_EXISTING_SQL = f"""
SELECT external_id, id FROM {OutcomeRecord._meta.db_table}
WHERE external_id IN (SELECT json_array_elements_text(%s::json))
"""


def _times(items: list, now: datetime) -> tuple[list, list]:
    """Each item's time as ISO text (None: not given, recorded as now) and its error."""
    times, errors = [], []
    for item in items:
        value = parse_time(item.get("occurred_at")) if isinstance(item, dict) else None
        error = None if value is None else _time_error(value, now=now)
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
                "pending": OutcomeStatus.PENDING,
                "deleted_message": DELETED_MESSAGE,
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
