from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime

from apps.tenancy.models import Organization


@dataclass
class DemoContext:
    """What every app's ``demo.seed(ctx)`` gets: the org, a seeded RNG, scale and users.

    Seeders must be idempotent: derive every external id from a counter so that a second
    run finds and keeps what the first created.
    """

    org: Organization
    scale: int
    now: datetime
    rng: random.Random
    users: dict = field(default_factory=dict)  # username -> User
    progress: object = None  # a tqdm bar; call ctx.step(n) as work is done

    def step(self, amount: int = 1) -> None:
        if self.progress is not None:
            self.progress.update(amount)

    @property
    def reps(self) -> list:
        return [user for user in self.users.values() if user.role == "rep"]
