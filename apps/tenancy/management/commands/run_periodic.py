from django.core.management.base import CommandError
from django_tenants.utils import get_public_schema_name, schema_context

from apps.tenancy.management.base import ServiceCommand
from apps.tenancy.models import Organization
from apps.tenancy.periodic import get_job, job_run, load_jobs
from apps.tenancy.services import organization_get


class Command(ServiceCommand):
    help = (
        "Run a periodic job now, synchronously, for one organisation or all of them "
        "(never twice at once for one organisation: a run already going is skipped)."
    )

    def add_arguments(self, parser):
        parser.add_argument("job", nargs="?", help="job name; omit with --list")
        parser.add_argument("--org", help="organisation slug (default: every organisation)")
        parser.add_argument("--list", action="store_true", help="list the registered jobs")
        parser.add_argument(
            "--skip-idle",
            action="store_true",
            help="skip organisations with nothing new since the job's last run (as beat does)",
        )

    def handle(self, *args, job, org, list, skip_idle, **options):
        if list or not job:
            jobs = load_jobs()
            if not jobs:
                self.stdout.write("No periodic jobs registered.")
            for registered in jobs.values():
                every = registered.every.total_seconds() / 60
                self.stdout.write(
                    f"{registered.name:<28} every {every:g} min  {registered.description}"
                )
            return
        try:
            periodic = get_job(job)
            orgs = (
                [organization_get(org)]
                if org
                else Organization.objects.exclude(schema_name=get_public_schema_name())
            )
        except KeyError as error:  # an unknown organisation is ServiceCommand's to report
            raise CommandError(error.args[0]) from error
        for organization in orgs:
            with schema_context(organization.schema_name):
                result = job_run(periodic, force=not skip_idle)
            self.stdout.write(f"{organization.slug}: {job}: {result}")
