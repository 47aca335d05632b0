"""Latency of the three search modes on large stores of real text, and hybrid / vector side by side.

    .venv/bin/python bench/hybrid.py [--sizes 100000,1000000] [--corpora english,zipf] [--queries 50]
                                     [--store-dir DIR]

Builds a SQLite store per size and corpus through `MemoryManager.add_conversations` (10 messages
per conversation, 50,000 per call); their vectors are random (the vector side's cost does not
depend on what they mean). Corpora:

- `english`: real English sentences (bench/real_vectors.py, each with a unique suffix), so the
  full-text index sees a real vocabulary. Queries: held-out sentences (long) and short keyword ones.
- `zipf`: text that is not English: sentences of 6-30 words drawn from a vocabulary of 50,000
  made-up words with accents (German- or French-like) by Zipf's law (s = 1.07), so the frequent
  words, which no English stopword list knows, are in most messages. Queries: held-out sentences
  (long) and 2-4 words drawn the same way (short).

Queries go through the deterministic `FakeEmbedder`, so the times are the search alone, without a
model. `--store-dir` keeps the stores there and reuses them in later runs. Prints a table (with
each hybrid median and p95 over the vector-only ones, measured in the same run) and writes
bench/results/hybrid.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from real_vectors import real_sentences  # noqa: E402

from memory import SEARCH_MODES, FakeEmbedder, MemoryManager  # noqa: E402

RESULTS = ROOT / "bench" / "results"
CORPUS = 39_800  # sentences stored (cycled); the next ones are held out as queries
ZIPF_VOCABULARY = 50_000
ZIPF_EXPONENT = 1.07
SHORT_QUERIES = [
    "pydantic validation error",
    "thread pool executor shutdown",
    "unicode decode error in csv",
    "socket timeout",
    "parse command line arguments",
    "timezone aware datetime",
    "deprecated warning",
    "memory leak",
]


def zipf_sentences(n: int, *, seed: int = 0, words: tuple[int, int] = (6, 30)) -> list[str]:
    """n sentences of made-up accented words drawn by Zipf's law (the same for the same seed)."""
    rng = np.random.default_rng(seed)
    vocabulary = _made_up_words(ZIPF_VOCABULARY)
    weights = 1.0 / np.arange(1, ZIPF_VOCABULARY + 1) ** ZIPF_EXPONENT
    weights /= weights.sum()
    lengths = rng.integers(words[0], words[1] + 1, size=n)
    drawn = rng.choice(ZIPF_VOCABULARY, size=int(lengths.sum()), p=weights)
    sentences, at = [], 0
    for length in lengths:
        sentences.append(" ".join(vocabulary[i] for i in drawn[at : at + length]))
        at += length
    return sentences


def _made_up_words(n: int) -> list[str]:
    """n distinct words of 1-4 syllables, some with accents, frequent ones short (as in real text)."""
    rng = np.random.default_rng(1)
    onsets = [
        "",
        "b",
        "d",
        "f",
        "g",
        "k",
        "l",
        "m",
        "n",
        "p",
        "r",
        "s",
        "t",
        "v",
        "w",
        "z",
        "ch",
        "sch",
        "st",
    ]
    vowels = ["a", "e", "i", "o", "u", "ä", "ö", "ü", "é", "è", "au", "ei", "ou"]
    codas = ["", "", "n", "r", "s", "t", "ch", "ß", "ng", "x"]
    found: dict[str, None] = {}
    while len(found) < n:
        syllables = 1 + min(3, len(found) * 4 // n + int(rng.integers(0, 2)))
        word = "".join(
            onsets[rng.integers(len(onsets))]
            + vowels[rng.integers(len(vowels))]
            + codas[rng.integers(len(codas))]
            for _ in range(syllables)
        )
        found.setdefault(word)
    return list(found)


def build(path: Path, n: int, sentences: list[str]) -> float:
    rng = np.random.default_rng(0)
    started = time.perf_counter()
    with MemoryManager(f"sqlite:///{path}", embedder=FakeEmbedder(384), vector_index="exact") as manager:
        for start in range(0, n, 50_000):
            batch = []
            for first in range(start, min(n, start + 50_000), 10):
                size = min(10, n - first)
                messages = [
                    {
                        "role": ("user", "assistant")[i % 2],
                        "content": f"{sentences[(first + i) % CORPUS]} #{first + i}",
                    }
                    for i in range(size)
                ]
                vectors = rng.standard_normal((size, 384)).astype(np.float32)
                batch.append({"title": f"at {first}", "messages": messages, "vectors": vectors})
            manager.add_conversations(batch)
    return time.perf_counter() - started


def measure(path: Path, n: int, corpus: str, queries: dict[str, list[str]]) -> list[dict[str, Any]]:
    rows = []
    with MemoryManager(f"sqlite:///{path}", embedder=FakeEmbedder(384)) as manager:
        for kind, texts in queries.items():
            measured: dict[str, list[float]] = {}
            for mode in SEARCH_MODES:
                for text in texts[:3]:  # warm the index and the page cache
                    manager.search(text, k=10, mode=mode)
            # The modes take turns on each query, so a busy moment of the machine hits them alike.
            for text in texts:
                for mode in SEARCH_MODES:
                    started = time.perf_counter()
                    manager.search(text, k=10, mode=mode)
                    measured.setdefault(mode, []).append((time.perf_counter() - started) * 1000)
            vector = _summary(measured["vector"])
            for mode in SEARCH_MODES:
                summary = _summary(measured[mode])
                rows.append(
                    {
                        "messages": n,
                        "corpus": corpus,
                        "queries": kind,
                        "mode": mode,
                        **summary,
                        "median_x_vector": round(summary["median_ms"] / vector["median_ms"], 2),
                        "p95_x_vector": round(summary["p95_ms"] / vector["p95_ms"], 2),
                    }
                )
    return rows


def _summary(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {
        "median_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(ordered[max(0, int(len(ordered) * 0.95) - 1)], 2),
    }


def corpus_texts(corpus: str, queries: int) -> tuple[list[str], dict[str, list[str]]]:
    """The sentences stored (cycled) and the query sets of `corpus`."""
    if corpus == "english":
        sentences = real_sentences(CORPUS + queries)
        return sentences[:CORPUS], {"long": sentences[CORPUS:], "short": SHORT_QUERIES}
    sentences = zipf_sentences(CORPUS + queries)
    short = zipf_sentences(queries, seed=2, words=(2, 4))
    return sentences[:CORPUS], {"long": sentences[CORPUS:], "short": short}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="100000", help="comma-separated store sizes")
    parser.add_argument("--corpora", default="english,zipf", help="comma-separated: english, zipf")
    parser.add_argument("--queries", type=int, default=50, help="held-out sentences used as queries")
    parser.add_argument("--store-dir", type=Path, help="keep the stores here and reuse them")
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    columns = [
        "messages",
        "corpus",
        "queries",
        "mode",
        "median_ms",
        "p95_ms",
        "median_x_vector",
        "p95_x_vector",
    ]
    print("".join(f"{c:>16}" for c in columns))
    for corpus in args.corpora.split(","):
        sentences, queries = corpus_texts(corpus, args.queries)
        for n in (int(size) for size in args.sizes.split(",")):
            with tempfile.TemporaryDirectory() as tmp:
                directory = args.store_dir or Path(tmp)
                directory.mkdir(parents=True, exist_ok=True)
                path = directory / f"hybrid-{corpus}-{n}.db"
                if not path.exists():
                    ingest_s = build(path.with_suffix(".part"), n, sentences)
                    path.with_suffix(".part").rename(path)
                    print(f"built {path.name}: {round(n / ingest_s)} messages/s", flush=True)
                for row in measure(path, n, corpus, queries):
                    rows.append(row)
                    print("".join(f"{row[c]!s:>16}" for c in columns), flush=True)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "hybrid.json"
    out.write_text(
        json.dumps(
            {"when": datetime.now(UTC).isoformat(), "command": " ".join(sys.argv), "rows": rows}, indent=2
        )
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
