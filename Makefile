# Two entry points: `make run` (main job) and `make test` (test suite). Both create .venv if needed.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.microseg-installed
INPUT  ?=
SAMPLE := out/sample/images/000.tif

.PHONY: run test install clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -q

# Segment INPUT (default: a synthetic 1024² nuclei image) with the bundled `default` model into
# out/: labels TIFF, overlay PNG, measurements CSV; prints the objects found and the time taken.
run: $(STAMP) $(if $(INPUT),,$(SAMPLE))
	$(VENV)/bin/microseg segment $(or $(INPUT),$(SAMPLE)) --model default --out out --overwrite

$(SAMPLE): | $(STAMP)
	$(VENV)/bin/microseg synth nuclei2d --out out/sample --n 1 --seed 0 --size 1024 1024

clean:
	rm -rf out
