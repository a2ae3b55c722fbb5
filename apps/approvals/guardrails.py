"""Guardrails: classify a proposal by the organisation's rules.

The strictest matching rule decides (hard stop over approval required); a proposal that
matches no rule is autonomous. Every matching rule is reported, so the agent and the
manager can see all the reasons, not just the first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from decimal import Decimal

from apps.approvals.models import (
    CATEGORY_SEVERITY,
    Category,
    GuardrailRule,
    ProposedAction,
    RuleKind,
)
from apps.crm.models import Account, Interaction
from apps.outcomes.models import ActionType

# Titles that make a contact "executive level" for the first-contact rule.
EXECUTIVE_TITLE = re.compile(
    r"\b(ceo|cfo|cto|coo|cro|cmo|cio|ciso|chief|president|founder|owner|"
    r"vp|svp|evp|vice[- ]president|managing director|general manager)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Proposal:
    """The facts of a proposal the rules look at."""

    action_type: str
    account: Account
    amount: Decimal | None = None
    discount_pct: Decimal | None = None
    confidence: float | None = None
    payload: dict = field(default_factory=dict)
    deal_amount: Decimal | None = None

    @classmethod
    def of(cls, action: ProposedAction, **changed) -> Proposal:
        """The facts of ``action`` (stored or about to be), with ``changed`` ones replaced."""
        facts = cls(
            action_type=action.action_type,
            account=action.account,
            amount=action.amount,
            discount_pct=action.discount_pct,
            confidence=action.confidence,
            payload=action.payload,
            deal_amount=action.deal.amount if action.deal_id else None,
        )
        return replace(facts, **changed)


@dataclass(frozen=True)
class FiredRule:
    rule_id: int
    name: str
    category: str
    message: str

    def as_dict(self) -> dict:
        return {
            "rule_id": self.rule_id,
            "name": self.name,
            "category": self.category,
            "message": self.message,
        }


@dataclass(frozen=True)
class Classification:
    category: str
    fired: list[FiredRule]

    @property
    def reasons(self) -> list[str]:
        if not self.fired:
            return ["No guardrail applies: the agent may act on its own."]
        return [rule.message for rule in self.fired]


def _money(value: Decimal) -> str:
    return f"{value:,.0f}" if value == value.to_integral() else f"{value:,.2f}"


def _contact(payload: dict) -> tuple[str, str]:
    contact = payload.get("contact") if isinstance(payload.get("contact"), dict) else {}
    name = payload.get("contact_name") or contact.get("name") or ""
    title = payload.get("contact_title") or contact.get("title") or ""
    return (name if isinstance(name, str) else ""), (title if isinstance(title, str) else "")


def _first_executive_contact(proposal: Proposal) -> str | None:
    """The message when the proposal reaches an executive the account never dealt with."""
    name, title = _contact(proposal.payload)
    if not title or not EXECUTIVE_TITLE.search(title):
        return None
    earlier = Interaction.objects.filter(account=proposal.account)
    earlier = (
        earlier.filter(contact_name__iexact=name)
        if name
        else earlier.filter(contact_title__iexact=title)
    )
    if earlier.exists():
        return None
    who = f"{name} ({title})" if name else title
    return f"First contact with an executive: {who} at {proposal.account.name}."


def _matches(rule: GuardrailRule, proposal: Proposal, known_types: set[str]) -> str | None:
    """The reason message if ``rule`` matches ``proposal``, else None."""
    threshold = rule.threshold
    match rule.kind:
        case RuleKind.ACTION_TYPE:
            if proposal.action_type == rule.action_type:
                return f"{rule.name}: action type '{proposal.action_type}'."
        case RuleKind.AMOUNT_AT_LEAST:
            if proposal.amount is not None and proposal.amount >= threshold:
                return (
                    f"{rule.name}: amount {_money(proposal.amount)} is at least "
                    f"{_money(threshold)}."
                )
        case RuleKind.DISCOUNT_OVER:
            if proposal.discount_pct is not None and proposal.discount_pct > threshold:
                return (
                    f"{rule.name}: discount {proposal.discount_pct.normalize():f} % is over "
                    f"{threshold.normalize():f} %."
                )
        case RuleKind.UNKNOWN_ACTION_TYPE:
            if proposal.action_type not in known_types:
                return (
                    f"Action type '{proposal.action_type}' is not defined in this "
                    "organisation, so a person decides."
                )
        case RuleKind.LOW_CONFIDENCE:
            if proposal.confidence is not None and Decimal(str(proposal.confidence)) < threshold:
                return (
                    f"{rule.name}: agent confidence {proposal.confidence:.2f} is below "
                    f"{threshold.normalize():f}."
                )
        case RuleKind.EXECUTIVE_FIRST_CONTACT:
            return _first_executive_contact(proposal)
    return None


def classify(proposal: Proposal) -> Classification:
    rules = list(GuardrailRule.objects.filter(is_active=True).order_by("-category", "name"))
    known_types = set(ActionType.objects.filter(is_active=True).values_list("code", flat=True))
    fired = [
        FiredRule(rule.pk, rule.name, rule.category, message)
        for rule in rules
        if (message := _matches(rule, proposal, known_types)) is not None
    ]
    category = max(
        (rule.category for rule in fired),
        key=CATEGORY_SEVERITY.__getitem__,
        default=Category.AUTONOMOUS,
    )
    return Classification(category=category, fired=fired)


def risk_score(proposal: Proposal, classification: Classification) -> int:
    """0-100: how much a manager should look at this first.

    Rules fired, money at stake, discount size and how unsure the agent is all add up.
    """
    score = 0.0
    score += 20 * sum(1 for rule in classification.fired if rule.category != Category.AUTONOMOUS)
    value = proposal.amount if proposal.amount is not None else proposal.deal_amount
    if value is not None:
        score += min(35.0, float(value) / 5000)
    if proposal.discount_pct is not None:
        score += min(20.0, float(proposal.discount_pct))
    if proposal.confidence is not None:
        score += (1 - proposal.confidence) * 25
    else:
        score += 10
    return max(0, min(100, round(score)))
