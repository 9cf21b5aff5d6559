"""A real ``celery -A config beat`` process (django-celery-beat's
DatabaseScheduler) on the test database and the broker of the
``celery_worker`` fixture, ticking every second.  Register with
``pytest_plugins`` (or import the fixture) beside ``tests.fakes.worker``."""

import pytest


class BeatProcess:
    """Beat in a subprocess; reads periodic tasks from the database and sends due ones to the broker."""

    def __init__(self, env: dict, workdir, log_path):
        self.env, self.workdir, self.log_path = env, workdir, log_path
        self.process = None

    def start(self, timeout: float = 60) -> "BeatProcess":
        import subprocess
        import sys
        import time

        self.log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel=INFO", "--max-interval=1",
             "--scheduler=django_celery_beat.schedulers:DatabaseScheduler",
             f"--pidfile={self.workdir / 'beat.pid'}", f"--schedule={self.workdir / 'beat-schedule'}"],
            env=self.env, cwd=self.workdir, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if b"beat: Starting..." in self.log_path.read_bytes():
                return self
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"Celery beat did not start:\n{self.log_path.read_text()[-3000:]}")

    def output(self) -> str:
        return self.log_path.read_text()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except Exception:
                self.process.kill()
                self.process.wait(5)
        if not self.log.closed:
            self.log.close()


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
