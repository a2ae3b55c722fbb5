"""The demo's learning story, told by the simulator rather than placed by hand.

Two simulated weeks of the demo reps' agents writing to customers who answer by hidden
rules, through the public API in-process: outcomes, replies, ratings, approvals, the
learnings the extractor finds and the calibration they lead to all come from the loop
turning. A control arm (loop off, its own customers) runs in the same organisation so the
Simulation page has a comparison. Idempotent: an organisation with a simulation report is
left as it is.
"""

from __future__ import annotations

from apps.simulator.engine import ClientTransport, Simulation
from apps.simulator.models import SimulationReport
from apps.simulator.report import summarise
from apps.simulator.services import simulation_report_store

WEEKS, SEED, EMAILS_PER_DAY = 2, 1, 6


def planned_steps(ctx) -> int:
    return 2


def seed(ctx) -> None:
    if SimulationReport.objects.exists():
        ctx.step(2)
        return
    reps = tuple(user.username for user in ctx.reps)
    manager = next((u.username for u in ctx.users.values() if u.role == "manager"), "sim-manager")
    end = ctx.now.replace(hour=0, minute=0, second=0, microsecond=0)
    world = {
        "org": ctx.org,
        "transport_for": ClientTransport,
        "weeks": WEEKS,
        "reps": len(reps),
        "seed": SEED,
        "emails_per_day": EMAILS_PER_DAY,
        "accounts_per_rep": 2 * EMAILS_PER_DAY,
        "end": end,
        "rep_names": reps,
        "manager_name": manager,
    }
    runs = []
    for loop, namespace in ((True, "sim"), (False, "ctl")):
        runs.append(Simulation(**world, loop=loop, namespace=namespace).run())
        ctx.step()
    params = {
        "weeks": WEEKS,
        "reps": len(reps),
        "emails_per_day": EMAILS_PER_DAY,
        "transport": "in-process (seed_demo; control in the same organisation)",
    }
    simulation_report_store(summary=summarise([(SEED, *runs)], params=params))
