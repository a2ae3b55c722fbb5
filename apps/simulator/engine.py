"""A simulated sales team that turns the whole loop through the public REST API.

The world has a known truth: a customer's chance to reply to an email depends on three
hidden traits of the agent's output (short, offers two time slots, mentions the customer's
last message) plus noise; a reply turns into a meeting more often when two slots were
offered; meetings move deals. The agent each simulated day reads its persona, the ranked
learnings, few-shot examples and its calibrated confidence from the API and writes emails whose traits follow
what it was told (with exploration). Reps rate outputs noisily, in line with the truth.
Outcomes, replies (``in_reply_to``), meetings, stage changes and ratings all go through the
API with Bearer keys; only the setup (users, clones, keys) and the periodic jobs run
in-process, the jobs on the simulated clock (outcome times are backfilled, so each job sees
exactly the simulated past).

Randomness: every customer draw comes from its own generator keyed by (seed, day, account),
so the loop-on and loop-off runs of one seed meet the same customers with the same luck
(common random numbers): the difference between them is the loop's effect, not the dice.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django_tenants.utils import schema_context

from apps.agents.services import clone_ensure
from apps.tenancy.models import Domain, Organization
from apps.tenancy.periodic import get_job
from apps.users.models import ApiKey, User
from apps.users.services import api_key_create, api_key_revoke, user_create

ACTION_TYPE = "email_sent"
MAX_THROTTLED_RETRIES = 5

# The hidden truth: traits that raise the reply probability, and by how much.
TRUE_TRAITS: dict[str, float] = {"short": 0.14, "two_slots": 0.10, "last_message": 0.12}
# Traits the agent varies that do nothing (so learnings can be wrong about them).
NOISE_TRAITS = ("question", "afternoon")
MEETING_BASE, MEETING_TWO_SLOTS = 0.25, 0.35

# What the learnings extractor reports for each planted trait (evidence dimension, value).
TRAIT_OF_EVIDENCE: dict[tuple[str, str], str] = {
    ("length", "short"): "short",
    ("phrase", "two openings"): "two_slots",
    ("phrase", "last note"): "last_message",
}

DAY_JOBS = (
    "resolve_immediate_signals",
    "resolve_engagement",
    "resolve_deal_progression",
    "expire_outcomes",
    "recalibrate",
    "extract_learnings",
)
STAGES = ("prospecting", "qualification", "discovery", "proposal", "negotiation", "closed_won")
FILLER = (
    " Teams like yours usually spend most of the week assembling the same numbers by hand,"
    " and our customers tell us the weekly review now takes an hour instead of a day."
    " I have attached a short summary of how a similar company rolled it out in a month,"
    " including what their finance and operations leads asked before they agreed to it."
)


class SimulationError(RuntimeError):
    """The API answered something the simulator cannot go on from."""


# --- transports: how a request reaches the server ------------------------------------------


class Transport:
    def request(self, method: str, path: str, *, key: str, body=None, params=None):
        raise NotImplementedError


class HttpTransport(Transport):
    """Real HTTP to a running server; the Host header picks the organisation."""

    def __init__(self, base_url: str, host: str):
        import requests

        self.session = requests.Session()
        self.base_url = base_url.rstrip("/")
        self.host = host

    def request(self, method, path, *, key, body=None, params=None):
        response = self.session.request(
            method,
            self.base_url + path,
            json=body,
            params=params,
            headers={"Authorization": f"Bearer {key}", "Host": self.host},
            timeout=60,
        )
        try:
            data = response.json()
        except ValueError:
            data = response.text
        return response.status_code, data


class ClientTransport(Transport):
    """Django's test Client: the whole stack (middleware, routing, auth), no socket."""

    def __init__(self, host: str):
        from django.test import Client

        self.client = Client(HTTP_HOST=host)

    def request(self, method, path, *, key, body=None, params=None):
        headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
        if method == "GET":
            response = self.client.get(path, params or {}, **headers)
        else:
            response = getattr(self.client, method.lower())(
                path, json.dumps(body), content_type="application/json", **headers
            )
        try:
            data = response.json()
        except ValueError:
            data = response.content.decode()
        return response.status_code, data


class Api:
    """The public API as one key sees it."""

    def __init__(self, transport: Transport, key: str, sleep: Callable[[float], None] = time.sleep):
        self.transport, self.key, self.sleep = transport, key, sleep
        self.calls = self.throttled = 0

    def call(self, method: str, path: str, body=None, params=None, ok=(200, 201)):
        for _attempt in range(MAX_THROTTLED_RETRIES + 1):
            self.calls += 1
            status, data = self.transport.request(
                method, f"/api/v1/{path}", key=self.key, body=body, params=params
            )
            if status != 429:
                break
            # Throttled: wait as the server says ("Expected available in N seconds"), retry.
            self.throttled += 1
            wait = re.search(r"(\d+) seconds?", str(data))
            self.sleep(min(60, int(wait.group(1)) if wait else 5) + 0.5)
        if status not in ok:
            raise SimulationError(f"{method} /api/v1/{path} answered {status}: {data}")
        return data


# --- the world --------------------------------------------------------------------------------


def _rng(*parts) -> random.Random:
    digest = hashlib.sha256(":".join(map(str, parts)).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


@dataclass
class Customer:
    account: str
    deal: str
    owner: int
    name: str
    base: float  # reply probability of a plain email
    amount: int = 12000
    stage: int = 0


@dataclass
class Email:
    external_id: str
    rep: int
    customer: Customer
    traits: dict[str, bool]
    sent_at: datetime
    confidence: float
    followed: list[int]  # learning ids the agent followed
    outcome_id: int | None = None
    replied: bool = False
    replied_at: datetime | None = None
    meeting: bool = False


def _share(part: int, whole: int) -> float:
    """``part`` / ``whole``, 0 while there is no whole."""
    return part / whole if whole else 0.0


@dataclass
class WeekStats:
    emails: int = 0
    replies: int = 0
    meetings: int = 0
    ratings: int = 0
    thumbs_up: int = 0
    proposals: int = 0
    autonomous: int = 0
    decided: int = 0
    approved: int = 0
    executed: int = 0
    pairs: list[tuple[float, float]] = field(default_factory=list)  # (predicted, actual)
    ece_api: float | None = None

    reply_rate = property(lambda week: _share(week.replies, week.emails))
    meeting_rate = property(lambda week: _share(week.meetings, week.emails))
    thumbs_up_rate = property(lambda week: _share(week.thumbs_up, week.ratings))
    # Of the proposals a manager decided, the share approved.
    approval_rate = property(lambda week: _share(week.approved, week.decided))
    # Of all proposals, the share the guardrails let through without a person.
    autonomy_rate = property(lambda week: _share(week.autonomous, week.proposals))

    @property
    def ece_week(self) -> float | None:
        return ece(self.pairs)


def ece(pairs: list[tuple[float, float]]) -> float | None:
    """Expected calibration error over 10 bins, as the server defines it."""
    if not pairs:
        return None
    bins: dict[int, list[tuple[float, float]]] = {}
    for predicted, actual in pairs:
        bins.setdefault(min(int(predicted * 10), 9), []).append((predicted, actual))
    total = len(pairs)
    return sum(
        len(items)
        / total
        * abs(sum(a for _, a in items) / len(items) - sum(p for p, _ in items) / len(items))
        for items in bins.values()
    )


@dataclass
class RunResult:
    loop: bool
    weeks: list[WeekStats]
    learnings: list[dict]  # the top five at the end, as the API ranked them
    calls: int
    first_day_ece: float | None = None  # from the calibration API after day 1
    throttled: int = 0  # 429 answers waited out

    @property
    def found_traits(self) -> list[str]:
        return [trait_of(learning) for learning in self.learnings]

    @property
    def precision(self) -> float:
        found = self.found_traits
        return sum(t in TRUE_TRAITS for t in found) / len(found) if found else 0.0

    @property
    def recall(self) -> float:
        return len(set(self.found_traits) & set(TRUE_TRAITS)) / len(TRUE_TRAITS)


def trait_of(learning: dict) -> str:
    evidence = learning.get("evidence") or {}
    key = (evidence.get("dimension", ""), evidence.get("value", ""))
    return TRAIT_OF_EVIDENCE.get(key, f"{key[0]}={key[1]}")


# --- setup (in-process: users, clones and keys are an admin's job, not the agent's) ---------


@dataclass
class Team:
    host: str
    crm_key: str  # the CRM integration
    manager_key: str
    agent_keys: list[str]  # one agent runtime per clone
    rep_keys: list[str]
    reps: list[str]
    clones: list[str]


def _team_member(username: str, role: str) -> User:
    """The user of that name, or a new one with that role and a password nobody uses."""
    return User.objects.filter(username=username).first() or user_create(
        username=username,
        role=role,
        password="unused-" + hashlib.sha256(username.encode()).hexdigest()[:16],
        check_password=False,
    )


def team_setup(
    org: Organization,
    *,
    reps: int,
    tag: str,
    rep_names: tuple[str, ...] = (),
    manager_name: str = "sim-manager",
) -> Team:
    """Reps and their clones (idempotent on names), a manager; keys for each. Existing
    users named in ``rep_names`` and ``manager_name`` play those parts (the demo's team)."""
    host = Domain.objects.filter(tenant=org).order_by("-is_primary", "id").first().domain
    names, keys, clones = [], [], []
    with schema_context(org.schema_name), transaction.atomic():
        for index in range(reps):
            username = rep_names[index] if index < len(rep_names) else f"sim-rep-{index}"
            user = _team_member(username, "rep")
            clone, _ = clone_ensure(
                external_id=f"sim-clone-{index}", name=f"Simulated agent {index}", owner=user
            )
            names.append(username)
            clones.append(clone.external_id)
            keys.append(api_key_create(name=f"simulator rep {index} ({tag})", user=user)[1])
        manager = _team_member(manager_name, "manager")
        return Team(
            host=host,
            manager_key=api_key_create(name=f"simulator manager ({tag})", user=manager)[1],
            agent_keys=[
                api_key_create(name=f"simulator agent {index} ({tag})")[1] for index in range(reps)
            ],
            crm_key=api_key_create(name=f"simulator CRM sync ({tag})")[1],
            rep_keys=keys,
            reps=names,
            clones=clones,
        )


def team_keys_revoke(org: Organization, *, tag: str) -> int:
    """Revoke the keys a run created: they are not needed once it ends."""
    with schema_context(org.schema_name):
        keys = list(ApiKey.objects.filter(name__endswith=f"({tag})", revoked_at__isnull=True))
        for key in keys:
            api_key_revoke(key=key)
    return len(keys)


def run_jobs(org: Organization, names=DAY_JOBS) -> None:
    """Run periodic jobs in-process in the organisation's schema, as ``run_periodic`` does."""
    with schema_context(org.schema_name):
        for name in names:
            get_job(name).func()


# --- the simulation ---------------------------------------------------------------------------


@dataclass
class Simulation:
    org: Organization
    transport_for: Callable[[str], Transport]  # host -> transport
    weeks: int = 8
    reps: int = 6
    seed: int = 1
    loop: bool = True
    accounts_per_rep: int = 20
    emails_per_day: int = 10
    rating_share: float = 0.6
    exploration: float = 0.15
    end: datetime | None = None
    speed: float = 0  # simulated working days per real second at most; 0: no pacing
    rep_names: tuple[str, ...] = ()  # existing users to play the reps (default sim-rep-N)
    manager_name: str = "sim-manager"
    namespace: str = "sim"  # prefix of the world's accounts and deals
    log: Callable[[str], None] = lambda line: None

    def run(self) -> RunResult:
        tag = f"s{self.seed}-{'on' if self.loop else 'off'}-{secrets.token_hex(3)}"
        team = team_setup(
            self.org,
            reps=self.reps,
            tag=tag,
            rep_names=self.rep_names,
            manager_name=self.manager_name,
        )
        try:
            return self._run(team)
        finally:
            team_keys_revoke(self.org, tag=tag)

    def _run(self, team: Team) -> RunResult:
        transport = self.transport_for(team.host)
        agents = [Api(transport, key) for key in team.agent_keys]
        agent, crm = agents[0], Api(transport, team.crm_key)
        raters = [Api(transport, key) for key in team.rep_keys]
        manager = Api(transport, team.manager_key)
        customers = self._world(crm, team)
        end = (self.end or datetime.now(UTC)).replace(hour=0, minute=0, second=0, microsecond=0)
        start = end - timedelta(days=7 * self.weeks)
        weeks = [WeekStats() for _ in range(self.weeks)]
        pending_apps: list[Email] = []
        for week in range(self.weeks):
            for weekday in range(5):
                day = week * 7 + weekday
                day_started = time.monotonic()
                midnight = start + timedelta(days=day)
                pending_apps = self._apply_learnings(agents, pending_apps)
                for rep in range(self.reps):
                    emails = self._agent_day(agents[rep], team, rep, day, midnight, customers)
                    self._customers_answer(crm, emails, day)
                    self._propose_meetings(agents[rep], manager, team, emails, weeks[week])
                    self._reps_rate(raters[rep], emails, day, weeks[week])
                    for email in emails:
                        stats = weeks[week]
                        stats.emails += 1
                        stats.replies += email.replied
                        stats.meetings += email.meeting
                        stats.pairs.append((email.confidence, float(email.replied)))
                    pending_apps += [e for e in emails if e.followed]
                run_jobs(self.org)
                if self.speed > 0:  # pace the simulated clock against the real one
                    time.sleep(max(0.0, 1 / self.speed - (time.monotonic() - day_started)))
                if day == 0:  # the agent's raw, uncalibrated confidence: the baseline
                    first_day_ece = agent.call("GET", f"calibration/{ACTION_TYPE}/").get("ece")
            report = agent.call("GET", f"calibration/{ACTION_TYPE}/")
            weeks[week].ece_api = report.get("ece")
            self.log(
                f"week {week + 1} ({'loop on' if self.loop else 'loop off'}): "
                f"reply {weeks[week].reply_rate:.3f}  ECE {weeks[week].ece_api}"
            )
        learnings = agent.call("GET", "learnings/", params={"action_type": ACTION_TYPE, "limit": 5})
        calls = sum(api.calls for api in [*agents, crm, manager, *raters])
        throttled = sum(api.throttled for api in [*agents, crm, manager, *raters])
        return RunResult(
            loop=self.loop,
            weeks=weeks,
            learnings=learnings,
            calls=calls,
            first_day_ece=first_day_ece,
            throttled=throttled,
        )

    # The CRM integration: accounts and deals, upserted by external id.
    def _world(self, crm: Api, team: Team) -> list[list[Customer]]:
        world = []
        for rep in range(self.reps):
            customers = []
            for index in range(self.accounts_per_rep):
                rng = _rng(self.seed, "customer", rep, index)
                account = f"{self.namespace}-acc-{rep}-{index}"
                deal = f"{self.namespace}-deal-{rep}-{index}"
                amount = rng.choice([8000, 12000, 25000, 40000, 60000, 90000])
                name = rng.choice(["Dana", "Ravi", "Mia", "Jon", "Lena", "Tomas", "Aiko", "Sara"])
                crm.call(
                    "POST",
                    "accounts/",
                    {
                        "external_id": account,
                        "name": f"Simulated Co {rep}-{index}",
                        "industry": rng.choice(["software", "retail", "logistics"]),
                        "owner": team.reps[rep],
                    },
                )
                crm.call(
                    "POST",
                    "deals/",
                    {
                        "external_id": deal,
                        "account": account,
                        "name": f"Platform for {account}",
                        "stage": "prospecting",
                        "amount": f"{amount}.00",
                    },
                )
                base = rng.uniform(0.05, 0.25)
                customers.append(Customer(account, deal, rep, name, base=base, amount=amount))
            world.append(customers)
        return world

    def _preferences(self, agent: Api, rep: int, team: Team) -> dict[str, tuple]:
        """What the agent was told: trait -> (wanted value, learning id). Empty with loop off."""
        agent.call("GET", f"clones/{team.clones[rep]}/persona/")
        if not self.loop:
            return {}
        # Few-shot examples for its prompt (corrections first, then the best-rated outputs).
        # The simulated writer does not imitate them: traits follow the learnings only, so
        # the measured lift is the learnings' and calibration's, not the examples'.
        agent.call(
            "GET",
            "examples/",
            params={"action_type": ACTION_TYPE, "clone": team.clones[rep], "limit": 3},
        )
        told: dict[str, tuple] = {}
        for learning in agent.call(
            "GET", "learnings/", params={"action_type": ACTION_TYPE, "limit": 5}
        ):
            evidence = learning.get("evidence") or {}
            dimension, value = evidence.get("dimension"), evidence.get("value")
            wanted = {
                ("length", "short"): ("short", True),
                ("length", "medium"): ("short", False),
                ("length", "long"): ("short", False),
                ("phrase", "two openings"): ("two_slots", True),
                ("phrase", "last note"): ("last_message", True),
                ("call_to_action", "question"): ("question", True),
                ("call_to_action", "none"): ("question", False),
                ("time_of_day", "afternoon"): ("afternoon", True),
            }.get((dimension, value))
            if dimension == "time_of_day" and value != "afternoon":
                wanted = ("afternoon", False)
            if wanted and wanted[0] not in told:
                told[wanted[0]] = (wanted[1], learning["id"])
        return told

    def _agent_day(self, agent, team, rep, day, midnight, customers) -> list[Email]:
        rng = _rng(self.seed, "agent", self.loop, rep, day)
        told = self._preferences(agent, rep, team)
        mine = customers[rep]
        start = (day * self.emails_per_day) % len(mine)
        targets = [mine[(start + i) % len(mine)] for i in range(self.emails_per_day)]
        emails, records, calibrated = [], [], {}
        for index, customer in enumerate(targets):
            traits, followed = {}, []
            for trait in (*TRUE_TRAITS, *NOISE_TRAITS):
                if trait in told and rng.random() >= self.exploration:
                    traits[trait] = told[trait][0]
                    followed.append(told[trait][1])
                else:
                    traits[trait] = rng.random() < 0.5
            hour = rng.randint(12, 16) if traits["afternoon"] else rng.choice([8, 9, 10, 11, 17])
            sent_at = midnight + timedelta(hours=hour, minutes=rng.randint(0, 59))
            # The agent's own belief: it trusts what it was told, and is overconfident.
            raw = min(0.95, max(0.05, 0.6 + 0.08 * len(followed) + rng.gauss(0, 0.05)))
            raw = round(raw, 2)
            confidence = raw
            if self.loop:
                if raw not in calibrated:
                    report = agent.call(
                        "GET", f"calibration/{ACTION_TYPE}/", params={"confidence": raw}
                    )
                    calibrated[raw] = report.get("calibrated_confidence")
                if calibrated[raw] is not None:
                    confidence = round(calibrated[raw], 4)
            external_id = f"sim-{self.seed}-{'on' if self.loop else 'off'}-{rep}-{day}-{index}"
            email = Email(external_id, rep, customer, traits, sent_at, confidence, followed)
            emails.append(email)
            records.append(
                {
                    "external_id": external_id,
                    "action_type": ACTION_TYPE,
                    "account": customer.account,
                    "deal": customer.deal,
                    "clone": team.clones[rep],
                    "predicted_confidence": confidence,
                    "occurred_at": sent_at.isoformat(),
                    "output_text": compose(customer, traits),
                    "metadata": {"simulated": True, "raw_confidence": raw, "traits": traits},
                }
            )
        answer = agent.call("POST", "outcomes/bulk/", {"outcomes": records}, ok=(200,))
        if answer.get("failed"):
            raise SimulationError(f"bulk outcomes failed: {answer}")
        for email, result in zip(emails, answer["results"], strict=True):
            email.outcome_id = result.get("id")
        return emails

    def _customers_answer(self, crm: Api, emails: list[Email], day: int) -> None:
        now = datetime.now(UTC) - timedelta(minutes=1)
        for email in emails:
            customer, traits = email.customer, email.traits
            rng = _rng(self.seed, "customer", customer.account, day)
            reply_draw, delay, meeting_draw, stage_draw = (rng.random() for _ in range(4))
            p_reply = customer.base + sum(
                effect for trait, effect in TRUE_TRAITS.items() if traits[trait]
            )
            if reply_draw >= p_reply:
                continue
            email.replied = True
            replied_at = min(now, email.sent_at + timedelta(hours=1 + 20 * delay))
            email.replied_at = replied_at
            crm.call(
                "POST",
                "interactions/",
                {
                    "account": customer.account,
                    "deal": customer.deal,
                    "channel": "email",
                    "direction": "inbound",
                    "occurred_at": replied_at.isoformat(),
                    "summary": f"{customer.name} replied",
                    "in_reply_to": email.external_id,
                    "external_id": f"{email.external_id}-reply",
                },
            )
            p_meeting = MEETING_BASE + MEETING_TWO_SLOTS * traits["two_slots"]
            if meeting_draw >= p_meeting:
                continue
            email.meeting = True
            met_at = min(now, replied_at + timedelta(days=1))
            crm.call(
                "POST",
                "interactions/",
                {
                    "account": customer.account,
                    "deal": customer.deal,
                    "channel": "meeting",
                    "direction": "inbound",
                    "occurred_at": met_at.isoformat(),
                    "summary": f"Meeting with {customer.name}",
                    "external_id": f"{email.external_id}-meeting",
                },
            )
            if stage_draw < 0.5 and customer.stage < len(STAGES) - 1:
                customer.stage += 1
                crm.call(
                    "POST",
                    "interactions/",
                    {
                        "account": customer.account,
                        "deal": customer.deal,
                        "channel": "crm",
                        "direction": "inbound",
                        "occurred_at": (met_at + timedelta(minutes=5)).isoformat()
                        if met_at < now
                        else now.isoformat(),
                        "stage": STAGES[customer.stage],
                        "external_id": f"{email.external_id}-stage",
                    },
                )

    def _propose_meetings(self, agent, manager, team, emails, stats: WeekStats) -> None:
        """After a reply the agent proposes a meeting offer with a discount; guardrails sort
        it, the manager decides what waits (approves discounts up to 15 %), the agent
        executes only what was approved and reports the result."""
        for email in emails:
            if not email.replied:
                continue
            customer = email.customer
            rng = _rng(self.seed, "proposal", customer.account, email.external_id)
            discount = rng.choice([0, 5, 10, 15, 20, 25])
            action = agent.call(
                "POST",
                "actions/",
                {
                    "external_id": f"{email.external_id}-offer",
                    "action_type": "meeting_request",
                    "account": customer.account,
                    "deal": customer.deal,
                    "clone": team.clones[email.rep],
                    "payload": {"discount_pct": discount, "slots": ["Tue 10:00", "Thu 14:00"]},
                    "rationale": f"{customer.name} replied; offer a meeting.",
                    "amount": str(customer.amount),
                    "discount_pct": str(discount),
                    "confidence": email.confidence,
                },
            )
            stats.proposals += 1
            status = action["status"]
            if action["category"] == "autonomous":
                stats.autonomous += 1
            elif status == "pending":
                approve = discount <= 15
                decided = manager.call(
                    "POST",
                    f"actions/{action['id']}/decision/",
                    {
                        "decision": "approve" if approve else "reject",
                        "reason": "within our discount policy" if approve else "discount too deep",
                    },
                )
                status = decided["status"]
                stats.decided += 1
                stats.approved += approve
            if status == "approved":
                agent.call(
                    "POST",
                    f"actions/{action['id']}/result/",
                    {
                        "success": True,
                        "executed_at": (email.replied_at + timedelta(minutes=30)).isoformat(),
                        "output_text": "Meeting offer sent: Tue 10:00 or Thu 14:00.",
                        "confidence": email.confidence,
                    },
                )
                stats.executed += 1

    def _reps_rate(self, rater: Api, emails: list[Email], day: int, stats: WeekStats) -> None:
        """The rep rates some outputs: thumbs up more likely the more true traits it has."""
        for email in emails:
            rng = _rng(self.seed, "rating", email.customer.account, day)
            if rng.random() >= self.rating_share or email.outcome_id is None:
                continue
            quality = sum(email.traits[t] for t in TRUE_TRAITS) / len(TRUE_TRAITS)
            draw = rng.random()
            p_up = 0.1 + 0.75 * quality
            rating = 1 if draw < p_up else (0 if draw < p_up + 0.1 else -1)
            rater.call(
                "POST",
                "feedback/",
                {"outcome": email.outcome_id, "kind": "inline", "rating": rating},
            )
            stats.ratings += 1
            stats.thumbs_up += rating == 1

    def _apply_learnings(self, agents: list[Api], emails: list[Email]) -> list[Email]:
        """Report yesterday's uses of learnings, now that their results are known."""
        for email in emails:
            for learning_id in email.followed:
                agents[email.rep].call(
                    "POST",
                    f"learnings/{learning_id}/applications/",
                    {
                        "outcome": "success" if email.replied else "failure",
                        "outcome_record": email.external_id,
                        "applied_at": email.sent_at.isoformat(),
                    },
                    ok=(201, 404),  # a learning deactivated meanwhile is 404: skip it
                )
        return []


def compose(customer: Customer, traits: dict[str, bool]) -> str:
    """The email text. Each trait leaves a mark the extractor can see, and only that mark."""
    parts = [f"Hi {customer.name},"]
    if traits["last_message"]:
        parts.append("Following up on your last note.")
    parts.append("Simulated Co could cut its reporting time with our platform.")
    parts.append("Would that help your team?" if traits["question"] else "It may help your team.")
    if traits["two_slots"]:
        parts.append("Two openings: Tue 10:00 or Thu 14:00.")
    text = " ".join(parts)
    if not traits["short"]:
        text += FILLER
    return text + "\nBest, Sam"


# --- report ------------------------------------------------------------------------------------


def _fmt(value: float | None, spec: str = ".3f") -> str:
    return "-" if value is None else format(value, spec)


def report_lines(on: RunResult | None, off: RunResult | None) -> list[str]:
    lines = []
    for result in (on, off):
        if result is None:
            continue
        lines.append(
            f"Loop {'ON' if result.loop else 'OFF (control)'}  ({result.calls} API calls,"
            f" {result.throttled} throttled;"
            f" ECE after day 1, before any calibration: {_fmt(result.first_day_ece)})"
        )
        lines.append(
            "week  emails  reply  meeting  ECE(api,cum)  ECE(week)  thumbs-up  approval  autonomy"
        )
        for number, week in enumerate(result.weeks, 1):
            lines.append(
                f"{number:>4}  {week.emails:>6}  {week.reply_rate:.3f}  {week.meeting_rate:>7.3f}"
                f"  {_fmt(week.ece_api):>12}  {_fmt(week.ece_week):>9}  {week.thumbs_up_rate:>9.3f}"
                f"  {week.approval_rate:>8.3f}  {week.autonomy_rate:>8.3f}"
            )
        lines.append(
            f"learnings top 5: {', '.join(result.found_traits) or 'none'}"
            f"  precision {result.precision:.2f}  recall {result.recall:.2f}"
            f" (planted: {', '.join(TRUE_TRAITS)})"
        )
    if on and off:
        last_on, last_off = on.weeks[-1], off.weeks[-1]
        lines.append(
            f"lift in the last week: reply {last_on.reply_rate - last_off.reply_rate:+.3f}, "
            f"meeting {last_on.meeting_rate - last_off.meeting_rate:+.3f}, "
            f"ECE(week) {_fmt(last_on.ece_week)} vs {_fmt(last_off.ece_week)}"
        )
    return lines
