"""Realistic demo data. Idempotent; ``--scale N`` multiplies the volume for big data sets."""

from __future__ import annotations

import random
from importlib import import_module
from importlib.util import find_spec

from django.core.management.base import BaseCommand
from django.utils import timezone
from django_tenants.utils import schema_context
from tqdm import tqdm

from apps.demo.constants import DEMO_NAME, DEMO_SLUG, DEMO_USERS
from apps.demo.context import DemoContext
from apps.tenancy.models import Organization
from apps.tenancy.periodic import load_jobs
from apps.tenancy.services import organization_create, public_tenant_ensure
from apps.users.models import User
from apps.users.services import Profile, user_create

# Order matters: each app's data may build on the ones before it.
SEED_APPS = [
    "crm",
    "personas",
    "outcomes",
    "feedback",
    "reviews",
    "insights",
    "approvals",
    "simulator",  # the learning story: outcomes, ratings, learnings, calibration in motion
    "goals",
    "dashboards",
]


# Jobs that message people (e-mails, webhooks) rather than bring data up to date.
MESSAGING_JOBS = {"daily_digest", "notify_approvers"}


def run_jobs_once() -> list[str]:
    """Run each data job of the current organisation once; their summaries."""
    return [
        f"{job.name}: {job.func()}"
        for job in load_jobs().values()
        if job.name not in MESSAGING_JOBS
    ]


class Command(BaseCommand):
    help = "Create (or complete) a demo organisation with users and realistic data."

    def add_arguments(self, parser):
        parser.add_argument(
            "--org", default=DEMO_SLUG, help="organisation slug (created if missing)"
        )
        parser.add_argument("--scale", type=int, default=1, help="multiply the data volume")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, org: str, scale: int, no_progress: bool, **options):
        public_tenant_ensure()
        organization = Organization.objects.filter(slug=org).first()
        if organization is None:
            name = DEMO_NAME if org == DEMO_SLUG else org.replace("-", " ").title()
            organization = organization_create(slug=org, name=name)
            self.stdout.write(f"Created organisation {organization.name}")
        seeders = [
            import_module(f"apps.{app}.demo")
            for app in SEED_APPS
            if find_spec(f"apps.{app}.demo") is not None
        ]
        with schema_context(organization.schema_name):
            ctx = DemoContext(
                org=organization,
                scale=max(1, scale),
                now=timezone.now(),
                rng=random.Random(f"{org}-{scale}"),
                users=self._users(),
            )
            total = sum(getattr(seeder, "planned_steps", lambda c: 1)(ctx) for seeder in seeders)
            with tqdm(
                total=total,
                desc="seed_demo",
                unit="row",
                disable=no_progress,
                file=self.stderr._out,
            ) as bar:
                ctx.progress = bar
                for seeder in seeders:
                    bar.set_postfix_str(seeder.__name__.split(".")[1])
                    seeder.seed(ctx)
            # Every periodic job once, as beat would have by now: no outcome left pending
            # past its window, insights detected, goals and analytics up to date.
            for summary in run_jobs_once():
                self.stdout.write(f"  {summary}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready in {organization.name} (http://{org}.localhost:8000/)"
            )
        )

    def _users(self) -> dict[str, User]:
        users: dict[str, User] = {}
        manager = None
        for username, role, password, full_name in sorted(
            DEMO_USERS, key=lambda u: u[1] != "manager"
        ):
            user = User.objects.filter(username=username).first()
            if user is None:
                first, _, last = full_name.partition(" ")
                profile: Profile = {
                    "first_name": first,
                    "last_name": last,
                    "email": f"{username}@northwind.example",
                    "manager": manager if role == "rep" else None,
                    "team": "Northwind sales",
                }
                user = user_create(username=username, role=role, password=password, **profile)
            if role == "manager" and manager is None:
                manager = user
            users[username] = user
        return users
