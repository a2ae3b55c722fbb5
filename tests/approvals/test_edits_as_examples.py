"""An approval with edits is a correction: the agent's text and the approver's version join
the organisation's example set (``/api/v1/examples/``, the persona) and, once executed and
reviewed, the dataset export."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.approvals.services import (
    DecisionConflict,
    action_decide,
    action_record_result,
    actions_undo,
)
from apps.reviews.models import Correction
from apps.reviews.selectors import dataset_rows
from apps.reviews.services import correction_record, queue_save, review_submit, score_record
from tests.factories.outcomes import CloneFactory, OutcomeFactory, action_type
from tests.factories.reviews import RubricFactory

BODY = "Hi Dana,\n\nThanks for the call.\nThe proposal is attached.\n\nBest,\nAlex"
EDITED = "Hi Dana,\n\nGreat talking today. The proposal is attached.\n\nAlex"


@pytest.fixture
def email(propose):
    return propose(
        amount=Decimal("75000"),
        payload={"to": "dana@example.com", "subject": "Your proposal", "body": BODY},
    )


def _approve_edited(action, user, **changes):
    return action_decide(
        action_id=action.pk,
        user=user,
        decision="approve",
        payload={**action.payload, **changes},
    )


def _examples(client, query: str = "") -> list[dict]:
    response = client.get(f"/api/v1/examples/{query}")
    assert response.status_code == 200
    return response.json()["results"]


def test_an_edited_email_is_an_example_of_its_action_type(agent_api, manager, email):
    _approve_edited(email, manager, subject="Your proposal, as discussed", body=EDITED)

    rows = _examples(agent_api, "?action_type=email_sent")

    assert len(rows) == 1
    row = rows[0]
    assert (row["kind"], row["action"], row["action_type"]) == (
        "edit",
        email.external_id,
        "email_sent",
    )
    assert row["output"] == f"Subject: Your proposal\n\n{BODY}"
    assert row["ideal"] == f"Subject: Your proposal, as discussed\n\n{EDITED}"
    assert row["outcome"] is None  # not executed yet
    assert _examples(agent_api, "?action_type=meeting_request") == []


def test_edits_rank_with_corrections_newest_first_then_high_scores(agent_api, manager, rep, email):
    quality = RubricFactory(name="Quality", min_value=1, max_value=5, step=1)
    old_fix = correction_record(
        outcome=OutcomeFactory(output_text="old draft"), author=rep, text="Old, corrected."
    )
    Correction.objects.filter(pk=old_fix.pk).update(updated_at=timezone.now() - timedelta(hours=1))
    score_record(
        outcome=OutcomeFactory(output_text="A superb email."), rubric=quality, value=5, user=rep
    )
    _approve_edited(email, manager, body=EDITED)
    new_fix = correction_record(
        outcome=OutcomeFactory(output_text="draft"), author=rep, text="Newest, corrected."
    )
    Correction.objects.filter(pk=new_fix.pk).update(
        updated_at=timezone.now() + timedelta(minutes=1)
    )

    rows = _examples(agent_api)

    assert [(row["kind"], row["ideal"]) for row in rows] == [
        ("correction", "Newest, corrected."),
        ("edit", f"Subject: Your proposal\n\n{EDITED}"),
        ("correction", "Old, corrected."),
        ("high_score", "A superb email."),
    ]


def test_the_same_ideal_text_is_an_example_once(agent_api, manager, rep, propose, email):
    _approve_edited(email, manager, body=EDITED)
    twin = propose(
        amount=Decimal("75000"),
        payload={"to": "ann@example.com", "subject": "Your proposal", "body": "Other draft"},
    )
    _approve_edited(twin, manager, body=EDITED)

    assert [row["kind"] for row in _examples(agent_api)] == ["edit"]


def test_an_edit_of_no_text_field_is_no_example(agent_api, manager, email):
    _approve_edited(email, manager, to="someone.else@example.com")

    assert _examples(agent_api) == []
    assert not Correction.objects.exists()


def test_an_undone_edit_leaves_the_example_set(agent_api, manager, email):
    action_decide(
        action_id=email.pk,
        user=manager,
        decision="approve",
        payload={**email.payload, "body": EDITED},
        undoable=True,
    )
    assert len(_examples(agent_api)) == 1

    assert actions_undo(action_ids=[email.pk], user=manager) == [email.pk]

    assert _examples(agent_api) == []


def test_a_failed_decision_records_no_example(agent_api, manager, email):
    email.expires_at = timezone.now() - timedelta(minutes=1)
    email.save(update_fields=["expires_at"])

    with pytest.raises(DecisionConflict):
        _approve_edited(email, manager, body=EDITED)

    assert _examples(agent_api) == [] and not Correction.objects.exists()


def test_persona_includes_the_clones_edits(agent_api, manager, propose):
    clone = CloneFactory(external_id="clone-p")
    action = propose(
        clone=clone,
        amount=Decimal("75000"),
        payload={"to": "dana@example.com", "subject": "Hello", "body": BODY},
    )
    _approve_edited(action, manager, body=EDITED)
    _approve_edited(
        propose(amount=Decimal("75000"), payload={"to": "a@b.co", "subject": "S", "body": "x"}),
        manager,
        body="Another clone's.",
    )

    persona = agent_api.get("/api/v1/clones/clone-p/persona/").json()

    assert [row["ideal"] for row in persona["examples"]] == [f"Subject: Hello\n\n{EDITED}"]
    assert [row["ideal"] for row in _examples(agent_api, "?clone=clone-p")] == [
        f"Subject: Hello\n\n{EDITED}"
    ]


def test_another_organisation_cannot_see_our_edits(
    agent_api, manager, email, other_org, in_org, other_agent_key, api_client
):
    _approve_edited(email, manager, body=EDITED)

    with in_org(other_org):
        globex = api_client(other_agent_key, host="globex.localhost")
        assert globex.get("/api/v1/examples/").json()["results"] == []
        assert not Correction.objects.exists()


def test_an_executed_edit_carries_its_correction_into_the_dataset(agent_api, manager, rep, email):
    action_type("email_sent")
    _approve_edited(email, manager, body=EDITED)
    recorded = action_record_result(
        action_id=email.pk, reported_by="agent", output_text=EDITED, confidence=0.8
    )
    outcome = recorded.action.outcome
    assert outcome is not None

    quality = RubricFactory(name="Quality", min_value=1, max_value=5, step=1)
    queue = queue_save(
        name="Emails", rubrics=[quality], reviewers=[rep], reviewer_roles=[], created_by=manager
    )
    review_submit(item=queue.items.get(outcome=outcome), reviewer=rep, values={quality.pk: 4})

    (row,) = list(dataset_rows(queue=queue.pk))
    assert row["outcome"] == outcome.external_id
    assert row["output"] == f"Subject: Your proposal\n\n{BODY}"  # what the agent proposed
    assert row["correction"] == f"Subject: Your proposal\n\n{EDITED}"
    assert "+Great talking today. The proposal is attached." in row["correction_diff"]
    (example,) = _examples(agent_api)
    assert (example["kind"], example["outcome"], example["action"]) == (
        "edit",
        outcome.external_id,
        email.external_id,
    )


def test_examples_with_edits_run_one_query(
    agent_api, manager, propose, django_assert_max_num_queries
):
    for index in range(10):
        action = propose(
            amount=Decimal("75000"),
            payload={"to": "a@b.co", "subject": f"S{index}", "body": f"draft {index}"},
        )
        _approve_edited(action, manager, body=f"fix {index}")
    with django_assert_max_num_queries(6):  # authentication, then one query
        assert len(_examples(agent_api, "?limit=50")) == 10


def test_the_admin_lists_edits_among_corrections(page_client, admin_user, manager, email):
    _approve_edited(email, manager, body=EDITED)
    correction = Correction.objects.get()

    client = page_client(admin_user)
    listing = client.get("/admin/reviews/correction/")
    detail = client.get(f"/admin/reviews/correction/{correction.pk}/change/")

    assert listing.status_code == 200 and email.external_id in listing.content.decode()
    assert detail.status_code == 200
