# Two entry points: `make run` (main job) and `make test` (test suite). Both create .venv if needed.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.microseg-installed
INPUT  ?=

.PHONY: run test install clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -q

run: $(STAMP)
	$(VENV)/bin/microseg synth timelapse --out out/demo --seed 0 --perturbed-result
	$(VENV)/bin/microseg evaluate out/demo/01_RES out/demo/01_GT --metrics seg,f1,ap,iou,errors

clean:
	rm -rf out
