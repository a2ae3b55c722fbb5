"""The hot paths' statements are prepared once per connection (``prepared_cursor``,
apps/tenancy/postgresql_backend), and a prepared plan still reads and writes the
organisation of the moment: PostgreSQL plans it again when ``search_path`` has changed.
Each test runs both organisations on one connection, with the same ids in both."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import NotSupportedError, connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from apps.approvals.models import ActionStatus, ProposedAction
from apps.approvals.selectors import action_get, action_summary_by_id
from apps.approvals.services import action_decide
from apps.feedback.models import FeedbackEntry
from apps.feedback.services import feedback_rate
from apps.outcomes.selectors import outcome_get
from apps.users.backends import UserBackend
from tests.factories.approvals import PendingActionFactory
from tests.factories.outcomes import OutcomeFactory
from tests.factories.users import UserFactory


def _prepared(table: str = "") -> int:
    """How many prepared statements on this connection name ``table``."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            [f'%"{table}"%' if table else "%"],
        )
        return cursor.fetchone()[0]


def test_one_prepared_read_returns_each_organisations_own_record(
    org, other_org, in_org, manager, other_org_manager
):
    ours = OutcomeFactory(external_id="ours")
    with in_org(other_org):
        theirs = OutcomeFactory(pk=ours.pk, external_id="theirs")

    assert outcome_get(ours.pk, user=manager).external_id == "ours"
    with in_org(other_org):
        assert outcome_get(theirs.pk, user=other_org_manager).external_id == "theirs"
    with CaptureQueriesContext(connection) as queries:
        assert outcome_get(ours.pk, user=manager).external_id == "ours"
    assert _prepared("outcomes_outcomerecord") == 1  # one statement served both
    # Shown with its values, as every other statement (debug toolbar, assertNumQueries).
    assert f'"outcomes_outcomerecord"."id" = {ours.pk}' in queries[-1]["sql"]


def test_a_prepared_decision_changes_only_its_own_organisations_action(
    org, other_org, in_org, manager, other_org_manager
):
    ours = PendingActionFactory()
    with in_org(other_org):
        theirs = PendingActionFactory(pk=ours.pk)
        decided = action_decide(
            action_id=theirs.pk, user=other_org_manager, decision="reject", reason="Not now."
        )
        assert decided.status == ActionStatus.REJECTED
        assert decided.decided_by == other_org_manager

    assert ProposedAction.objects.get(pk=ours.pk).status == ActionStatus.PENDING
    decided = action_decide(action_id=ours.pk, user=manager, decision="approve")
    assert (decided.status, decided.decided_by) == (ActionStatus.APPROVED, manager)
    assert [e.kind for e in decided.events.all()] == ["approved"]
    assert _prepared("approvals_proposedaction") == 1
    with in_org(other_org):
        theirs = action_get(theirs.pk, user=other_org_manager)
        assert theirs.status == ActionStatus.REJECTED
        assert [e.kind for e in theirs.events.all()] == ["rejected"]


def test_a_queue_decision_reads_back_its_own_organisations_account(
    org, other_org, in_org, manager, other_org_manager
):
    """The queue's narrow read-back (``action_summary_by_id``), prepared once, names the
    account of the deciding organisation's action, not the other's with the same ids."""
    ours = PendingActionFactory(account__name="Ours Ltd")
    with in_org(other_org):
        theirs = PendingActionFactory(
            pk=ours.pk, account__pk=ours.account.pk, account__name="Theirs GmbH"
        )
        decided = action_decide(
            action_id=theirs.pk,
            user=other_org_manager,
            decision="approve",
            reading=action_summary_by_id,
        )
        assert (decided.pk, decided.account.name) == (ours.pk, "Theirs GmbH")
    decided = action_decide(
        action_id=ours.pk, user=manager, decision="approve", reading=action_summary_by_id
    )
    assert decided.account.name == "Ours Ltd"
    assert decided.status == ActionStatus.APPROVED
    with in_org(other_org):
        assert ProposedAction.objects.get(pk=theirs.pk).decided_by == other_org_manager


def test_a_prepared_rating_is_stored_in_the_raters_organisation(
    org, other_org, in_org, manager, other_org_manager
):
    ours = OutcomeFactory()
    with in_org(other_org):
        theirs = OutcomeFactory(pk=ours.pk)
        feedback_rate(user=other_org_manager, outcome=theirs, kind="inline", rating=-1)

    feedback_rate(user=manager, outcome=ours, kind="inline", rating=1)
    feedback_rate(user=manager, outcome=ours, kind="inline", rating=0)  # the same entry again

    assert list(FeedbackEntry.objects.values_list("user__username", "rating")) == [
        (manager.username, 0)
    ]
    with in_org(other_org):
        assert list(FeedbackEntry.objects.values_list("user__username", "rating")) == [
            (other_org_manager.username, -1)
        ]
    assert _prepared("feedback_feedbackentry") == 1


def test_other_statements_are_not_prepared(org):
    """Django's own statements keep its client-side cursors (raw SQL whose values' types
    PostgreSQL could not infer would fail prepared)."""
    before = _prepared()
    user = UserFactory(username="plain")
    assert FeedbackEntry.objects.filter(user=user).count() == 0
    assert _prepared() == before


def _migrate_first_name(schema: str, length: int) -> None:
    """Change a column's type from another connection, as a migration run elsewhere."""
    other = connections.create_connection("default")
    try:
        other.set_schema_to_public()
        with other.cursor() as cursor:
            cursor.execute(
                f'ALTER TABLE "{schema}"."users_user" ALTER COLUMN "first_name" '
                f"TYPE varchar({length})"
            )
    finally:
        other.close()


def test_a_prepared_read_survives_a_migration_of_a_column_it_returns(fresh_org):
    user = UserFactory(username="mig", first_name="Mia")
    backend = UserBackend()
    assert backend.get_user(user.pk).first_name == "Mia"  # prepared on this connection
    _migrate_first_name(fresh_org.schema_name, 151)
    try:
        assert backend.get_user(user.pk).first_name == "Mia"  # prepared again, not an error
        assert backend.get_user(user.pk).first_name == "Mia"
        with transaction.atomic():  # inside a transaction the error aborts it: raised once
            _migrate_first_name(fresh_org.schema_name, 152)
            with pytest.raises(NotSupportedError):
                backend.get_user(user.pk)
        assert backend.get_user(user.pk).first_name == "Mia"  # the next request is served
    finally:
        _migrate_first_name(fresh_org.schema_name, 150)


def test_timestamps_read_back_are_the_instants_stored_in_utc(manager):
    """Timestamps are read by psycopg's loader (the backend's, for speed), through plain
    and prepared cursors alike: aware, in UTC, to the microsecond, whatever offset the
    value was written with."""
    written = datetime.datetime(2026, 3, 29, 1, 30, 5, 123456, tzinfo=ZoneInfo("Europe/Berlin"))
    outcome = OutcomeFactory(
        occurred_at=written, window_ends_at=written + datetime.timedelta(days=1)
    )

    for cursor in (connection.cursor(), connection.prepared_cursor()):
        with cursor:
            cursor.execute(
                "SELECT occurred_at, %s::timestamptz FROM outcomes_outcomerecord WHERE id = %s",
                ["2026-03-29 03:30:05.5+05", outcome.pk],
            )
            stored, literal = cursor.fetchone()
        assert stored == written and stored.tzinfo is datetime.UTC
        assert literal == datetime.datetime(2026, 3, 28, 22, 30, 5, 500000, tzinfo=datetime.UTC)
    read = outcome_get(outcome.pk, user=manager).occurred_at  # the compiled, prepared read
    assert read.isoformat() == "2026-03-29T00:30:05.123456+00:00"
