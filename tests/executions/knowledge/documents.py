"""Real documents, built in the test: PDF (fpdf2, encrypted with pypdf),
PPTX (python-pptx), DOCX (python-docx), HTML and Markdown."""

from __future__ import annotations

import io

PAGE_17_SENTENCE = "The lighthouse keeper records the tide tables every Thursday at dawn."


def pdf_bytes(pages: int = 20, *, special: dict[int, str] | None = None) -> bytes:
    """A PDF of ``pages`` pages, each saying which page it is; ``special``
    adds a sentence to some pages (page 17 gets :data:`PAGE_17_SENTENCE` by default)."""
    from fpdf import FPDF

    special = {17: PAGE_17_SENTENCE} if special is None else special
    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    for number in range(1, pages + 1):
        pdf.add_page()
        pdf.multi_cell(0, 6, f"Chapter {number}. This page describes routine number {number} of the harbour "
                             f"office, with its forms and the people who sign them.")
        pdf.ln(4)
        if number in special:
            pdf.multi_cell(0, 6, special[number])
    return bytes(pdf.output())


def encrypted_pdf_bytes() -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf_bytes(2))))
    writer.encrypt(user_password="s3cret", owner_password="owner", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def scanned_pdf_bytes() -> bytes:
    """A PDF whose pages carry no text at all (as a scan without OCR)."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.rect(10, 10, 50, 50)
    return bytes(pdf.output())


def pptx_bytes(slides: list[tuple[str, str]]) -> bytes:
    from pptx import Presentation

    presentation = Presentation()
    for title, body in slides:
        slide = presentation.slides.add_slide(presentation.slide_layouts[1])
        slide.shapes.title.text = title
        slide.placeholders[1].text = body
    out = io.BytesIO()
    presentation.save(out)
    return out.getvalue()


def docx_bytes(sections: list[tuple[str, str]]) -> bytes:
    import docx

    document = docx.Document()
    for heading, paragraph in sections:
        document.add_heading(heading, level=1)
        document.add_paragraph(paragraph)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def html_bytes(title: str, sections: list[tuple[str, str]]) -> bytes:
    body = "".join(f"<h2>{h}</h2><p>{p}</p>" for h, p in sections)
    return (f"<!DOCTYPE html><html><head><title>{title}</title><style>p {{color: red}}</style>"
            f"<script>var secret = 'never indexed';</script></head><body><h1>{title}</h1>{body}</body></html>"
            ).encode()


def markdown_bytes(sections: list[tuple[str, str]]) -> bytes:
    return "\n\n".join(f"## {h}\n\n{p}" for h, p in sections).encode()


def exe_bytes() -> bytes:
    """The start of a Windows executable: an MZ header, a PE signature and padding."""
    return b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"PE\x00\x00" + bytes(
        range(256)) * 8
