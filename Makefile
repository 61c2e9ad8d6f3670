# Two entry points for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat setup.cfg pyproject.toml | cksum | cut -d' ' -f1)
DEMO := demo

.PHONY: venv demo test lint clean-demo

venv: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[all]"
	rm -f $(VENV)/.installed-*
	touch $@

# Generate a synthetic captcha family, train the default recipe on it, evaluate on held-out captchas.
demo: venv
	test -d $(DEMO)/train || $(BIN)/cvcaptcha generate $(DEMO)/train --count 1500 --seed 1
	test -d $(DEMO)/test || $(BIN)/cvcaptcha generate $(DEMO)/test --count 300 --seed 2
	$(BIN)/cvcaptcha train $(DEMO)/train -o $(DEMO)/model.cvc --force
	$(BIN)/cvcaptcha evaluate $(DEMO)/model.cvc $(DEMO)/test
	@echo "model written to $(DEMO)/model.cvc"

test: venv
	$(BIN)/python -m pytest

lint: venv
	$(BIN)/ruff check cvcaptcha tests benchmarks

clean-demo:
	rm -rf $(DEMO)
