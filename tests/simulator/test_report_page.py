"""The managers' simulation page: the stored report of the last run, per organisation."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from apps.simulator.engine import RunResult, WeekStats
from apps.simulator.report import summarise, summary_lines
from apps.simulator.selectors import simulation_report_latest
from apps.simulator.services import simulation_report_store
from tests.conftest import OTHER_HOST

URL = "/simulator/"


def _week(emails: int, replies: int, pairs: list[tuple[float, float]], ece: float) -> WeekStats:
    return WeekStats(
        emails=emails, replies=replies, meetings=replies // 2, proposals=10, autonomous=4,
        decided=6, approved=5, pairs=pairs, ece_api=ece,
    )  # fmt: skip


def _run(loop: bool, replies: list[int], top: list[dict]) -> RunResult:
    # Loop on: confidence close to the outcome after week 1; control: overconfident.
    weeks = []
    for index, n in enumerate(replies):
        calibrated = loop and index > 0
        confidence = n / 100 if calibrated else 0.8
        pairs = [(confidence, 1.0)] * n + [(confidence, 0.0)] * (100 - n)
        weeks.append(_week(100, n, pairs, ece=0.05 if calibrated else 0.3))
    return RunResult(loop=loop, weeks=weeks, learnings=top, calls=1000)


def _evidence(dimension: str, value: str) -> dict:
    return {"evidence": {"dimension": dimension, "value": value}}


TOP = [
    _evidence("length", "short"),
    _evidence("phrase", "two openings"),
    _evidence("time_of_day", "afternoon"),
]


def summary() -> dict:
    pairs = [
        (seed, _run(True, [30, 40 + seed, 50 + seed], TOP), _run(False, [30, 31, 30 + seed], []))
        for seed in (1, 2, 3)
    ]
    return summarise(pairs, params={"weeks": 3, "reps": 2, "transport": "in-process"})


def test_the_summary_gives_the_lift_interval_over_seeds_and_checks_the_targets():
    result = summary()
    last = result["weeks"][-1]
    assert last["lift"] == pytest.approx(0.20)  # (50+s) − (30+s) = 20 points, every seed
    assert last["low"] == pytest.approx(0.20) and last["high"] == pytest.approx(0.20)
    passed = {target["name"].split(":")[0]: target["passed"] for target in result["targets"]}
    assert list(passed.values()) == [True, True, True]
    assert result["traits"][0]["false"] == 1 and result["recall"] == pytest.approx(2 / 3)
    lines = summary_lines(result)
    assert sum(line.startswith("[PASS]") for line in lines) == 3


@pytest.mark.django_db
def test_a_manager_sees_the_last_simulation_week_by_week(page_client, manager):
    older = summary()
    older["weeks"] = older["weeks"][:1]
    simulation_report_store(summary=older)
    simulation_report_store(summary=summary())  # the latest one is shown

    response = page_client(manager).get(URL)

    assert response.status_code == 200
    body = response.content.decode()
    assert body.count('<tr data-week="') == 3
    assert "<td>52.0 %</td><td>32.0 %</td>" in body  # week 3, means over seeds 1-3
    assert "+20.0 pts (+20.0 to +20.0)" in body
    assert body.count('data-passed="true"') == 3
    assert body.count('<svg class="chart"') == 2
    assert "afternoon" in body  # the false trait is shown, marked as not planted
    assert 'href="/simulator/"' in body  # in the navigation


@pytest.mark.django_db
def test_an_executive_sees_it_and_a_rep_does_not(page_client, executive, rep):
    simulation_report_store(summary=summary())
    assert page_client(executive).get(URL).status_code == 200
    response = page_client(rep).get(URL)
    assert response.status_code == 403
    assert 'href="/simulator/"' not in page_client(rep).get("/dashboards/me/").content.decode()


@pytest.mark.django_db
def test_another_organisation_does_not_see_the_report(
    page_client, manager, other_org, in_org, other_org_manager
):
    simulation_report_store(summary=summary())
    with in_org(other_org):
        response = page_client(other_org_manager, host=OTHER_HOST).get(URL)
    assert response.status_code == 200
    body = response.content.decode()
    assert "No simulation has run in this organisation yet" in body
    assert "data-week" not in body


@pytest.mark.django_db
def test_without_a_report_the_page_says_how_to_run_one(page_client, manager):
    body = page_client(manager).get(URL).content.decode()
    assert "manage.py simulate --org acme" in body


@pytest.mark.django_db
def test_the_page_only_answers_get(page_client, manager):
    assert page_client(manager).post(URL).status_code == 405


@pytest.mark.django_db
def test_the_page_reads_a_fixed_number_of_queries(
    page_client, manager, django_assert_max_num_queries
):
    client = page_client(manager)
    simulation_report_store(summary=summary())
    with django_assert_max_num_queries(12) as small:
        client.get(URL)
    for _ in range(20):
        simulation_report_store(summary=summary())
    with django_assert_max_num_queries(len(small.captured_queries)):
        client.get(URL)


@pytest.mark.django_db
def test_simulate_combines_seeds_run_apart_into_one_report(tmp_path, org):
    first, second = summary(), summary()
    second["per_seed"] = [dict(seed, seed=seed["seed"] + 3) for seed in second["per_seed"]]
    paths = []
    for index, part in enumerate((first, second)):
        paths.append(tmp_path / f"part{index}.json")
        paths[-1].write_text(json.dumps(part))
    out = StringIO()

    call_command("simulate", "--org", org.slug, "--combine", *map(str, paths), stdout=out)

    report = simulation_report_latest()
    assert report.summary["params"]["seeds"] == [1, 2, 3, 4, 5, 6]
    assert "[PASS] reply-rate lift in week 3: 95 % interval over 6 seeds above 0" in out.getvalue()
    with pytest.raises(CommandError, match="Cannot combine"):
        call_command("simulate", "--org", org.slug, "--combine", str(tmp_path / "missing.json"))
