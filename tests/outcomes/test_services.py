"""Recording actions: idempotency, windows, validation, bulk ingestion."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.outcomes.models import OutcomeRecord
from apps.outcomes.services import MAX_BULK_ITEMS, outcome_record, outcomes_record_bulk
from tests.factories.crm import AccountFactory, DealFactory
from tests.factories.outcomes import CloneFactory, action_type


@pytest.fixture
def account(org):
    return AccountFactory(external_id="acc-1")


def test_recording_an_action_sets_its_window_from_the_action_type(account):
    occurred = timezone.now() - timedelta(hours=2)
    record, created = outcome_record(
        external_id="a-1",
        action_type=action_type("meeting_request"),
        account=account,
        predicted_confidence=0.8,
        occurred_at=occurred,
    )
    assert created
    assert record.status == "pending"
    assert record.window_ends_at == occurred + timedelta(hours=168)


def test_recording_the_same_external_id_again_returns_the_first_record(account):
    first, created = outcome_record(
        external_id="a-1", action_type=action_type(), account=account, predicted_confidence=0.4
    )
    again, created_again = outcome_record(
        external_id="a-1", action_type=action_type(), account=account, predicted_confidence=0.9
    )
    assert created and not created_again
    assert again.pk == first.pk and again.predicted_confidence == 0.4
    assert OutcomeRecord.objects.count() == 1


@pytest.mark.parametrize("confidence", [-0.1, 1.01, float("nan"), "0.5", True, None])
def test_confidence_outside_zero_to_one_is_rejected_and_nothing_stored(account, confidence):
    with pytest.raises(ValidationError) as error:
        outcome_record(
            external_id="a-1",
            action_type=action_type(),
            account=account,
            predicted_confidence=confidence,
        )
    assert "predicted_confidence" in error.value.message_dict
    assert not OutcomeRecord.objects.exists()


def test_a_deal_of_another_account_is_rejected(account):
    deal = DealFactory()
    with pytest.raises(ValidationError) as error:
        outcome_record(
            external_id="a-1",
            action_type=action_type("deal_progression"),
            account=account,
            deal=deal,
            predicted_confidence=0.5,
        )
    assert "deal" in error.value.message_dict


def test_a_deal_progression_action_needs_a_deal(account):
    with pytest.raises(ValidationError) as error:
        outcome_record(
            external_id="a-1",
            action_type=action_type("deal_progression"),
            account=account,
            predicted_confidence=0.5,
        )
    assert "deal" in error.value.message_dict


def test_an_action_in_the_future_is_rejected(account):
    with pytest.raises(ValidationError) as error:
        outcome_record(
            external_id="a-1",
            action_type=action_type(),
            account=account,
            predicted_confidence=0.5,
            occurred_at=timezone.now() + timedelta(days=1),
        )
    assert "occurred_at" in error.value.message_dict


def _item(n: int, **extra) -> dict:
    return {
        "external_id": f"b-{n}",
        "action_type": "email_sent",
        "account": "acc-1",
        "predicted_confidence": 0.6,
        **extra,
    }


def test_bulk_keeps_good_items_and_reports_bad_ones(account):
    clone = CloneFactory(external_id="clone-1")
    deal = DealFactory(external_id="deal-1", account=account)
    results = outcomes_record_bulk(
        items=[
            _item(1, clone="clone-1"),
            _item(2, predicted_confidence=1.5),
            _item(3, account="nope"),
            _item(4, action_type="fax_sent"),
            _item(5, action_type="deal_progression", deal="deal-1"),
            "not an object",
            _item(1),
        ]
    )
    assert [r.status for r in results] == [
        "created",
        "error",
        "error",
        "error",
        "created",
        "error",
        "existing",
    ]
    assert results[1].errors == {"predicted_confidence": "Must be between 0 and 1."}
    assert results[2].errors == {"account": "Unknown account."}
    assert set(results[3].errors) == {"action_type"}
    assert results[6].id == results[0].id
    stored = OutcomeRecord.objects.get(external_id="b-1")
    assert stored.clone == clone
    assert OutcomeRecord.objects.get(external_id="b-5").deal == deal
    assert OutcomeRecord.objects.count() == 2


def test_bulk_accepts_iso_times_and_computes_windows(account):
    occurred = timezone.now() - timedelta(days=3)
    (result,) = outcomes_record_bulk(items=[_item(1, occurred_at=occurred.isoformat())])
    record = OutcomeRecord.objects.get(pk=result.id)
    assert record.occurred_at == occurred
    assert record.window_ends_at == occurred + timedelta(hours=24)


def test_bulk_windows_are_exact_hours_whatever_the_offset_given(account):
    occurred = datetime(2026, 3, 27, 9, 30, tzinfo=ZoneInfo("Europe/Berlin"))  # DST starts 29th
    (result,) = outcomes_record_bulk(
        items=[_item(1, action_type="meeting_request", occurred_at=occurred.isoformat())]
    )
    record = OutcomeRecord.objects.get(pk=result.id)
    assert record.occurred_at == occurred
    assert record.window_ends_at - record.occurred_at == timedelta(hours=168)


def test_bulk_reports_each_bad_reference_by_name(account):
    DealFactory(external_id="deal-own", account=account)
    DealFactory(external_id="deal-other")
    CloneFactory(external_id="clone-1")
    results = outcomes_record_bulk(
        items=[
            _item(1, deal="deal-missing"),
            _item(2, action_type="deal_progression", deal="deal-other"),
            _item(3, clone="clone-missing"),
            _item(4, action_type="deal_progression"),
            _item(5, action_type="deal_progression", deal="deal-own", clone="clone-1"),
        ]
    )
    assert [r.errors for r in results] == [
        {"deal": "Unknown deal."},
        {"deal": "This deal belongs to another account."},
        {"clone": "Unknown clone."},
        {"deal": "A deal_progression action needs the deal it is meant to progress."},
        {},
    ]
    assert list(OutcomeRecord.objects.values_list("external_id", flat=True)) == ["b-5"]


def test_bulk_repeated_call_reports_existing_and_stores_no_duplicate(account):
    outcomes_record_bulk(items=[_item(n) for n in range(5)])
    again = outcomes_record_bulk(items=[_item(n) for n in range(5)])
    assert {r.status for r in again} == {"existing"}
    assert OutcomeRecord.objects.count() == 5


def test_bulk_refuses_more_than_the_limit(account):
    with pytest.raises(ValidationError):
        outcomes_record_bulk(items=[_item(n) for n in range(MAX_BULK_ITEMS + 1)])
    assert not OutcomeRecord.objects.exists()


def test_bulk_runs_a_fixed_number_of_queries(account, django_assert_max_num_queries):
    with django_assert_max_num_queries(7):
        outcomes_record_bulk(items=[_item(n) for n in range(3)])
    with django_assert_max_num_queries(7):
        outcomes_record_bulk(items=[_item(n) for n in range(3, 900)])
    assert OutcomeRecord.objects.count() == 900


def test_a_null_character_fails_only_its_own_item(account):
    results = outcomes_record_bulk(
        items=[
            _item(1, output_text="bad\x00text"),
            _item(2, metadata={"note": "bad\x00"}),
            _item(3),
        ]
    )
    assert [r.status for r in results] == ["error", "error", "created"]
    assert set(results[0].errors) == {"output_text"}
    assert set(results[1].errors) == {"metadata"}


def test_a_backslash_u0000_written_out_is_ordinary_text(account):
    (result,) = outcomes_record_bulk(items=[_item(1, metadata={"note": "\\u0000"})])
    assert result.status == "created"


def test_bulk_reads_rfc3339_times_and_refuses_impossible_ones(account):
    results = outcomes_record_bulk(
        items=[
            _item(1, occurred_at="2026-03-01T10:00:00.1234567+05:30"),  # .NET writes 7 digits
            _item(2, occurred_at="2026-03-01 10:00:00Z"),
            _item(3, occurred_at="2026-02-30T10:00:00Z"),
            _item(4, occurred_at="2026-03-01T10:00:00"),
            _item(5, occurred_at="2026-03-01T10:00:00+16:00"),
            _item(6, occurred_at="yesterday"),
            _item(7, occurred_at=1767261600),
        ]
    )
    assert [r.status for r in results] == ["created"] * 2 + ["error"] * 5
    first = OutcomeRecord.objects.get(pk=results[0].id)
    assert first.occurred_at == datetime(2026, 3, 1, 4, 30, 0, 123456, tzinfo=UTC)
    assert [r.errors["occurred_at"] for r in results[2:]] == [
        "A date and time with a time zone is required (ISO 8601).",
        "Give a time zone (for example 2026-01-31T09:00:00Z).",
        "The time zone is out of range.",
        "A date and time with a time zone is required (ISO 8601).",
        "A date and time with a time zone is required (ISO 8601).",
    ]


def test_bulk_names_each_field_of_the_wrong_type(account):
    results = outcomes_record_bulk(
        items=[
            _item(1, external_id=17),
            _item(2, predicted_confidence="0.5"),
            _item(3, predicted_confidence=True),
            _item(4, output_text=5),
            _item(5, metadata=["a"]),
            _item(6, account=17),
            _item(7, deal=17),
            _item(8, external_id="   "),
            _item(9, external_id="x" * 201),
            _item(10, output_text="x" * 50_001),
        ]
    )
    assert [r.errors for r in results] == [
        {"external_id": "This field is required."},
        {"predicted_confidence": "A number between 0 and 1 is required."},
        {"predicted_confidence": "A number between 0 and 1 is required."},
        {"output_text": "Must be text."},
        {"metadata": "Must be a JSON object."},
        {"account": "Unknown account."},
        {"deal": "Unknown deal."},
        {"external_id": "This field is required."},
        {"external_id": "Ensure this field has no more than 200 characters."},
        {"output_text": "Ensure this field has no more than 50000 characters."},
    ]
    assert not OutcomeRecord.objects.exists()


def test_an_item_postgresql_cannot_store_fails_alone(account):
    results = outcomes_record_bulk(
        items=[
            _item(1),
            _item(2, output_text="half a pair \ud800"),  # a lone surrogate: not valid Unicode
            _item(3, metadata={"score": float("inf")}),
            _item(4, predicted_confidence=float("nan")),
            _item(5),
        ]
    )
    assert [r.status for r in results] == ["created", "error", "error", "error", "created"]
    assert results[1].errors["non_field_errors"].startswith("This action could not be stored")
    assert results[2].errors == {"metadata": "Numbers must be finite."}
    assert results[3].errors == {"predicted_confidence": "A number between 0 and 1 is required."}
    assert set(OutcomeRecord.objects.values_list("external_id", flat=True)) == {"b-1", "b-5"}
