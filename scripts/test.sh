#!/usr/bin/env bash
# The full check CI runs: environment setup, every test of the workspace
# (the GPU tests need a Vulkan adapter; setup.sh provides Mesa's software one),
# clippy with warnings as errors, and the formatting check.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
# Mesa's Vulkan WSI complains on every start when this is unset (headless machines).
if [ -z "${XDG_RUNTIME_DIR:-}" ]; then
	XDG_RUNTIME_DIR="$(mktemp -d)"
	export XDG_RUNTIME_DIR
fi
if ! command -v cargo >/dev/null 2>&1; then
	export PATH="$HOME/.cargo/bin:$PATH"
fi

# Python for the importer and its tests. A distribution Python that refuses
# pip installs (PEP 668) gets a virtual environment under models/ (git-ignored).
py=python3
if ! python3 -m pip --version >/dev/null 2>&1 ||
	python3 -c 'import os, sys, sysconfig; sys.exit(0 if os.path.exists(os.path.join(sysconfig.get_paths()["stdlib"], "EXTERNALLY-MANAGED")) else 1)'; then
	[ -x models/.venv/bin/python ] || python3 -m venv models/.venv
	py=models/.venv/bin/python
fi

# Real models for the conformance tests (idempotent; quick when present).
PYTHON="$py" bash tools/fetch_models.sh
"$py" -m pytest -q tools

# The dev profile is already optimised (Cargo.toml), so no --release here.
cargo test --workspace
# UniFFI: generate Kotlin and Swift from the built library, then run the
# Kotlin tests on the JVM (Maven, JNA) against the real engine.
bash scripts/bindings.sh
cargo clippy --workspace --all-targets -- -D warnings
cargo fmt --all -- --check
