# Two entry points a new engineer needs: `make plan` (offline render of a stack) and `make test`.
# Both create .venv and install the pinned requirements on first use.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt constraints.txt pyproject.toml | sha256sum | cut -c1-12)
STACK  ?= dev

.PHONY: plan test bench install diagrams schema twin openapi

install: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt constraints.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	rm -f $(VENV)/.installed-* && touch $(STAMP)

plan: $(STAMP)
	$(PY) -m offline $(STACK)$(if $(BASE), --base $(BASE))$(if $(FORMAT), --format $(FORMAT))

# The services tests run real Redis and PostgreSQL (Debian's packages, installed here if missing).
test: $(STAMP)
	bash tests/services/services.sh install
	$(PY) -m pytest -n 2

bench: $(STAMP)
	$(PY) -m bench

# Regenerate docs/diagrams/ and the README's prod diagrams (Mermaid + Graphviz). Run it after any
# component change; `make test` checks the committed text is current without needing Graphviz.
diagrams: $(STAMP)
	@command -v dot >/dev/null 2>&1 || { \
	  echo "Graphviz (dot) not found: installing the Debian package graphviz"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO="sudo -n"; fi; \
	  $$SUDO apt-get update -q && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends graphviz; }
	@status=0; for stack in dev prod; do $(PY) -m offline $$stack --no-tree --write-docs || status=$$?; done; exit $$status

# Regenerate provider/schema.json (the component provider's schema); `make test` checks it is current.
schema: $(STAMP)
	$(PY) provider/generate_schema.py

# Regenerate docs/openapi/ (every API's OpenAPI document: from the route tables, and from the shop's apps) and the
# Python clients generated from them; `make test` checks they are current (tests/contract, tests/services).
openapi: $(STAMP)
	$(PY) -m services.openapi_contracts
	$(PY) -m offline.openapi_docs
	$(PY) -m offline.api_versions

# The local twin of each stack (docs/twin.md): data plane on moto server, the real functions, end-to-end scenarios.
twin: $(STAMP)
	$(PY) -m twin all
