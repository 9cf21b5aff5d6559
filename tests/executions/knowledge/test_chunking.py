"""Chunks follow the structure: headings and pages bound them, size and overlap hold."""

from executions.knowledge.chunking import chunk_blocks
from executions.knowledge.parsing import Block


def test_paragraphs_are_packed_whole_up_to_the_size():
    blocks = [Block("a" * 40), Block("b" * 40), Block("c" * 40)]
    chunks = chunk_blocks(blocks, size=100, overlap=0)
    assert [c.text for c in chunks] == ["a" * 40 + "\n" + "b" * 40, "c" * 40]


def test_a_chunk_never_spans_two_pages_or_headings():
    blocks = [Block("one", page=1), Block("two", page=2), Block("three", page=2, heading="H")]
    assert [(c.text, c.page, c.heading) for c in chunk_blocks(blocks, size=1000, overlap=100)] == [
        ("one", 1, ""), ("two", 2, ""), ("three", 2, "H")]


def test_long_paragraphs_are_cut_at_sentences_with_overlap():
    text = " ".join(f"Sentence {n} is here." for n in range(40))
    chunks = chunk_blocks([Block(text)], size=120, overlap=30)
    assert len(chunks) > 5 and all(len(c.text) <= 120 for c in chunks)
    for before, after in zip(chunks, chunks[1:]):
        overlap = after.text.split(" Sentence ")[0]
        assert before.text.endswith(overlap)  # the next chunk starts with the end of this one
    words = " ".join(c.text for c in chunks)
    assert all(f"Sentence {n} is here." in words for n in range(40))


def test_words_longer_than_a_chunk_are_cut():
    chunks = chunk_blocks([Block("x" * 250)], size=100, overlap=10)
    # the last piece carries the 10-character overlap and a space
    assert [len(c.text) for c in chunks] == [100, 100, 61]


def test_overlap_is_at_most_half_a_chunk():
    text = " ".join(f"w{n}" for n in range(200))
    chunks = chunk_blocks([Block(text)], size=100, overlap=500)
    assert all(len(c.text) <= 100 for c in chunks) and len(chunks) > 5
