# Echoes — the two commands: `make run` and `make test`. Everything else is a helper.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
PYTHON := $(VENV)/bin/python
PIP := $(PYTHON) -m pip
PYTEST_ARGS ?=

.PHONY: run test prod-shape install install-python install-web build-web bench lint check-python clean

## make run: install everything, start Postgres, Redis, API, worker and web; Ctrl-C stops all.
## make run STORAGE=s3: media in an embedded SeaweedFS (S3) instead of var/media.
STORAGE ?= local
run: install build-web
	$(PYTHON) -m devstack run --storage $(STORAGE)

## make test: the static checks (ruff, mypy, tsc), then the whole suite (unit, integration
## with the schema fuzz run, end-to-end).
test: install build-web
	$(VENV)/bin/ruff check api worker assembly devstack bench tests
	$(VENV)/bin/mypy
	npm run typecheck
	npm test
	npm run check:api-client
	$(PYTHON) -m pytest $(PYTEST_ARGS)

install: install-python install-web

check-python:
	@$(PY) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Echoes needs Python 3.11 or newer (found " + sys.version.split()[0] + "); set PY=/path/to/python3.11")'

$(VENV)/.installed: pyproject.toml constraints.txt | check-python
	test -x $(PYTHON) || $(PY) -m venv $(VENV)
	$(PIP) install --quiet --upgrade 'pip>=24'
	$(PIP) install --quiet -c constraints.txt -e '.[dev,embedded,gpu]'
	touch $@

install-python: $(VENV)/.installed

node_modules/.installed: package.json package-lock.json web/package.json
	npm ci --no-audit --no-fund
	touch $@

install-web: node_modules/.installed

WEB_SOURCES := $(shell find web/app web/components web/lib web/public web/server.mjs web/proxy.ts web/next.config.ts web/postcss.config.mjs web/tsconfig.json -type f 2>/dev/null)

web/.next/BUILD_ID: node_modules/.installed $(WEB_SOURCES)
	npm run build

build-web: web/.next/BUILD_ID

## make bench: every benchmark (see README); results go to bench/results/.
# moviepy is only the benchmark's baseline (never a runtime dependency). Its metadata asks
# for pillow<12 although it runs fine on our Pillow 12, hence --no-deps with its own pins.
MOVIEPY := moviepy==2.2.1 decorator==5.3.1 imageio==2.38.1 proglog==0.1.12 tqdm==4.70.1

bench: install
	$(PIP) install --quiet --no-deps $(MOVIEPY)
	$(PYTHON) -m bench.local_motion
	$(PYTHON) -m bench.intake
	$(PYTHON) -m bench.assembly
	$(PYTHON) -m bench.sse

lint: install
	$(VENV)/bin/ruff check api worker assembly devstack bench tests

clean:
	rm -rf $(VENV) node_modules web/.next

## make prod-shape: the production shape as processes (2 APIs, 2 worker pools, SeaweedFS), tested.
prod-shape: install
	$(PYTHON) -m pytest tests/e2e/test_production_shape.py -v
