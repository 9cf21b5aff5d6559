"""A real ``celery -A config beat`` process (django-celery-beat's
DatabaseScheduler) on the test database and the broker of the
``celery_worker`` fixture, ticking every second.  Register with
``pytest_plugins`` (or import the fixture) beside ``tests.fakes.worker``."""

import pytest

from tests.fakes.worker import CeleryProcess


class BeatProcess(CeleryProcess):
    """Beat in a subprocess; reads periodic tasks from the database and sends due ones to the broker."""

    name, ready_marker = "Celery beat", b"beat: Starting..."

    def __init__(self, env: dict, workdir, log_path):
        super().__init__(env, log_path, cwd=workdir)
        self.workdir = workdir

    def arguments(self) -> list[str]:
        return ["beat", "--loglevel=INFO", "--max-interval=1",
                "--scheduler=django_celery_beat.schedulers:DatabaseScheduler",
                f"--pidfile={self.workdir / 'beat.pid'}", f"--schedule={self.workdir / 'beat-schedule'}"]

    def output(self) -> str:
        return self.log_path.read_text()


@pytest.fixture
def celery_beat(celery_worker, tmp_path):
    """Start beat beside the worker, with the worker's environment (database,
    broker folder, keys), so what beat sends is what that worker runs.
    Create the periodic tasks before asking for this fixture, or let beat
    pick them up on its next tick (it re-reads changed tasks every second)."""
    workdir = tmp_path / "beat"
    workdir.mkdir()
    beat = BeatProcess(dict(celery_worker.env), workdir, tmp_path / "beat.log")
    try:
        yield beat.start()
    finally:
        beat.stop()
