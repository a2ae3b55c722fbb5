"""Managers saving the same persona at the same moment: every save gets its own version.

Real PostgreSQL connections, one per thread, on committed data (``fresh_org``).
"""

from __future__ import annotations

import threading

from django.db import connection
from django_tenants.utils import schema_context

from apps.personas.services import persona_update
from tests.factories.personas import CloneFactory
from tests.factories.users import UserFactory


def test_simultaneous_saves_get_consecutive_versions_and_none_is_lost(fresh_org):
    rep = UserFactory(username="rory", role="rep")
    managers = [UserFactory(username=f"m{i}", role="manager") for i in range(6)]
    clone = CloneFactory(owner=rep, external_id="rory-1")
    barrier = threading.Barrier(len(managers))
    errors: list[Exception] = []

    def save(index: int, user) -> None:
        try:
            with schema_context(fresh_org.schema_name):
                barrier.wait()
                persona_update(clone=clone, user=user, sliders={"formal_casual": 10 + index})
        except Exception as error:  # noqa: BLE001 - the test reports any failure below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=save, args=(i, u)) for i, u in enumerate(managers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    numbers = sorted(clone.versions.values_list("number", flat=True))
    assert numbers == list(range(1, len(managers) + 2))
    assert clone.versions.filter(note="Initial settings").count() == 1
    latest = clone.versions.order_by("-number").first()
    clone.refresh_from_db()
    assert clone.formal_casual == latest.formal_casual
