# Two entry points: `make run` (main job) and `make test` (test suite). Both create .venv if needed.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.microseg-installed
INPUT  ?=
SAMPLE := out/sample/images/000.tif

.PHONY: run test install clean train-default

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

# Retrain the bundled `default` model from ../shared/data in three stages (about 3 h of CPU), then
# pack it. runs/default_model*/ hold the checkpoints; an interrupted run resumes from last.pt.
RESUME = $$(test -f $(1)/last.pt && echo --resume $(1)/last.pt)
train-default: $(STAMP)
	$(VENV)/bin/microseg train configs/default_model.yaml --out runs/default_model \
	  $(call RESUME,runs/default_model)
	$(VENV)/bin/microseg train configs/default_model_finetune.yaml --out runs/default_model_finetune \
	  $(call RESUME,runs/default_model_finetune)
	$(VENV)/bin/microseg train configs/default_model_stage3.yaml --out runs/default_model_stage3 \
	  $(call RESUME,runs/default_model_stage3)
	$(VENV)/bin/microseg models pack runs/default_model_stage3/best.pt src/microseg/zoo/weights/default.pt

clean:
	rm -rf out
