"""The demo: build a memory from the sample ChatGPT export with the real model, then search it.

    make demo          (or: .venv/bin/python demo/run.py)

Everything goes through the `memory` command line, as a user would run it. The database is
demo/demo.db; importing is idempotent, so a second run only searches.
"""

from __future__ import annotations

import sys
from pathlib import Path

from memory.cli import main

HERE = Path(__file__).resolve().parent
URL = f"sqlite:///{HERE / 'demo.db'}"
SEARCHES = [
    "my dog is afraid of thunder",
    "the car shows a catalytic converter code",
    "how warm should the kitchen be for my bread starter",
    "my flight got cancelled and I had to rebook",
    "what did we find out about code P0171",  # an exact code: the words side finds it
]


def step(*args: str) -> None:
    print(f"\n$ memory --db {URL} {' '.join(repr(a) if ' ' in a else a for a in args)}", flush=True)
    status = main(["--db", URL, *args])
    if status:
        sys.exit(status)


def main_demo() -> None:
    step("import", str(HERE / "conversations.json"))
    step("stats")
    for query in SEARCHES:
        step("search", query, "-k", "3")


if __name__ == "__main__":
    main_demo()
