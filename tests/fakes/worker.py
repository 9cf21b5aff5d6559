"""Pytest plugin: a real Celery worker process sharing the test database
(register with ``pytest_plugins``)."""

import pytest


class WorkerProcess:
    """A real Celery worker in a subprocess, on the test database."""

    def __init__(self, env: dict, hostname: str, log_path):
        self.env, self.hostname, self.log_path = env, hostname, log_path
        self.process = None

    def start(self, timeout: float = 60) -> "WorkerProcess":
        import subprocess
        import sys
        import time

        self.log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "--loglevel=INFO",
             f"--hostname={self.hostname}", "--without-gossip", "--without-mingle", "--without-heartbeat"],
            env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if b" ready." in self.log_path.read_bytes().split(b"== restart ==")[-1]:
                return self
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError(f"Celery worker did not start:\n{self.log_path.read_text()[-3000:]}")

    def kill(self) -> None:
        import signal

        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        self.log.write(b"\n== restart ==\n")
        self.log.flush()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except Exception:
                self.process.kill()
        self.log.close()


@pytest.fixture
def celery_worker(transactional_db, settings, tmp_path):
    """Start a worker that shares this test's database and broker."""
    import os
    import uuid

    from django.db import connection

    from config.celery import app

    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        database_url = f"sqlite:///{db['NAME']}"
    else:
        database_url = f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_SECRET_KEY": settings.SECRET_KEY,
           "AGENTRY_ENCRYPTION_KEY": settings.AGENTRY_ENCRYPTION_KEY, "AGENTRY_DATA_DIR": str(tmp_path),
           "AGENTRY_ALLOWED_PRIVATE_HOSTS": "127.0.0.1", "AGENTRY_LLM_BACKOFF_BASE": "0.01",
           "AGENTRY_EXECUTION_HEARTBEAT_SECONDS": "0.5", "AGENTRY_LOG_LEVEL": "INFO"}
    saved = app.conf.broker_transport_options
    if not settings.REDIS_URL:
        # The worker's broker lives in its data dir; send there too.
        broker = tmp_path / "broker"
        app.conf.broker_transport_options = {"data_folder_in": str(broker / "queue"),
                                             "data_folder_out": str(broker / "queue"),
                                             "control_folder": str(broker / "control")}
        _reset_broker_connections(app)
    worker = WorkerProcess(env, f"test-{uuid.uuid4().hex[:8]}@localhost", tmp_path / "worker.log")
    try:
        yield worker.start()
    finally:
        worker.stop()
        app.conf.broker_transport_options = saved
        _reset_broker_connections(app)


def _reset_broker_connections(app):
    """Drop pooled broker connections so the next send uses the current options."""
    from kombu import pools

    app.pool.force_close_all()
    app._pool = None
    app.amqp._producer_pool = None
    pools.reset()
