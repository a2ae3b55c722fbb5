"""Lift: does applying a learning help? Checked on a data set whose answer is known."""

from datetime import UTC, datetime, timedelta

import pytest

from apps.feedback.models import Learning, LearningApplication
from apps.feedback.scoring import lift_interval
from apps.feedback.services import learnings_extract, learnings_refresh_lift
from apps.users.services import api_key_create
from tests.conftest import OTHER_HOST
from tests.factories.crm import AccountFactory
from tests.factories.feedback import LearningFactory
from tests.factories.outcomes import OutcomeFactory, action_type

LEARNINGS = "/api/v1/learnings/"
PAGE = "/feedback/learnings/"
HTMX = {"HTTP_HX_REQUEST": "true"}
MONDAY = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)  # a week starts on a Monday (UTC)


def _decided(code: str, when: datetime, score: float, account) -> object:
    return OutcomeFactory(
        action_type=action_type(code),
        account=account,
        occurred_at=when,
        status="resolved" if score > 0 else "expired",
        score=score,
        resolved_at=when + timedelta(hours=2),
    )


def _apply(learning: Learning, outcome, result: str = "success") -> None:
    LearningApplication.objects.create(
        learning=learning, outcome=result, outcome_record=outcome, applied_at=outcome.occurred_at
    )


@pytest.fixture
def known(org):
    """Three learnings over one account's outcomes, with the lift each must get.

    - ``helps`` was applied to 10 emails in week 1: 8 answered, 2 expired (80 %). The other
      20 emails of week 1 were answered 5 times (25 %): lift +0.55.
    - ``hurts`` was applied to 12 emails in week 3, none answered; the other 12 emails of
      week 3 were all answered: lift −1.
    - ``unused`` was never applied: no lift.
    Noise that must not count: 30 answered emails in week 2 (another period), 30 expired
    meeting requests in week 1 (another action type), 5 pending emails in week 1
    (undecided), a use with no outcome and a second use of the same outcome.
    """
    account = AccountFactory()
    helps = LearningFactory(title="helps", action_type=action_type("email_sent"))
    hurts = LearningFactory(title="hurts", action_type=action_type("email_sent"))
    unused = LearningFactory(title="unused")
    week1, week2, week3 = MONDAY, MONDAY + timedelta(days=7), MONDAY + timedelta(days=14)
    for index in range(10):
        outcome = _decided(
            "email_sent", week1 + timedelta(hours=index), 1.0 if index < 8 else 0.0, account
        )
        _apply(helps, outcome)
    _apply(helps, outcome)  # the same outcome twice counts once
    LearningApplication.objects.create(learning=helps, outcome="success", applied_at=week1)
    for index in range(20):
        _decided(
            "email_sent", week1 + timedelta(days=1, hours=index), 1.0 if index < 5 else 0.0, account
        )
    for index in range(30):
        _decided("email_sent", week2 + timedelta(hours=index), 1.0, account)
        _decided("meeting_request", week1 + timedelta(hours=index), 0.0, account)
    for index in range(5):
        pending = OutcomeFactory(
            account=account, occurred_at=week1 + timedelta(days=2, hours=index)
        )
        _apply(helps, pending)
    for index in range(12):
        _apply(
            hurts, _decided("email_sent", week3 + timedelta(hours=index), 0.0, account), "failure"
        )
        _decided("email_sent", week3 + timedelta(days=1, hours=index), 1.0, account)
    return helps, hurts, unused


def test_lift_compares_applied_outcomes_with_the_same_action_type_in_the_same_week(known):
    helps, hurts, unused = known
    assert learnings_refresh_lift() == 3
    for learning in known:
        learning.refresh_from_db()
    assert (helps.lift_sample, helps.lift_control_sample) == (10, 20)
    assert helps.lift == pytest.approx(0.80 - 0.25)
    # Agresti–Caffo: 9/12 against 6/22, ± 1.96 · sqrt(.75·.25/12 + (6/22)(16/22)/22)
    assert helps.lift_low == pytest.approx(0.169604, abs=1e-5)
    assert helps.lift_high == pytest.approx(0.784941, abs=1e-5)
    assert not helps.is_hurting
    assert (hurts.lift, hurts.lift_sample, hurts.lift_control_sample) == (-1.0, 12, 12)
    assert hurts.lift_low == -1.0  # clipped to the possible range
    assert hurts.lift_high == pytest.approx(-0.666355, abs=1e-5)
    assert hurts.is_hurting
    assert (unused.lift, unused.lift_low, unused.lift_sample, unused.is_hurting) == (
        None,
        None,
        0,
        False,
    )


def test_the_sql_and_the_python_twin_give_the_same_interval(known):
    helps, _, _ = known
    learnings_refresh_lift()
    helps.refresh_from_db()
    assert (helps.lift, helps.lift_low, helps.lift_high) == pytest.approx(
        lift_interval(8, 10, 5, 20)
    )


def test_refreshing_lift_twice_gives_the_same_figures(known):
    learnings_refresh_lift()
    first = list(
        Learning.objects.order_by("pk").values_list("lift", "lift_low", "lift_high", "is_hurting")
    )
    learnings_refresh_lift()
    again = list(
        Learning.objects.order_by("pk").values_list("lift", "lift_low", "lift_high", "is_hurting")
    )
    assert first == again


def test_the_extraction_job_refreshes_lift(known):
    _, hurts, _ = known
    learnings_extract()
    hurts.refresh_from_db()
    assert hurts.is_hurting and hurts.lift_computed_at is not None


def test_a_hurting_learning_leaves_the_agents_list_until_a_manager_keeps_it(
    known, agent_api, manager_api
):
    _, hurts, _ = known
    learnings_refresh_lift()
    titles = [row["title"] for row in agent_api.get(LEARNINGS).json()]
    assert "hurts" not in titles and "helps" in titles
    listed = agent_api.get(LEARNINGS, {"include_hurting": "true"}).json()
    row = next(row for row in listed if row["title"] == "hurts")
    assert row["is_hurting"] is True and row["kept"] is False
    assert (row["lift"], row["lift_sample"]) == (-1.0, 12)
    assert row["lift_high"] == pytest.approx(-0.666355, abs=1e-5)

    response = manager_api.post(f"{LEARNINGS}{hurts.pk}/keep/")
    assert response.status_code == 200
    assert response.json()["kept"] is True
    assert "hurts" in [row["title"] for row in agent_api.get(LEARNINGS).json()]
    learnings_refresh_lift()  # the next refresh does not undo the manager's decision
    assert "hurts" in [row["title"] for row in agent_api.get(LEARNINGS).json()]


def test_a_retired_learning_leaves_the_list_for_good(known, agent_api, manager_api):
    _, hurts, _ = known
    learnings_refresh_lift()
    response = manager_api.post(f"{LEARNINGS}{hurts.pk}/retire/")
    assert response.status_code == 200 and response.json()["is_active"] is False
    listed = agent_api.get(LEARNINGS, {"include_hurting": "true"}).json()
    assert "hurts" not in [row["title"] for row in listed]


def test_only_managers_keep_or_retire(known, agent_api, api_client, rep_key):
    _, hurts, _ = known
    for client in (agent_api, api_client(rep_key)):
        assert client.post(f"{LEARNINGS}{hurts.pk}/keep/").status_code == 403
        assert client.post(f"{LEARNINGS}{hurts.pk}/retire/").status_code == 403
    hurts.refresh_from_db()
    assert hurts.kept_at is None and hurts.is_active


def test_another_orgs_manager_cannot_keep_or_retire_ours(
    known, api_client, other_org, other_org_manager, in_org
):
    _, hurts, _ = known
    learnings_refresh_lift()
    with in_org(other_org):
        their_key = api_key_create(name="globex", user=other_org_manager)[1]
    client = api_client(their_key, host=OTHER_HOST)
    assert client.post(f"{LEARNINGS}{hurts.pk}/keep/").status_code == 404
    assert client.post(f"{LEARNINGS}{hurts.pk}/retire/").status_code == 404
    assert api_client(their_key).post(f"{LEARNINGS}{hurts.pk}/keep/").status_code == 401
    hurts.refresh_from_db()
    assert hurts.kept_at is None and hurts.is_active


def test_lift_reads_only_this_orgs_outcomes(known, other_org, in_org):
    helps, _, _ = known
    with in_org(other_org):
        theirs = LearningFactory(title="globex")
        account = AccountFactory()
        for index in range(6):
            _apply(
                theirs,
                _decided("email_sent", MONDAY + timedelta(hours=index), 0.0, account),
                "failure",
            )
        learnings_refresh_lift()
        theirs.refresh_from_db()
        assert (theirs.lift_sample, theirs.lift_control_sample) == (6, 0)
        assert theirs.lift is None  # nothing comparable in globex
    learnings_refresh_lift()
    helps.refresh_from_db()
    assert (helps.lift_sample, helps.lift_control_sample) == (10, 20)


def test_the_page_flags_a_hurting_learning_and_a_manager_keeps_it(known, page_client, manager):
    _, hurts, _ = known
    learnings_refresh_lift()
    client = page_client(manager)
    html = client.get(PAGE).content.decode()
    assert "Hurting" in html and "-1.00" in html
    assert "[0.17, 0.78]" in html  # the helping learning's interval
    response = client.post(f"/feedback/learnings/{hurts.pk}/keep/", **HTMX)
    assert response.status_code == 200
    assert "Kept" in response.content.decode()
    hurts.refresh_from_db()
    assert hurts.kept_at is not None and hurts.kept_by == manager


def test_keeping_without_htmx_redirects_back(known, page_client, manager):
    _, hurts, _ = known
    response = page_client(manager).post(f"/feedback/learnings/{hurts.pk}/keep/")
    assert response.status_code == 302 and response.url == PAGE


def test_a_rep_cannot_keep_from_the_page(known, page_client, rep):
    _, hurts, _ = known
    assert page_client(rep).post(f"/feedback/learnings/{hurts.pk}/keep/").status_code == 403
    assert page_client(rep).get(f"/feedback/learnings/{hurts.pk}/keep/").status_code in (403, 405)


def test_lift_refresh_is_one_statement_whatever_the_size(known, django_assert_num_queries):
    with django_assert_num_queries(1):
        learnings_refresh_lift()
