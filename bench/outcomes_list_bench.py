"""Outcomes list page on a large history: each status tab, as a manager sees it.

Runs in a scratch organisation (dropped at the end) on the database of DATABASE_URL — use
the machine's PostgreSQL:

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/ll_bench \\
        .venv/bin/python bench/outcomes_list_bench.py [--outcomes 1000000] [--requests 5]

Loads ``--outcomes`` records on 5,000 accounts (one in three then resolved, as resolution
would: the updated rows move to the end of the table), then times ``/outcomes/`` and each
status tab through the whole Django stack and prints the median and the queries per page.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "learning_site.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402
from outcomes_bench import load_pending, make_accounts, timed  # noqa: E402

from apps.outcomes.models import ActionType  # noqa: E402
from apps.tenancy.services import organization_create, public_tenant_ensure  # noqa: E402
from apps.users.services import user_create  # noqa: E402

PAGES = ["/outcomes/", "/outcomes/?status=pending", "/outcomes/?status=resolved"]
PAGES += ["/outcomes/?status=expired"]


def load(count: int) -> None:
    now = timezone.now()
    make_accounts(5000, now)
    load_pending(count, ActionType.objects.get(code="email_sent"), now, "p-")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE outcomes_outcomerecord SET status = 'resolved', score = 1,"
            " resolved_at = occurred_at + interval '1 hour' WHERE id % 3 = 0"
        )
        cursor.execute("VACUUM ANALYZE outcomes_outcomerecord")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outcomes", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=5)
    args = parser.parse_args()

    public_tenant_ensure()
    org = organization_create(slug=f"benchlist{os.getpid()}", name="Outcomes list bench")
    try:
        client = Client(HTTP_HOST=f"{org.slug}.localhost")
        with schema_context(org.schema_name):
            timed(f"load {args.outcomes:,} outcomes", load, args.outcomes)
            manager = user_create(username="maria", role="manager", password="bench-pw")
            client.force_login(manager)
        connection.set_schema_to_public()
        print(f"\n  {'page':<34} {'median ms':>10} {'queries':>8}")
        for page in PAGES:
            client.get(page)  # warm the cache of this plan
            times = []
            for _ in range(args.requests):
                with CaptureQueriesContext(connection) as queries:
                    start = time.perf_counter()
                    response = client.get(page)
                    times.append((time.perf_counter() - start) * 1000)
                assert response.status_code == 200, response.status_code
            print(f"  {page:<34} {statistics.median(times):10.0f} {len(queries):8d}")
    finally:
        connection.set_schema_to_public()
        org.delete(force_drop=True)


if __name__ == "__main__":
    main()
