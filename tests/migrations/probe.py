"""A release with two new crm migrations, loaded in place of crm's own through MIGRATION_MODULES.

crm's migrations are copied into a package of their own (``crm_migrations_<name>``) in a
directory the caller names, with the new ones after crm's latest. The command under test
loads them like any other: in the test process through the ``settings`` fixture, in a
``manage.py`` subprocess through :mod:`tests.migrations.probe_settings`.

The probe release is what issue 21 asks to measure: a cheap added column
(``crm_account.probe_note``, nullable) and an index built concurrently
(``crm_interaction (channel, occurred_at)``, a non-atomic migration).
"""

from __future__ import annotations

import importlib
import shutil
from pathlib import Path

PROBE_PACKAGE = "crm_migrations_probe"
PROBE_INDEX = "crm_interaction_probe_idx"
PROBE_MIGRATIONS = ("9998_probe_column", "9999_probe_index")

PROBE_COLUMN = """
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("crm", "{parent}")]
    operations = [
        migrations.AddField("account", "probe_note", models.TextField(null=True, blank=True))
    ]
"""

PROBE_INDEX_MIGRATION = """
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction
    dependencies = [("crm", "{parent}")]
    operations = [
        AddIndexConcurrently(
            "interaction", models.Index(fields=["channel", "occurred_at"], name="{index}")
        )
    ]
"""


def crm_migrations_with(directory: Path, package: str, migrations: dict[str, str]) -> str:
    """Copy crm's migrations into ``directory/package`` and add ``migrations`` (name: source,
    ``{parent}`` filled with the migration before); returns the package's name."""
    from tests.migrations.conftest import latest_and_previous  # needs the app registry

    target = directory / package
    shutil.copytree(Path(importlib.import_module("apps.crm.migrations").__file__).parent, target)
    parent = latest_and_previous("crm")[0]
    for name, source in migrations.items():
        (target / f"{name}.py").write_text(source.format(parent=parent, index=PROBE_INDEX))
        parent = name
    return package


def probe_migrations_write(directory: Path) -> str:
    """The probe release's crm migrations package in ``directory``; returns its name."""
    column, index = PROBE_MIGRATIONS
    return crm_migrations_with(
        directory, PROBE_PACKAGE, {column: PROBE_COLUMN, index: PROBE_INDEX_MIGRATION}
    )
