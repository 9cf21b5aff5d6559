"""Which kind a file is, told by its bytes, and what the parsers keep."""

import io

import pytest

from executions.knowledge.parsing import ParseProblem, UnsupportedFile, detect_kind, parse
from tests.executions.knowledge.documents import (
    PAGE_17_SENTENCE,
    docx_bytes,
    encrypted_pdf_bytes,
    exe_bytes,
    html_bytes,
    markdown_bytes,
    pdf_bytes,
    pptx_bytes,
)


@pytest.mark.parametrize("content, kind", [
    (pdf_bytes(1), "pdf"),
    (pptx_bytes([("T", "b")]), "pptx"),
    (docx_bytes([("H", "p")]), "docx"),
    (html_bytes("T", [("H", "p")]), "html"),
    (markdown_bytes([("H", "p")]), "md"),
    (b"Just some words.\nAnd another line.", "txt"),
    ("Überall grüne Wiesen.".encode("utf-16"), "txt"),
])
def test_kind_is_told_by_content(content, kind):
    assert detect_kind(io.BytesIO(content)) == kind


@pytest.mark.parametrize("content", [
    exe_bytes(), b"\x89PNG\r\n\x1a\n" + bytes(range(256)), b"\xff\xd8\xff\xe0" + bytes(200), bytes(range(256)) * 4,
])
def test_binary_files_are_unsupported(content):
    with pytest.raises(UnsupportedFile):
        detect_kind(io.BytesIO(content))


def test_pdf_blocks_keep_their_page():
    parsed = parse(io.BytesIO(pdf_bytes(20)), "pdf")
    assert parsed.pages == 20
    page_17 = [block for block in parsed.blocks if PAGE_17_SENTENCE in block.text.replace("\n", " ")]
    assert [block.page for block in page_17] == [17]


def test_encrypted_pdf_says_so():
    with pytest.raises(ParseProblem, match="encrypted with a password"):
        parse(io.BytesIO(encrypted_pdf_bytes()), "pdf")


def test_pdf_with_an_empty_user_password_is_read():
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf_bytes(2))))
    writer.encrypt(user_password="", owner_password="owner", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    assert parse(io.BytesIO(out.getvalue()), "pdf").pages == 2


def test_pptx_notes_and_tables_are_read():
    from pptx import Presentation
    from pptx.util import Inches

    presentation = Presentation()
    slide = presentation.slides.add_slide(presentation.slide_layouts[5])
    slide.shapes.title.text = "Prices"
    table = slide.shapes.add_table(2, 2, Inches(1), Inches(2), Inches(4), Inches(1)).table
    table.cell(0, 0).text, table.cell(0, 1).text = "Item", "Cost"
    table.cell(1, 0).text, table.cell(1, 1).text = "Anchor", "40"
    slide.notes_slide.notes_text_frame.text = "Mention the discount."
    out = io.BytesIO()
    presentation.save(out)

    texts = [(block.page, block.heading, block.text) for block in parse(io.BytesIO(out.getvalue()), "pptx").blocks]
    assert (1, "Prices", "Anchor | 40") in texts and (1, "Prices", "Mention the discount.") in texts


def test_markdown_strips_links_and_emphasis_and_keeps_code():
    text = b"# Title\n\nSee [the guide](http://x/y) for **bold** steps.\n\n```\nmake run\n```\n"
    blocks = parse(io.BytesIO(text), "md").blocks
    assert [b.text for b in blocks] == ["Title", "See the guide for bold steps.", "make run"]
    assert all(b.heading == "Title" for b in blocks)


def test_text_that_is_not_utf8_is_a_problem():
    with pytest.raises(ParseProblem, match="UTF-8"):
        parse(io.BytesIO(b"caf\xe9 au lait"), "txt")


def test_an_office_file_that_unpacks_to_gigabytes_is_refused(settings):
    import zipfile

    settings.AGENTRY_KNOWLEDGE_MAX_BYTES = 10_000
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", b"\x00" * 1_000_000)
    assert len(out.getvalue()) < 10_000
    with pytest.raises(UnsupportedFile, match="unpacks to"):
        detect_kind(io.BytesIO(out.getvalue()))
