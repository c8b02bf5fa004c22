# The two commands a newcomer needs:  make run   and   make test
# Everything else is a step they depend on. Python 3.11+, Debian packages
# from deploy/apt-packages.txt, Kafka and Elasticsearch from Maven Central.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install lint run test test-unit test-integration test-stress test-cluster up down status setup schemas rules-yaml bench-extract bench-ocr bench bench-ingest fuzz clean test-deploy deploy-lock

install: $(STAMP)

$(STAMP): pyproject.toml deploy/apt-packages.txt scripts/install-system-packages.sh
	bash scripts/install-system-packages.sh deploy/apt-packages.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,lint]'
	touch $(STAMP)

## the main job: servers, topics, templates, every service, the sample reports
run: install
	$(BIN)/ogi run

## ruff (rules and formatting) and strict mypy with the pydantic plugin; .ci/run and pre-commit run the same
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

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

## 2,000 reports through a three-broker Kafka while one broker is SIGKILLed and restarted (CI streams 100)
test-cluster: install
	OGI_TEST_CLUSTER_REPORTS=2000 OGI_TEST_CLUSTER_RATE=10 $(BIN)/python -m pytest -s tests/e2e/test_kafka_cluster.py

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

## rewrite services/alerts/rules.yaml from the rules' parameter classes (the defaults)
rules-yaml: install
	$(BIN)/python -m services.alerts.rules.shipped

bench-extract: install
	$(BIN)/python benchmarks/bench_extract.py

## the corpus rasterised to image-only PDFs at 150 and 300 dpi, read by OCR, scored (slow: minutes a report)
bench-ocr: install
	bash scripts/install-system-packages.sh deploy/apt-packages-bench.txt
	$(BIN)/python benchmarks/bench_ocr.py

## the pipeline on the real servers: 2,000 mixed reports (BENCH_ARGS="--reports 10000", "--rate 2")
BENCH_ARGS ?=
bench: install
	$(BIN)/python benchmarks/bench_pipeline.py $(BENCH_ARGS)

## 100 and 1,000 local sites on 127.0.x.y polled by one monitor: poll time, politeness, memory, requests per poll
bench-ingest: install
	$(BIN)/python benchmarks/bench_ingest_scale.py

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
