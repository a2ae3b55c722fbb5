"""Operator commands: create_org, create_user, create_api_key, run_periodic."""

import hashlib
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django_tenants.utils import schema_context

from apps.tenancy.models import Domain, Organization
from apps.tenancy.periodic import _registry, periodic_job
from apps.users.models import ApiKey, User


def _run(*args) -> str:
    from io import StringIO

    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.fixture
def committed(django_db_setup, django_db_blocker):
    """Autocommit access for commands that create schemas; drops what the test created."""
    with django_db_blocker.unblock():
        before = set(Organization.objects.values_list("slug", flat=True))
        yield
        connection.set_schema_to_public()
        for org in Organization.objects.exclude(slug__in=before):
            org.delete(force_drop=True)


def test_create_org_makes_a_migrated_schema_and_its_hosts(committed):
    output = _run("create_org", "initech", "--name", "Initech", "--domain", "sales.initech.test")

    org = Organization.objects.get(slug="initech")
    assert org.schema_name == "org_initech"
    assert set(Domain.objects.filter(tenant=org).values_list("domain", flat=True)) == {
        "initech.localhost",
        "sales.initech.test",
    }
    assert "initech.localhost" in output
    with schema_context(org.schema_name):
        assert User.objects.count() == 0  # the tenant tables exist, and are empty


def test_create_org_refuses_a_taken_slug_or_host_and_a_bad_slug(committed):
    with pytest.raises(CommandError, match="already exists"):
        _run("create_org", "acme", "--name", "Acme again")
    with pytest.raises(CommandError, match="Host already in use"):
        _run("create_org", "acme2", "--name", "Acme 2", "--domain", "acme.localhost")
    with pytest.raises(CommandError, match="lower-case"):
        _run("create_org", "Bad Slug!", "--name", "Bad")
    assert not Organization.objects.filter(slug__in=["acme2", "Bad Slug!"]).exists()


def test_create_user_adds_a_user_with_role_and_manager_in_that_org_only(org):
    _run("create_user", "acme", "boss", "--role", "manager", "--password", "a-long-password-1")
    _run(
        "create_user",
        "acme",
        "newrep",
        "--role",
        "rep",
        "--password",
        "a-long-password-2",
        "--manager",
        "boss",
    )

    with schema_context("org_acme"):
        rep = User.objects.get(username="newrep")
        assert rep.role == "rep" and rep.manager.username == "boss"
        assert rep.check_password("a-long-password-2")
    with schema_context("org_globex"):
        assert not User.objects.filter(username="newrep").exists()


def test_create_user_rejects_bad_role_unknown_org_and_weak_password(org):
    with pytest.raises(CommandError):
        _run("create_user", "acme", "x", "--role", "king", "--password", "a-long-password-1")
    with pytest.raises(CommandError, match="No organisation"):
        _run("create_user", "nowhere", "x", "--role", "rep", "--password", "a-long-password-1")
    with pytest.raises(CommandError, match="too short"):
        _run("create_user", "acme", "x", "--role", "rep", "--password", "short")


def test_admin_role_may_use_the_orgs_django_admin(org):
    _run("create_user", "acme", "boss", "--role", "admin", "--password", "a-long-password-1")
    with schema_context("org_acme"):
        admin = User.objects.get(username="boss")
        assert admin.is_staff and admin.is_superuser


def test_create_api_key_prints_the_key_alone_on_the_last_line_and_stores_only_its_hash(
    org, api_client
):
    raw_key = _run("create_api_key", "acme", "--name", "runtime").strip().splitlines()[-1]

    with schema_context("org_acme"):
        stored = ApiKey.objects.get(name="runtime")
    assert raw_key.startswith("ll_") and " " not in raw_key
    assert stored.hashed_key == hashlib.sha256(raw_key.encode()).hexdigest()
    assert raw_key not in (stored.hashed_key, stored.prefix)
    assert api_client(raw_key).get("/api/v1/accounts/").status_code == 200


def test_create_api_key_for_a_user_acts_as_that_user(org, rep, api_client):
    raw_key = _run("create_api_key", "acme", "--name", "mine", "--user", "rory").splitlines()[-1]
    # A rep may read accounts but not write them.
    assert api_client(raw_key).get("/api/v1/accounts/").status_code == 200
    response = api_client(raw_key).post("/api/v1/accounts/", {"external_id": "a", "name": "A"})
    assert response.status_code == 403


def test_create_user_and_create_api_key_refuse_an_unknown_user_or_organisation(org):
    with pytest.raises(CommandError, match="No user 'ghost' in acme"):
        _run(
            "create_user",
            "acme",
            "x",
            "--role",
            "rep",
            "--password",
            "a-long-password-1",
            "--manager",
            "ghost",
        )
    with pytest.raises(CommandError, match="No user 'ghost' in acme"):
        _run("create_api_key", "acme", "--name", "mine", "--user", "ghost")
    with pytest.raises(CommandError, match="No organisation"):
        _run("create_api_key", "nowhere", "--name", "mine")


@pytest.fixture
def schema_probe_job():
    """A job that says which schema it ran in, registered for one test only (seed_demo and
    the registry's own tests see the real jobs alone)."""

    @periodic_job("test_schema_probe", every=timedelta(minutes=5))
    def _schema_probe() -> str:
        """Test job: says which schema it ran in."""
        return f"ran in {connection.schema_name}"

    yield
    _registry.pop("test_schema_probe", None)


def test_run_periodic_runs_a_job_in_each_org_or_in_one(org, schema_probe_job):
    every_org = _run("run_periodic", "test_schema_probe")
    assert "acme: test_schema_probe: ran in org_acme" in every_org
    assert "globex: test_schema_probe: ran in org_globex" in every_org

    one_org = _run("run_periodic", "test_schema_probe", "--org", "globex")
    assert "org_globex" in one_org and "org_acme" not in one_org


def test_run_periodic_lists_jobs_and_rejects_unknown_ones(org, schema_probe_job):
    assert "test_schema_probe" in _run("run_periodic", "--list")
    with pytest.raises(CommandError, match="Unknown job"):
        _run("run_periodic", "no_such_job")
    with pytest.raises(CommandError, match="No organisation"):
        _run("run_periodic", "test_schema_probe", "--org", "nowhere")
