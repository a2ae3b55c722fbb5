"""`make simulate`: the simulator against the demo organisation on the embedded default.

Like `make run`, it needs nothing installed by hand: with DATABASE_URL unset, Django's
settings start the embedded PostgreSQL under .data/. It migrates, seeds the demo
organisation on a first run, then runs ``manage.py simulate --org demo`` in-process (the
full Django stack, no server needed; pass ``--base-url http://127.0.0.1:8000`` in
SIMULATE_ARGS to drive a running server instead) and prints the report, which the
managers' Simulation page then shows.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str]) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "learning_site.settings")
    import django
    from django.core.management import call_command

    django.setup()  # starts the embedded PostgreSQL when DATABASE_URL is unset
    from apps.demo.constants import DEMO_SLUG
    from ops.devserver import database_ready

    database_ready()
    defaults = ["--base-url", "inprocess"] if "--base-url" not in argv else []
    call_command("simulate", "--org", DEMO_SLUG, *defaults, *argv)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
