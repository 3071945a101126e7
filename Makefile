# The two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint typecheck unit install clean chromium

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Optional engines are installed where their wheels exist, so the tests compare both engines there.
# TEST_EXTRAS adds more (CI: TEST_EXTRAS=ml for the classifier models; spark needs Java and ~0.5 GB).
comma := ,
EXTRAS := dev$(if $(filter x86_64,$(shell uname -m)),$(comma)hyperscan)$(if $(TEST_EXTRAS),$(comma)$(TEST_EXTRAS))
STAMP := $(VENV)/.installed-$(subst $(comma),-,$(EXTRAS))

$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/pip install --quiet -c constraints.txt -e '.[$(EXTRAS)]'
	touch $(STAMP)

install: $(STAMP)

## Build a fictional organisation, run the whole flow, and serve the UI on 127.0.0.1:8000.
demo: $(STAMP)
	$(BIN)/assay demo

## Lint, type-check, check the architecture, and run the whole test suite.
test: $(STAMP) chromium lint typecheck unit

# Browser tests drive Debian's Chromium (Playwright cannot download browsers here).
chromium:
	@command -v chromium >/dev/null 2>&1 || [ -n "$$CHROMIUM_PATH" ] || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian's chromium for the browser tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "the browser tests need Chromium: sudo apt-get install chromium (or set CHROMIUM_PATH)"; exit 1; \
	  fi; }

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy .

# Tests keep their files out of ./var; they make temporary data directories of their own.
unit: $(STAMP)
	ASSAY_DATA_DIR=$${ASSAY_DATA_DIR:-$$(mktemp -d)} $(BIN)/pytest -q $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) var
