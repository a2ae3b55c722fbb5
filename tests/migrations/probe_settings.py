"""Settings for a ``manage.py`` subprocess that loads the probe release (tests.migrations.probe).

``LL_PROBE_MIGRATIONS_DIR`` is the directory :func:`probe_migrations_write` wrote into.
"""

import os
import sys

from learning_site.settings import *  # noqa: F403
from tests.migrations.probe import PROBE_PACKAGE

sys.path.insert(0, os.environ["LL_PROBE_MIGRATIONS_DIR"])
MIGRATION_MODULES = {"crm": PROBE_PACKAGE}
