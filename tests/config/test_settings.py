"""``config/settings.py`` reads the environment once; these start a fresh
interpreter with the environment a deployment would give it."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Neither driver counts as installed: the import system finds nothing for them.
WITHOUT_PSYCOPG = "import sys; sys.modules['psycopg'] = sys.modules['psycopg2'] = None; import config.settings"


def load_settings(tmp_path, code: str, **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "AGENTRY_DATA_DIR": str(tmp_path), **env}
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True,
                          text=True, timeout=60)


def test_postgresql_without_its_driver_names_the_extra_to_install(tmp_path):
    result = load_settings(tmp_path, WITHOUT_PSYCOPG, DATABASE_URL="postgres://agentry@127.0.0.1:5432/agentry")

    assert result.returncode == 1
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line == ("django.core.exceptions.ImproperlyConfigured: DATABASE_URL names PostgreSQL, whose driver "
                         "is not installed: pip install 'agentry[postgres]' (in a checkout: "
                         ".venv/bin/pip install -e '.[postgres]')")


def test_sqlite_needs_no_postgresql_driver(tmp_path):
    result = load_settings(tmp_path, WITHOUT_PSYCOPG + "; print(config.settings.DATABASES['default']['ENGINE'])",
                           DATABASE_URL="")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "core.db.sqlite3"
