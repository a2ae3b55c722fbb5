"""`make serve`: production defaults it fills in, and the servers it runs."""

import pytest

from ops import serve

SERVE_VARIABLES = ["DJANGO_ENV", "ALLOWED_HOSTS", "SECURE_SSL_REDIRECT", "SECRET_KEY"]


@pytest.fixture
def clean_environment(monkeypatch):
    for name in SERVE_VARIABLES:
        monkeypatch.setenv(name, "placeholder")  # so the fixture's undo removes it again
        monkeypatch.delenv(name)
    return monkeypatch


def test_serve_defaults_to_production_with_a_generated_secret_key_kept_on_disk(
    clean_environment, tmp_path
):
    import os

    serve.production_environment(tmp_path)
    assert os.environ["DJANGO_ENV"] == "production"
    assert os.environ["ALLOWED_HOSTS"] == "localhost,.localhost,127.0.0.1"
    first_key = os.environ["SECRET_KEY"]
    assert len(first_key) >= 50
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0

    clean_environment.delenv("SECRET_KEY")
    serve.production_environment(tmp_path)
    assert os.environ["SECRET_KEY"] == first_key  # sessions survive a restart


def test_settings_given_in_the_environment_win(clean_environment, tmp_path):
    import os

    clean_environment.setenv("SECRET_KEY", "from-the-environment")
    clean_environment.setenv("ALLOWED_HOSTS", "learning-loop.example")
    serve.production_environment(tmp_path)
    assert os.environ["SECRET_KEY"] == "from-the-environment"
    assert os.environ["ALLOWED_HOSTS"] == "learning-loop.example"
    assert not (tmp_path / "secret_key").exists()


def test_gunicorn_runs_the_asgi_app_under_two_uvicorn_workers_by_default():
    command = serve.gunicorn_command()
    assert "learning_site.asgi:application" in command
    assert command[command.index("--worker-class") + 1] == "uvicorn_worker.UvicornWorker"
    assert command[command.index("--workers") + 1] == "2"


def test_the_sync_worker_class_serves_the_wsgi_app():
    command = serve.gunicorn_command("sync", workers=3)
    assert "learning_site.wsgi:application" in command
    assert command[command.index("--worker-class") + 1] == "sync"
    assert command[command.index("--workers") + 1] == "3"


def test_ping_answers_pong_for_the_benchmark_floor(page_client):
    response = page_client().get("/ping")
    assert response.status_code == 200
    assert response.content == b"pong"
    assert page_client().post("/ping").status_code == 405
