"""Reading uploaded files: which kind a file is, told by its content (magic
bytes, then the parsers themselves) and never by the client's filename or
content type; and the text it holds, as blocks that keep their page or slide
number and the heading they sit under, for the chunker.

Every failure is a ``ParseProblem`` whose message a user can act on
(encrypted PDF, corrupt file, no text found)."""

from __future__ import annotations

import codecs
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.conf import settings

from executions.knowledge.models import DocumentKind

SNIFF_BYTES = 8192
MAX_EXPANSION = 20  # an Office file may unpack to this many times the upload limit
_HTML = re.compile(rb"<(!doctype\s+html|html|head|body|p|div|h[1-6])[\s>]", re.I)
_MARKDOWN = re.compile(r"(?m)^(#{1,6}\s+\S|```|\s*[-*+]\s+\S|\s*\d+\.\s+\S|>\s)|\[[^\]\n]+\]\([^)\n]+\)")
_BLANK_LINES = re.compile(r"\n\s*\n")
_SPACES = re.compile(r"[ \t\r\f\v]+")


class UnsupportedFile(Exception):
    """Not one of the kinds the knowledge base reads."""


class ParseProblem(Exception):
    """The file is of a known kind but cannot be read; the message says why."""


@dataclass
class Block:
    text: str
    page: int | None = None
    heading: str = ""


@dataclass
class ParsedDocument:
    blocks: list[Block] = field(default_factory=list)
    pages: int | None = None


# --- what kind of file --------------------------------------------------------------------------

def detect_kind(stream) -> str:
    """The ``DocumentKind`` of the file ``stream`` (seekable, binary), from
    its bytes; ``UnsupportedFile`` for anything else (an executable, an image,
    a spreadsheet, a zip that is no Office document)."""
    stream.seek(0)
    head = stream.read(SNIFF_BYTES)
    stream.seek(0)
    if b"%PDF-" in head[:1024]:
        return DocumentKind.PDF
    if head.startswith(b"PK\x03\x04"):
        return _office_kind(stream)
    text = _sniff_text(head)
    if text is None:
        raise UnsupportedFile("This file is not a PDF, PPTX, DOCX, HTML, Markdown or text document.")
    if _HTML.search(head[:4096]):
        return DocumentKind.HTML
    if _MARKDOWN.search(text):
        return DocumentKind.MARKDOWN
    return DocumentKind.TEXT


def _office_kind(stream) -> str:
    try:
        with zipfile.ZipFile(stream) as archive:
            names = set(archive.namelist())
            expanded = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        raise UnsupportedFile("This file is a damaged zip archive, not a PPTX or DOCX document.") from None
    finally:
        stream.seek(0)
    limit = MAX_EXPANSION * settings.AGENTRY_KNOWLEDGE_MAX_BYTES
    if expanded > limit:  # a zip bomb: a few MB that unpack to gigabytes
        raise UnsupportedFile(f"This archive unpacks to {expanded // 2**20} MB, more than the "
                              f"{limit // 2**20} MB a document may.")
    if "ppt/presentation.xml" in names:
        return DocumentKind.PPTX
    if "word/document.xml" in names:
        return DocumentKind.DOCX
    raise UnsupportedFile("This zip archive is not a PPTX or DOCX document.")


def _text_codec(head: bytes) -> str:
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return "utf-8-sig"


def _sniff_text(head: bytes) -> str | None:
    """``head`` decoded when it reads as text: UTF-8 (or UTF-16 with a BOM),
    no NUL bytes and hardly any control characters; else ``None``."""
    if not head:
        return None
    codec = _text_codec(head)
    if codec == "utf-8-sig" and b"\x00" in head:
        return None
    try:
        text = codecs.getincrementaldecoder(codec)().decode(head, final=False)
    except UnicodeDecodeError:
        return None
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\n\r\f")
    return text if controls <= len(text) // 100 else None


# --- the text inside ------------------------------------------------------------------------------

def parse(stream, kind: str) -> ParsedDocument:
    """The blocks of text in ``stream``, a file of ``kind``."""
    parser = {DocumentKind.PDF: _parse_pdf, DocumentKind.PPTX: _parse_pptx, DocumentKind.DOCX: _parse_docx,
              DocumentKind.HTML: _parse_html, DocumentKind.MARKDOWN: _parse_markdown,
              DocumentKind.TEXT: _parse_text}[kind]
    stream.seek(0)
    parsed = parser(stream)
    parsed.blocks = [block for block in parsed.blocks if block.text]
    if not parsed.blocks:
        hint = " (a scanned PDF needs OCR, which is not supported)" if kind == DocumentKind.PDF else ""
        raise ParseProblem(f"No text found in the document{hint}.")
    return parsed


def _clean(text: str) -> str:
    return "\n".join(_SPACES.sub(" ", line).strip() for line in text.replace("\x00", "").splitlines()).strip()


def _paragraphs(text: str) -> Iterator[str]:
    for paragraph in _BLANK_LINES.split(text):
        cleaned = _clean(paragraph)
        if cleaned:
            yield cleaned


def _parse_pdf(stream) -> ParsedDocument:
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError

    try:
        reader = PdfReader(stream)
        if reader.is_encrypted and not reader.decrypt(""):
            raise ParseProblem("The PDF is encrypted with a password; upload a copy without one.")
        parsed = ParsedDocument(pages=len(reader.pages))
        for number, page in enumerate(reader.pages, 1):
            for paragraph in _paragraphs(page.extract_text() or ""):
                parsed.blocks.append(Block(paragraph, page=number))
    except ParseProblem:
        raise
    except FileNotDecryptedError:
        raise ParseProblem("The PDF is encrypted with a password; upload a copy without one.") from None
    except Exception as exc:  # pypdf raises PdfReadError and many others for a broken file
        raise ParseProblem(f"The PDF is corrupt or truncated and cannot be read ({_reason(exc)}).") from None
    return parsed


def _parse_pptx(stream) -> ParsedDocument:
    from pptx import Presentation

    try:
        presentation = Presentation(stream)
        parsed = ParsedDocument(pages=len(presentation.slides))
        for number, slide in enumerate(presentation.slides, 1):
            title_shape = slide.shapes.title
            title = _clean(title_shape.text_frame.text) if title_shape is not None and title_shape.has_text_frame \
                else ""
            if title:
                parsed.blocks.append(Block(title, page=number, heading=title))
            for shape in slide.shapes:
                if shape is title_shape:
                    continue
                for text in _shape_texts(shape):
                    parsed.blocks.append(Block(text, page=number, heading=title))
            if slide.has_notes_slide:
                for paragraph in _paragraphs(slide.notes_slide.notes_text_frame.text or ""):
                    parsed.blocks.append(Block(paragraph, page=number, heading=title))
    except Exception as exc:  # python-pptx raises KeyError, XML and zip errors for a broken file
        raise ParseProblem(f"The PPTX file is corrupt and cannot be read ({_reason(exc)}).") from None
    return parsed


def _shape_texts(shape) -> Iterator[str]:
    if getattr(shape, "has_text_frame", False) and shape.has_text_frame:
        for paragraph in shape.text_frame.paragraphs:
            text = _clean("".join(run.text for run in paragraph.runs))
            if text:
                yield text
    if getattr(shape, "has_table", False) and shape.has_table:
        for row in shape.table.rows:
            text = _clean(" | ".join(cell.text for cell in row.cells))
            if text:
                yield text
    for child in getattr(shape, "shapes", ()):  # a group
        yield from _shape_texts(child)


def _parse_docx(stream) -> ParsedDocument:
    import docx

    try:
        document = docx.Document(stream)
        parsed = ParsedDocument()
        heading = ""
        for item in document.iter_inner_content():
            if isinstance(item, docx.table.Table):
                for row in item.rows:
                    text = _clean(" | ".join(cell.text for cell in row.cells))
                    if text:
                        parsed.blocks.append(Block(text, heading=heading))
                continue
            text = _clean(item.text)
            style = (item.style.name if item.style is not None else "") or ""
            if text and style.startswith(("Heading", "Title")):
                heading = text
            if text:
                parsed.blocks.append(Block(text, heading=heading))
    except Exception as exc:  # python-docx raises KeyError, XML and zip errors for a broken file
        raise ParseProblem(f"The DOCX file is corrupt and cannot be read ({_reason(exc)}).") from None
    return parsed


_HTML_BLOCKS = ("h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "pre", "blockquote", "td", "th", "dt", "dd",
                "figcaption", "caption")


def _parse_html(stream) -> ParsedDocument:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(_decode(stream.read()), "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "svg"]):
        tag.decompose()
    parsed = ParsedDocument()
    heading = _clean(soup.title.get_text(" ")) if soup.title else ""
    for element in soup.find_all(_HTML_BLOCKS):
        if element.find_parent(_HTML_BLOCKS) is not None:
            continue  # its text is part of the enclosing block
        text = _clean(element.get_text(" "))
        if not text:
            continue
        if element.name in ("h1", "h2", "h3", "h4", "h5", "h6"):
            heading = text
        parsed.blocks.append(Block(text, heading=heading))
    if not parsed.blocks:
        body = soup.body or soup
        parsed.blocks = [Block(paragraph, heading=heading) for paragraph in _paragraphs(body.get_text("\n"))]
    return parsed


_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_EMPHASIS = re.compile(r"(\*\*|__|\*|_|`)(\S(?:.*?\S)?)\1")


def _parse_markdown(stream) -> ParsedDocument:
    parsed = ParsedDocument()
    heading, paragraph, fenced = "", [], False

    def flush():
        text = _clean("\n".join(paragraph))
        if text:
            parsed.blocks.append(Block(text, heading=heading))
        paragraph.clear()

    for line in _decode(stream.read()).splitlines():
        if line.strip().startswith("```"):
            fenced = not fenced
            continue
        match = None if fenced else _MD_HEADING.match(line)
        if match:
            flush()
            heading = _inline_markdown(match.group(2))
            parsed.blocks.append(Block(heading, heading=heading))
        elif not line.strip() and not fenced:
            flush()
        else:
            paragraph.append(line if fenced else _inline_markdown(line))
    flush()
    return parsed


def _inline_markdown(text: str) -> str:
    return _MD_EMPHASIS.sub(r"\2", _MD_LINK.sub(r"\1", text))


def _parse_text(stream) -> ParsedDocument:
    return ParsedDocument(blocks=[Block(paragraph) for paragraph in _paragraphs(_decode(stream.read()))])


def _decode(raw: bytes) -> str:
    try:
        return raw.decode(_text_codec(raw))
    except UnicodeDecodeError:
        raise ParseProblem("The file is not valid UTF-8 text.") from None


def _reason(exc: Exception) -> str:
    return (str(exc) or type(exc).__name__)[:200]


def as_stream(data: bytes) -> io.BytesIO:
    return io.BytesIO(data)
