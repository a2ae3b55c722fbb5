"""One statement of the outcome field rules: the single-record and the bulk endpoint
answer the same bad input with the same messages (issue 19, point 2)."""

from __future__ import annotations

import pytest

from apps.outcomes.models import OutcomeRecord
from tests.factories.crm import AccountFactory, DealFactory

GOOD = {
    "external_id": "one-1",
    "action_type": "email_sent",
    "account": "acc-one",
    "predicted_confidence": 0.5,
}

BAD = {
    "no external_id": {"external_id": ""},
    "blank external_id": {"external_id": "   "},
    "long external_id": {"external_id": "x" * 201},
    "NUL in external_id": {"external_id": "a\x00b"},
    "unknown action type": {"action_type": "fax_sent"},
    "unknown account": {"account": "acc-404"},
    "unknown deal": {"deal": "deal-404"},
    "deal of another account": {"deal": "deal-other"},
    "deal_progression without deal": {"action_type": "deal_progression"},
    "unknown clone": {"clone": "clone-404"},
    "confidence above 1": {"predicted_confidence": 1.5},
    "confidence as text": {"predicted_confidence": "high"},
    "confidence missing": {"predicted_confidence": None},
    "time without zone": {"occurred_at": "2026-01-05T09:00:00"},
    "time not a time": {"occurred_at": "yesterday"},
    "time in year 1": {"occurred_at": "0001-01-01T00:00:00+01:00"},
    "time in the future": {"occurred_at": "2999-01-01T00:00:00Z"},
    "zone out of range": {"occurred_at": "2026-01-05T09:00:00+18:00"},
    "output not text": {"output_text": 12},
    "output too long": {"output_text": "x" * 50_001},
    "NUL in output": {"output_text": "a\x00b"},
    "metadata not an object": {"metadata": [1, 2]},
    "several at once": {"account": "acc-404", "predicted_confidence": -1},
}


@pytest.fixture
def references(org):
    AccountFactory(external_id="acc-one")
    DealFactory(external_id="deal-other")


@pytest.mark.parametrize("change", BAD.values(), ids=BAD.keys())
def test_both_endpoints_answer_bad_input_with_the_same_messages(agent_api, references, change):
    item = GOOD | change

    single = agent_api.post("/api/v1/outcomes/", item, format="json")
    bulk = agent_api.post("/api/v1/outcomes/bulk/", {"outcomes": [item]}, format="json")

    assert single.status_code == 400, single.content
    (result,) = bulk.json()["results"]
    assert result["status"] == "error"
    assert single.json() == {field: [message] for field, message in result["errors"].items()}
    assert not OutcomeRecord.objects.exists()


def test_both_endpoints_store_the_same_good_item_the_same_way(agent_api, references):
    single = agent_api.post("/api/v1/outcomes/", GOOD, format="json")
    again = agent_api.post("/api/v1/outcomes/bulk/", {"outcomes": [GOOD]}, format="json")

    assert single.status_code == 201
    (result,) = again.json()["results"]
    assert (result["status"], result["id"]) == ("existing", single.json()["id"])
