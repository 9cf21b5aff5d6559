"""How well and how fast does the knowledge base retrieve?

Everything runs in this process against a throwaway SQLite data dir (the
product's settings and migrations, FTS5 included), with the fake LLM server
(``tests/fakes/llm_server.py``) in a thread as the embedding endpoint unless
``--embeddings-url`` names a real one.  Four parts:

1. **Retrieval quality** on a corpus the benchmark writes itself,
   deterministically (``--seed``): ``--passages`` passages (default 1,200),
   each about one animal from one city doing one job, with filler sentences;
   ``--queries`` questions (default 200) that each have exactly one right
   passage.  Half the questions name the job with the passage's own word,
   half with a synonym the passage never uses, which full text cannot match
   and a real embedding model can.  Reported: recall@5 and nDCG@10 for full
   text, and, with an embedding endpoint, for vectors alone and fused (RRF).
   The fake server's embeddings hash words into buckets: they check the
   plumbing (every chunk and query embedded, searched and fused), not
   meaning, and the report says so.
2. **Ingestion**: a ``--pdf-pages`` PDF (fpdf2) uploaded and ingested through
   the same services the API and the worker use (parse, chunk, index; no
   embeddings), ``--ingest-runs`` times: pages/s.
3. **Search latency** at each ``--sizes`` (default 10,000 and 100,000 chunks
   in one agent, as the worst case for one agent's search): full text, and
   hybrid through ``selectors.knowledge_search`` (query embedded over HTTP by
   the fake server, vector index, fusion, rows read back): p50/p95 over
   ``--searches`` queries, after the index has loaded.
4. **Vector index**: exact numpy scan vs usearch HNSW over the largest size
   at ``--dimensions`` (default 384, a common small embedding model): p50 and
   recall@10 of HNSW against exact, and the build time.  This is the
   measurement behind ``AGENTRY_KNOWLEDGE_ANN_MIN_VECTORS``.

Run from the project root::

    .venv/bin/python bench/knowledge_bench.py
    .venv/bin/python bench/knowledge_bench.py --sizes 10000 --searches 100        # quicker
    .venv/bin/python bench/knowledge_bench.py --embeddings-url http://127.0.0.1:11434/v1 \\
        --embeddings-model nomic-embed-text                                         # real vectors
"""

from __future__ import annotations

import argparse
import math
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

ANIMALS = ["otter", "falcon", "badger", "heron", "lynx", "walrus", "beaver", "gecko", "moose", "pelican", "ferret",
           "bison"]
CITIES = ["Lisbon", "Oslo", "Nairobi", "Lima", "Hanoi", "Quebec", "Tbilisi", "Perth", "Bergen", "Accra", "Cusco",
          "Zagreb"]
# job → a synonym the passages never use
JOBS = {"baker": "pastry maker", "carpenter": "woodworker", "nurse": "caregiver", "pilot": "aviator",
        "lawyer": "attorney", "plumber": "pipefitter", "teacher": "educator", "farmer": "grower",
        "journalist": "reporter", "surgeon": "doctor", "electrician": "wireman", "librarian": "archivist",
        "chef": "cook", "tailor": "dressmaker", "mechanic": "repairman", "painter": "artist",
        "sailor": "mariner", "gardener": "landscaper", "butcher": "meatcutter", "jeweller": "goldsmith"}
FOODS = ["figs", "lentils", "oysters", "barley", "plums", "walnuts", "sardines", "turnips", "apricots", "millet"]
COLOURS = ["amber", "grey", "russet", "ivory", "slate", "copper", "olive", "crimson"]
FILLER = [
    "Most mornings begin with a long walk along the river.",
    "Neighbours say the house is always full of music.",
    "On weekends there is time for chess and old films.",
    "The family has lived in the same street for decades.",
    "Winters are spent reading by the stove.",
    "A small notebook records every trip taken.",
    "Friends visit often and stay for supper.",
    "The garden has a pond that freezes in January.",
]
PASSAGE = ("The {colour} {animal} of {city} works as a {job}. Every day it eats {food}. {filler1} "
           "Its colleagues in {city} know the {animal} for its patience. {filler2}")
QUESTION = "Which {animal} in {city} is a {job}?"


# --- the corpus -------------------------------------------------------------------------------

def corpus(passages: int, queries: int, seed: int):
    """``(texts, questions)``: ``questions`` are ``(text, index of the right passage)``."""
    rng = random.Random(seed)
    triples = [(a, c, j) for a in ANIMALS for c in CITIES for j in JOBS]
    rng.shuffle(triples)
    if passages > len(triples):
        raise SystemExit(f"--passages is at most {len(triples)}")
    chosen = triples[:passages]
    texts = [PASSAGE.format(colour=rng.choice(COLOURS), animal=a, city=c, job=j, food=rng.choice(FOODS),
                            filler1=rng.choice(FILLER), filler2=rng.choice(FILLER)) for a, c, j in chosen]
    picked = rng.sample(range(passages), queries)
    questions = []
    for n, index in enumerate(picked):
        animal, city, job = chosen[index]
        words = job if n % 2 == 0 else JOBS[job]  # half exact, half synonym
        questions.append((QUESTION.format(animal=animal, city=city, job=words), index))
    return texts, questions


def recall_at(ranked: list[int], right: int, k: int) -> float:
    return 1.0 if right in ranked[:k] else 0.0


def ndcg_at(ranked: list[int], right: int, k: int) -> float:
    return next((1.0 / math.log2(rank + 2) for rank, item in enumerate(ranked[:k]) if item == right), 0.0)


# --- setup ------------------------------------------------------------------------------------

def setup(data_dir: Path) -> None:
    import logging

    logging.getLogger("kombu").setLevel(logging.ERROR)  # the uploads' tasks go to a broker nobody reads
    os.environ.update({"AGENTRY_DATA_DIR": str(data_dir), "DJANGO_SETTINGS_MODULE": "config.settings",
                       "DJANGO_DEBUG": "0", "AGENTRY_LOG_LEVEL": "WARNING",
                       "AGENTRY_ALLOWED_PRIVATE_HOSTS": "127.0.0.1,localhost"})
    for name in ("DATABASE_URL", "REDIS_URL"):
        os.environ.pop(name, None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def make_agent(owner, name: str, embedding: dict | None):
    from accounts.actor import Actor
    from agents.services import agent_create

    config = {"knowledge": {"embedding": embedding}} if embedding else {}
    return agent_create(actor=Actor(user=owner), name=name, config=config)


def bulk_chunks(agent, texts: list[str], vectors=None, model: str = "", batch: int = 2000):
    """One document per 1,000 chunks, chunks inserted directly (the FTS index
    follows through its triggers), the agent's revision bumped."""
    from django.db import transaction
    from django.db.models import F

    from executions.knowledge.models import Chunk, Document, KnowledgeBase
    from executions.knowledge.vectors import pack

    KnowledgeBase.objects.get_or_create(agent=agent)
    documents = {}
    with transaction.atomic():
        for start in range(0, len(texts), batch):
            rows = []
            for i in range(start, min(start + batch, len(texts))):
                number = i // 1000
                if number not in documents:
                    documents[number] = Document.objects.create(
                        agent=agent, document_id=f"bench-{number}", filename=f"bench-{number}.txt", kind="txt",
                        file_size=0, sha256="", storage_name="", status="ready", chunk_count=1000)
                rows.append(Chunk(agent=agent, document=documents[number], ordinal=i % 1000, text=texts[i],
                                  embedding=pack(vectors[i]) if vectors is not None else None,
                                  embedding_model=model if vectors is not None else ""))
            Chunk.objects.bulk_create(rows, batch_size=1000)
        KnowledgeBase.objects.filter(agent=agent).update(revision=F("revision") + 1)
    return documents


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def timed(fn, repeat: list) -> list[float]:
    out = []
    for item in repeat:
        start = time.perf_counter()
        fn(item)
        out.append((time.perf_counter() - start) * 1000)
    return out


# --- 1. quality ---------------------------------------------------------------------------------

def quality(args, owner, provider_name: str, real: bool) -> list[str]:
    from executions.knowledge.fulltext import full_text_search
    from executions.knowledge.models import Chunk
    from executions.knowledge.search import fuse
    from executions.knowledge.vectors import vector_search
    from executions.llm.embeddings import EmbeddingClient
    from executions.selectors import resolve_provider

    texts, questions = corpus(args.passages, args.queries, args.seed)
    model = args.embeddings_model
    agent = make_agent(owner, "Quality", {"provider": provider_name, "model": model})
    started = time.perf_counter()
    with EmbeddingClient(resolve_provider(provider_name), model) as client:
        vectors = client.embed(texts).vectors
        query_vectors = client.embed([q for q, _ in questions]).vectors
    embed_seconds = time.perf_counter() - started
    key = f"{provider_name}:{model}"
    bulk_chunks(agent, texts, vectors, key)
    position = {chunk_id: int(document.rsplit("-", 1)[1]) * 1000 + ordinal for chunk_id, document, ordinal in
                Chunk.objects.filter(agent=agent).values_list("id", "document__document_id", "ordinal")}
    scores = {"full text": [], "vectors": [], "fused (RRF)": []}
    for (question, right), vector in zip(questions, query_vectors):
        full_text = full_text_search(agent.pk, question, limit=50)
        nearest = vector_search(agent.pk, key, vector, limit=50)
        runs = {"full text": full_text, "vectors": nearest,
                "fused (RRF)": [(cid, s) for cid, s, _r in fuse({"full_text": full_text, "vector": nearest})]}
        for name, hits in runs.items():
            ranked = [position[cid] for cid, _ in hits]
            scores[name].append((recall_at(ranked, right, 5), ndcg_at(ranked, right, 10)))
    lines = [f"corpus: {len(texts)} passages, {len(questions)} questions (half naming the job by a synonym), "
             f"seed {args.seed}; embedded in {embed_seconds:.1f} s by {key}"]
    for name, values in scores.items():
        if name != "full text" and not real:
            continue
        recall = statistics.mean(v[0] for v in values)
        ndcg = statistics.mean(v[1] for v in values)
        lines.append(f"  {name:<12} recall@5 {recall:.3f}   nDCG@10 {ndcg:.3f}")
    if not real:
        fake_recall = statistics.mean(v[0] for v in scores["vectors"])
        fused_recall = statistics.mean(v[0] for v in scores["fused (RRF)"])
        lines.append(f"  (vectors {fake_recall:.3f} and fused {fused_recall:.3f} recall@5 come from the fake server's "
                     "hashed bag-of-words embeddings: they check the plumbing, not meaning. Pass --embeddings-url "
                     "and --embeddings-model for real figures.)")
    return lines


# --- 2. ingestion -------------------------------------------------------------------------------

def ingestion(args, owner) -> list[str]:
    try:
        from fpdf import FPDF
    except ImportError:
        return ["ingestion: skipped (fpdf2 is not installed: pip install -e .[test])"]
    from django.core.files.uploadedfile import SimpleUploadedFile

    from accounts.actor import Actor
    from executions.knowledge.services.documents import document_upload
    from executions.knowledge.services.ingestion import document_ingest

    rng = random.Random(args.seed)
    pdf = FPDF()
    pdf.set_font("Helvetica", size=10)
    for page in range(args.pdf_pages):
        pdf.add_page()
        for _ in range(6):
            words = [rng.choice(ANIMALS + CITIES + list(JOBS) + FOODS + COLOURS) for _ in range(60)]
            pdf.multi_cell(0, 5, f"Section {page}. " + " ".join(words) + ".")
            pdf.ln(2)
    content = bytes(pdf.output())
    agent = make_agent(owner, "Ingestion", None)
    seconds = []
    for run in range(args.ingest_runs):
        upload = SimpleUploadedFile("bench.pdf", content, content_type="application/pdf")
        document = document_upload(agent=agent, actor=Actor(user=owner), uploaded=upload,
                                   data={"document_id": "bench"})
        start = time.perf_counter()
        status = document_ingest(document.execution_id)
        seconds.append(time.perf_counter() - start)
        assert status == "succeeded", status
    best, median = min(seconds), statistics.median(seconds)
    return [f"ingestion: {args.pdf_pages}-page PDF ({len(content) / 1e6:.1f} MB), parse + chunk + index, "
            f"{args.ingest_runs} runs: {args.pdf_pages / median:.1f} pages/s median "
            f"({args.pdf_pages / best:.1f} best)"]


# --- 3. search latency ---------------------------------------------------------------------------

SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "da", "pe", "zu", "ha", "fi", "go", "be", "xo"]


def vocabulary(size: int, rng: random.Random) -> list[str]:
    """``size`` distinct pseudo-words (two to four syllables), in a fixed order."""
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))))
    return sorted(words)


def synthetic_texts(n: int, words: list[str], rng: random.Random) -> list[str]:
    """Passages of 40–80 words drawn with Zipf's law (word k about 1/k as
    common as the first), as natural text is, plus English function words."""
    weights = [1.0 / (rank + 1) for rank in range(len(words))]
    function_words = ["the", "of", "and", "to", "in", "is", "for", "with", "on", "that"]
    return [" ".join(rng.choice(function_words) if rng.random() < 0.3 else word
                     for word in rng.choices(words, weights, k=rng.randint(40, 80))) + "." for _ in range(n)]


def latency(args, owner, provider_name: str) -> list[str]:
    from executions.knowledge.fulltext import full_text_search
    from executions.knowledge.selectors import knowledge_search
    from executions.knowledge.vectors import index_for
    from tests.fakes.llm_server import default_embedding

    lines = []
    rng = random.Random(args.seed + 1)
    words = vocabulary(args.vocabulary, rng)
    # A question: a few words of middling frequency, and the function words people type.
    queries = [f"what is the {' '.join(rng.sample(words[50:5000], 3))} for" for _ in range(args.searches)]
    for size in args.sizes:
        texts = synthetic_texts(size, words, rng)
        agent = make_agent(owner, f"Latency {size}", {"provider": provider_name, "model": "bench-embed"})
        started = time.perf_counter()
        bulk_chunks(agent, texts, [default_embedding(text) for text in texts], f"{provider_name}:bench-embed")
        load = time.perf_counter() - started
        full_text = timed(lambda q: full_text_search(agent.pk, q, limit=20), queries)
        started = time.perf_counter()
        assert knowledge_search(agent, queries[0])["mode"] == "hybrid"  # the first search loads the index
        index_load = time.perf_counter() - started
        hybrid = timed(lambda q: knowledge_search(agent, q, top_k=5), queries)
        line = (f"search at {size:>7,} chunks (inserted in {load:.1f} s; vector index loaded in "
                f"{index_load * 1000:.0f} ms): full text p50 {percentile(full_text, .5):.1f} ms, "
                f"p95 {percentile(full_text, .95):.1f} ms; hybrid (HTTP embed + both + fusion), exact vectors, "
                f"p50 {percentile(hybrid, .5):.1f} ms, p95 {percentile(hybrid, .95):.1f} ms")
        index = index_for(agent.pk, f"{provider_name}:bench-embed")
        if index.building:
            started = time.perf_counter()
            index.wait_for_ann()
            hnsw = timed(lambda q: knowledge_search(agent, q, top_k=5), queries)
            line += (f"; with HNSW (built in the background in {time.perf_counter() - started:.1f} s) "
                     f"p50 {percentile(hnsw, .5):.1f} ms, p95 {percentile(hnsw, .95):.1f} ms")
        lines.append(line)
    return lines


# --- 4. exact vs HNSW ------------------------------------------------------------------------------

def vector_index(args) -> list[str]:
    import numpy as np

    from executions.knowledge.vectors import _Index, _normalised, build_ann

    size, dims = max(args.sizes), args.dimensions
    rng = np.random.default_rng(args.seed)
    # Clustered like real embeddings, not uniform noise (where every neighbour is as far as any other).
    centres = rng.standard_normal((256, dims)).astype(np.float32)
    matrix = _normalised(centres[rng.integers(0, 256, size)] + 0.35 * rng.standard_normal((size, dims),
                                                                                             dtype=np.float32))
    ids = np.arange(1, size + 1, dtype=np.int64)
    queries = _normalised(centres[rng.integers(0, 256, args.searches)]
                          + 0.35 * rng.standard_normal((args.searches, dims), dtype=np.float32))
    exact = _Index(revision=0, dimensions=dims, ids=ids, documents=np.full(size, "d", dtype=object), matrix=matrix)
    exact_ms = timed(lambda q: exact.search(q, 10, None), list(queries))
    started = time.perf_counter()
    ann = build_ann(ids, matrix)
    build = time.perf_counter() - started
    approximate = _Index(revision=0, dimensions=dims, ids=ids, documents=exact.documents, matrix=matrix, ann=ann)
    ann_ms = timed(lambda q: approximate.search(q, 10, None), list(queries))
    overlap = statistics.mean(
        len({i for i, _ in exact.search(q, 10, None)} & {i for i, _ in approximate.search(q, 10, None)}) / 10
        for q in queries)
    return [f"vector index, {size:,} x {dims} float32: exact numpy p50 {percentile(exact_ms, .5):.1f} ms "
            f"p95 {percentile(exact_ms, .95):.1f} ms; usearch HNSW p50 {percentile(ann_ms, .5):.2f} ms "
            f"p95 {percentile(ann_ms, .95):.2f} ms, recall@10 vs exact {overlap:.3f}, built in {build:.1f} s"]


# --- main ----------------------------------------------------------------------------------------

def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--passages", type=int, default=1200)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--sizes", type=lambda v: [int(x) for x in v.split(",")], default=[10_000, 100_000])
    parser.add_argument("--searches", type=int, default=200, help="queries timed per size")
    parser.add_argument("--dimensions", type=int, default=384)
    parser.add_argument("--vocabulary", type=int, default=30_000, help="distinct words of the latency corpus")
    parser.add_argument("--pdf-pages", type=int, default=50)
    parser.add_argument("--ingest-runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--embeddings-url", default="", help="an OpenAI-compatible base URL (…/v1)")
    parser.add_argument("--embeddings-model", default="bench-embed")
    parser.add_argument("--embeddings-key", default=os.environ.get("OPENAI_API_KEY", ""))
    args = parser.parse_args()
    if args.queries < 100 or args.passages < 1000:
        parser.error("the quality figures need at least 1,000 passages and 100 queries")
    return args


def run(args, data_dir: Path) -> None:
    setup(data_dir)
    from django.contrib.auth import get_user_model

    from accounts.actor import Actor
    from agents.services.providers import provider_create
    from tests.fakes.llm_server import FakeLLMServer

    owner = get_user_model().objects.create_user(username="bench", email="bench@example.com", is_staff=True)
    with FakeLLMServer() as fake:
        provider_create(actor=Actor(user=owner), name="fake", kind="openai", base_url=fake.url + "/v1",
                        api_key="sk-fake", models=[])
        real = bool(args.embeddings_url)
        if real:
            provider_create(actor=Actor(user=owner), name="real", kind="openai", base_url=args.embeddings_url,
                            api_key=args.embeddings_key, models=[])
        lines = ["knowledge bench (SQLite, this machine: %d cores)" % os.cpu_count()]
        for part in (lambda: quality(args, owner, "real" if real else "fake", real),
                     lambda: ingestion(args, owner),
                     lambda: latency(args, owner, "fake"),
                     lambda: vector_index(args)):
            for line in part():
                print(line, flush=True)
                lines.append(line)
    goal = "goal: hybrid search p50 <= 50 ms at 100k chunks"
    print(goal)


def main() -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="agentry-knowledge-bench-"))
    try:
        run(parse_args(), data_dir)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
