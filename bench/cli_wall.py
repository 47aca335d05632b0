"""Wall time of `memory` commands on the demo store, as a user runs them: a fresh process each time.

    .venv/bin/python bench/cli_wall.py              # 5 runs of each command
    .venv/bin/python bench/cli_wall.py --runs 9

Needs demo/demo.db (made by `make demo`, with the real model). Each command runs in a new Python
process, so the figures include the interpreter's start-up, imports and, where the command needs
vectors, loading the model. `python -c pass` and `import memory.cli` are the floors. Prints a table
and writes bench/results/cli_wall.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
DEMO = ROOT / "demo" / "demo.db"
QUERY = "how warm should the kitchen be for my bread starter"

COMMANDS: dict[str, list[str]] = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "import memory.cli": [sys.executable, "-c", "import memory.cli"],
    "memory stats": [sys.executable, "-m", "memory", "--db", str(DEMO), "stats"],
    "memory conversations list": [sys.executable, "-m", "memory", "--db", str(DEMO), "conversations", "list"],
    "memory search --mode text": [
        sys.executable, "-m", "memory", "--db", str(DEMO), "search", QUERY, "--mode", "text",
    ],
    "memory search (hybrid)": [sys.executable, "-m", "memory", "--db", str(DEMO), "search", QUERY],
    "memory search --mode vector": [
        sys.executable, "-m", "memory", "--db", str(DEMO), "search", QUERY, "--mode", "vector",
    ],
}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if not DEMO.exists():
        sys.exit(f"{DEMO} is missing: run `make demo` first")
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(args.runs):  # interleaved, so drift on a shared machine hits every command alike
        for name, command in COMMANDS.items():
            start = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True, cwd=ROOT)
            times[name].append(time.perf_counter() - start)
    print(f"{'command':<30} {'median s':>9} {'min s':>7} {'max s':>7}")
    for name, values in times.items():
        print(f"{name:<30} {statistics.median(values):9.2f} {min(values):7.2f} {max(values):7.2f}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    report = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "runs": args.runs,
        "query": QUERY,
        "seconds": {name: {"median": statistics.median(v), "all": v} for name, v in times.items()},
    }
    (RESULTS / "cli_wall.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
