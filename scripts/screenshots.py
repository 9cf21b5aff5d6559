#!/usr/bin/env python
"""Retake the README's console screenshots (docs/screenshot-*.png).

By default it starts a throwaway Agentry of its own: a fresh SQLite database
in a temporary directory, ``migrate``, ``seed_demo``, a web server on a free
loopback port, a few runs of the demo agents through the API so the charts
have data; then it logs in as the demo user in Debian's Chromium (headless,
through Playwright) and saves each page.  ``--url`` points it at a server
that is already running (``make run``) instead.

    .venv-dev/bin/python scripts/screenshots.py
    .venv-dev/bin/python scripts/screenshots.py --url http://127.0.0.1:8000 --password demo-password
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import expect, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
CHROMIUM = os.environ.get("AGENTRY_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# (file name, path, a heading that shows the page has rendered)
PAGES = [
    ("screenshot-dashboard.png", "/", "Dashboard"),
    ("screenshot-agent.png", "/agents/support-bot/", "Support Bot"),
]
QUESTIONS = ["Where is my order?", "Can I change my delivery address?", "Do you ship to Norway?",
             "How do I reset my password?", "What is your refund policy?"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, deadline_seconds: float = 60.0) -> None:
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url + "/login/", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {deadline_seconds:.0f} s")


def manage(env: dict, *args: str) -> str:
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{result.stderr}")
    return result.stdout


@contextlib.contextmanager
def throwaway_server(password: str):
    """A fresh Agentry with the demo data on a free port; yields its URL and the demo token."""
    with tempfile.TemporaryDirectory(prefix="agentry-screenshots-") as data_dir:
        port = free_port()
        env = {**os.environ, "AGENTRY_DATA_DIR": data_dir, "PORT": str(port), "AGENTRY_DEMO_PASSWORD": password,
               "DATABASE_URL": "", "REDIS_URL": "", "DJANGO_DEBUG": "0"}
        manage(env, "migrate", "--noinput")
        token = manage(env, "seed_demo").strip().splitlines()[-1]
        server = subprocess.Popen([sys.executable, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1",
                                   "--port", str(port), "--lifespan", "off"], cwd=ROOT, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}"
            wait_until_up(url)
            yield url, token
        finally:
            server.terminate()
            server.wait(timeout=10)


def give_the_charts_data(url: str, token: str) -> None:
    """Start the support bot and run it a few times (the echo provider answers offline)."""
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url + "/api/v1", headers=headers, timeout=30) as api:
        api.post("/agents/support-bot/start").raise_for_status()
        for question in QUESTIONS:
            api.post("/agents/support-bot/invoke", json={"input": {"message": question}}).raise_for_status()
        api.post("/agents/summarizer/invoke", json={"prompt": "Agentry runs agents."}).raise_for_status()


def take(url: str, username: str, password: str) -> list[Path]:
    DOCS.mkdir(exist_ok=True)
    saved = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=url, color_scheme="light")
        page = context.new_page()
        page.goto("/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()
        for name, path, heading in PAGES:
            page.goto(path)
            expect(page.get_by_role("heading", name=heading, level=1)).to_be_visible()
            page.wait_for_load_state("networkidle")
            target = DOCS / name
            page.screenshot(path=str(target))
            saved.append(target)
        browser.close()
    return saved


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running Agentry (default: start a throwaway one)")
    parser.add_argument("--username", default="demo")
    parser.add_argument("--password", default=os.environ.get("AGENTRY_DEMO_PASSWORD", "demo-password"))
    args = parser.parse_args(argv)
    if args.url:
        saved = take(args.url.rstrip("/"), args.username, args.password)
    else:
        with throwaway_server(args.password) as (url, token):
            give_the_charts_data(url, token)
            saved = take(url, args.username, args.password)
    for path in saved:
        print(path.relative_to(ROOT))


if __name__ == "__main__":
    main()
