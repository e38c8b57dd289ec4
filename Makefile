# Two commands do all set-up: `make run` and `make test` (see README).
VENV  := .venv
BIN   := $(VENV)/bin
STAMP := $(VENV)/.installed
CONFIG ?= $(if $(wildcard config.toml),config.toml,config.example.toml)

.PHONY: run try test lint bench catalogue

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)  ## the bot (the offline sandbox when no token is set)
	$(BIN)/timebank-bot run --config $(CONFIG)

try: $(STAMP)  ## the offline sandbox, always
	$(BIN)/timebank-bot try --config $(CONFIG)

test: $(STAMP)  ## lint and type-check, then the whole test suite
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest -q

bench: $(STAMP)  ## every benchmark under bench/, one after another
	for b in bench/[!_]*.py; do $(BIN)/python $$b || exit 1; done

catalogue: $(STAMP)  ## merge new messages of messages.pot into every translation, to translate
	for po in bot/ui/locales/*.po; do \
	  $(BIN)/pybabel update -i bot/ui/locales/messages.pot -o $$po -l $$(basename $$po .po) \
	    -w 100 --no-fuzzy-matching || exit 1; \
	done
