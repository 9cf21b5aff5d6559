"""The knowledge base in the browser: several files uploaded at once, each
with its progress bar, their status updating live while the real Celery
worker ingests them (ready, or failed with the reason), then a search that
finds a passage with its document and page."""

import pytest
from playwright.sync_api import expect

from executions.knowledge import vectors
from tests.browser.conftest import axe_check
from tests.executions.knowledge.documents import pdf_bytes

SENTENCE = "The harbour master inspects the lighthouse lenses every second Tuesday."


@pytest.fixture
def knowledge_storage(settings, tmp_path):
    # Where the test's Celery worker (AGENTRY_DATA_DIR=tmp_path) reads the files.
    settings.STORAGES = {**settings.STORAGES, "knowledge": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path / "knowledge")}}}
    settings.AGENTRY_KNOWLEDGE_EMBEDDING = ""
    vectors.forget()
    yield
    vectors.forget()


def test_upload_watch_ready_and_search(console, knowledge_storage, make_user, make_agent):
    owner = make_user("librarian")
    agent = make_agent(owner, name="Harbour Office")
    page = console.page(owner)
    page.goto(f"/agents/{agent.slug}/knowledge/")
    expect(page.get_by_role("heading", name="Knowledge base", level=2)).to_be_visible()
    axe_check(page)

    # three files at once: a good PDF, a Markdown note and a broken PDF
    page.get_by_label("Files").set_input_files([
        {"name": "harbour.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes(4, special={3: SENTENCE})},
        {"name": "parking.md", "mimeType": "text/markdown", "buffer": b"# Parking\n\nVisitors park in bay seven.\n"},
        {"name": "broken.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes(3)[:500]},
    ])
    page.get_by_role("button", name="Upload").click()

    uploads = page.get_by_role("list", name="Uploads")
    for name in ("harbour.pdf", "parking.md", "broken.pdf"):
        expect(uploads.get_by_label(name)).to_have_attribute("value", "100")  # its own progress bar
        expect(uploads.locator("li", has_text=name)).to_contain_text("uploaded; processing")

    # the worker ingests them; the table updates itself until none is processing
    documents = page.locator("#documents")
    expect(documents.locator("tr", has_text="harbour.pdf").locator("[data-role=status]")).to_contain_text(
        "Ready", timeout=60_000)
    expect(documents.locator("tr", has_text="parking.md").locator("[data-role=status]")).to_contain_text(
        "Ready", timeout=60_000)
    broken = documents.locator("tr", has_text="broken.pdf").locator("[data-role=status]")
    expect(broken).to_contain_text("Failed", timeout=60_000)
    expect(broken.locator(".doc-error")).to_contain_text("corrupt")
    expect(documents).to_have_attribute("data-polling", "false")
    expect(documents.get_by_role("status")).to_have_text("3 documents: 2 ready, 0 processing, 1 failed.")
    expect(documents.locator("tr", has_text="harbour.pdf").locator("td.num").nth(1)).to_have_text("4")  # pages

    # search: the passage, its document and page, and which retriever found it
    page.get_by_label("Search the documents").fill("lighthouse lenses inspected")
    page.get_by_role("button", name="Search").click()
    hit = page.locator(".hit").first
    expect(hit).to_contain_text(SENTENCE)
    expect(hit.locator(".hit-source")).to_contain_text("harbour.pdf")
    expect(hit.locator(".hit-source")).to_contain_text("page 3")
    expect(hit.locator(".hit-source")).to_contain_text("found by full-text search")
    expect(page.locator("#search-results")).to_contain_text("full-text search only")
    axe_check(page)
