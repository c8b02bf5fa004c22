# The two commands a newcomer needs:  make run   and   make test
# Everything else is a step they depend on. Python 3.11+, Debian packages
# from deploy/apt-packages.txt, Kafka and Elasticsearch from Maven Central.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install run test test-unit test-integration test-stress up down status setup schemas bench-extract bench fuzz clean test-deploy deploy-lock

install: $(STAMP)

$(STAMP): pyproject.toml deploy/apt-packages.txt scripts/install-system-packages.sh
	bash scripts/install-system-packages.sh deploy/apt-packages.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

## the main job: servers, topics, templates, every service, the sample reports
run: install
	$(BIN)/ogi run

## unit, integration and end-to-end tests on real Kafka and Elasticsearch
test: install
	$(BIN)/python -m pytest

test-unit: install
	$(BIN)/python -m pytest tests/unit

test-integration: install
	$(BIN)/python -m pytest tests/integration tests/e2e

## tests/e2e three times in a row while stress-ng keeps every core busy; all three must pass
test-stress: install
	bash scripts/test-stress.sh

up: install
	$(BIN)/ogi servers up

down:
	@if [ -x $(BIN)/ogi ]; then $(BIN)/ogi servers down; else echo "nothing installed, nothing running"; fi

status: install
	$(BIN)/ogi servers status

setup: install
	$(BIN)/ogi setup

## regenerate schemas/json/*.schema.json from the pydantic models
schemas: install
	$(BIN)/python -m schemas.export

bench-extract: install
	$(BIN)/python benchmarks/bench_extract.py

bench: bench-extract install
	$(BIN)/python benchmarks/bench_pipeline.py

## mutated reports in every format through the bounded extraction (make fuzz N=200 for a quick one)
N ?= 10000
fuzz: install
	$(BIN)/python tests/fuzz/campaign.py -n $(N)

## the container image and compose stack (deploy/), built and run for real; needs root; not in make test
test-deploy: install
	bash scripts/install-system-packages.sh deploy/apt-packages-deploy.txt
	$(BIN)/python deploy/test_deploy.py

## deploy/requirements.lock (the image's pinned dependencies), resolved in the image's base
deploy-lock:
	bash scripts/install-system-packages.sh deploy/apt-packages-deploy.txt
	bash deploy/base-image.sh
	bash deploy/lock.sh

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build *.egg-info
