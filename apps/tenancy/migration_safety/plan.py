"""Which schemas a run covers, the migration targets, and each schema's plan."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from weakref import WeakKeyDictionary

from django.db import connection, router
from django.db.migrations.exceptions import AmbiguityError
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django_tenants.utils import get_public_schema_name

from apps.tenancy.models import Organization
from apps.tenancy.template_schema import applied_migrations

Target = tuple[str, str | None]


class MigrationSafetyError(Exception):
    """A precondition failed or a step could not run; the message says what to do."""


@dataclass(frozen=True)
class Step:
    """One migration in a schema's plan."""

    app_label: str
    name: str
    backwards: bool
    # False when the router keeps this app out of the schema (a tenant app in public):
    # migrate only records the migration there, no table changes.
    touches_schema: bool

    def __str__(self) -> str:
        verb = "unapply" if self.backwards else "apply"
        suffix = "" if self.touches_schema else " (recorded only)"
        return f"{verb} {self.app_label}.{self.name}{suffix}"


@dataclass
class SchemaResult:
    """What happened to one schema during a run."""

    schema: str
    label: str
    steps: list[Step] = field(default_factory=list)
    backup: Path | None = None
    rows_before: dict[str, int] = field(default_factory=dict)
    backup_seconds: float = 0.0
    seconds: float = 0.0
    error: str = ""
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def changes(self) -> list[Step]:
        return [step for step in self.steps if step.touches_schema]

    @property
    def ok(self) -> bool:
        return not self.error and not self.problems


@dataclass
class MigrationRun:
    """The outcome of a plan, a migration or a rollback over a set of schemas."""

    targets: list[Target]
    results: list[SchemaResult]
    backup_dir: Path | None = None
    seconds: dict[str, float] = field(default_factory=dict)  # phase -> wall time
    run_id: str = ""
    resumed: list[str] = field(default_factory=list)  # what a resumed run carried on

    @property
    def ok(self) -> bool:
        return all(result.ok for result in self.results)

    @property
    def failed(self) -> list[SchemaResult]:
        return [result for result in self.results if not result.ok]


def schemas_in_scope(org_slugs: list[str] | None = None) -> list[tuple[str, str]]:
    """``(schema, label)`` pairs: public then every organisation, or just the named ones."""
    public = get_public_schema_name()
    connection.set_schema_to_public()
    if Organization._meta.db_table not in connection.introspection.table_names():
        return [(public, "public")]  # a fresh database: only public can be migrated yet
    organizations = Organization.objects.exclude(schema_name=public).order_by("schema_name")
    if org_slugs:
        organizations = organizations.filter(slug__in=org_slugs)
        missing = sorted(set(org_slugs) - {org.slug for org in organizations})
        if missing:
            raise MigrationSafetyError(f"No organisation with slug: {', '.join(missing)}")
        return [(org.schema_name, org.name) for org in organizations]
    return [(public, "public")] + [(org.schema_name, org.name) for org in organizations]


def migration_targets(rollback: tuple[str, str] | None = None) -> list[Target]:
    """The latest migration of every app, or ``(app, migration)`` for a rollback."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    if rollback is None:
        return sorted(loader.graph.leaf_nodes())
    app_label, name = rollback
    if app_label not in loader.migrated_apps:
        raise MigrationSafetyError(f"App '{app_label}' has no migrations.")
    if name == "zero":
        return [(app_label, None)]
    try:
        migration = loader.get_migration_by_prefix(app_label, name)
    except AmbiguityError:
        raise MigrationSafetyError(
            f"More than one migration in '{app_label}' starts with '{name}'."
        ) from None
    except KeyError:
        raise MigrationSafetyError(f"App '{app_label}' has no migration '{name}'.") from None
    return [(app_label, migration.name)]


def _use_schema(schema: str) -> None:
    if schema == get_public_schema_name():
        connection.set_schema_to_public()
    else:
        # Without public on the search path, so that a schema lacking django_migrations
        # is not mistaken for public's (django-tenants does the same before migrating).
        connection.set_schema(schema, include_public=False)


# Plans already worked out, per executor, by what a schema has applied: at 1,000
# organisations most schemas have applied the same migrations, and working out a plan from
# the graph costs 0.15 s of CPU (2 x 1,000 of them in a run, before this cache).
_plans: WeakKeyDictionary[MigrationExecutor, dict[tuple, list[Step]]] = WeakKeyDictionary()


def schema_plan(executor: MigrationExecutor, schema: str, targets: list[Target]) -> list[Step]:
    """The migrations that ``migrate`` to ``targets`` would run in ``schema``."""
    _use_schema(schema)
    try:
        with connection.cursor() as cursor:
            applied = dict.fromkeys(applied_migrations(cursor, schema) or ())
        # What routers allow differs between public and the organisations' schemas.
        key = (schema == get_public_schema_name(), frozenset(applied), tuple(targets))
        plans = _plans.setdefault(executor, {})
        if key not in plans:
            executor.loader.applied_migrations = applied
            plans[key] = [
                Step(
                    migration.app_label,
                    migration.name,
                    backwards,
                    router.allow_migrate(connection.alias, migration.app_label),
                )
                for migration, backwards in executor.migration_plan(targets)
            ]
        return list(plans[key])
    finally:
        connection.set_schema_to_public()


def plans_for(schemas: list[tuple[str, str]], targets: list[Target]) -> list[SchemaResult]:
    connection.set_schema_to_public()
    executor = MigrationExecutor(connection)
    return [
        SchemaResult(schema, label, steps=schema_plan(executor, schema, targets))
        for schema, label in schemas
    ]
