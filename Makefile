# The two set-up commands: `make run` and `make test`. Everything else is a helper for them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install lint typecheck pytest lock clean i18n-update i18n-compile

$(STAMP): requirements.lock requirements-dev.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Kefu needs Python 3.11+"; exit 1; }
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

run: install
	mkdir -p var
	$(BIN)/kefu migrate
	$(BIN)/kefu demo
	$(BIN)/kefu serve --host 127.0.0.1 --port 8000

test: install lint typecheck pytest

lint: install
	$(BIN)/ruff check kefu tests bench migrations
	$(BIN)/ruff format --check kefu tests bench migrations
	$(BIN)/lint-imports
	$(BIN)/python -m kefu.i18n_build check

typecheck: install
	$(BIN)/mypy kefu tests

pytest: install
	$(BIN)/pytest -n $${KEFU_TEST_WORKERS:-auto} $(PYTEST_ARGS)

# Regenerate the hash-pinned lock files from pyproject.toml (needs network to the package index).
lock:
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile --universal --python-version 3.11 --generate-hashes pyproject.toml -o requirements.lock
	$(BIN)/uv pip compile --universal --python-version 3.11 --generate-hashes --extra dev pyproject.toml -o requirements-dev.lock

clean:
	rm -rf $(VENV) var .mypy_cache .pytest_cache .ruff_cache

# Translations: `i18n-update` extracts new strings into the catalogs, `i18n-compile` builds the .mo files.
i18n-update: install
	$(BIN)/python -m kefu.i18n_build update

i18n-compile: install
	$(BIN)/python -m kefu.i18n_build compile
