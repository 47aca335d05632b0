# Set-up and every routine job. `make demo` and `make test` work on a fresh clone: they create .venv first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# Every install step goes through constraints.txt: an unpinned torch would pull gigabytes of CUDA.
PIP := $(PY) -m pip install --quiet --constraint constraints.txt
STAMP := $(VENV)/.installed

.PHONY: venv demo test soak lint bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade pip setuptools
	$(PIP) torch==2.13.0
	$(PIP) --editable '.[embeddings,postgres,async,agents,langchain,mcp,dev,bench]'
	touch $(STAMP)

demo: venv
	$(PY) demo/run.py

# Two workers: the suite is half waiting (subprocesses, the PostgreSQL server), and each worker gets
# its own files, databases and server; 15 min of tests ran in under 8 on 2 cores.
TEST_WORKERS ?= 2

test: venv
	$(PY) -m pytest -n $(TEST_WORKERS) --dist worksteal

soak: venv
	MEMORY_SOAK_KILLS=500 $(PY) -m pytest tests/test_crash_safety.py

lint: venv
	$(VENV)/bin/ruff check memory tests migrations bench demo
	$(VENV)/bin/ruff format --check memory tests migrations bench demo
	$(VENV)/bin/mypy --strict memory

bench: venv
	$(PY) bench/search.py
	$(PY) bench/ingest.py
	$(PY) bench/turn.py
	$(PY) bench/bulk_calls.py --messages 100000
	$(PY) bench/scopes.py --users 100
	$(PY) bench/erase_cost.py --messages 50000
	$(PY) bench/cold_start.py --sizes 100000 --runs 3
	$(PY) bench/hybrid.py
	$(PY) bench/scoped_call.py --calls 1000
	$(PY) bench/import_wall.py --messages 20000 --rows encode,import   # about 5 minutes: the real model
	$(PY) bench/async_lag.py
	$(PY) demo/run.py > /dev/null   # bench/cli_wall.py times commands on the demo store
	$(PY) bench/cli_wall.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info
