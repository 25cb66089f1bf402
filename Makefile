# Thin verbs over the `tinyml` CLI: make app=<id> [board=<b>] <verb> [VAR=value ...]. All logic lives in the CLI.
# The first verb that needs Python creates .venv (pip path; `poetry install` works too).

VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# TINYML_MAKE=1: the CLI words its hints as make variables (RATE=, not --rate).
TINYML := TINYML_MAKE=1 $(BIN)/tinyml

# ---- the Python interpreter ----
# The Python versions the pinned packages have wheels for: keep in step with requires-python in
# pyproject.toml (tests/test_makefile.py checks). PYTHON=/path/to/python picks one by hand.
PY_VERSIONS := 3.11 3.12 3.13
PY_CANDIDATES := $(if $(filter command line environment,$(origin PYTHON)),$(PYTHON),python3 $(addprefix python,$(PY_VERSIONS)))
py_version = $(shell "$(1)" --version 2>/dev/null | sed -n 's/^Python \([0-9][0-9]*\.[0-9][0-9]*\).*/\1/p')
# A .venv made by an interpreter outside PY_VERSIONS (or whose interpreter is gone) is rebuilt.
VENV_VERSION := $(if $(wildcard $(VENV)),$(call py_version,$(BIN)/python))
VENV_STALE := $(if $(wildcard $(VENV)),$(if $(filter $(VENV_VERSION),$(PY_VERSIONS)),,1))
ifeq ($(VENV_STALE),1)
.PHONY: $(STAMP)
endif

# ---- make variables: checked, then each becomes its CLI flag ----
# A variable on the command line that nothing reads is a typo (Board=avr-uno would flash the default board):
# one line, before anything runs. Make exports command-line variables to the recipes, so those the CLI reads
# from its environment pass too: BOARD (as board=), TINYML_* (TINYML_DEBUG=1 ...) and CC (the host compiler).
# The environment is not checked. (A sub-make gets its parent's command-line variables through MAKEFLAGS as its
# own: a parent's variable unknown here is refused too. Not skipped by MAKELEVEL: `make test` is a parent, and
# the tests' own make calls must be checked under it.)
MAKE_VARIABLES := app board INPUT RATE MODEL EVENTS_ONLY ALL_LINES CHANNEL PORT SET SMOKE YES DEVICE MQTT \
                  CALIBRATION RUN DEVICES GATEWAYS SECONDS BROKER LISTEN PYTHON BOARD CC
upper = $(subst a,A,$(subst b,B,$(subst c,C,$(subst d,D,$(subst e,E,$(subst f,F,$(subst g,G,$(subst h,H,$(subst i,I,\
        $(subst j,J,$(subst k,K,$(subst l,L,$(subst m,M,$(subst n,N,$(subst o,O,$(subst p,P,$(subst q,Q,$(subst r,R,\
        $(subst s,S,$(subst t,T,$(subst u,U,$(subst v,V,$(subst w,W,$(subst x,X,$(subst y,Y,$(subst z,Z,$(1)))))))))))))))))))))))))))
comma := ,
space := $() $()
UNKNOWN_VARIABLE := $(firstword $(filter-out $(MAKE_VARIABLES) TINYML_%,$(foreach v,$(.VARIABLES),$(if $(filter command line,$(origin $(v))),$(v)))))
ifneq ($(UNKNOWN_VARIABLE),)
MEANT := $(firstword $(foreach v,$(MAKE_VARIABLES),$(if $(filter $(call upper,$(v)),$(call upper,$(UNKNOWN_VARIABLE))),$(v))))
$(error unknown make variable $(UNKNOWN_VARIABLE)=$(if $(MEANT),; did you mean $(MEANT)=?, (make takes: $(subst $(space),$(comma)$(space),$(strip $(MAKE_VARIABLES)))))))
endif

# The yes/no variables: 1/y/yes/true/on or 0/n/no/false/off (any case); another word on the command line is
# refused, not read as no.
FLAG_VARIABLES := EVENTS_ONLY ALL_LINES SMOKE YES DEVICE
YES_WORDS := 1 Y YES TRUE ON
NO_WORDS := 0 N NO FALSE OFF
yes = $(filter $(YES_WORDS),$(call upper,$(1)))
BAD_FLAG := $(firstword $(foreach v,$(FLAG_VARIABLES),$(if $(filter command line,$(origin $(v))),$(if $(filter-out $(NO_WORDS) $(YES_WORDS),$(call upper,$($(v)))),$(v)))))
ifneq ($(BAD_FLAG),)
$(error $(BAD_FLAG)=$($(BAD_FLAG)): give $(BAD_FLAG)=1 (yes) or 0 (no))
endif

# CHANNEL holds mappings separated by ';', each passed whole as one --channel, spaces kept: a column name may
# have spaces (CHANNEL="vwc=Water Content 10 CM;soil_temp_c=Temperature 10 CM"). The spaces are held under a
# mark while make splits the words, and given back in each mapping.
SPACE_MARK := <tinyml-space>
channel_flags = $(foreach m,$(subst ;, ,$(subst $(space),$(SPACE_MARK),$(1))),$(if $(subst $(SPACE_MARK),,$(m)),--channel "$(subst $(SPACE_MARK),$(space),$(m))"))

# Each make variable becomes its CLI flag (tinyml.hints.MAKE_VARS); a verb refuses one it does not take.
OPTS := $(if $(INPUT),--input "$(INPUT)") $(if $(RATE),--rate "$(RATE)") $(if $(MODEL),--model "$(MODEL)") \
        $(if $(call yes,$(EVENTS_ONLY)),--events-only) $(if $(call yes,$(ALL_LINES)),--all-lines) \
        $(if $(PORT),--port "$(PORT)") $(if $(board),--board "$(board)") $(foreach s,$(SET),--set "$(s)") $(call channel_flags,$(CHANNEL)) \
        $(if $(call yes,$(SMOKE)),--smoke) $(if $(call yes,$(YES)),--yes) $(if $(call yes,$(DEVICE)),--device) $(if $(MQTT),--mqtt "$(MQTT)") \
        $(if $(CALIBRATION),--calibration "$(CALIBRATION)")

# A verb that needs an app, without app=: one line, before anything runs.
APP_VERBS := data train promote eval compile profile size predict flash run eim calibrate
APPS_FOUND := $(patsubst apps/%/app.toml,%,$(filter-out apps/_%,$(wildcard apps/*/app.toml)))
ifeq ($(strip $(app)),)
ifneq ($(filter $(APP_VERBS),$(MAKECMDGOALS)),)
$(error no app given: make app=<id> $(firstword $(filter $(APP_VERBS),$(MAKECMDGOALS))), with <id> one of: $(or $(APPS_FOUND),(none)))
endif
ifneq ($(filter new,$(MAKECMDGOALS)),)
$(error no app id given: make new app=<new-id> (kebab-case, e.g. my-gesture))
endif
endif

.PHONY: help setup apps data train promote eval card cards predict calibrate new compile profile flash run size bench eim fleet dashboard test test-all clean

help:
	@echo "make test                      run the test suite (installs what it needs; see README, System packages)"
	@echo "make app=fall-detect flash     build the firmware and replay the demo on the emulated board"
	@echo "make apps                      list apps and boards"
	@echo "make app=<id> data|train|eval|compile|profile|size|bench   [SMOKE=1 for data/train/eval]"
	@echo "make app=<id> promote [RUN=<run>]  commit a training run (default: the last) as the app's model"
	@echo "make app=<id> card [DEVICE=1]  re-render the model card from card.json (DEVICE=1: re-measure stale device figures)"
	@echo "make cards [DEVICE=1]          the same for every app's card and the template's"
	@echo "make app=<id> predict INPUT=rec.csv [RATE=Hz] [MODEL=other.tflite] [EVENTS_ONLY=1] [CHANNEL='[ch=]name;...']"
	@echo "make app=<id> run INPUT=rec.csv [board=host|qemu-m4|...] [RATE=Hz] [EVENTS_ONLY=1] [PORT=/dev/ttyACM0]"
	@echo "make app=<id> calibrate INPUT=healthy.wav   learn the device state (then CALIBRATION=healthy.calibration.json)"
	@echo "make app=<id> flash [board=...] [INPUT=rec.csv] [ALL_LINES=1] [PORT=/dev/ttyACM0] [YES=1: install flashing tools]"
	@echo "make app=<id> run INPUT=rec.csv MQTT=mqtts://user@broker:8883/?ca=ca.pem   publish the events to MQTT"
	@echo "make app=<id> eim              build the app as an Edge Impulse Linux model: build/<id>/host/<id>.eim"
	@echo "make fleet [DEVICES=200] [GATEWAYS=4] [SECONDS=20]   load test: simulated devices -> gateways -> local broker"
	@echo "make dashboard [BROKER=mqtt://...] [LISTEN=127.0.0.1:8080]   live page of devices and events (no BROKER: every app's demo)"
	@echo "any app verb: SET=\"section.key=value ...\" overrides manifest values for one run"
	@echo "make new app=<new-id>          copy apps/_template into a new app"
	@echo "Python $(PY_VERSIONS) (PYTHON=/path/to/python to choose one)"

# Edge Impulse's SDK (tests drive the .eim models with it): after the Debian packages PyAudio builds with
EI_STAMP := $(VENV)/.installed-edge-impulse
$(EI_STAMP): $(STAMP)
	@$(TINYML) system-deps edge-impulse
	$(BIN)/pip install --quiet -e ".[dev,edge-impulse]"
	@touch $@

$(STAMP): pyproject.toml
	@if [ "$(VENV_STALE)" = 1 ]; then \
	  echo "$(VENV) was made by Python $(or $(VENV_VERSION),(interpreter gone)), not one of $(PY_VERSIONS): rebuilding it"; \
	  rm -rf $(VENV); fi
	@if [ ! -x $(BIN)/python ]; then \
	  py=; found=; \
	  for c in $(PY_CANDIDATES); do \
	    v=$$("$$c" --version 2>/dev/null | sed -n 's/^Python \([0-9][0-9]*\.[0-9][0-9]*\).*/\1/p'); \
	    [ -n "$$v" ] && found="$$found $$c=$$v"; \
	    case " $(PY_VERSIONS) " in *" $$v "*) [ -n "$$v" ] && py=$$c && break;; esac; \
	  done; \
	  if [ -z "$$py" ]; then \
	    echo "error: needs Python $(PY_VERSIONS) (found:$${found:- none}); install one (Debian/Ubuntu: apt-get install python3.11-venv, or pyenv install 3.11) or give PYTHON=/path/to/python3.11" >&2; \
	    exit 2; fi; \
	  echo "creating $(VENV) with $$py (Python $$($$py --version 2>&1 | cut -d' ' -f2))"; \
	  "$$py" -m venv $(VENV) || exit 2; fi
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	@touch $(STAMP)

setup: $(STAMP)

apps: $(STAMP)
	@$(TINYML) apps

data train eval compile profile size predict calibrate: $(STAMP)
	@$(TINYML) $@ "$(app)" $(OPTS)

card cards: $(STAMP)
	@$(TINYML) card $(if $(filter card,$@),$(if $(app),"$(app)")) $(OPTS)

promote: $(STAMP)
	@$(TINYML) promote "$(app)" $(if $(RUN),"$(RUN)") $(OPTS)

flash run: $(STAMP)
	@$(TINYML) system-deps firmware
	@$(TINYML) $@ "$(app)" $(OPTS)

bench: $(STAMP)
	@$(TINYML) system-deps firmware
	@$(TINYML) bench $(if $(app),"$(app)") $(OPTS)

eim: $(STAMP)
	@$(TINYML) eim "$(app)" $(OPTS)

fleet: $(STAMP)
	@$(TINYML) system-deps mqtt
	@$(TINYML) fleet $(if $(DEVICES),--devices "$(DEVICES)") $(if $(GATEWAYS),--gateways "$(GATEWAYS)") $(if $(SECONDS),--seconds "$(SECONDS)")

dashboard: $(STAMP)
	@$(if $(BROKER),,$(TINYML) system-deps mqtt)
	@$(TINYML) dashboard $(if $(BROKER),--broker "$(BROKER)",--demo) $(if $(LISTEN),--listen "$(LISTEN)")

new: $(STAMP)
	@$(TINYML) new "$(app)"

test: $(EI_STAMP)
	@$(TINYML) system-deps test
	$(BIN)/pytest -q -n 2 --dist loadgroup

test-all: $(EI_STAMP)
	@$(TINYML) system-deps test
	$(BIN)/pytest -q -n 2 -m "not hardware"

clean:
	rm -rf build
