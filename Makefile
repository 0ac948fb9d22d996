# Floorhand: every target bootstraps what it needs (Debian packages, .venv) by itself.
# `make demo` and `make test` are the two commands a newcomer needs.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.floorhand-installed
DEMO_DIR ?= .demo
DEMO_PORT ?= 8080

# Qt's xcb/offscreen platform plugins, QtMultimedia (libpulse0), a virtual screen and
# keyboard for the end-to-end tests (xvfb, xdotool), and the server tests' PostgreSQL.
# The bundle: PyInstaller reads shared libraries with objdump (binutils) and strips them;
# QtNetwork needs libgssapi-krb5-2, the Wayland platform plugin libwayland-*; dpkg-deb builds the .deb;
# a PulseAudio server with a null sink (pulseaudio, parec) hears the bundle's scan sounds.
DEBIAN_PACKAGES := libegl1 libgl1 libfontconfig1 libglib2.0-0 libdbus-1-3 libxkbcommon0 \
	libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 \
	libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 libpulse0 xvfb xauth xdotool \
	postgresql binutils libgssapi-krb5-2 libwayland-client0 libwayland-cursor0 libwayland-egl1 dpkg \
	pulseaudio pulseaudio-utils

.PHONY: demo serve-demo test bench screenshots lock system-deps venv openapi clean bundle deb

VERSION := $(shell sed -n 's/^VERSION = "\(.*\)"/\1/p' desktop_app/version.py)
DEB_ARCH := $(shell dpkg --print-architecture 2>/dev/null || echo amd64)
BUNDLE := dist/floorhand
DEB ?= dist/floorhand_$(VERSION)_$(DEB_ARCH).deb
DEB_COMPRESSION ?= xz
BUNDLE_INPUTS := $(shell find desktop_app sync scanners order_api -name '*.py' -o -name '*.mako' 2>/dev/null) \
	packaging/floorhand.spec requirements.lock

demo: venv
	$(BIN)/floorhand --demo

# The reference order API alone, seeded, on a fixed port: for trying the CLI or several clients.
serve-demo: venv
	rm -rf $(DEMO_DIR) && mkdir -p $(DEMO_DIR)
	$(BIN)/floorhand-api serve --seed demo --db sqlite:///$(DEMO_DIR)/orders.db \
		--blob-store fs:$(DEMO_DIR)/blobs --port $(DEMO_PORT)

test: venv
	$(BIN)/python -m pytest

# Every benchmark of docs/benchmarks.md (about 45 minutes; the upload one writes 7.2 GB of test files).
bench: venv bundle
	$(BIN)/python -m benchmarks.server_sync
	$(BIN)/python -m benchmarks.server_push
	$(BIN)/python -m benchmarks.client_sync
	$(BIN)/python -m benchmarks.scan_latency
	$(BIN)/python -m benchmarks.pack_latency
	$(BIN)/python -m benchmarks.commit_floor
	$(BIN)/python -m benchmarks.switch
	$(BIN)/python -m benchmarks.upload --rounds 3
	$(BIN)/python -m benchmarks.bundle

# The README's pictures: the real app on the demo warehouse, rendered offscreen into docs/screenshots/.
screenshots: venv
	$(BIN)/python docs/screenshots/make.py

openapi: venv
	$(BIN)/floorhand-api openapi > docs/openapi.json

# Regenerate the pinned, hashed lock file from pyproject.toml.
lock: venv
	$(BIN)/pip install -q uv
	$(BIN)/uv pip compile pyproject.toml --extra server --extra dev --python-version 3.11 \
		--generate-hashes -o requirements.lock

venv: system-deps $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@# Debian's python3 leaves a venv without pip when python3-venv is missing: check pip.
	@test -x $(BIN)/pip || $(PYTHON) -m venv --clear $(VENV) || { \
		echo "python3 -m venv failed; installing python3-venv"; \
		$(call apt_install,python3-venv) && $(PYTHON) -m venv --clear $(VENV); }
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q --require-hashes -r requirements.lock
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $@

system-deps:
	@missing=""; for p in $(DEBIAN_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		$(call apt_install,$$missing); \
	fi

define apt_install
	if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $(1) >/dev/null
endef

# The PyInstaller onedir bundle in dist/floorhand/, built from the locked dependencies in .venv;
# rebuilt only when the code, the spec or the lock changed.
bundle: venv $(BUNDLE)/floorhand

$(BUNDLE)/floorhand: $(STAMP) $(BUNDLE_INPUTS)
	$(BIN)/pyinstaller --noconfirm --clean --log-level WARN --distpath dist --workpath build/pyinstaller \
		packaging/floorhand.spec
	touch $@

# The Debian package of the bundle (/opt/floorhand, /usr/bin/floorhand); see docs/deployment.md.
deb: bundle
	DEB_COMPRESSION=$(DEB_COMPRESSION) packaging/linux/build-deb.sh $(BUNDLE) $(VERSION) $(DEB)

clean:
	rm -rf $(VENV) $(DEMO_DIR) build dist *.egg-info
