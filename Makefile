# The README's two commands: `make run` and `make test`. Everything they need is installed from here.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8000
export PORT

.PHONY: run test lint lint-imports unit openapi i18n screens bench clean sysdeps

$(VENV)/.created:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "postal-bridge needs Python 3.11 or newer; set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	@touch $@

$(VENV)/.installed-run: $(VENV)/.created setup.cfg pyproject.toml
	$(PY) -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-test: $(VENV)/.created setup.cfg pyproject.toml
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	POSTAL_BRIDGE_ALLOW_PRIVATE_CALLBACKS=$${POSTAL_BRIDGE_ALLOW_PRIVATE_CALLBACKS:-1} \
	POSTAL_BRIDGE_SANDBOX_STEP_SECONDS=$${POSTAL_BRIDGE_SANDBOX_STEP_SECONDS:-10} \
	$(VENV)/bin/postal-bridge run

# poppler-utils renders and reads PDFs in the label tests; Chromium runs the browser tests (Playwright drives the
# system browser: its own download cannot run here). Installed when missing and apt is available.
SYSPKGS_MISSING = $(strip $(if $(shell command -v pdftoppm),,poppler-utils) $(if $(shell command -v chromium),,chromium fonts-dejavu-core))
sysdeps:
	@if [ -n "$(SYSPKGS_MISSING)" ]; then \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    echo "installing $(SYSPKGS_MISSING) (apt)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYSPKGS_MISSING) >/dev/null; \
	  else echo "The tests need: $(SYSPKGS_MISSING). Install them, e.g. 'sudo apt-get install $(SYSPKGS_MISSING)'." >&2; exit 1; fi; \
	fi

lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

lint-imports: $(VENV)/.installed-test
	$(VENV)/bin/lint-imports

# The whole suite on SQLite (and the Redis in POSTAL_BRIDGE_TEST_REDIS_URL, else a private embedded one); then,
# when POSTAL_BRIDGE_TEST_DATABASE_URL points at PostgreSQL, the storage, integration and e2e tests again on it.
test: $(VENV)/.installed-test sysdeps lint lint-imports
	env -u POSTAL_BRIDGE_TEST_DATABASE_URL $(PY) -m pytest
	@if [ -n "$$POSTAL_BRIDGE_TEST_DATABASE_URL" ]; then \
	  echo "== again on $$POSTAL_BRIDGE_TEST_DATABASE_URL (integration + e2e) =="; \
	  $(PY) -m pytest -m "integration or e2e"; \
	fi

# Browser tests again, copying each screenshot into docs/screens/ (commit them when the pages change).
screens: $(VENV)/.installed-test sysdeps
	POSTAL_BRIDGE_UPDATE_SCREENS=1 $(PY) -m pytest tests/browser -q

unit: $(VENV)/.installed-test
	$(PY) -m pytest -m unit -q

# Extract the pages' strings into the English catalogues (new ones arrive untranslated) and compile them.
i18n: $(VENV)/.installed-run
	$(PY) scripts/i18n.py update

openapi: $(VENV)/.installed-run
	$(VENV)/bin/postal-bridge openapi --output docs/openapi.json

# Every baseline and product figure of issue 8 on SQLite and PostgreSQL (POSTAL_BRIDGE_TEST_DATABASE_URL, else the local
# server); results in benchmarks/results/<date>.json and .md. BENCH_ARGS="--quick" or "--database sqlite" narrows it.
BENCH_ARGS ?= --database both
bench: $(VENV)/.installed-test
	$(PY) -m benchmarks.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache *.egg-info
