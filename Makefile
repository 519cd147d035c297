# The verbs people type. `make help` lists them.
VENV ?= .venv
BIN := $(VENV)/bin
PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 5000
FLASK := cd services/web && ../../$(BIN)/flask --app bulletin

.PHONY: help venv dev test lint audit secrets lint-workflows docs docs-check clean certs secret up down deploy jobs backup backups restore \
  swarm-deploy swarm-update load bench monitoring-rules pg-upgrade pg-upgrade-rollback

## list the targets, from the "## " line above each
help:
	@awk '/^## /{doc=substr($$0,4); next} \
	  /^[a-z][a-z-]*:/{if (doc) {split($$0, t, ":"); printf "make %-14s %s\n", t[1], doc}} {doc=""}' \
	  $(MAKEFILE_LIST)

# The virtual environment, rebuilt when a dependency file changes.
$(BIN)/.installed: requirements-dev.txt services/web/requirements.txt services/web/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes -r services/web/requirements.txt
	$(BIN)/pip install --quiet -r requirements-dev.txt
	$(BIN)/pip install --quiet --no-deps -e services/web
	touch $@

# Tools whose dependencies clash with the test tools', each in an environment
# of its own made from requirements-NAME.txt: .venv-k8s (checkov and
# kubernetes-validate, for tests/kubernetes; made by make test) and
# .venv-audit (pip-audit, for make audit).
K8S_VENV := .venv-k8s
AUDIT_VENV := .venv-audit
.venv-%/bin/.installed: requirements-%.txt
	$(PYTHON) -m venv .venv-$*
	.venv-$*/bin/pip install --quiet --upgrade pip
	.venv-$*/bin/pip install --quiet -r $<
	touch $@

## set up the virtual environment (.venv), again when a dependency file changes
venv: $(BIN)/.installed

# Werkzeug's debugger runs any Python typed into its error page. On loopback
# it is on; bound to anything else (HOST=0.0.0.0 for the LAN) it is off and
# the reloader stays, unless DEBUGGER=1 turns it on, with a warning.
DEBUGGER ?=
ON_LOOPBACK = $(filter 127.% localhost ::1,$(HOST))
DEV_FLAGS = --debug $(if $(or $(ON_LOOPBACK),$(filter 1,$(DEBUGGER))),,--no-debugger)
## run the app on SQLite at http://127.0.0.1:5000 (HOST=0.0.0.0 for the LAN)
dev: venv
	$(FLASK) db upgrade
	@$(if $(ON_LOOPBACK),,$(if $(filter 1,$(DEBUGGER)),echo "make dev: WARNING: the debugger is on at $(HOST): anyone who reaches this port can run code as you" >&2,echo "make dev: bound to $(HOST), so the debugger is off (the reloader stays); DEBUGGER=1 turns it on" >&2))
	$(FLASK) run $(DEV_FLAGS) --host $(HOST) --port $(PORT)

# tests/run: the browser tests alone, then the Docker suites and the others
# side by side; a collection of no tests (pytest's exit 5) fails.
## run every test suite (PYTEST_ARGS=... for some; sets up .venv first)
test: venv $(K8S_VENV)/bin/.installed
	@tests/run $(PYTEST_ARGS)

## write Kubernetes' PrometheusRule from monitoring/alerts.yml (after changing an alert)
monitoring-rules: venv
	$(BIN)/python deploy/kubernetes/components/monitoring/make-prometheus-rule

# Known vulnerabilities in every pinned requirements file, as pinned (no
# resolution). pip-audit asks PyPI's advisory service, which this team's
# machines cannot reach: the scan workflow runs it on GitHub's runners.
REQUIREMENTS = $(wildcard requirements*.txt services/*/requirements*.txt)
# One file at a time: pip-audit wants hashes in all or none. --strict: a
# package it could not look up fails the audit instead of passing unchecked.
## known vulnerabilities in every pinned requirements file (pip-audit; needs PyPI's advisories)
audit: $(AUDIT_VENV)/bin/.installed
	@status=0; for file in $(REQUIREMENTS); do echo "make audit: $$file"; \
	  $(AUDIT_VENV)/bin/pip-audit --strict --disable-pip --no-deps --progress-spinner off \
	    --requirement "$$file" || status=1; done; \
	[ $$status -eq 0 ] || echo "make audit: upgrade the pins it names, or, if it could not look \
	packages up, run it where PyPI's advisories are reachable (the scan workflow does)" >&2; \
	exit $$status

# Shell scripts, found by their first line wherever they are.
SHELL_SCRIPTS = $(shell grep -rlE -m1 --exclude-dir=.git --exclude-dir=.venv \
  --exclude-dir=.venv-k8s --exclude-dir=.venv-audit --exclude-dir=.mypy_cache --exclude-dir=.ruff_cache --exclude-dir=node_modules \
  '^\#!(/usr)?/bin/(env )?(ba)?sh$$' .)

# The same checks run before each commit (.pre-commit-config.yaml) and in CI.
## every static check: ruff, formatting, mypy, hadolint, shellcheck, workflows, the docs site
lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/hadolint Dockerfile nginx/Dockerfile services/backup/Dockerfile tests/compose/s3/Dockerfile
	$(BIN)/shellcheck $(SHELL_SCRIPTS)
	@command -v promtool >/dev/null || { echo "make lint: promtool is missing: apt-get install prometheus" >&2; exit 1; }
	promtool check rules monitoring/alerts.yml
	$(MAKE) --no-print-directory lint-workflows
	$(MAKE) --no-print-directory docs-check

# GitHub workflows and Dependabot: actionlint (with shellcheck on run: steps),
# zizmor without network (pinned actions, permissions, injection), and
# Dependabot's schema.
## the GitHub workflows and Dependabot file alone (actionlint, zizmor, schema)
lint-workflows: venv
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/actionlint .github/workflows/*.yml
	$(BIN)/zizmor --offline --no-progress .github
	$(BIN)/check-jsonschema --builtin-schema vendor.dependabot .github/dependabot.yml

# The docs site (mkdocs.yml): strict, so a broken link or anchor, or a page
# missing from nav, fails. Built into a scratch folder; GitHub Pages builds it
# again from the docs workflow. NO_MKDOCS_2_WARNING: Material's banner about
# MkDocs 2, not a warning about these docs. Never --quiet: it hides the
# warnings that strict mode counts, and the build passes with them.
DOCS_ENV := NO_MKDOCS_2_WARNING=1
# DOCS_SITE=site keeps the built site (the docs workflow publishes it).
DOCS_SITE ?=
## build the docs site strictly, as make lint does (DOCS_SITE=folder keeps it)
docs-check: venv
	@site="$(DOCS_SITE)"; if [ -z "$$site" ]; then site=$$(mktemp -d); trap 'rm -rf "$$site"' EXIT; fi; \
	  $(DOCS_ENV) $(BIN)/mkdocs build --strict --site-dir "$$site" && echo "docs: built strictly"

## serve the docs site at http://127.0.0.1:8001, rebuilt as you edit docs/
docs: venv
	$(DOCS_ENV) $(BIN)/mkdocs serve --dev-addr 127.0.0.1:8001

# docker compose (v2 plugin) or docker-compose (v1), whichever is installed.
COMPOSE ?= $(shell docker compose version >/dev/null 2>&1 && echo "docker compose" || echo docker-compose)

## build and start the HTTPS stack (docker compose) at https://localhost
up:
	$(COMPOSE) up -d --build

## stop the stack (data stays in its volume)
down:
	$(COMPOSE) down

# The same as deploy/compose/compose-update, for servers with make.
## update the running stack to this checkout with no failed request
deploy:
	COMPOSE="$(COMPOSE)" deploy/compose/compose-update

## list the jobs waiting, running and dead in the compose stack's queue
jobs:
	$(COMPOSE) exec -T worker flask jobs list

## take a database backup now
backup:
	$(COMPOSE) exec -T backup bulletin-backup now

# Checks the file, asks (CONFIRM=yes does not), keeps a copy of the database
# as it is, then replaces it. The web service stops meanwhile, so no request
# sees half the data; nginx answers with its friendly 503 page.
BACKUP ?=
## bring a backup back: make restore BACKUP=<file> (make backups lists them)
restore:
	@test -n "$(BACKUP)" || { echo "make restore: name the file: make restore BACKUP=bulletin-....dump (make backups lists them)" >&2; exit 2; }
	$(COMPOSE) exec -T backup bulletin-backup check "$(BACKUP)"
	@[ "$(CONFIRM)" = yes ] || { printf 'This replaces every table of the database with %s.\nType yes to go on: ' "$(BACKUP)"; \
	  read -r answer; [ "$$answer" = yes ] || { echo "make restore: not confirmed, nothing changed" >&2; exit 1; }; }
	$(COMPOSE) stop web
	$(COMPOSE) exec -T backup bulletin-backup restore "$(BACKUP)" --yes; \
	  status=$$?; $(COMPOSE) start web; exit $$status

# PostgreSQL onto another image (a new major): dump, keep the old data files
# in a volume of their own, restore into the new image, compare every table.
POSTGRES_IMAGE ?=
## move PostgreSQL to a new image: make pg-upgrade POSTGRES_IMAGE=postgres:17-bookworm
pg-upgrade:
	@test -n "$(POSTGRES_IMAGE)" || { echo "make pg-upgrade: name the image: make pg-upgrade POSTGRES_IMAGE=postgres:17-bookworm" >&2; exit 2; }
	COMPOSE="$(COMPOSE)" deploy/compose/pg-upgrade "$(POSTGRES_IMAGE)"

## back to the data and image the last make pg-upgrade kept
pg-upgrade-rollback:
	COMPOSE="$(COMPOSE)" deploy/compose/pg-upgrade --rollback

## list the backups the backup service keeps
backups:
	$(COMPOSE) exec -T backup bulletin-backup list

# Docker Swarm (deploy/swarm): the whole stack, or a rolling update of the app.
## build and deploy the stack on a Docker Swarm (docs/scaling.md)
swarm-deploy:
	deploy/swarm/swarm-deploy

## roll the swarm's web tasks onto this checkout, rolled back if unhealthy
swarm-update:
	deploy/swarm/swarm-deploy update

## make the local CA and server certificate in certs/local/
certs: venv
	$(BIN)/python certs/generate_local_certs.py

# The compose stack's secret files in SECRETS_DIR (./secrets): random, or
# SECRET_KEY and POSTGRES_PASSWORD from .env once; an existing file is kept.
## write the compose stack's secret files in ./secrets (production)
secrets:
	deploy/compose/make-secrets

## print a new random SECRET_KEY
secret:
	@$(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(48))'

# Load test: seed data first (docker compose exec web flask seed). Fails when a
# request fails or p95 is over P95_MS.
BASE_URL ?= https://localhost
CLIENTS ?= 50
SPAWN_RATE ?= 10
DURATION ?= 1m
P95_MS ?= 500
## locust against BASE_URL (default https://localhost); reports in loadtests/reports/
load: venv
	mkdir -p loadtests/reports
	$(BIN)/locust -f loadtests/locustfile.py --host $(BASE_URL) --headless \
	  --users $(CLIENTS) --spawn-rate $(SPAWN_RATE) --run-time $(DURATION) --p95-ms $(P95_MS) \
	  --csv loadtests/reports/load --html loadtests/reports/load.html --only-summary

# Benchmark: STACK=compose (the production compose stack) or loopback (host nginx,
# gunicorn and PostgreSQL, which needs TEST_DATABASE_URL or BENCH_DATABASE_URL).
STACK ?= compose
## the benchmark (STACK=compose or loopback): RESULTS.md, history.jsonl, ratios.svg; first the slowest Markdown post
bench: venv
	$(BIN)/python loadtests/markdown_bench
	$(BIN)/python -m loadtests.mail_bench
	$(BIN)/python -m loadtests.benchmark --stack $(STACK) $(BENCH_ARGS)

## remove the virtual environments and tool caches
clean:
	rm -rf $(VENV) $(K8S_VENV) $(AUDIT_VENV) .pytest_cache .ruff_cache
