"""A real HTTP server on loopback for the network guard's clients."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

import pytest


class _Handler(BaseHTTPRequestHandler):
    """``/ok`` answers 200; ``/to?url=…`` redirects there."""

    def do_GET(self):
        if self.path.startswith("/to?url="):
            self.send_response(302)
            self.send_header("Location", unquote(self.path.removeprefix("/to?url=")))  # aiohttp quotes "[" and "]"
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = b"ok"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def local_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
