"""django-migration-linter over every migration of the project's apps.

It flags migrations that break the code still running during a deploy (dropping or
renaming a column or table, adding a NOT NULL column without a default, ...). A migration
that must do so on purpose goes in ACCEPTED with the reason, after review.
"""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db.migrations.loader import MigrationLoader

linter = pytest.importorskip(
    "django_migration_linter", reason="django-migration-linter is not installed"
)

# (app_label, migration name) -> why the backward-incompatible change is acceptable
ACCEPTED: dict[tuple[str, str], str] = {}


def _project_apps_with_migrations() -> list[str]:
    loader = MigrationLoader(None, ignore_no_migrations=True)
    with_migrations = {app_label for app_label, _ in loader.disk_migrations}
    return sorted(
        config.label
        for config in apps.get_app_configs()
        if config.name.startswith("apps.") and config.label in with_migrations
    )


def test_no_migration_breaks_the_code_running_during_a_deploy(committed, capsys):
    project_apps = _project_apps_with_migrations()
    migration_linter = linter.MigrationLinter(
        include_apps=project_apps,
        ignore_name=[name for _, name in ACCEPTED],
        no_cache=True,
        analyser_string="postgresql",
    )

    migration_linter.lint_all_migrations()

    output = capsys.readouterr().out
    assert migration_linter.nb_total >= len(project_apps)
    assert not migration_linter.has_errors, output
