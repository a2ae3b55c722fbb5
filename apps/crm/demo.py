"""Demo CRM: accounts across industries, deals in every stage, months of interactions."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from apps.crm.models import STAGE_ORDER, Account, DealStage
from apps.crm.services import account_upsert, deal_upsert, interaction_record

COMPANIES = [
    "Acme Robotics",
    "Bluefin Logistics",
    "Cedar Health",
    "Delta Freight",
    "Evergreen Foods",
    "Fjord Energy",
    "Granite Bank",
    "Helix Biotech",
    "Ion Mobility",
    "Juniper Retail",
    "Kestrel Aero",
    "Lumen Media",
    "Meridian Insurance",
    "Nimbus Cloud",
    "Orchid Pharma",
    "Pioneer Steel",
    "Quartz Analytics",
    "Riverside Hotels",
    "Summit Telecom",
    "Tidewater Shipping",
]
INDUSTRIES = ["manufacturing", "logistics", "healthcare", "finance", "software", "retail"]
SUMMARIES = {
    "email": [
        "Asked for pricing for 200 seats",
        "Replied: let's talk next week",
        "Forwarded to procurement",
        "Asked about the security review",
        "Said budget is frozen this quarter",
        "Requested a demo for the ops team",
    ],
    "chat": ["Asked how SSO works", "Wanted a contract template", "Questions on onboarding time"],
    "meeting": [
        "Discovery call with the VP Sales",
        "Demo with three stakeholders",
        "Pricing negotiation",
        "Quarterly business review",
    ],
}
OPEN_STAGES = [s for s in STAGE_ORDER if s != DealStage.CLOSED_WON]


def accounts_count(scale: int) -> int:
    return len(COMPANIES) * scale


def planned_steps(ctx) -> int:
    return accounts_count(ctx.scale)


def _stage_moved(account, deal, stage: str, summary: str, occurred_at) -> None:
    """The CRM's note that the deal reached ``stage`` (what moves its stage in the demo)."""
    interaction_record(
        account=account,
        deal=deal,
        channel="crm",
        direction="outbound",
        stage=stage,
        summary=summary,
        occurred_at=occurred_at,
    )


def seed(ctx) -> None:
    rng, now, reps = ctx.rng, ctx.now, ctx.reps
    for index in range(accounts_count(ctx.scale)):
        name = COMPANIES[index % len(COMPANIES)]
        if index >= len(COMPANIES):
            name = f"{name} {index // len(COMPANIES) + 1}"
        external_id = f"demo-acc-{index + 1}"
        if Account.objects.filter(external_id=external_id).exists():
            ctx.step()
            continue
        account, _ = account_upsert(
            external_id=external_id,
            name=name,
            industry=INDUSTRIES[index % len(INDUSTRIES)],
            owner=reps[index % len(reps)] if reps else None,
        )
        stage = rng.choice([*OPEN_STAGES, DealStage.CLOSED_WON, DealStage.CLOSED_LOST])
        deal, _ = deal_upsert(
            external_id=f"demo-deal-{index + 1}",
            account=account,
            name=f"{name} platform",
            stage=DealStage.PROSPECTING,
            amount=Decimal(rng.randrange(8, 160) * 1000),
            changed_at=now - timedelta(days=rng.randint(60, 200)),
        )
        for step_index, step_stage in enumerate(OPEN_STAGES[1 : STAGE_ORDER.get(stage, 2) + 1]):
            _stage_moved(
                account,
                deal,
                step_stage,
                f"Stage moved to {step_stage}",
                now - timedelta(days=50 - step_index * 9 + rng.randint(0, 4)),
            )
        if stage in (DealStage.CLOSED_WON, DealStage.CLOSED_LOST):
            _stage_moved(
                account,
                deal,
                stage,
                f"Deal {stage.replace('_', ' ')}",
                now - timedelta(days=rng.randint(1, 8)),
            )
        for _ in range(rng.randint(4, 14)):
            channel = rng.choice(["email", "email", "chat", "meeting"])
            interaction_record(
                account=account,
                channel=channel,
                direction=rng.choice(["inbound", "outbound"]),
                occurred_at=now - timedelta(hours=rng.randint(1, 24 * 120)),
                sentiment=round(rng.uniform(-0.8, 0.9), 2),
                summary=rng.choice(SUMMARIES[channel]),
                contact_name=rng.choice(["Dana Kim", "Luis Ortega", "Priya Nair", "Tom Berg"]),
                contact_title=rng.choice(["VP Sales", "Head of Ops", "CFO", "IT Manager"]),
            )
        ctx.step()
