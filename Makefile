# Two commands do all set-up on a fresh clone:
#   make docs / make serve   build or serve the site
#   make test                run every test (unit tests, doctests, strict docs build)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export NO_MKDOCS_2_WARNING := 1
export MPLBACKEND := Agg

.PHONY: install test unit docs-strict docs serve bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,docs]'
	touch $(STAMP)

test: unit docs-strict

unit: $(STAMP)
	$(BIN)/python -m pytest -q

docs-strict: $(STAMP)
	$(BIN)/mkdocs build --strict

docs: $(STAMP)
	$(BIN)/mkdocs build

serve: $(STAMP)
	$(BIN)/mkdocs serve --dev-addr 127.0.0.1:8000

bench: $(STAMP)
	$(BIN)/python benchmarks/reference_vs_torch.py

clean:
	rm -rf site .cache
