"""``manage.py simulate``: a synthetic sales team driving the loop through the public API."""

from __future__ import annotations

import json
import secrets
import time
from contextlib import contextmanager
from pathlib import Path

from django.core.management.base import CommandError
from django.db import connection
from django_tenants.utils import schema_context

from apps.simulator.engine import (
    ClientTransport,
    HttpTransport,
    Simulation,
    SimulationError,
    report_lines,
)
from apps.simulator.report import arm_summary, combine, summarise, summary_lines
from apps.simulator.services import simulation_report_store
from apps.tenancy.management.base import ServiceCommand
from apps.tenancy.services import organization_create, organization_get


class Command(ServiceCommand):
    help = (
        "Simulate a sales team (agent, customers, reps) through the public REST API and "
        "report whether the learning loop helps: the loop-on run against a loop-off control "
        "in the same world, per seed, with the targets checked."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--org", required=True, help="organisation slug: the loop-on run, and the report"
        )
        parser.add_argument(
            "--control-org",
            help="organisation for the loop-off control (default: a scratch organisation "
            "created for the run and dropped after it)",
        )
        parser.add_argument("--weeks", type=int, default=8)
        parser.add_argument("--reps", type=int, default=6)
        parser.add_argument("--seed", type=int, default=1, help="the first seed")
        parser.add_argument(
            "--seeds",
            type=int,
            default=1,
            help="how many seeds (seed, seed+1, ...); with more than one, every run gets a "
            "scratch organisation of its own and --org only keeps the report",
        )
        parser.add_argument("--emails-per-day", type=int, default=10)
        parser.add_argument(
            "--loop", choices=["on", "off"], default="on", help="off: one control run in --org"
        )
        parser.add_argument(
            "--speed",
            type=float,
            default=0,
            help="simulated working days per real second at most (0: as fast as the server "
            "answers); e.g. 0.1 paces one simulated day every 10 s, to watch a live server",
        )
        parser.add_argument(
            "--base-url",
            default="http://127.0.0.1:8000",
            help="a running server; 'inprocess' goes through the full Django stack without HTTP",
        )
        parser.add_argument(
            "--scratch",
            action="store_true",
            help="run every seed in scratch organisations, even a single one",
        )
        parser.add_argument("--json", help="also write the summary to this file")
        parser.add_argument(
            "--combine",
            nargs="+",
            metavar="JSON",
            help="no run: combine the --json files of runs of other seeds (e.g. run in "
            "parallel) into one report, printed and kept in --org",
        )

    def handle(self, *args, **options):
        if min(options["weeks"], options["reps"], options["emails_per_day"], options["seeds"]) < 1:
            raise CommandError("--weeks, --reps, --seeds and --emails-per-day must be at least 1.")
        if options["speed"] < 0:
            raise CommandError("--speed must be 0 or more.")
        self.options = options
        org = organization_get(options["org"])
        if options["combine"]:
            self._combine(org, options["combine"])
            return
        if options["loop"] == "off":
            if options["scratch"]:
                with self._scratch(options["seed"], "off") as scratch:
                    result = self._run(scratch, options["seed"], False)
            else:
                result = self._run(org, options["seed"], False)
            self.stdout.write("\n".join(report_lines(None, result)))
            if options["json"]:
                weeks = arm_summary(result)
                Path(options["json"]).write_text(
                    json.dumps({"seed": options["seed"], "weeks": weeks})
                )
            return
        started = time.monotonic()
        pairs = []
        for seed in range(options["seed"], options["seed"] + options["seeds"]):
            if options["seeds"] == 1 and not options["scratch"]:
                on = self._run(org, seed, True)
            else:
                with self._scratch(seed, "on") as scratch:
                    on = self._run(scratch, seed, True)
            if options["control_org"] and options["seeds"] == 1 and not options["scratch"]:
                off = self._run(organization_get(options["control_org"]), seed, False)
            else:
                with self._scratch(seed, "off") as scratch:
                    off = self._run(scratch, seed, False)
            pairs.append((seed, on, off))
        params = {
            "weeks": options["weeks"],
            "reps": options["reps"],
            "emails_per_day": options["emails_per_day"],
            "transport": "in-process" if options["base_url"] == "inprocess" else "HTTP",
            "elapsed_s": round(time.monotonic() - started, 1),
        }
        summary = summarise(pairs, params=params)
        for line in summary_lines(summary):
            self.stdout.write(line)
        if options["json"]:
            Path(options["json"]).write_text(json.dumps(summary, indent=1))
        self._store(org, summary)

    def _combine(self, org, paths: list[str]) -> None:
        try:
            parts = [json.loads(Path(path).read_text()) for path in paths]
            seeds = [seed for part in parts for seed in part["per_seed"]]
            params = parts[0]["params"] | {
                "elapsed_s": max(part["params"].get("elapsed_s", 0) for part in parts)
            }
            summary = combine(seeds, params=params)
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise CommandError(f"Cannot combine {', '.join(paths)}: {error}") from error
        for line in summary_lines(summary):
            self.stdout.write(line)
        if self.options["json"]:
            Path(self.options["json"]).write_text(json.dumps(summary, indent=1))
        self._store(org, summary)

    def _store(self, org, summary: dict) -> None:
        with schema_context(org.schema_name):
            report = simulation_report_store(summary=summary)
        self.stdout.write(f"Report kept in {org.slug} (/simulator/, report {report.pk}).")

    @contextmanager
    def _scratch(self, seed: int, arm: str):
        """A fresh organisation for one run, so no seed inherits another's learnings."""
        slug = f"simtmp-{seed}-{arm}-{secrets.token_hex(2)}"
        connection.set_schema_to_public()  # in-process requests leave the last org's schema
        org = organization_create(slug=slug, name=f"Simulation scratch {seed} {arm}")
        try:
            yield org
        finally:
            connection.set_schema_to_public()
            org.delete(force_drop=True)

    def _run(self, org, seed: int, loop: bool):
        base_url = self.options["base_url"]

        def transport_for(host):
            if base_url == "inprocess":
                return ClientTransport(host)
            return HttpTransport(base_url, host)

        started = time.monotonic()
        simulation = Simulation(
            org=org,
            transport_for=transport_for,
            weeks=self.options["weeks"],
            reps=self.options["reps"],
            seed=seed,
            loop=loop,
            emails_per_day=self.options["emails_per_day"],
            accounts_per_rep=2 * self.options["emails_per_day"],
            speed=self.options["speed"],
            log=lambda line: self.stdout.write(f"seed {seed}: {line}"),
        )
        try:
            result = simulation.run()
        except SimulationError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            f"seed {seed} loop {'on' if loop else 'off'} in {org.slug}: "
            f"{time.monotonic() - started:.1f} s, {result.calls} API calls; "
            f"learnings top 5: {', '.join(result.found_traits) or 'none'}"
        )
        return result
