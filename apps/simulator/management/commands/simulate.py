"""``manage.py simulate``: a synthetic sales team driving the loop through the public API."""

from __future__ import annotations

import time

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from apps.simulator.engine import (
    ClientTransport,
    HttpTransport,
    Simulation,
    SimulationError,
    report_lines,
)
from apps.tenancy.services import organization_get


class Command(BaseCommand):
    help = (
        "Simulate a sales team (agent, customers, reps) through the public REST API and "
        "report whether the learning loop helps: loop on in --org, loop off in --control-org."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="organisation slug (the loop-on run)")
        parser.add_argument(
            "--control-org", help="a second organisation for the loop-off control run"
        )
        parser.add_argument("--weeks", type=int, default=8)
        parser.add_argument("--reps", type=int, default=6)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--emails-per-day", type=int, default=10)
        parser.add_argument("--loop", choices=["on", "off"], default="on", help="for --org")
        parser.add_argument(
            "--base-url",
            default="http://127.0.0.1:8000",
            help="a running server; 'inprocess' goes through the full Django stack without HTTP",
        )

    def handle(self, *args, **options):
        if options["weeks"] < 1 or options["reps"] < 1 or options["emails_per_day"] < 1:
            raise CommandError("--weeks, --reps and --emails-per-day must be at least 1.")
        base_url = options["base_url"]

        def transport_for(host):
            if base_url == "inprocess":
                return ClientTransport(host)
            return HttpTransport(base_url, host)

        runs = [(options["org"], options["loop"] == "on")]
        if options["control_org"]:
            runs.append((options["control_org"], False))
        results = []
        for slug, loop in runs:
            try:
                org = organization_get(slug)
            except ValidationError as error:
                raise CommandError("; ".join(error.messages)) from error
            started = time.monotonic()
            simulation = Simulation(
                org=org,
                transport_for=transport_for,
                weeks=options["weeks"],
                reps=options["reps"],
                seed=options["seed"],
                loop=loop,
                emails_per_day=options["emails_per_day"],
                accounts_per_rep=2 * options["emails_per_day"],
                log=lambda line: self.stdout.write(line),
            )
            try:
                results.append(simulation.run())
            except SimulationError as error:
                raise CommandError(str(error)) from error
            self.stdout.write(f"{slug}: {time.monotonic() - started:.1f} s")
        on = next((r for r in results if r.loop), None)
        off = next((r for r in results if not r.loop), None)
        for line in report_lines(on, off):
            self.stdout.write(line)
