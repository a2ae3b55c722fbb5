"""The detailed form's aspects, notes, feature requests and error context; the API schema."""

import pytest

from apps.feedback.models import FeedbackAspect, FeedbackEntry

HTMX = {"HTTP_HX_REQUEST": "true"}
FORM = {
    "rating": "4",
    "would_recommend": "unknown",
    "positive_aspects": ["clear", "personal"],
    "negative_aspects": ["too-long"],
    "negative_notes": "Cut the second paragraph",
    "feature_requests": "Offer two slots\n\n  Attach the case study  ",
    "error_category": "formatting",
    "error_details": "Bullet list broke",
}


def url(outcome) -> str:
    return f"/feedback/outcomes/{outcome.pk}/"


def test_the_form_offers_the_organisations_aspects(page_client, rep, rory_output):
    FeedbackAspect.objects.create(code="warm", label="Warm opener", polarity="positive")
    FeedbackAspect.objects.filter(code="pushy").update(is_active=False)
    html = page_client(rep).get(url(rory_output)).content.decode()
    assert "Warm opener" in html and 'value="clear"' in html
    assert 'value="pushy"' not in html


def test_a_rep_saves_aspects_notes_requests_and_error_context(page_client, rep, rory_output):
    client = page_client(rep)
    assert client.post(url(rory_output), FORM).status_code == 302
    entry = FeedbackEntry.objects.get()
    assert sorted(entry.aspects.values_list("code", flat=True)) == ["clear", "personal", "too-long"]
    assert entry.feature_requests == ["Offer two slots", "Attach the case study"]
    assert (entry.error_category, entry.feedback_source) == ("formatting", "dashboard")
    form = client.get(url(rory_output)).context["form"]
    assert form.initial["negative_aspects"] == ["too-long"]
    assert form.initial["feature_requests"] == "Offer two slots\nAttach the case study"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"positive_aspects": ["too-long"]}, "Select a valid choice"),
        ({"error_category": "gremlins"}, "Select a valid choice"),
        ({"feature_requests": "\n".join(["idea"] * 11)}, "At most 10 feature requests"),
        ({"negative_notes": "x" * 2001}, "at most 2000"),
    ],
)
def test_bad_detail_shows_form_errors_and_stores_nothing(
    page_client, rep, rory_output, change, message
):
    client = page_client(rep)
    plain = client.post(url(rory_output), FORM | change)
    htmx = client.post(url(rory_output), FORM | change, **HTMX)
    assert plain.status_code == htmx.status_code == 400
    assert message in plain.content.decode() and message in htmx.content.decode()
    assert not FeedbackEntry.objects.exists()


def test_the_outcome_page_runs_a_fixed_number_of_queries(
    page_client, rep, rory_output, django_assert_max_num_queries
):
    client = page_client(rep)
    client.post(url(rory_output), FORM)
    with django_assert_max_num_queries(12) as small:
        client.get(url(rory_output))
    for index in range(20):
        FeedbackAspect.objects.create(
            code=f"extra-{index}", label=f"Extra {index}", polarity="negative"
        )
    with django_assert_max_num_queries(len(small)):
        assert client.get(url(rory_output)).status_code == 200


def test_the_new_operations_are_in_the_openapi_schema_with_examples(agent_api):
    schema = agent_api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    paths = schema["paths"]
    learnings = paths["/api/v1/learnings/"]["post"]
    assert "examples" in learnings["requestBody"]["content"]["application/json"]
    uses = paths["/api/v1/learnings/{id}/applications/"]
    assert {"get", "post"} <= set(uses)
    assert "examples" in uses["post"]["requestBody"]["content"]["application/json"]
    feedback = paths["/api/v1/feedback/{id}/"]
    assert {"get", "patch", "put", "delete"} <= set(feedback)
    assert "examples" in feedback["patch"]["requestBody"]["content"]["application/json"]
    assert (
        "examples"
        in paths["/api/v1/feedback/"]["post"]["requestBody"]["content"]["application/json"]
    )
    parameters = {p["name"] for p in paths["/api/v1/feedback/"]["get"]["parameters"]}
    assert {"user", "outcome", "kind", "since"} <= parameters
    assert "/api/v1/learnings/{id}/keep/" in paths and "/api/v1/learnings/{id}/retire/" in paths
    learning = schema["components"]["schemas"]["Learning"]["properties"]
    assert {"confidence_score", "lift", "lift_low", "lift_high", "lift_sample"} <= set(learning)


def test_the_export_carries_the_detail(page_client, rep, manager, rory_output):
    import json

    page_client(rep).post(url(rory_output), FORM)
    response = page_client(manager).get("/feedback/export/", {"format": "jsonl"})
    record = json.loads(b"".join(response.streaming_content).decode().splitlines()[0])
    assert record["positive_aspects"] == ["clear", "personal"]
    assert record["negative_aspects"] == ["too-long"]
    assert record["feature_requests"] == ["Offer two slots", "Attach the case study"]
    assert (record["error_category"], record["feedback_source"]) == ("formatting", "dashboard")
