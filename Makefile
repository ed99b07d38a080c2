# Two entry points for a fresh machine: `make run` and `make test`. Both build .venv on first use.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

.PHONY: install run test lint bench chromium
install: $(BIN)/.installed

# The sandbox console's browser test drives Debian's Chromium; Playwright never downloads a browser.
chromium:
	@command -v chromium >/dev/null || { \
		echo "installing Debian's chromium for the browser test"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

run: $(BIN)/.installed
	$(BIN)/hubkeeper sandbox

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/mypy

test: lint chromium
	$(BIN)/python -m pytest

bench: $(BIN)/.installed
	$(BIN)/python benchmarks/members_listing.py
	$(BIN)/python benchmarks/ack_latency.py
	$(BIN)/python benchmarks/review.py
	$(BIN)/python benchmarks/startup.py
