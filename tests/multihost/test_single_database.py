"""Without DATABASE_REPLICA_URL nothing about reads changes: one alias, no replica router or
middleware, and the reporting views marked @reads_from_replica read the one database."""

from __future__ import annotations

from django.conf import settings
from django.db import connections


def test_without_a_replica_there_is_one_database_and_no_replica_routing():
    assert list(settings.DATABASES) == ["default"]
    assert "apps.web.replica.ReplicaRouter" not in settings.DATABASE_ROUTERS
    assert "apps.web.replica.ReplicaMiddleware" not in settings.MIDDLEWARE
    assert [c.alias for c in connections.all()] == ["default"]


def test_a_reporting_page_reads_the_one_database(page_client, manager):
    response = page_client(manager).get("/outcomes/calibration/")
    assert response.status_code == 200
    assert b"Email sent" in response.content
