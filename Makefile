# EdgeWizard: `make run` opens it on the sample model, `make test` runs the whole test suite.
# Both create .venv with the pinned dependencies on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test sysdeps venv clean bench package package-test

# A changed pyproject.toml gets a new .venv: upgrading in place can leave packages of the old pins
# behind (PySide6 6.12's split-off packages overwrite files of 6.11's).
$(STAMP): pyproject.toml
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $(STAMP)

venv: $(STAMP)

sysdeps:
	@bash packaging/system-deps.sh

run: sysdeps $(STAMP)
	$(BIN)/edgewizard --sample

test: sysdeps $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest

clean:
	rm -rf $(VENV) build *.egg-info

# The installable app (packaging/README.md): PyInstaller folder, .deb and .tar.gz in build/package/.
# package-test then checks the .deb without installing it (packaging/smoke.sh).
PACKAGE_OUT := build/package

package: sysdeps $(STAMP)
	$(BIN)/python -c "import PyInstaller" 2>/dev/null || $(BIN)/python -m pip install -q -e ".[package]"
	OUT=$(CURDIR)/$(PACKAGE_OUT) PY=$(CURDIR)/$(BIN)/python bash packaging/build.sh

package-test: package
	bash packaging/smoke.sh $$(ls -t $(PACKAGE_OUT)/edgewizard_*.deb | head -1)
