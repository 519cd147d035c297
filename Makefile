# The verbs people type. `make help` lists them.
VENV ?= .venv
BIN := $(VENV)/bin
PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 5000
FLASK := cd services/web && ../../$(BIN)/flask --app bulletin

.PHONY: help venv dev test lint clean

help:
	@echo "make dev    run the app on SQLite at http://$(HOST):$(PORT) (HOST=0.0.0.0 for the LAN)"
	@echo "make test   run every test suite (sets up $(VENV) first)"
	@echo "make lint   check style and common bugs with ruff"

# The virtual environment, rebuilt when a dependency file changes.
$(BIN)/.installed: requirements-dev.txt services/web/requirements.txt services/web/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt -e services/web
	touch $@

venv: $(BIN)/.installed

dev: venv
	$(FLASK) db upgrade
	$(FLASK) run --debug --host $(HOST) --port $(PORT)

# pytest exits 5 when it collected nothing: that is a broken suite, not a pass.
test: venv
	@$(BIN)/pytest $(PYTEST_ARGS); status=$$?; \
	if [ $$status -eq 5 ]; then echo "make test: pytest collected no tests" >&2; exit 1; fi; \
	exit $$status

lint: venv
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
