"""The outcomes API as the agent runtime and the browser use it."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.outcomes.models import OutcomeRecord
from apps.outcomes.services import calibration_recompute
from tests.factories.crm import AccountFactory, DealFactory
from tests.factories.outcomes import CloneFactory, OutcomeFactory, action_type

URL = "/api/v1/outcomes/"
BULK = "/api/v1/outcomes/bulk/"


@pytest.fixture
def account(org):
    return AccountFactory(external_id="acc-17")


def payload(**extra) -> dict:
    return {
        "external_id": "act-1",
        "action_type": "email_sent",
        "account": "acc-17",
        "predicted_confidence": 0.72,
        "output_text": "Hi Dana, here is the pricing for 200 seats.",
        "metadata": {"model": "agent-v3"},
        **extra,
    }


def test_recording_an_action_answers_201_then_200_with_the_same_record(agent_api, account):
    first = agent_api.post(URL, payload(), format="json")
    again = agent_api.post(URL, payload(), format="json")

    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    body = first.json()
    assert body["status"] == "pending" and body["score"] is None
    assert body["account"] == "acc-17" and body["action_type"] == "email_sent"
    assert OutcomeRecord.objects.count() == 1


def test_a_backfilled_action_gets_its_window_from_occurred_at(agent_api, account):
    occurred = timezone.now() - timedelta(hours=30)
    response = agent_api.post(
        URL, payload(action_type="meeting_request", occurred_at=occurred.isoformat()), format="json"
    )
    assert response.status_code == 201
    record = OutcomeRecord.objects.get()
    assert record.window_ends_at == occurred + timedelta(hours=168)


@pytest.mark.parametrize(
    "bad, field",
    [
        ({"predicted_confidence": 1.2}, "predicted_confidence"),
        ({"predicted_confidence": -0.01}, "predicted_confidence"),
        ({"predicted_confidence": "high"}, "predicted_confidence"),
        ({"action_type": "fax_sent"}, "action_type"),
        ({"account": "acc-unknown"}, "account"),
        ({"deal": "deal-unknown"}, "deal"),
        ({"clone": "clone-unknown"}, "clone"),
        ({"occurred_at": "yesterday"}, "occurred_at"),
        ({"metadata": ["not", "an", "object"]}, "metadata"),
        ({"external_id": ""}, "external_id"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_nothing_is_stored(agent_api, account, bad, field):
    response = agent_api.post(URL, payload(**bad), format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not OutcomeRecord.objects.exists()


def test_a_deal_of_another_account_is_a_400(agent_api, account):
    DealFactory(external_id="deal-9")
    response = agent_api.post(
        URL, payload(action_type="deal_progression", deal="deal-9"), format="json"
    )
    assert response.status_code == 400
    assert "deal" in response.json()


def test_people_cannot_record_actions_and_anonymous_callers_are_401(
    api_client, manager_key, account
):
    assert api_client(manager_key).post(URL, payload(), format="json").status_code == 403
    assert api_client().post(URL, payload(), format="json").status_code == 401
    assert not OutcomeRecord.objects.exists()


def test_bulk_reports_per_item_results_and_keeps_the_good_ones(agent_api, account):
    items = [payload(external_id=f"b-{n}") for n in range(3)]
    items[1]["predicted_confidence"] = 3
    items.append(payload(external_id="b-0"))
    response = agent_api.post(BULK, {"outcomes": items}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert (body["created"], body["existing"], body["failed"]) == (2, 1, 1)
    assert [r["status"] for r in body["results"]] == ["created", "error", "created", "existing"]
    assert body["results"][1]["errors"] == {"predicted_confidence": "Must be between 0 and 1."}
    assert body["results"][3]["id"] == body["results"][0]["id"]
    assert OutcomeRecord.objects.count() == 2


def test_bulk_cannot_use_or_touch_another_organisations_references(
    agent_api, account, other_org, in_org
):
    with in_org(other_org):
        AccountFactory(external_id="globex-acc")
        DealFactory(external_id="globex-deal")
        CloneFactory(external_id="globex-clone")
    response = agent_api.post(
        BULK,
        {
            "outcomes": [
                payload(external_id="b-1", account="globex-acc"),
                payload(external_id="b-2", action_type="deal_progression", deal="globex-deal"),
                payload(external_id="b-3", clone="globex-clone"),
            ]
        },
        format="json",
    )
    assert response.status_code == 200
    errors = [item["errors"] for item in response.json()["results"]]
    assert errors == [
        {"account": "Unknown account."},
        {"deal": "Unknown deal."},
        {"clone": "Unknown clone."},
    ]
    assert not OutcomeRecord.objects.exists()
    with in_org(other_org):
        assert not OutcomeRecord.objects.exists()


def test_an_action_id_another_organisation_used_is_new_here_and_theirs_is_untouched(
    agent_api, account, other_org, in_org
):
    with in_org(other_org):
        theirs = OutcomeFactory(
            account=AccountFactory(external_id="acc-17"), external_id="b-1", output_text="Theirs"
        )
    response = agent_api.post(BULK, {"outcomes": [payload(external_id="b-1")]}, format="json")

    (result,) = response.json()["results"]
    assert result["status"] == "created"
    assert OutcomeRecord.objects.get(pk=result["id"]).output_text != "Theirs"
    with in_org(other_org):
        assert list(OutcomeRecord.objects.values_list("pk", "output_text")) == [
            (theirs.pk, "Theirs")
        ]


def test_bulk_takes_a_bare_list_too(agent_api, account):
    response = agent_api.post(BULK, [payload()], format="json")
    assert response.status_code == 200
    assert response.json()["created"] == 1


@pytest.mark.parametrize(
    "body", [{}, {"outcomes": []}, {"outcomes": "x"}, {"outcomes": [{}] * 1001}]
)
def test_a_bad_bulk_envelope_is_a_400_and_stores_nothing(agent_api, account, body):
    response = agent_api.post(BULK, body, format="json")
    assert response.status_code == 400
    assert "outcomes" in response.json()
    assert not OutcomeRecord.objects.exists()


def test_bulk_of_a_thousand_records_is_a_few_queries(
    agent_api, account, django_assert_max_num_queries
):
    items = [payload(external_id=f"b-{n}") for n in range(1000)]
    with django_assert_max_num_queries(12):
        response = agent_api.post(BULK, {"outcomes": items}, format="json")
    assert response.json()["created"] == 1000


def test_the_list_filters_by_status_action_type_account_and_clone(agent_api, account):
    clone = CloneFactory(external_id="clone-a")
    other = AccountFactory(external_id="acc-2")
    OutcomeFactory(account=account, external_id="o-1", clone=clone)
    OutcomeFactory(account=other, external_id="o-2", action_type=action_type("escalation"))
    OutcomeFactory(
        account=account,
        external_id="o-3",
        status="expired",
        score=0.0,
        resolved_at=timezone.now(),
    )

    def ids(query: str) -> set[str]:
        response = agent_api.get(URL + query)
        assert response.status_code == 200
        return {row["external_id"] for row in response.json()["results"]}

    assert ids("") == {"o-1", "o-2", "o-3"}
    assert ids("?status=expired") == {"o-3"}
    assert ids("?action_type=escalation") == {"o-2"}
    assert ids("?account=acc-17") == {"o-1", "o-3"}
    assert ids("?clone=clone-a") == {"o-1"}


def test_the_list_pages_with_a_cursor(agent_api, account):
    for n in range(5):
        OutcomeFactory(account=account, external_id=f"o-{n}")
    first = agent_api.get(URL + "?page_size=2").json()
    second = agent_api.get(first["next"]).json()
    seen = [r["external_id"] for r in first["results"] + second["results"]]
    assert seen == ["o-4", "o-3", "o-2", "o-1"]
    assert "count" not in first  # cursor paging: no COUNT(*) over the table


def test_a_bad_status_filter_is_a_400(agent_api, account):
    assert agent_api.get(URL + "?status=maybe").status_code == 400


def test_the_list_runs_a_fixed_number_of_queries(agent_api, account, django_assert_max_num_queries):
    clone = CloneFactory()
    OutcomeFactory.create_batch(3, account=account, clone=clone)
    with django_assert_max_num_queries(7):
        agent_api.get(URL)
    OutcomeFactory.create_batch(60, account=account, clone=clone)
    with django_assert_max_num_queries(7):
        assert len(agent_api.get(URL).json()["results"]) == 50


def test_a_rep_sees_only_outcomes_on_their_own_accounts(api_client, rep, rep_key, account):
    mine = AccountFactory(owner=rep)
    OutcomeFactory(account=mine, external_id="mine")
    OutcomeFactory(account=account, external_id="theirs")
    rows = api_client(rep_key).get(URL).json()["results"]
    assert [row["external_id"] for row in rows] == ["mine"]


def test_detail_of_another_organisation_is_a_404(agent_api, other_org, in_org):
    with in_org(other_org):
        foreign = OutcomeFactory()
    assert agent_api.get(f"{URL}{foreign.pk}/").status_code == 404


def test_the_list_never_shows_another_organisations_outcomes(api_client, other_agent_key, account):
    OutcomeFactory(account=account)
    rows = api_client(other_agent_key, host="globex.localhost").get(URL).json()["results"]
    assert rows == []


def test_detail_shows_the_resolution(agent_api, account):
    record = OutcomeFactory(
        account=account, status="resolved", score=1.0, resolved_at=timezone.now()
    )
    body = agent_api.get(f"{URL}{record.pk}/").json()
    assert (body["status"], body["score"]) == ("resolved", 1.0)


# --- calibration -------------------------------------------------------------------------


@pytest.fixture
def calibrated(account):
    occurred = timezone.now() - timedelta(days=2)
    for confidence, score in [(0.15, 0.0), (0.15, 1.0), (0.85, 1.0), (0.9, 0.0), (1.0, 1.0)]:
        OutcomeFactory(
            account=account,
            predicted_confidence=confidence,
            occurred_at=occurred,
            status="resolved" if score else "expired",
            score=score,
            resolved_at=occurred,
        )
    calibration_recompute()


def test_calibration_returns_bins_ece_brier_and_sample_size(agent_api, calibrated):
    response = agent_api.get("/api/v1/calibration/email_sent/")
    assert response.status_code == 200
    body = response.json()
    assert body["sample_size"] == 5
    assert body["ece"] == pytest.approx(0.35)
    assert body["brier"] == pytest.approx(0.3155)
    assert len(body["bins"]) == 10
    assert set(body["bins"][1]) == {
        "index",
        "lower",
        "upper",
        "count",
        "mean_predicted",
        "mean_actual",
    }
    assert body["updated_at"]
    assert "calibrated_confidence" not in body


def test_calibration_with_a_confidence_adds_the_calibrated_value(agent_api, calibrated):
    body = agent_api.get("/api/v1/calibration/email_sent/?confidence=0.5").json()
    assert body["calibrated_confidence"] == pytest.approx(0.583333, abs=1e-6)


@pytest.mark.parametrize("value", ["1.5", "-0.2", "abc", "nan"])
def test_a_confidence_outside_zero_to_one_is_a_400(agent_api, calibrated, value):
    response = agent_api.get(f"/api/v1/calibration/email_sent/?confidence={value}")
    assert response.status_code == 400
    assert "confidence" in response.json()


def test_calibration_of_an_unknown_action_type_is_a_404(agent_api, account):
    assert agent_api.get("/api/v1/calibration/fax_sent/").status_code == 404


def test_calibration_without_data_has_null_numbers(agent_api, account):
    body = agent_api.get("/api/v1/calibration/escalation/?confidence=0.4").json()
    assert (body["sample_size"], body["ece"], body["calibrated_confidence"]) == (0, None, None)


def test_calibration_of_another_organisation_is_not_visible(
    api_client, other_agent_key, calibrated
):
    body = api_client(other_agent_key, host="globex.localhost").get(
        "/api/v1/calibration/email_sent/"
    )
    assert body.json()["sample_size"] == 0


def _raw(item: dict, more: str) -> str:
    """An item's JSON with raw JSON text added at the end (a repeated key: the last wins)."""
    return json.dumps(item)[:-1] + ", " + more + "}"


def test_bulk_items_postgresql_cannot_store_fail_alone(agent_api, account):
    body = ", ".join(
        [
            _raw(payload(external_id="b-0"), '"output_text": "a NUL \\u0000"'),
            json.dumps(payload(external_id="b-1")),
            _raw(payload(external_id="b-2"), '"output_text": "half a pair \\ud800"'),
            _raw(payload(external_id="b-3"), '"metadata": {"size": 1e1000000}'),
            _raw(payload(external_id="b-4"), '"predicted_confidence": 1e400'),
        ]
    )
    response = agent_api.post(BULK, f"[{body}]", content_type="application/json")

    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["error", "created", "error", "error", "error"]
    assert results[0]["errors"] == {"output_text": "Null characters are not allowed."}
    assert results[2]["errors"]["non_field_errors"].startswith("This action could not be stored")
    assert results[3]["errors"] == {"metadata": "Numbers must be finite."}
    assert results[4]["errors"] == {"predicted_confidence": "Must be between 0 and 1."}
    assert list(OutcomeRecord.objects.values_list("external_id", flat=True)) == ["b-1"]


def test_a_number_postgresql_cannot_hold_fails_only_its_item(agent_api, account):
    body = ", ".join(
        [
            _raw(payload(external_id="b-0"), '"metadata": {"size": 1e1000000}'),
            json.dumps(payload(external_id="b-1")),
        ]
    )
    response = agent_api.post(BULK, f"[{body}]", content_type="application/json")

    assert [r["status"] for r in response.json()["results"]] == ["error", "created"]
    assert response.json()["results"][0]["errors"] == {"metadata": "Numbers must be finite."}


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        ("{not json", "application/json", 400),
        ('[{"predicted_confidence": NaN}]', "application/json", 400),
        ('{"outcomes": [' + "[" * 5000 + "]" * 5000 + "]}", "application/json", 400),
        ("[]", "text/plain", 415),
    ],
)
def test_a_bulk_body_that_is_not_json_is_refused_whole(
    agent_api, account, body, content_type, status
):
    response = agent_api.post(BULK, body, content_type=content_type)
    assert response.status_code == status
    assert "detail" in response.json()
    assert not OutcomeRecord.objects.exists()


def test_a_bulk_call_with_long_outputs_is_taken_whole(agent_api, account):
    long = "A long, careful answer. " * 150  # 3,600 characters
    items = [payload(external_id=f"b-{n}", output_text=long) for n in range(1000)]
    body = json.dumps({"outcomes": items})
    assert len(body) > 2.5 * 2**20  # beyond Django's DATA_UPLOAD_MAX_MEMORY_SIZE

    response = agent_api.post(BULK, body, content_type="application/json")

    assert response.status_code == 200
    assert response.json()["created"] == 1000


def test_a_bulk_body_over_the_limit_is_413_and_stores_nothing(agent_api, account, monkeypatch):
    monkeypatch.setattr("apps.outcomes.api.MAX_BULK_BYTES", 1000)
    items = [payload(external_id=f"b-{n}") for n in range(10)]

    response = agent_api.post(BULK, {"outcomes": items}, format="json")

    assert response.status_code == 413
    assert "fewer actions" in response.json()["detail"]
    assert not OutcomeRecord.objects.exists()


def test_detail_reads_as_the_list_shows_the_record(agent_api, account):
    """The detail (SQL compiled once for who sees every outcome) and the list (the ORM)
    render the same record the same way."""
    record = OutcomeFactory(
        account=account, status="resolved", score=1.0, resolved_at=timezone.now()
    )
    listed = agent_api.get(URL).json()["results"]
    assert agent_api.get(f"{URL}{record.pk}/").json() == listed[0]


@pytest.mark.parametrize("pk", ["abc", str(2**70)])
def test_detail_of_an_id_that_cannot_exist_is_a_404(agent_api, pk):
    assert agent_api.get(f"{URL}{pk}/").status_code == 404


def test_a_reps_detail_of_another_reps_outcome_is_a_404(api_client, rep, rep_key, account):
    mine = OutcomeFactory(account=AccountFactory(owner=rep))
    theirs = OutcomeFactory(account=account)
    rep_api = api_client(rep_key)
    assert rep_api.get(f"{URL}{mine.pk}/").status_code == 200
    assert rep_api.get(f"{URL}{theirs.pk}/").status_code == 404
