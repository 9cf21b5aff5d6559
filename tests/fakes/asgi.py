"""Pytest plugin: the real ASGI application (``config.asgi``) served by
uvicorn on 127.0.0.1, in a thread of the test process, so it shares the test
database and settings.  HTTP streams and WebSockets reach it over real
sockets, as a browser or a script would."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import pytest
import uvicorn

from config.asgi import application


class AsgiServer:
    def __init__(self):
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(application, lifespan="off", log_level="warning",
                                                    ws="websockets-sansio", timeout_graceful_shutdown=1))
        self.thread = threading.Thread(target=self._serve, name="asgi-server", daemon=True)

    def _serve(self):
        asyncio.run(self.server.serve(sockets=[self.socket]))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self) -> AsgiServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture(scope="session")
def asgi_server(django_db_setup, django_db_blocker):
    server = AsgiServer().start()
    yield server
    server.stop()
