# Two entry points a fresh machine needs (Python 3.11, pip, git, make): `make demo` and `make test`.
PYTHON ?= python3
UV_VERSION := 0.13.8
BUGSINK_VERSION := 2.6.1
UV := .tools/bin/uv
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: demo test lint serve bench clean docs-screenshots

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install -q uv==$(UV_VERSION)

$(VENV)/.synced: uv.lock pyproject.toml $(UV)
	$(UV) sync --locked --extra test --python $(PYTHON)
	touch $@

# Bugsink (the real Sentry-compatible server of the end-to-end tests) pins its own Django,
# so it lives in a virtualenv of its own.
.venv-bugsink/bin/gunicorn:
	$(PYTHON) -m venv .venv-bugsink
	.venv-bugsink/bin/pip install -q bugsink==$(BUGSINK_VERSION)

demo: $(VENV)/.synced
	$(PY) examples/demo.py $(DEMO_ARGS)

docs-screenshots: $(VENV)/.synced
	.ci/ensure-chromium
	$(PY) tests/e2e/test_console_browser.py --docs

serve: $(VENV)/.synced
	$(PY) -m sdk_core serve

test: $(VENV)/.synced .venv-bugsink/bin/gunicorn
	.ci/ensure-chromium
	.ci/ensure-redis
	$(PY) -m pytest -q
	$(MAKE) lint

lint: $(VENV)/.synced
	$(VENV)/bin/ruff check sdk_core integrations scrubbers tests benchmarks examples
	$(VENV)/bin/mypy --strict sdk_core integrations scrubbers

bench: $(VENV)/.synced
	$(PY) -m benchmarks.run

clean:
	rm -rf .venv .tools .venv-bugsink
