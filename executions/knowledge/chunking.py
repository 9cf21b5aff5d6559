"""Cutting parsed blocks into chunks by structure: a chunk never spans two
headings or two pages (so a citation's page is exact), paragraphs are packed
whole up to ``size`` characters, a longer paragraph is cut at sentences and
then words, and each chunk after the first of a section repeats the last
``overlap`` characters of the one before (at a word boundary), so a passage
cut in two is still found whole."""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import groupby

from executions.knowledge.parsing import Block

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class ChunkDraft:
    text: str
    page: int | None
    heading: str


def chunk_blocks(blocks: list[Block], *, size: int, overlap: int) -> list[ChunkDraft]:
    """The chunks of ``blocks``, in document order."""
    overlap = max(0, min(overlap, size // 2))
    chunks: list[ChunkDraft] = []
    for (page, heading), section in groupby(blocks, key=lambda block: (block.page, block.heading)):
        pieces = [(piece, i == 0) for block in section for i, piece in enumerate(_pieces(block.text, size))]
        chunks += [ChunkDraft(text, page, heading) for text in _pack(pieces, size, overlap)]
    return chunks


def _pieces(text: str, size: int) -> list[str]:
    """``text`` as parts of at most ``size`` characters: whole, else by
    sentences, else by words (and a word longer than ``size`` by force)."""
    if len(text) <= size:
        return [text]
    pieces: list[str] = []
    for sentence in _SENTENCE_END.split(text):
        if len(sentence) <= size:
            pieces.append(sentence)
            continue
        line = ""
        for word in sentence.split():
            while len(word) > size:
                if line:
                    pieces.append(line)
                    line = ""
                pieces.append(word[:size])
                word = word[size:]
            if line and len(line) + 1 + len(word) > size:
                pieces.append(line)
                line = word
            else:
                line = f"{line} {word}" if line else word
        if line:
            pieces.append(line)
    return pieces


def _pack(pieces: list[tuple[str, bool]], size: int, overlap: int) -> list[str]:
    """Join ``pieces`` (each at most ``size``; the flag: it starts a paragraph)
    into chunks of at most ``size``, paragraphs on lines of their own."""
    chunks: list[str] = []
    current = ""
    for piece, starts_paragraph in pieces:
        joined = f"{current}{chr(10) if starts_paragraph else ' '}{piece}" if current else piece
        if len(joined) <= size:
            current = joined
            continue
        chunks.append(current)
        tail = _tail(current, overlap)
        current = f"{tail} {piece}" if tail and len(tail) + 1 + len(piece) <= size else piece
    if current:
        chunks.append(current)
    return chunks


def _tail(text: str, overlap: int) -> str:
    """The last ``overlap`` characters of ``text``, starting at a word; none
    when the chunk is hardly longer than that."""
    if overlap <= 0 or len(text) <= 2 * overlap:
        return ""
    tail = text[-overlap:]
    space = tail.find(" ")
    return tail[space + 1:] if 0 <= space < len(tail) - 1 else tail
