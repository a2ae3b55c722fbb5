"""Reading from a PostgreSQL streaming replica (``DATABASE_REPLICA_URL``), and the one rule
that decides which reads may go there.

A view opts in with ``@reads_from_replica`` (``ReadsFromReplica`` for DRF class views):
dashboards, analytics, exports and the calibration page, which read much and write nothing.
Its reads (the ORM's, and selectors' raw SQL through ``read_connection()``) go to the
``replica`` alias unless

- the same requester (an API key, or a signed-in user) wrote something in the last
  ``REPLICA_READ_YOUR_WRITES_SECONDS``: ``ReplicaMiddleware`` records each request that
  wrote (any POST/PUT/PATCH/DELETE, or a write made by an opted-in view) in the shared
  cache, so the next request on *any* web server sees its own write even while the
  replica lags;
- the view has already written in this request (an ORM write, or any statement other than
  a read on the primary connection), or the read runs inside a transaction on the primary.

Bookkeeping before the view (a key's ``last_used_at``, once a minute) is not a write the
requester reads back, so it does not count.

Everything else (every other view, Celery, management commands) reads and writes the
primary. The replica connection follows the primary connection's organisation: django-tenants
sets ``search_path`` on the default connection only, so the router selects the same schema on
the replica before sending it a read.

Without ``DATABASE_REPLICA_URL`` there is one alias, the router and middleware are not
installed and the decorator changes nothing.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import AsyncIterator, Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse

REPLICA = "replica"
READ_STATEMENTS = ("SELECT", "SHOW", "SET", "EXPLAIN", "VALUES")
WRITE_WORDS = ("INSERT", "UPDATE", "DELETE", "MERGE")


@dataclass
class _RequestReads:
    """Where this request's reads may go: set by the view's decorator, cleared by a write."""

    replica: bool = False
    wrote: bool = False


_current: ContextVar[_RequestReads | None] = ContextVar("replica_reads", default=None)


def _writes(sql: str) -> bool:
    statement = sql.lstrip().upper()
    if statement.startswith("WITH"):
        return any(word in statement for word in WRITE_WORDS)
    return not statement.startswith(READ_STATEMENTS)


def read_alias() -> str:
    """Where a read goes now: the replica inside an opted-in view (the rule above, with the
    organisation's schema selected on it), else the primary."""
    reads = _current.get()
    if reads is None or not reads.replica or reads.wrote or connection.in_atomic_block:
        return DEFAULT_DB_ALIAS
    replica = connections[REPLICA]
    if replica.schema_name != connection.schema_name:
        replica.set_tenant(connection.tenant)
    return REPLICA


def read_connection():
    """The connection for a selector's raw SQL read, chosen like the ORM's reads."""
    return connections[read_alias()]


class ReplicaRouter:
    """Reads of opted-in views to the replica (see the module docstring), all else primary."""

    def db_for_read(self, model, **hints) -> str:
        return read_alias()

    def db_for_write(self, model, **hints) -> str:
        reads = _current.get()
        if reads is not None and reads.replica:
            reads.wrote = True
        # Never the replica, even for an object that was read from it.
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints) -> bool | None:
        aliases = {DEFAULT_DB_ALIAS, REPLICA}
        return True if {obj1._state.db, obj2._state.db} <= aliases else None

    def allow_migrate(self, db, app_label, **hints) -> bool | None:
        return False if db == REPLICA else None


def writer_identity(request: HttpRequest) -> str | None:
    """Who wrote, for read-your-writes: the API key (hashed), else the signed-in user."""
    scheme, _, raw_key = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and raw_key.strip():
        return "key:" + hashlib.sha256(raw_key.strip().encode()).hexdigest()[:32]
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.pk is not None:
        return f"user:{user.pk}"
    return None


def _last_write_key(identity: str) -> str:
    # Tenant-prefixed by the cache's KEY_FUNCTION, like every other key.
    return f"replica:last-write:{identity}"


def wrote_recently(request: HttpRequest) -> bool:
    identity = writer_identity(request)
    return identity is not None and cache.get(_last_write_key(identity)) is not None


class ReplicaMiddleware:
    """Starts each request's read routing and, after it, records a write by its requester
    in the shared cache for ``REPLICA_READ_YOUR_WRITES_SECONDS``. Installed only with a
    replica, right after the tenant middleware (the mark is kept in the organisation's
    cache keys)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        reads = _RequestReads()
        request.replica_reads = reads
        token = _current.set(reads)
        try:
            response = self.get_response(request)
        finally:
            _current.reset(token)
        if reads.wrote or request.method not in ("GET", "HEAD", "OPTIONS", "TRACE"):
            identity = writer_identity(request)
            if identity is not None:
                seconds = settings.REPLICA_READ_YOUR_WRITES_SECONDS
                cache.set(_last_write_key(identity), 1, timeout=seconds)
        return response


def _note_writes(reads: _RequestReads):
    def wrapper(execute, sql, params, many, context):
        if _writes(sql):
            reads.wrote = True
        return execute(sql, params, many, context)

    return wrapper


class _ReplicaReads:
    """Within the block, this request's reads may go to the replica."""

    def __init__(self, reads: _RequestReads):
        self.reads = reads

    def __enter__(self):
        self.token = _current.set(self.reads)
        self.reads.replica = True
        self.watch = connection.execute_wrapper(_note_writes(self.reads))
        self.watch.__enter__()

    def __exit__(self, *exc):
        self.watch.__exit__(*exc)
        self.reads.replica = False
        _current.reset(self.token)


def _streamed(content, reads: _RequestReads):
    """The body of a streamed response (exports), each part read inside the replica block."""
    if hasattr(content, "__aiter__"):

        async def each_async() -> AsyncIterator:
            iterator = aiter(content)
            while True:
                with _ReplicaReads(reads):
                    try:
                        part = await anext(iterator)
                    except StopAsyncIteration:
                        return
                yield part

        return each_async()

    def each() -> Iterator:
        iterator = iter(content)
        while True:
            with _ReplicaReads(reads):
                part = next(iterator, StopIteration)
            if part is StopIteration:
                return
            yield part

    return each()


def _replica_block(request) -> _ReplicaReads | None:
    """The block for this request's reads, or None when they must stay on the primary."""
    reads = getattr(request, "replica_reads", None)
    if reads is None or wrote_recently(request):
        return None
    return _ReplicaReads(reads)


def _body_from_replica(response: HttpResponse, block: _ReplicaReads) -> HttpResponse:
    if isinstance(response, StreamingHttpResponse):
        # Django reads an async body through `streaming_content`; keep its own iterator.
        response.streaming_content = _streamed(response._iterator, block.reads)
    return response


def reads_from_replica(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Let ``view`` read from the replica (the rule is in the module docstring). Put it
    below the access decorators: who the user is and what they may do is read from the
    primary."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        block = _replica_block(request)
        if block is None:
            return view(request, *args, **kwargs)
        with block:
            response = view(request, *args, **kwargs)
        return _body_from_replica(response, block)

    return wrapped


class ReadsFromReplica:
    """``reads_from_replica`` for a DRF view (``class View(ReadsFromReplica, APIView)``):
    authentication, permissions and throttles run on the primary (a revoked key is refused
    at once), the handler's reads on the replica."""

    _replica: _ReplicaReads | None = None

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self._replica = _replica_block(request)
        if self._replica is not None:
            self._replica.__enter__()

    def finalize_response(self, request, response, *args, **kwargs):
        block, self._replica = self._replica, None
        if block is not None:
            block.__exit__(None, None, None)
            response = _body_from_replica(response, block)
        return super().finalize_response(request, response, *args, **kwargs)
