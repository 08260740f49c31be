# Every target creates .venv on first use and installs what it needs into it.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
LINT_PATHS := $(wildcard mmbridge tests bench examples)
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: test lint typecheck docs pytest demo demo-mirror demo-link bench emulator clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,postgres,bench,irc,docs]'
	rm -f $(VENV)/.installed-* && touch $(STAMP)

test: lint typecheck docs pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check $(LINT_PATHS)
	$(VENV)/bin/ruff format --check $(LINT_PATHS)

typecheck: $(STAMP)
	$(VENV)/bin/mypy

# The site, built strictly: a broken link, a missing reference or any warning fails it.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet --site-dir $(VENV)/site

pytest: $(STAMP)
	$(VENV)/bin/pytest -q $(PYTEST_ARGS)

demo: $(STAMP)
	$(PY) -m examples.irc.demo

demo-mirror: $(STAMP)
	$(PY) -m examples.mirror.demo

demo-link: $(STAMP)
	$(PY) -m examples.mattermost_link.demo

emulator: $(STAMP)
	$(PY) -m mmbridge.testing.emulator --port 8065

bench: $(STAMP)
	$(PY) bench/client_bench.py
	$(PY) bench/ws_bench.py
	$(PY) bench/intent_bench.py
	$(PY) bench/dispatch_bench.py
	$(PY) bench/startup_bench.py
	$(PY) bench/toolkit_bench.py
	$(PY) bench/irc_bench.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
