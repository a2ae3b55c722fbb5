"""Browser tests of review queues: a manager creates a queue, a rep reviews from the
keyboard and corrects one output, the manager sees progress and the agent gets the
correction as an example. Every reviews page at laptop and phone size, axe-clean."""

import pytest

from apps.reviews.models import Correction, Review
from apps.reviews.services import queue_save
from apps.users.services import api_key_create
from tests.e2e.conftest import axe_blocking
from tests.factories.crm import AccountFactory, InteractionFactory
from tests.factories.outcomes import CloneFactory, OutcomeFactory
from tests.factories.reviews import RubricFactory, categorical_rubric
from tests.factories.users import UserFactory

pytestmark = pytest.mark.e2e

EMAIL = "Hi Dana,\n\nFollowing up on pricing for 200 seats. Buy now before the price goes up!\n\nBest,\nRory"
BETTER = "Hi Dana,\n\nHere is the pricing for 200 seats you asked about. Would Tuesday suit for a call?\n\nBest,\nRory"
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


def _people_and_outputs():
    manager = UserFactory(username="maria", role="manager", first_name="Maria", last_name="Manager")
    rep = UserFactory(
        username="rory", role="rep", first_name="Rory", last_name="Reyes", manager=manager
    )
    clone = CloneFactory(owner=rep, name="Rory (friendly)", external_id="clone-rory")
    names = ["Bluefin Logistics", "Cedar Health", "Delta Freight", "Evergreen Foods"]
    outputs = []
    for name in names:
        account = AccountFactory(owner=rep, name=name, industry="logistics")
        reply = InteractionFactory(account=account, summary="Thanks, send the contract.")
        outputs.append(
            OutcomeFactory(
                account=account, clone=clone, output_text=EMAIL, resolving_interaction=reply
            )
        )
    return manager, rep, outputs


def _assert_axe_clean(page, name: str = "") -> None:
    assert axe_blocking(page) == [], name


def test_manager_queue_rep_reviews_by_keyboard_and_correction_becomes_an_example(
    fresh_org, browser, login, org_url, screenshot
):
    manager, rep, outputs = _people_and_outputs()
    RubricFactory(name="Quality", description="1 poor … 5 excellent")
    agent_key = api_key_create(name="agent")[1]

    # The manager creates the queue.
    manager_page = browser.new_context(viewport=VIEWPORTS["desktop"]).new_page()
    login(manager_page, fresh_org, "maria")
    manager_page.goto(org_url(fresh_org, "/reviews/queues/new/"))
    manager_page.fill("input[name=name]", "Autonomous emails")
    manager_page.get_by_label("Quality").check()
    manager_page.get_by_label("Email sent").check()
    manager_page.fill("input[name=sample_percent]", "100")
    manager_page.select_option("select[name=reviewers]", label="Rory Reyes (rory)")
    manager_page.click("button:has-text('Save queue')")
    manager_page.wait_for_url("**/reviews/queues/*/")
    assert "0 / 4" in manager_page.inner_text("#items-done")

    # The rep reviews three items from the keyboard and corrects the second.
    rep_page = browser.new_context(viewport=VIEWPORTS["desktop"]).new_page()
    login(rep_page, fresh_org, "rory")
    rep_page.goto(org_url(fresh_org, "/reviews/"))
    rep_page.click("a:has-text('Review')  >> nth=-1")
    rep_page.wait_for_selector("#review-form")
    screenshot(rep_page, "reviews-review-keyboard")
    for index, key in enumerate(["4", "2", "5"]):
        item = rep_page.get_attribute("#review-form", "data-item")
        rep_page.keyboard.press(key)
        assert rep_page.is_checked(f"input[type=radio][data-key='{key}']")
        if index == 1:
            rep_page.keyboard.press("c")
            box = rep_page.locator("#id_correction")
            assert box.input_value() == EMAIL  # prefilled with the original
            box.fill(BETTER)
            rep_page.keyboard.press("Escape")
        rep_page.keyboard.press("n")
        rep_page.wait_for_function(
            "item => document.querySelector('#review-form')?.dataset.item !== item", arg=item
        )
    assert "mine 3" in rep_page.inner_text("#progress").replace("\n", " ")
    rep_page.keyboard.press("s")  # skip the fourth: nothing is left for this rep
    rep_page.wait_for_selector("#queue-empty")
    assert Review.objects.filter(reviewer=rep, status="skipped").count() == 1
    assert Review.objects.filter(reviewer=rep, status="done").count() == 3
    correction = Correction.objects.get(author=rep)
    assert correction.corrected_text == BETTER.strip() and "+Here is the pricing" in correction.diff

    # The manager sees the progress and the correction; the agent gets it as an example.
    manager_page.reload()
    assert "3 / 4" in manager_page.inner_text("#items-done")
    assert "Rory Reyes" in manager_page.inner_text("#throughput-h + .table-wrap")
    assert "Here is the pricing" in manager_page.inner_text(".corrections")
    screenshot(manager_page, "reviews-queue-progress")
    # Fetched from the page: the browser resolves *.localhost, Playwright's API client not.
    examples = manager_page.evaluate(
        """key => fetch('/api/v1/examples/', {headers: {Authorization: 'Bearer ' + key},
                                               credentials: 'omit'})
                   .then(response => response.json()).then(body => body.results)""",
        agent_key,
    )
    assert examples[0]["kind"] == "correction" and examples[0]["ideal"] == BETTER.strip()


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_reviews_pages_look_right_and_pass_axe(
    fresh_org, browser, login, org_url, screenshot, viewport
):
    manager, rep, outputs = _people_and_outputs()
    quality = RubricFactory(name="Quality", description="1 poor … 5 excellent")
    tone = categorical_rubric()
    queue = queue_save(
        name="Autonomous emails",
        rubrics=[quality, tone],
        reviewers=[rep, manager],
        reviews_needed=2,
    )
    page = browser.new_context(viewport=VIEWPORTS[viewport]).new_page()
    login(page, fresh_org, "maria")
    pages = {
        "queues": "/reviews/",
        "queue-form": "/reviews/queues/new/",
        "queue-detail": f"/reviews/queues/{queue.pk}/",
        "review": f"/reviews/queues/{queue.pk}/review/",
        "rubrics": "/reviews/rubrics/",
        "correct": f"/reviews/outcomes/{outputs[0].pk}/correct/",
        "export": "/reviews/export/",
    }
    for name, path in pages.items():
        page.goto(org_url(fresh_org, path))
        assert page.title(), name
        screenshot(page, f"reviews-{name}-{viewport}")
        _assert_axe_clean(page, name)
        # The page's own content fits (the shared top bar is the layout's business).
        width = page.evaluate("document.querySelector('main').scrollWidth")
        assert width <= VIEWPORTS[viewport]["width"] + 1, (name, width)
