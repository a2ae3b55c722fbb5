"""The one way dates and money read: `when` and `money` (apps/tenancy/dates.py, money.py)."""

import zoneinfo
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.template import Context, Template
from django.utils import timezone

from apps.tenancy.dates import format_when
from apps.tenancy.money import format_money

NOW = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("ago", "text"),
    [
        (timedelta(seconds=20), "just now"),
        (timedelta(minutes=5), "5 min ago"),
        (timedelta(hours=3, minutes=59), "3 h ago"),
        (timedelta(days=1, hours=2), "yesterday"),
        (timedelta(days=6, hours=23), "6 days ago"),
        (-timedelta(hours=5), "in 5 h"),
        (-timedelta(days=3), "in 3 days"),
    ],
)
def test_within_a_week_a_moment_reads_relative(ago, text):
    html = format_when(NOW - ago, now=NOW)
    assert f">{text}</time>" in html


def test_a_week_or_more_away_reads_as_an_absolute_date_in_the_users_zone():
    moment = NOW - timedelta(days=7)  # 27 Nov 15:00 UTC
    with timezone.override(zoneinfo.ZoneInfo("Pacific/Auckland")):  # UTC+13 in November
        html = format_when(moment, now=NOW)
    assert ">28 Nov 2026, 04:00</time>" in html
    assert 'datetime="2026-11-27T15:00:00Z"' in html
    assert 'title="Sat 28 Nov 2026, 04:00 NZDT"' in html


def test_the_exact_time_tooltip_follows_the_users_zone():
    moment = NOW - timedelta(hours=2)
    with timezone.override(zoneinfo.ZoneInfo("America/New_York")):
        html = format_when(moment, now=NOW)
    assert 'title="Fri 4 Dec 2026, 08:00 EST"' in html
    assert ">2 h ago</time>" in html


def test_a_date_without_time_reads_absolute_and_nothing_reads_as_a_dash():
    assert format_when(date(2026, 12, 31)) == '<time datetime="2026-12-31">31 Dec 2026</time>'
    assert format_when(None) == "—"
    # Values that went through JSON (cached dashboard data) read the same.
    assert format_when("2026-12-31") == '<time datetime="2026-12-31">31 Dec 2026</time>'
    assert format_when("not a date") == "not a date"


@pytest.mark.parametrize(
    ("amount", "currency", "locale", "text"),
    [
        (Decimal("201000"), "USD", None, "$201,000"),
        (Decimal("62000.5"), "USD", None, "$62,000.50"),
        (Decimal("1234.5"), "EUR", "de", "1.234,50\u00a0€"),
        (Decimal("950"), "GBP", None, "£950"),
        (Decimal("120000.4"), "JPY", None, "¥120,000"),
        (Decimal("5000"), "CHF", None, "5,000\u00a0CHF"),
        (Decimal("-40"), "USD", None, "−$40"),
        (None, "USD", None, "—"),
    ],
)
def test_money_shows_the_currency(amount, currency, locale, text):
    assert format_money(amount, currency, locale) == text


def test_compact_money_for_headlines():
    assert format_money(Decimal("1250000"), "USD", compact=True) == "$1.2M"
    assert format_money(Decimal("62000"), "EUR", compact=True) == "€62k"


@pytest.mark.django_db
def test_the_money_filter_uses_the_organisations_currency(org):
    rendered = Template("{{ amount|money }}")
    assert rendered.render(Context({"amount": Decimal("62000")})) == "$62,000"
    org.currency = "EUR"
    connection.set_tenant(org)
    assert rendered.render(Context({"amount": Decimal("62000")})) == "€62,000"


@pytest.mark.django_db
def test_the_when_filter_is_available_in_every_template_without_a_load(org):
    html = Template("{{ moment|when }}").render(Context({"moment": timezone.now()}))
    assert html.startswith("<time datetime=") and ">just now</time>" in html


@pytest.mark.django_db
def test_every_jargon_statistic_has_its_plain_language_help(org, page_client, manager):
    from django.urls import reverse

    from tests.factories.feedback import LearningFactory

    LearningFactory()
    html = page_client(manager).get(reverse("feedback:learnings")).content.decode()
    assert 'aria-label="What is Rank?"' in html and "Relevance × confidence × decay" in html
    assert 'aria-label="What is Confidence?"' in html and "0.50 with none" in html
    assert 'aria-label="What is Lift?"' in html
    team = page_client(manager).get(reverse("dashboards:manager")).content.decode()
    assert 'aria-label="What is Success rate?"' in team


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "Very formal"),
        (30, "Fairly formal"),
        (50, "Balanced"),
        (65, "Fairly casual"),
        (95, "Very casual"),
        (None, "Not set"),
        ("oops", "Not set"),
    ],
)
def test_a_persona_setting_reads_as_a_position_between_its_ends(value, text):
    rendered = Template('{{ value|lean:"Formal,Casual" }}').render(Context({"value": value}))
    assert rendered == text


@pytest.mark.django_db
def test_the_admin_shows_our_amounts_and_dates_the_same_way(org, page_client, admin_user):
    from decimal import Decimal as D

    from tests.factories.crm import DealFactory

    DealFactory(name="Cedar platform", amount=D("62000"))
    html = page_client(admin_user).get("/admin/crm/deal/").content.decode()
    assert "$62,000" in html
    assert "<time datetime=" in html


@pytest.mark.django_db
@pytest.mark.parametrize(
    "changelist",
    ["/admin/outcomes/outcomerecord/", "/admin/feedback/feedbackentry/", "/admin/users/apikey/"],
)
def test_every_admin_list_shows_its_times_as_the_pages_do(org, page_client, admin_user, changelist):
    from apps.users.services import api_key_create
    from tests.factories.feedback import FeedbackEntryFactory

    FeedbackEntryFactory(user=admin_user)  # and the outcome it rates
    api_key_create(name="agent")
    html = page_client(admin_user).get(changelist).content.decode()
    assert "<time datetime=" in html
