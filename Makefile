# Two entry points a new engineer needs: `make plan` (offline render of a stack) and `make test`.
# Both create .venv and install the pinned requirements on first use.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | sha256sum | cut -c1-12)
STACK  ?= dev

.PHONY: plan test bench install

install: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	rm -f $(VENV)/.installed-* && touch $(STAMP)

plan: $(STAMP)
	$(PY) -m offline $(STACK)

test: $(STAMP)
	$(PY) -m pytest -n 2

bench: $(STAMP)
	$(PY) -m bench
