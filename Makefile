# zoocards: `make cards` builds the site from cards/, `make test` runs the test suite.
# Both set up the environment themselves; a fresh machine needs only python3 and make.

UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(or $(shell command -v uv 2>/dev/null),$(TOOLS)/bin/uv)
VENV := .venv
PY := $(VENV)/bin/python
ZC := $(VENV)/bin/zoocards
PYTEST_ARGS ?=
# mkdocs-material prints an end-of-life banner on every build; it says nothing about this site.
export NO_MKDOCS_2_WARNING := 1

.PHONY: cards test test-fast serve check verify verify-all render new-card browser env lint clean golden

# Builds from the committed measurements, re-running nothing: a fresh clone gets the site in
# minutes whatever the zoo's size. A figure whose record is stale or missing shows as not re-run
# (with the reason) until `make verify` re-runs it.
cards: env  ## check the cards, build site/ from the committed measurements (one process: the cards load once)
	$(ZC) cards --no-verify

test: env browser  ## the whole suite, as CI runs it
	$(PY) -m pytest $(PYTEST_ARGS)

test-fast: env  ## everything but the slow measurements and the browser
	$(PY) -m pytest -m "not slow and not browser" $(PYTEST_ARGS)

serve: env  ## preview at http://127.0.0.1:8000, re-rendering when a card changes
	$(VENV)/bin/mkdocs serve --dev-addr 127.0.0.1:8000

check: env
	$(ZC) check

verify: env  ## re-run the figures of changed cards
	$(ZC) verify

verify-all: env  ## re-run every figure of every card
	$(ZC) verify --force

render: env
	$(ZC) render

new-card: env  ## make new-card NAME=mynet
	@test -n "$(NAME)" || { echo "usage: make new-card NAME=mynet"; exit 2; }
	$(ZC) new $(NAME)

lint: env
	$(VENV)/bin/mypy

env: $(VENV)/.synced

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --all-extras
	@touch $@

$(TOOLS)/bin/uv:
	python3 -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

browser:  ## Debian's Chromium and a CJK font, for the browser tests and screenshots
	@bash scripts/ensure_browser.sh

clean:
	rm -rf site .site.new* .site.old* site_src/models site_src/zoo

golden: env  ## refresh tests/golden/ after an intended change to templates or rendering
	$(PY) scripts/update_golden.py
