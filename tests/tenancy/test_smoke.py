def test_healthz_answers_on_an_org_host(page_client):
    response = page_client().get("/healthz")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"
