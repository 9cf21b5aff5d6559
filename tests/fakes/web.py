"""A real HTTP server on loopback for the nodes that call out (``http_request``):
a handler class answers, the fixture-style context manager runs it on a free
port and stops it afterwards."""

from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class QuietHandler(BaseHTTPRequestHandler):
    """A handler that answers bytes or JSON and keeps the test output clean."""

    def send_body(self, status: int, raw: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def send_json(self, status: int, payload) -> None:
        self.send_body(status, json.dumps(payload).encode())

    def log_message(self, *args):
        pass


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler], **attributes):
    """Run ``handler`` on ``127.0.0.1`` at a free port; ``attributes`` are set
    on the server, where the handler finds them as ``self.server.<name>``."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    for name, value in attributes.items():
        setattr(server, name, value)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
