"""Celery beat scheduler (imported by beat only, once Django is ready).

Each registry entry goes to every organisation, spread and bounded:

- **Jitter**: an organisation's task for a job is sent with a ``countdown`` that is a
  stable hash of (schema, job) over a window of ``min(every / 2, 5 min)``, so a thousand
  organisations do not start in the same second and each keeps a regular cadence.
- **Expiry**: each task ``expires`` one period after it was sent; a worker drops a stale
  one (a backlog after an outage is never worked through twice over), so the queue holds
  at most one period of sends.
- **One beat**: the first tick takes a lock — in Redis (``SET NX`` with a TTL, renewed
  every tick) when the broker is Redis, else an exclusive ``flock`` on the schedule file's
  ``.lock`` (the filesystem broker is one host). A second beat exits with an error naming
  the holder.
"""

from __future__ import annotations

import copy
import fcntl
import hashlib
import logging
import os
import socket
import time
from datetime import timedelta

from django_tenants.utils import get_public_schema_name, schema_context
from tenant_schemas_celery.scheduler import TenantAwarePersistentScheduler

logger = logging.getLogger(__name__)

JITTER_MAX = timedelta(minutes=5)
BEAT_LOCK_KEY = "learning-loop:celery-beat"
BEAT_LOCK_TTL = 90  # seconds; beat ticks at least every beat_max_interval (30 s) and renews


def send_delay(
    schema: str, job_name: str, every: timedelta, jitter_max: timedelta = JITTER_MAX
) -> float:
    """Seconds to delay ``job_name`` for ``schema``: stable, spread over the jitter window."""
    window_ms = int(min(every / 2, jitter_max).total_seconds() * 1000)
    digest = hashlib.blake2b(f"{schema}:{job_name}".encode(), digest_size=8).digest()
    return (int.from_bytes(digest, "big") % max(window_ms, 1)) / 1000


def send_options(
    schema: str, job_name: str, every: timedelta, jitter_max: timedelta = JITTER_MAX
) -> dict:
    """The per-organisation options of one send: its delay and its expiry (one period)."""
    return {
        "countdown": send_delay(schema, job_name, every, jitter_max),
        "expires": every.total_seconds(),
    }


class BeatAlreadyRunning(RuntimeError):
    pass


class BeatLock:
    """One beat per broker: a Redis key (SET NX, TTL, renewed) or a local flock."""

    _RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('expire', KEYS[1], ARGV[2]) else return 0 end"  # noqa: E501
    _RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"  # noqa: E501

    def __init__(self, broker_url: str, schedule_filename: str):
        self.token = f"{socket.gethostname()} pid {os.getpid()} since {time.strftime('%H:%M:%S')}"
        self.redis = None
        self.path = f"{schedule_filename}.lock"
        self.fd: int | None = None
        self.renewed = 0.0
        if broker_url.startswith(("redis://", "rediss://")):
            import redis

            self.redis = redis.Redis.from_url(broker_url)

    def where(self) -> str:
        return f"Redis key {BEAT_LOCK_KEY}" if self.redis else self.path

    def hold(self) -> None:
        """Take the lock, or renew it; ``BeatAlreadyRunning`` if another beat holds it."""
        if self.redis is None:
            if self.fd is None:
                self._flock()
            return
        now = time.monotonic()
        if self.renewed and now - self.renewed < BEAT_LOCK_TTL / 3:
            return
        mine = self.renewed and self.redis.eval(
            self._RENEW, 1, BEAT_LOCK_KEY, self.token, BEAT_LOCK_TTL
        )
        if not mine and not self.redis.set(BEAT_LOCK_KEY, self.token, nx=True, ex=BEAT_LOCK_TTL):
            holder = (self.redis.get(BEAT_LOCK_KEY) or b"?").decode()
            raise BeatAlreadyRunning(self._refusal(holder))
        self.renewed = now

    def _flock(self) -> None:
        fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 200).decode(errors="replace") or "?"
            os.close(fd)
            raise BeatAlreadyRunning(self._refusal(holder)) from None
        os.ftruncate(fd, 0)
        os.write(fd, self.token.encode())
        self.fd = fd

    def _refusal(self, holder: str) -> str:
        return (
            f"Another celery beat is already running ({holder}; lock: {self.where()}). "
            "Run exactly one beat per deployment; this one exits."
        )

    def release(self) -> None:
        if self.redis is not None and self.renewed:
            self.redis.eval(self._RELEASE, 1, BEAT_LOCK_KEY, self.token)
            self.renewed = 0.0
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


class TenantBeatScheduler(TenantAwarePersistentScheduler):
    """Beat whose schedule is the periodic job registry; each entry goes to every tenant,
    jittered and expiring (see the module docstring). Only one beat runs at a time."""

    jitter_max = JITTER_MAX  # bench/jobs_bench.py sets 0 to send a whole cycle at once

    def setup_schedule(self):
        from apps.tenancy.periodic import beat_schedule

        self.app.conf.beat_schedule = beat_schedule()
        super().setup_schedule()

    def tick(self, *args, **kwargs):
        if not hasattr(self, "_beat_lock"):
            self._beat_lock = BeatLock(self.app.conf.broker_url, self.schedule_filename)
        try:
            self._beat_lock.hold()
        except BeatAlreadyRunning as refusal:
            logger.critical("%s", refusal)
            raise
        return super().tick(*args, **kwargs)

    def close(self):
        super().close()
        if hasattr(self, "_beat_lock"):
            self._beat_lock.release()

    def apply_entry(self, entry, producer=None):
        """Send the entry's task to every organisation, each with its own delay and expiry."""
        schemas = list(
            self.get_queryset()
            .exclude(schema_name=get_public_schema_name())
            .values_list("schema_name", flat=True)
        )
        job_name, every = entry.args[0], entry.schedule.run_every
        logger.info("beat: sending %s to %d organisations", job_name, len(schemas))
        for schema in schemas:
            per_schema = copy.copy(entry)
            per_schema.options = {
                **copy.deepcopy(entry.options),
                **send_options(schema, job_name, every, self.jitter_max),
            }
            with schema_context(schema):
                try:
                    self.apply_async(per_schema, producer=producer, advance=False)
                except Exception:
                    logger.exception("beat: could not send %s to %s", job_name, schema)
