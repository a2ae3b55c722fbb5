"""Exports as file downloads, streamed as they are read under WSGI and ASGI alike.

Every export (feedback, the reviews dataset) answers with ``download(...)``: the parts of
the file come from a synchronous iterator over database pages. Under ASGI Django would read
such an iterator whole before the first byte (and warn "StreamingHttpResponse must consume
synchronous iterators in order to serve them asynchronously"): 4.8 s to the first byte and
284 MB for a 197 MB feedback export. ``download`` hands ASGI an asynchronous iterator that
reads one part at a time in the request's database thread instead.
"""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator, Callable, Generator, Iterable

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.db import connection
from django.http import HttpRequest, StreamingHttpResponse
from django.utils import timezone

CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}

# A spreadsheet runs a cell that begins with one of these as a formula (``=cmd|' /C calc'!A0``).
# Text cells that do are written with a leading apostrophe (OWASP's advice), which
# spreadsheets show as the text typed.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> object:
    """``value``, with a leading apostrophe if it is text a spreadsheet would run."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


class _Echo:
    """A file-like object whose write returns the line, for csv.writer in a generator."""

    def write(self, value: str) -> str:
        return value


def csv_lines(rows: Iterable[list]) -> str:
    """``rows`` (lists of cells, already made spreadsheet-safe) as CSV text."""
    writer = csv.writer(_Echo())
    return "".join(writer.writerow(row) for row in rows)


def download(
    request: HttpRequest, *, name: str, file: str, parts: Callable[[], Generator[str]]
) -> StreamingHttpResponse:
    """``<name>-<organisation>-<time>.<file>`` (``file`` is "csv" or "jsonl"), streamed.

    ``parts()`` opens the file's iterator; each part should be a page of rows rather than a
    line, because under ASGI each part costs one hop to the database thread.
    """
    # A DRF view's request wraps Django's.
    if isinstance(getattr(request, "_request", request), ASGIRequest):
        content = _read_in_request_thread(parts, request.tenant)
    else:
        content = parts()
    response = StreamingHttpResponse(content, content_type=CONTENT_TYPES[file])
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    filename = f"{name}-{request.tenant.slug}-{stamp}.{file}"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


async def _read_in_request_thread(
    parts: Callable[[], Generator[str]], tenant
) -> AsyncIterator[str]:
    """Each part read in the request's thread (``sync_to_async`` is thread-sensitive), on
    the connection the tenant middleware set up, and sent before the next is read."""

    def start() -> Generator[str]:
        connection.set_tenant(tenant)
        return parts()

    pending = await sync_to_async(start)()
    try:
        while (part := await sync_to_async(next)(pending, None)) is not None:
            yield part
    finally:
        await sync_to_async(pending.close)()
