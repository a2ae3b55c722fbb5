from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from apps.tenancy.migration_safety import (
    MigrationRun,
    MigrationSafetyError,
    backup_files,
    backup_restore,
    database_check,
    migration_check,
    migration_lock,
    migration_plan,
    migrations_run,
)


class Command(BaseCommand):
    help = (
        "Migrate every organisation's schema safely: check preconditions, back up the "
        "schemas that change (pg_dump), run migrate_schemas, verify, report per schema. "
        "--plan shows what would run; --rollback APP MIGRATION goes back; --restore FILE "
        "restores a backup."
    )

    def add_arguments(self, parser):
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument(
            "--plan", action="store_true", help="print per schema what would run; change nothing"
        )
        mode.add_argument(
            "--check",
            action="store_true",
            help="change nothing; exit non-zero if a schema is not at the latest migration",
        )
        mode.add_argument(
            "--restore",
            metavar="FILE",
            type=Path,
            help="restore a backup file (or every file of a backup directory)",
        )
        parser.add_argument(
            "--rollback",
            nargs=2,
            metavar=("APP", "MIGRATION"),
            help="migrate every schema back to APP's MIGRATION ('zero' for none)",
        )
        parser.add_argument(
            "--backup-dir",
            type=Path,
            help="where the backups go (default: .data/backups/<timestamp>/)",
        )
        parser.add_argument(
            "--resume",
            action="store_true",
            help="carry on the interrupted run in --backup-dir (default: the latest one); "
            "a run is also carried on without it when its targets and --org match",
        )
        parser.add_argument(
            "--parallel",
            type=int,
            default=1,
            metavar="N",
            help="migrate N organisation schemas at a time in forked workers (default 1)",
        )
        parser.add_argument(
            "--org",
            action="append",
            dest="orgs",
            metavar="SLUG",
            help="only this organisation (repeatable); default: public and every organisation",
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bars")

    def handle(self, *args, **options):
        rollback = tuple(options["rollback"]) if options["rollback"] else None
        orgs = options["orgs"]
        try:
            if options["restore"]:
                return self._restore(options["restore"])
            if options["plan"]:
                return self._print_plan(migration_plan(org_slugs=orgs, rollback=rollback))
            if options["check"]:
                run = migration_check(org_slugs=orgs)
            else:
                run = migrations_run(
                    org_slugs=orgs,
                    rollback=rollback,
                    backup_dir=options["backup_dir"],
                    resume=options["resume"],
                    parallel=options["parallel"],
                    verbosity=max(0, options["verbosity"] - 1),
                    progress_file=self.stderr._out,
                    progress=not options["no_progress"],
                )
        except MigrationSafetyError as error:
            raise CommandError(str(error)) from error
        self._print_summary(run)
        if not run.ok:
            raise CommandError(self._failure_message(run))

    def _print_plan(self, run: MigrationRun) -> None:
        for result in run.results:
            title = f"{result.schema} ({result.label})"
            if not result.steps:
                self.stdout.write(f"{title}: up to date")
                continue
            recorded_only = len(result.steps) - len(result.changes)
            extra = f", {recorded_only} recorded only" if recorded_only else ""
            self.stdout.write(f"{title}: {len(result.changes)} to run{extra}")
            for step in result.changes:
                self.stdout.write(f"  {step}")
        pending = sum(1 for result in run.results if result.changes)
        self.stdout.write(
            f"{pending} of {len(run.results)} schemas would change. Nothing was changed."
        )

    def _print_summary(self, run: MigrationRun) -> None:
        for line in run.resumed:
            self.stdout.write(self.style.WARNING(line))
        if run.backup_dir:
            self.stdout.write(f"Backups: {run.backup_dir} (run {run.run_id})")
        width = max([len(result.schema) for result in run.results] + [6])
        self.stdout.write(f"{'schema':<{width}}  {'ran':>4}  {'time':>7}  result")
        for result in run.results:
            status = "ok" if result.ok else "FAILED"
            line = f"{result.schema:<{width}}  {len(result.changes):>4}  {result.seconds:>6.1f}s"
            style = self.style.SUCCESS if result.ok else self.style.ERROR
            self.stdout.write(f"{line}  {style(status)}")
            for detail in ([result.error] if result.error else []) + result.problems:
                self.stdout.write(self.style.ERROR(f"{'':<{width}}    {detail}"))
            for note in result.notes:
                self.stdout.write(f"{'':<{width}}    {note}")
        if run.seconds:
            self.stdout.write(
                " · ".join(f"{phase} {seconds:.1f}s" for phase, seconds in run.seconds.items())
            )
        if run.ok:
            self.stdout.write(
                self.style.SUCCESS(f"All {len(run.results)} schemas verified at the target.")
            )

    def _failure_message(self, run: MigrationRun) -> str:
        failed = run.failed
        lines = [f"{len(failed)} of {len(run.results)} schemas failed verification."]
        if run.backup_dir is None:
            lines.append(
                "Nothing was changed by this command; run safe_migrate to bring them up to date."
            )
            return "\n".join(lines)
        backups = [result for result in failed if result.backup]
        if backups:
            lines.append("To put a failed schema back as it was before this run:")
            lines += [
                f"  python manage.py safe_migrate --restore {result.backup}" for result in backups
            ]
        lines += [
            "Every schema this run changed was backed up first; to restore them all:",
            f"  python manage.py safe_migrate --restore {run.backup_dir}",
            "Then fix the failing migration (or deploy the previous release) before running "
            "safe_migrate again.",
        ]
        return "\n".join(lines)

    def _restore(self, path: Path) -> None:
        database_check()
        files = backup_files(path)
        with migration_lock():
            for file in files:
                schema = backup_restore(file)
                self.stdout.write(self.style.SUCCESS(f"Restored {schema} from {file}"))
        self.stdout.write(
            "The restored schemas are at the migrations they had when backed up; "
            "`safe_migrate --plan` shows what is pending."
        )
