"""Deterministic text from persona settings: the live preview and the agent's instructions.

No language model is involved: every slider picks phrases from a fixed table by band
(five bands of 20 points each), and the region profile supplies the greeting, the date
format and the sign-off. The same settings always give the same text, and moving any
slider into another band changes what the reader sees.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from apps.agents.models import SLIDERS, RegionProfile

# A fixed sample recipient and meeting date, so that the preview is stable across days.
SAMPLE_CONTACT = {"first_name": "Dana", "last_name": "Becker", "title": "Ms"}
SAMPLE_COMPANY = "Bluefin Logistics"
SAMPLE_MEETING = date(2026, 3, 12)

SLIDER_LABELS: dict[str, tuple[str, str]] = {
    "formal_casual": ("Formal", "Casual"),
    "concise_detailed": ("Concise", "Detailed"),
    "technical_business": ("Technical", "Business"),
    "proactive_reactive": ("Proactive", "Reactive"),
}


@dataclass(frozen=True)
class PersonaSettings:
    """The inputs of the preview: the four sliders (0-100), a region and instructions."""

    formal_casual: int = 50
    concise_detailed: int = 50
    technical_business: int = 50
    proactive_reactive: int = 50
    region: RegionProfile | None = None
    custom_instructions: str = ""

    @classmethod
    def of(cls, source) -> PersonaSettings:
        """Settings of a Clone or PersonaVersion (anything with the same attributes)."""
        return cls(
            **{slider: getattr(source, slider) for slider in SLIDERS},
            region=source.region,
            custom_instructions=source.custom_instructions,
        )

    @property
    def formality(self) -> int:
        """How formal the writing is (0-100): the slider, pulled towards the region's norm."""
        baseline = self.region.formality_baseline if self.region else 50
        return round(0.7 * (100 - self.formal_casual) + 0.3 * baseline)


def band(value: int) -> int:
    """0..4: which fifth of the 0-100 range a slider is in."""
    return min(max(value, 0) // 20, 4)


def _pick(options: tuple[str, ...], value: int) -> str:
    return options[band(value)]


# Tone, from formal (band 0) to casual (band 4).
OPENINGS = (
    "I trust this message finds you well. I am writing to follow up on our recent conversation.",
    "I hope you are well. I wanted to follow up on our recent conversation.",
    "I hope your week is going well. Following up on our conversation.",
    "Hope your week's going well! Quick follow-up on our chat.",
    "Hope you're having a great week! Just circling back on our chat.",
)
CHAT_OPENINGS = (
    "Good afternoon, {first_name}.",
    "Hello {first_name}, thank you for your message.",
    "Hi {first_name}, thanks for reaching out.",
    "Hey {first_name}, thanks for the ping!",
    "Hey {first_name}! Thanks a ton for the ping!",
)
CASUAL_GREETING = "Hey {first_name},"
CASUAL_SIGN_OFF = "Cheers,"

# Vocabulary, from technical (band 0) to business (band 4).
VALUE_POINTS = (
    (
        "our REST API and webhooks plug into your dispatch stack without custom middleware",
        "SSO via SAML 2.0 and SCIM provisioning are supported out of the box",
        "the platform runs at p95 latency under 120 ms with a 99.95% uptime SLA",
    ),
    (
        "the API integration with your dispatch system takes about two sprints",
        "single sign-on and automated user provisioning are included",
        "the platform is monitored around the clock with a 99.9% uptime commitment",
    ),
    (
        "the integration with your existing tools is quick and well documented",
        "your team can be onboarded within a week",
        "similar logistics teams have cut manual routing work by a third",
    ),
    (
        "teams like yours cut routing costs by around 30% in the first quarter",
        "onboarding takes about a week, so value starts this quarter",
        "the investment typically pays back within two quarters",
    ),
    (
        "customers see a typical ROI of 4x within the first year",
        "lower cost of ownership frees budget for growth initiatives",
        "faster deliveries translate directly into revenue and customer retention",
    ),
)
CHAT_VALUE = (
    "The REST API supports webhooks and SAML SSO, so integration is straightforward.",
    "Integration goes through our API and SSO is included.",
    "It fits into your current tools and setup is quick.",
    "Most teams see cost savings in the first quarter.",
    "Customers typically see 4x ROI in year one.",
)

# Initiative, from proactive (band 0) to reactive (band 4). {date} is in the region's format.
CALLS_TO_ACTION = (
    "I have reserved {date} at 10:00 for a 30-minute call and will send the invite today "
    "unless you suggest another time.",
    "Could we meet on {date} at 10:00? I will send an invite if that works.",
    "Would a short call on {date} be useful? Happy to find a time that suits you.",
    "If it would help, I am happy to set up a call whenever suits you.",
    "Whenever you are ready, just reply and I will be glad to help.",
)
CHAT_CALLS_TO_ACTION = (
    "I've booked {date} at 10:00 for a quick call. I'll send the invite now.",
    "Shall we talk on {date} at 10:00?",
    "Want to set up a quick call on {date}?",
    "Let me know if a call would help.",
    "I'm here if you have any questions.",
)

# Length, from concise (band 0) to detailed (band 4): how many value points, and extras.
POINTS_BY_LENGTH = (1, 1, 2, 3, 3)
DETAIL_CLOSER = (
    "I have attached a one-page summary with the integration steps, the rollout plan "
    "and references from two customers in logistics."
)

LENGTH_WORDS = ("very concise", "concise", "moderately detailed", "detailed", "very detailed")
TONE_WORDS = ("very formal", "formal", "neutral", "casual", "very casual")
VOCABULARY_WORDS = (
    "deeply technical",
    "technical",
    "balanced between technical and business",
    "business-focused",
    "strongly business and ROI-focused",
)
INITIATIVE_WORDS = (
    "very proactive: propose concrete next steps with dates",
    "proactive: suggest a next step with a date",
    "balanced: offer a next step without pressing",
    "reactive: offer help and let the customer lead",
    "very reactive: answer questions and wait for the customer",
)


def _format_greeting(template: str) -> str:
    try:
        return template.format_map(SAMPLE_CONTACT)
    except (KeyError, IndexError, ValueError):
        return template


def _meeting_date(settings: PersonaSettings) -> str:
    date_format = settings.region.date_format if settings.region else "%d %b %Y"
    try:
        return SAMPLE_MEETING.strftime(date_format)
    except ValueError:
        return SAMPLE_MEETING.isoformat()


def _greeting_and_sign_off(settings: PersonaSettings) -> tuple[str, str]:
    if settings.formality < 35:
        return _format_greeting(CASUAL_GREETING), CASUAL_SIGN_OFF
    if settings.region:
        return _format_greeting(settings.region.greeting_style), settings.region.sign_off
    if settings.formality >= 65:
        return _format_greeting("Dear {title} {last_name},"), "Yours sincerely,"
    return _format_greeting("Hi {first_name},"), "Best regards,"


def _sentence(text: str) -> str:
    return text[0].upper() + text[1:] + "."


def sample_email(settings: PersonaSettings, sender: str = "Alex") -> dict[str, str]:
    """A sample follow-up email: subject and body, written in the persona's style."""
    greeting, sign_off = _greeting_and_sign_off(settings)
    length = band(settings.concise_detailed)
    points = VALUE_POINTS[band(settings.technical_business)][: POINTS_BY_LENGTH[length]]
    paragraphs = [greeting]
    if length > 0:  # the most concise emails get straight to the point
        paragraphs.append(_pick(OPENINGS, settings.formal_casual))
    if length >= 3:
        paragraphs.append(
            f"Here is what matters most for {SAMPLE_COMPANY}:\n"
            + "\n".join(f"• {_sentence(point)}" for point in points)
        )
    elif length == 2:
        paragraphs.append(" ".join(_sentence(point) for point in points))
    else:
        paragraphs.append(_sentence(points[0]))
    paragraphs.append(
        _pick(CALLS_TO_ACTION, settings.proactive_reactive).format(date=_meeting_date(settings))
    )
    if length == 4:
        paragraphs.append(DETAIL_CLOSER)
    paragraphs.append(f"{sign_off}\n{sender}")
    subject = _pick(
        (
            f"Follow-up: {SAMPLE_COMPANY} integration and next steps",
            f"Following up on {SAMPLE_COMPANY}",
            f"Next steps for {SAMPLE_COMPANY}",
            "Quick follow-up",
            "Quick follow-up!",
        ),
        settings.formal_casual,
    )
    return {"subject": subject, "body": "\n\n".join(paragraphs)}


def sample_chat(settings: PersonaSettings) -> str:
    """A sample chat reply: shorter than the email, same tone, vocabulary and initiative."""
    parts = [_pick(CHAT_OPENINGS, settings.formal_casual).format_map(SAMPLE_CONTACT)]
    parts.append(_pick(CHAT_VALUE, settings.technical_business))
    if band(settings.concise_detailed) >= 3:
        parts.append(_sentence(VALUE_POINTS[band(settings.technical_business)][2]))
    parts.append(
        _pick(CHAT_CALLS_TO_ACTION, settings.proactive_reactive).format(
            date=_meeting_date(settings)
        )
    )
    return " ".join(parts)


def instruction_text(settings: PersonaSettings, *, clone_name: str, owner_name: str) -> str:
    """The system instructions the agent runtime uses when acting as this clone."""
    region = settings.region
    greeting, sign_off = _greeting_and_sign_off(settings)
    lines = [
        f"You are {clone_name}, writing on behalf of {owner_name}.",
        f"- Tone: {TONE_WORDS[band(settings.formal_casual)]} "
        f"(formality {settings.formality}/100"
        + (f", regional norm {region.formality_baseline}/100)." if region else ")."),
        f"- Length: {LENGTH_WORDS[band(settings.concise_detailed)]}.",
        f"- Vocabulary: {VOCABULARY_WORDS[band(settings.technical_business)]}.",
        f"- Initiative: {INITIATIVE_WORDS[band(settings.proactive_reactive)]}.",
    ]
    if region:
        lines.append(
            f'- Regional conventions ({region.name}): greet like "{region.greeting_style}", '
            f'sign off with "{region.sign_off}", write dates as {_date_pattern(region)}.'
        )
    else:
        lines.append(f'- Greet like "{greeting}" and sign off with "{sign_off}".')
    if settings.custom_instructions.strip():
        lines.append(f"Additional instructions: {settings.custom_instructions.strip()}")
    return "\n".join(lines)


def _date_pattern(region: RegionProfile) -> str:
    readable = {"%d": "DD", "%m": "MM", "%Y": "YYYY", "%y": "YY", "%b": "Mon", "%B": "Month"}
    pattern = region.date_format
    for code, word in readable.items():
        pattern = pattern.replace(code, word)
    return pattern
