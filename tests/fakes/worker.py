"""Pytest plugin: a real Celery worker process sharing the test database
(register with ``pytest_plugins``)."""

import pytest


def wait_for(predicate, timeout=30.0, interval=0.1):
    """Poll ``predicate`` until it returns something truthy, and return that."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")


class CeleryProcess:
    """A ``celery -A config <args>`` subprocess logging to ``log_path``,
    ready once ``ready_marker`` appears in the log since its last restart."""

    name = "Celery"
    ready_marker = b""

    def __init__(self, env: dict, log_path, cwd=None):
        self.env, self.log_path, self.cwd = env, log_path, cwd
        self.process = None

    def arguments(self) -> list[str]:
        raise NotImplementedError

    def start(self, timeout: float = 60):
        import subprocess
        import sys
        import time

        self.log = open(self.log_path, "ab")
        self.process = subprocess.Popen([sys.executable, "-m", "celery", "-A", "config", *self.arguments()],
                                        env=self.env, cwd=self.cwd, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.ready_marker in self.log_path.read_bytes().split(b"== restart ==")[-1]:
                return self
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} did not start:\n{self.log_path.read_text()[-3000:]}")

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


class WorkerProcess(CeleryProcess):
    """A real Celery worker in a subprocess, on the test database."""

    name, ready_marker = "Celery worker", b" ready."

    def __init__(self, env: dict, hostname: str, log_path):
        super().__init__(env, log_path)
        self.hostname = hostname

    def arguments(self) -> list[str]:
        return ["worker", "--pool=solo", "--loglevel=INFO", f"--hostname={self.hostname}", "--without-gossip",
                "--without-mingle", "--without-heartbeat"]

    def kill(self) -> None:
        import signal

        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        self.log.write(b"\n== restart ==\n")
        self.log.flush()



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
