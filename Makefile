# Thin verbs over the `tinyml` CLI: make app=<id> [board=<b>] <verb>. All logic lives in the CLI.
# The first verb that needs Python creates .venv (pip path; `poetry install` works too).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
TINYML := $(BIN)/tinyml
STAMP  := $(VENV)/.installed
board  ?= qemu-m4

# Per-verb options passed through when set.
OPTS := $(if $(INPUT),--input "$(INPUT)") $(if $(PORT),--port "$(PORT)") $(if $(RATE),--rate $(RATE))

.PHONY: help setup apps data train promote eval predict new compile profile flash run size bench test test-all clean

help:
	@echo "make test                      run the test suite (installs what it needs)"
	@echo "make app=fall-detect flash     build the firmware and replay the demo on the emulated board"
	@echo "make apps                      list apps and boards"
	@echo "make app=<id> data|train|eval|compile|profile|size|bench"
	@echo "make app=<id> promote [RUN=<run>]  commit a training run (default: the last) as the app's model"
	@echo "make app=<id> predict INPUT=recording.csv"
	@echo "make app=<id> run INPUT=recording.csv [board=host|qemu-m4]"
	@echo "make new app=<new-id>          copy apps/_template into a new app"

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	@touch $(STAMP)

setup: $(STAMP)

apps: $(STAMP)
	@$(TINYML) apps

data train eval compile profile size: $(STAMP)
	@$(TINYML) $@ $(app) $(OPTS)

promote: $(STAMP)
	@$(TINYML) promote $(app) $(RUN)

predict: $(STAMP)
	@$(TINYML) predict $(app) $(if $(INPUT),"$(INPUT)",) $(if $(RATE),--rate $(RATE))

flash run: $(STAMP)
	@$(TINYML) system-deps firmware
	@$(TINYML) $@ $(app) --board $(board) $(OPTS)

bench: $(STAMP)
	@$(TINYML) system-deps firmware
	@$(TINYML) bench $(app)

new: $(STAMP)
	@$(TINYML) new $(app)

test: $(STAMP)
	@$(TINYML) system-deps test
	$(BIN)/pytest -q -n 2 --dist loadgroup

test-all: $(STAMP)
	@$(TINYML) system-deps test
	$(BIN)/pytest -q -n 2 -m "not hardware"

clean:
	rm -rf build
