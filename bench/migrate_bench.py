"""safe_migrate benchmark: plan, backup + migrate + verify, over many organisations.

Creates ``--orgs`` scratch organisations (``mbench-<n>``, reused when present) with
``--interactions`` CRM interactions each, rolls back in all of them the project migration
whose rollback is cheapest (found at run time), then times:

- ``safe_migrate --plan`` over those organisations;
- a full run (advisory lock, disk check, pg_dump per schema, migrate, verify), sequential;
- the same with ``--parallel N`` forked workers;
- ``safe_migrate --check``;
- restoring one schema's backup.

Run it against the machine's PostgreSQL, in a database of its own:

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/ll_bench_migrate \\
        .venv/bin/python bench/migrate_bench.py [--orgs 10] [--interactions 10000] \\
        [--parallel 2] [--keep]

The database must exist and have its public schema migrated
(``manage.py migrate_schemas --shared``); the scratch organisations are dropped at the end
unless ``--keep``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "learning_site.settings")
os.environ.setdefault("DJANGO_DEBUG", "0")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from apps.crm.models import Account, Interaction  # noqa: E402
from apps.tenancy.migration_safety import (  # noqa: E402
    backup_restore,
    migration_check,
    migration_plan,
    migrations_run,
    schema_migrate,
)
from apps.tenancy.models import Organization  # noqa: E402
from apps.tenancy.services import organization_create, public_tenant_ensure  # noqa: E402
from tests.migrations.conftest import rollback_candidate  # noqa: E402


def scratch_orgs(count: int, interactions: int) -> list[Organization]:
    public_tenant_ensure()
    orgs = []
    for number in range(1, count + 1):
        slug = f"mbench-{number}"
        org = Organization.objects.filter(slug=slug).first() or organization_create(
            slug=slug, name=f"Bench {number}"
        )
        with schema_context(org.schema_name):
            missing = interactions - Interaction.objects.count()
            if missing > 0:
                account, _ = Account.objects.get_or_create(
                    external_id="bench-acc", defaults={"name": "Bench account"}
                )
                now = timezone.now()
                Interaction.objects.bulk_create(
                    (
                        Interaction(
                            account=account,
                            channel="email",
                            direction="inbound" if index % 2 else "outbound",
                            occurred_at=now - timedelta(minutes=index),
                            summary=f"Bench interaction {index}",
                        )
                        for index in range(missing)
                    ),
                    batch_size=2000,
                )
        orgs.append(org)
    connection.set_schema_to_public()
    return orgs


def put_behind(orgs: list[Organization], candidate: tuple[str, str]) -> None:
    app_label, target = candidate
    for org in orgs:
        schema_migrate(org.schema_name, (app_label, None if target == "zero" else target))
    connection.set_schema_to_public()


def timed(label: str, func, *args, **kwargs):
    started = time.perf_counter()
    result = func(*args, **kwargs)
    print(f"{label:<46} {time.perf_counter() - started:8.2f} s")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orgs", type=int, default=10)
    parser.add_argument("--interactions", type=int, default=10_000)
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the scratch organisations")
    options = parser.parse_args()

    orgs = timed(
        f"set up {options.orgs} orgs × {options.interactions} interactions",
        scratch_orgs,
        options.orgs,
        options.interactions,
    )
    slugs = [org.slug for org in orgs]
    candidate = rollback_candidate()
    print(f"migration rolled back and re-applied: {candidate[0]} after {candidate[1]}")
    try:
        with tempfile.TemporaryDirectory(prefix="migrate-bench-") as backups:
            put_behind(orgs, candidate)
            plan = timed("plan", migration_plan, org_slugs=slugs)
            steps = sum(len(result.changes) for result in plan.results)
            print(f"  {steps} migrations to run over {len(plan.results)} schemas")
            run = timed(
                "backup + migrate + verify (sequential)",
                migrations_run,
                org_slugs=slugs,
                backup_dir=Path(backups) / "sequential",
                progress=False,
            )
            assert run.ok, [result.problems or result.error for result in run.failed]
            print("  " + ", ".join(f"{k} {v:.2f} s" for k, v in run.seconds.items()))
            size = sum(f.stat().st_size for f in (Path(backups) / "sequential").glob("*.dump"))
            print(f"  backups: {size / 1024 / 1024:.1f} MB in {len(run.results)} files")

            put_behind(orgs, candidate)
            run = timed(
                f"backup + migrate + verify (--parallel {options.parallel})",
                migrations_run,
                org_slugs=slugs,
                backup_dir=Path(backups) / "parallel",
                parallel=options.parallel,
                progress=False,
            )
            assert run.ok, [result.problems or result.error for result in run.failed]
            print("  " + ", ".join(f"{k} {v:.2f} s" for k, v in run.seconds.items()))
            check = timed("check (every schema at the latest)", migration_check, org_slugs=slugs)
            assert check.ok
            first = Path(backups) / "parallel" / f"{orgs[0].schema_name}.dump"
            timed(
                f"restore one schema ({options.interactions} interactions)", backup_restore, first
            )
            schema_migrate(orgs[0].schema_name)
    finally:
        connection.set_schema_to_public()
        if not options.keep:
            for org in Organization.objects.filter(slug__in=slugs):
                org.delete(force_drop=True)


if __name__ == "__main__":
    main()
