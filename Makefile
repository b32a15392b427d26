# Two commands do all the set-up on a fresh Debian machine with Python 3.11:
#   make run    set up, then run the main job on corpora/sample/ into outputs/sample/
#   make test   set up, then run the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test setup system clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

# Debian packages: Chromium for browser tests, a CJK font for charts. Skipped when present.
system:
	@if ! command -v chromium >/dev/null || ! fc-list 2>/dev/null | grep -qi 'Noto Sans CJK'; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium fonts-noto-cjk; \
	fi

run: $(STAMP)
	$(BIN)/zhili run corpora/sample --out outputs/sample

test: $(STAMP) system
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) outputs
