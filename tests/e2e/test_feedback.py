"""Browser tests of feedback: one-click rating that sticks, keyboard rating, manager pages."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.feedback.models import FeedbackEntry
from apps.feedback.services import learnings_extract
from tests.factories.crm import AccountFactory
from tests.factories.feedback import FeedbackEntryFactory
from tests.factories.outcomes import CloneFactory, OutcomeFactory, action_type
from tests.factories.users import UserFactory

pytestmark = pytest.mark.e2e

SHORT = "Hi Dana,\n\nQuick question: could we book a call on Tuesday to go through the pricing for 200 seats?\n\nBest,\nRory"
LONG = (
    "Dear Mr Berg,\n\nI hope this message finds you well. I am writing to provide a complete overview "
    "of our platform capabilities, including the analytics module, the workflow engine and "
    "the integration layer, which together give your organisation a comprehensive toolset. "
) * 3


def _outputs(rep):
    now = timezone.now()
    clone = CloneFactory(owner=rep, name="Rory (friendly)", formal_casual=75)
    accounts = [
        AccountFactory(owner=rep, name=name)
        for name in ["Bluefin Logistics", "Cedar Health", "Delta Freight"]
    ]
    outputs = []
    for index in range(8):
        outputs.append(
            OutcomeFactory(
                account=accounts[index % 3],
                clone=clone,
                output_text=SHORT if index % 2 == 0 else LONG,
                predicted_confidence=[0.82, 0.35, 0.64][index % 3],
                occurred_at=now - timedelta(hours=3 + index * 5),
                action_type=action_type(["email_sent", "meeting_request"][(index // 2) % 2]),
            )
        )
    return outputs


def test_rep_clicks_plus_one_reloads_and_sees_it_kept(fresh_org, page, login, org_url, screenshot):
    rep = UserFactory(username="rory", role="rep", first_name="Rory", last_name="Reyes")
    outputs = _outputs(rep)

    login(page, fresh_org, "rory")
    page.goto(org_url(fresh_org, "/feedback/review/"))
    first = page.locator(".feed-item").first
    screenshot(page, "feedback-review")
    plus = first.locator('button[value="1"]')
    assert plus.get_attribute("aria-pressed") == "false"

    plus.click()
    page.wait_for_selector(
        f'.rating-form[data-outcome="{outputs[0].pk}"] button[value="1"][aria-pressed="true"]'
    )
    page.wait_for_selector("#toast:not([hidden])")
    assert "Rated +1" in page.locator("#toast").inner_text()

    page.reload()
    kept = page.locator(f'.rating-form[data-outcome="{outputs[0].pk}"] button[value="1"]')
    assert kept.get_attribute("aria-pressed") == "true"
    assert FeedbackEntry.objects.get(user=rep).rating == 1
    screenshot(page, "feedback-review-rated")


def test_rep_rates_from_the_keyboard(fresh_org, page, login, org_url):
    rep = UserFactory(username="rory", role="rep")
    _outputs(rep)
    login(page, fresh_org, "rory")
    page.goto(org_url(fresh_org, "/feedback/review/"))

    page.keyboard.press("j")
    focused = page.evaluate("document.activeElement.dataset.outcome")
    page.keyboard.press("-")
    page.wait_for_selector(
        f'.rating-form[data-outcome="{focused}"] button[value="-1"][aria-pressed="true"]'
    )
    assert FeedbackEntry.objects.get(user=rep, outcome_id=int(focused)).rating == -1


def test_single_key_shortcuts_can_be_turned_off(fresh_org, page, login, org_url):
    """WCAG 2.1.4: a speech-input user turns the single-key shortcuts off; keys then do
    nothing, on this page and on the next one that has shortcuts."""
    rep = UserFactory(username="rory", role="rep")
    _outputs(rep)
    login(page, fresh_org, "rory")
    page.goto(org_url(fresh_org, "/feedback/review/"))

    page.uncheck("[data-keys-toggle]")
    page.locator("h1").first.click()
    page.keyboard.press("j")
    page.keyboard.press("-")
    page.wait_for_timeout(300)
    assert not FeedbackEntry.objects.filter(user=rep).exists()

    page.reload()
    assert not page.is_checked("[data-keys-toggle]")


def test_rep_gives_detailed_feedback(fresh_org, page, login, org_url, screenshot):
    rep = UserFactory(username="rory", role="rep")
    output = _outputs(rep)[0]
    login(page, fresh_org, "rory")
    page.goto(org_url(fresh_org, f"/feedback/outcomes/{output.pk}/"))
    page.click("button:has-text('Save detailed feedback')")
    page.wait_for_selector("text=Choose an overall rating")
    screenshot(page, "feedback-detailed-error")
    page.check("input[name=rating][value='4']")
    page.select_option("select[name=usefulness]", "5")
    page.fill("textarea[name=comment]", "Good ask; the greeting could be warmer.")
    page.click("button:has-text('Save detailed feedback')")
    page.wait_for_selector("#detailed-form .badge-good")
    screenshot(page, "feedback-detailed")
    entry = FeedbackEntry.objects.get(kind="dashboard")
    assert (entry.rating, entry.usefulness) == (4, 5)


def test_manager_sees_the_summary_and_manages_learnings(
    fresh_org, page, login, org_url, screenshot
):
    manager = UserFactory(
        username="maria", role="manager", first_name="Maria", last_name="Lindqvist"
    )
    reps = [
        UserFactory(
            username="rory", role="rep", first_name="Rory", last_name="Reyes", manager=manager
        ),
        UserFactory(
            username="sam", role="rep", first_name="Sam", last_name="Okafor", manager=manager
        ),
    ]
    for rep in reps:
        for index, output in enumerate(_outputs(rep)):
            good = output.output_text == SHORT
            FeedbackEntryFactory(
                outcome=output, user=rep, rating=1 if good else 0 if index == 7 else -1
            )
            if index < 2:
                FeedbackEntryFactory(
                    outcome=output,
                    user=rep,
                    kind="dashboard",
                    rating=5 if good else 2,
                    comment="Short and clear — would send."
                    if good
                    else "Too long, the ask is buried.",
                )
    learnings_extract()

    login(page, fresh_org, "maria")
    page.goto(org_url(fresh_org, "/feedback/summary/"))
    screenshot(page, "feedback-summary")
    assert page.locator("table.distribution").count() == 2

    page.goto(org_url(fresh_org, "/feedback/learnings/"))
    screenshot(page, "feedback-learnings")
    rows = page.locator("table.learnings tbody tr")
    assert rows.count() >= 3
    first = rows.first
    first.locator("details.evidence summary").click()
    first.locator("button:has-text('Deactivate')").click()
    page.wait_for_selector("table.learnings tbody tr.inactive button:has-text('Reactivate')")
    screenshot(page, "feedback-learnings-deactivated")
