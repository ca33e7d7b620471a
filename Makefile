# Two commands do all set-up on a fresh clone:
#   make serve   build the site and serve it on 127.0.0.1:8000 (make docs: build into site/,
#                the Chinese edition into site/zh/; make serve-zh serves it alone on :8001)
#   make test    lint, strict docs build into site/, then every test, the browser tests driving
#                that same site/ in Chromium (left out, with one line saying so, without Chromium)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export NO_MKDOCS_2_WARNING := 1
export MPLBACKEND := Agg

LINTED := transconv tests benchmarks hooks sitebuild

.PHONY: install test test-fast lint unit docs-strict docs serve serve-zh i18n-status bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,docs]'
	touch $(STAMP)

# in this order: the tests reuse the strict build in site/ (TRANSCONV_SITE_DIR)
test: lint docs-strict
	TRANSCONV_SITE_DIR=site $(BIN)/python -m pytest -q

# the inner loop: no docs build, no browser, no test marked slow
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m 'not slow'

lint: $(STAMP)
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)

unit: $(STAMP)
	$(BIN)/python -m pytest -q

# English first: it executes the pages; the Chinese edition renders the same runs. A missing or
# stale translation fails the strict build (make i18n-status counts them).
docs-strict: $(STAMP)
	$(BIN)/mkdocs build --strict --site-dir site
	$(BIN)/mkdocs build --strict -f mkdocs.zh.yml --site-dir site/zh

# a draft: untranslated text stays English, with one warning per page saying how much
docs: $(STAMP)
	$(BIN)/mkdocs build
	$(BIN)/mkdocs build --no-strict -f mkdocs.zh.yml

# English only, with live reload (the language switch's Chinese links need make docs)
serve: $(STAMP)
	$(BIN)/mkdocs serve --dev-addr 127.0.0.1:8000

serve-zh: $(STAMP)
	$(BIN)/mkdocs build --site-dir site
	$(BIN)/mkdocs serve --no-strict -f mkdocs.zh.yml --dev-addr 127.0.0.1:8001

# what needs translating, per page (exit status 1 while anything does)
i18n-status: $(STAMP)
	$(BIN)/python -m sitebuild i18n status --lang zh

bench: $(STAMP)
	$(BIN)/python benchmarks/reference_vs_torch.py

clean:
	rm -rf site .cache
