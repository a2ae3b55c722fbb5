"""Caching per organisation with a refresh that bypasses it; a fixed query count per page."""

from __future__ import annotations

import pytest

from apps.dashboards.services import outcome_daily_refresh
from tests.conftest import OTHER_HOST
from tests.factories.crm import AccountFactory, DealFactory
from tests.factories.dashboards import bulk_outcomes, decided_outcome
from tests.factories.outcomes import CloneFactory

REP_URL, TEAM_URL, EXEC_URL = "/dashboards/me/", "/dashboards/team/", "/dashboards/executive/"


def _actions_shown(response) -> str:
    body = response.content.decode().replace("\n", "")
    return body.split('data-stat="outcomes"')[1].split('class="value">')[1].split("<")[0]


def test_numbers_are_cached_until_someone_asks_for_fresh_ones(crafted, manager, page_client):
    client = page_client(manager)
    assert _actions_shown(client.get(TEAM_URL)) == "9"

    decided_outcome(account=crafted["alpha"], code="email_sent", status="resolved", days_ago=0.001)
    cached = client.get(TEAM_URL)
    fresh = client.get(TEAM_URL, {"refresh": "1"})

    assert _actions_shown(cached) == "9"
    assert "Numbers from" in cached.content.decode()
    assert _actions_shown(fresh) == "10"
    assert "Numbers computed just now" in fresh.content.decode()
    assert _actions_shown(client.get(TEAM_URL)) == "10"  # the refresh replaced the entry


def test_refresh_works_by_htmx_too(crafted, manager, page_client):
    client = page_client(manager)
    client.get(TEAM_URL)
    decided_outcome(account=crafted["alpha"], code="email_sent", status="resolved", days_ago=0.001)

    response = client.get(TEAM_URL, {"refresh": "1"}, HTTP_HX_REQUEST="true")

    assert "<html" not in response.content.decode()
    assert _actions_shown(response) == "10"


def test_cache_entries_are_per_organisation(
    crafted, manager, other_org, in_org, other_org_manager, page_client
):
    page_client(manager).get(TEAM_URL)  # fills acme's entry
    with in_org(other_org):
        client = page_client(other_org_manager, host=OTHER_HOST)
        other = client.get(TEAM_URL)

    assert _actions_shown(other) == "0"  # not acme's cached 9


def test_each_rep_has_their_own_cache_entry(crafted, rep, other_rep, page_client):
    rory = page_client(rep).get(REP_URL).content.decode()
    sam = page_client(other_rep).get(REP_URL).content.decode()

    assert "3 of 5 decided" in rory
    assert "3 of 3 decided" in sam


def _data(size: int, rep, other_rep) -> None:
    accounts = [AccountFactory(owner=rep), AccountFactory(owner=other_rep), AccountFactory()]
    clones = [CloneFactory(owner=rep), CloneFactory(owner=other_rep)]
    for account in accounts:
        DealFactory(account=account, stage="closed_won", amount=1000)
    bulk_outcomes(size, accounts=accounts, clones=clones)
    outcome_daily_refresh()


# A page's queries: tenant routing (3), session, user, then one per dashboard aggregate; the
# rep page adds the live "awaiting my rating" list, also when cached. The same count must
# hold for 10 and for 10,000 outcomes.
PAGE_QUERIES = {REP_URL: (11, 6), TEAM_URL: (16, 5), EXEC_URL: (12, 5)}


@pytest.mark.parametrize("size", [10, 10_000])
def test_dashboards_run_a_fixed_number_of_queries(
    org, rep, other_rep, executive, page_client, django_assert_max_num_queries, size
):
    _data(size, rep, other_rep)

    for url, (uncached, cached) in PAGE_QUERIES.items():
        client = page_client(rep if url == REP_URL else executive)
        with django_assert_max_num_queries(uncached):
            response = client.get(url)
        assert response.status_code == 200
        with django_assert_max_num_queries(cached):
            assert client.get(url).status_code == 200


@pytest.mark.parametrize("size", [10, 10_000])
def test_analytics_api_runs_a_fixed_number_of_queries(
    # key lookup (5), recounting today on refresh=1 (4), then one query per aggregate
    org,
    rep,
    other_rep,
    manager_api,
    django_assert_max_num_queries,
    size,
):
    _data(size, rep, other_rep)

    for path, params, ceiling in [
        ("manager", {}, 20),
        ("executive", {}, 16),
        ("rep", {}, 14),
        ("trends", {"metric": "success_rate"}, 10),
        ("patterns", {}, 6),
    ]:
        with django_assert_max_num_queries(ceiling):
            response = manager_api.get(f"/api/v1/analytics/{path}/", params | {"refresh": "1"})
        assert response.status_code == 200
