"""One-click rating links in emails (``feedback_source="email"``).

An email carries, per rated object, one link per rating (the approval email: "rate the
result" +1 / 0 / −1 per action; the daily digest: "useful / not useful" per insight). A
link is signed like the approval links: over the object and the recipient, with this
organisation's schema in the salt, so it is void in any other organisation and for anyone
else. The rating is only a preset in the query string: the page lets the person change it.

Opening a link (GET) only shows a confirmation page with the rating preselected (mail
scanners follow links); submitting it (POST) saves through the object's own service as the
recipient, so a second click updates the same entry.

What may be rated is a ``RatingTarget`` registered by name. This app registers ``action``:
an approval email names the action, still pending when the email goes out; its link rates
the action's outcome (``feedback_rate``, kind inline, source email) once it is carried out.
Apps above this one register their own (insights registers ``insight``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.urls import reverse

from apps.tenancy.signed_links import LinkInvalid, LinkStale, link_read, link_sign  # noqa: F401


@dataclass(frozen=True)
class RatingTarget:
    """How links rate one kind of object."""

    capability: str  # the recipient must still have it
    choices: tuple[tuple[str, str], ...]  # (value, label), best first
    find: Callable  # (pk, user) -> the object, loaded as the user may see it, or None
    current: Callable  # (object) -> the user's current value (a choice) or None
    save: Callable  # (object, user, value) -> True if created, False if updated
    describe: Callable  # (object) -> {"heading", "body_title", "body", "url"}
    missing: tuple[str, str]  # page title and message when ``find`` gives None


TARGETS: dict[str, RatingTarget] = {}


def register(name: str, target: RatingTarget) -> None:
    TARGETS[name] = target


PURPOSE = "feedback.email-rating"


def rating_token(target: str, pk: int, user_id: int) -> str:
    if target not in TARGETS:
        raise ValueError(f"Cannot rate a {target} by email.")
    return link_sign(PURPOSE, {"t": target, "o": pk, "u": user_id})


def read_rating_token(token: str) -> tuple[str, int, int]:
    """(target, object id, user id) of a link, or ``LinkInvalid`` / ``LinkStale``."""
    data = link_read(PURPOSE, token)
    if data.get("t") not in TARGETS:
        raise LinkInvalid
    try:
        return data["t"], int(data["o"]), int(data["u"])
    except (KeyError, TypeError, ValueError) as bad:
        raise LinkInvalid from bad


def rating_links(target: str, pk: int, user_id: int, *, base: str) -> list[dict]:
    """One link per rating of one object for one recipient (one token, the rating preset)."""
    url = base + reverse("feedback:email-rate", args=[rating_token(target, pk, user_id)])
    return [
        {"value": value, "label": label, "url": f"{url}?rating={value}"}
        for value, label in TARGETS[target].choices
    ]


# --- the action's outcome (approval emails) ------------------------------------------------


def _find_outcome(pk: int, user):
    from apps.feedback.selectors import with_my_ratings
    from apps.outcomes.selectors import outcomes_visible_to

    # The outcome recorded when the action was carried out (no import of the approvals app,
    # which sits above this one: the reverse relation names it).
    return with_my_ratings(outcomes_visible_to(user), user).filter(proposed_action__pk=pk).first()


def _save_outcome_rating(outcome, user, value: str) -> bool:
    from apps.feedback.models import FeedbackKind, FeedbackSource
    from apps.feedback.services import feedback_rate

    _, created = feedback_rate(
        user=user,
        outcome=outcome,
        kind=FeedbackKind.INLINE,
        rating=int(value),
        feedback_source=FeedbackSource.EMAIL,
    )
    return created


register(
    "action",
    RatingTarget(
        capability="feedback.rate",
        choices=(("1", "+1 good"), ("0", "0 neutral"), ("-1", "−1 poor")),
        find=_find_outcome,
        current=lambda outcome: (
            None if outcome.my_inline_rating is None else str(outcome.my_inline_rating)
        ),
        save=_save_outcome_rating,
        describe=lambda outcome: {
            "heading": f"Rate the result: {outcome.action_type.name.lower()} "
            f"for {outcome.account.name}",
            "body_title": "What the agent wrote",
            "body": outcome.output_text,
            "url": reverse("feedback:outcome", args=[outcome.pk]),
        },
        missing=(
            "Nothing to rate yet",
            "This action has not been carried out, so it has no result yet. "
            "The link will work once it has.",
        ),
    ),
)
