#!/usr/bin/env bash
# The full check CI runs: environment setup, every test of the workspace
# (the GPU tests need a Vulkan adapter; setup.sh provides Mesa's software one),
# clippy with warnings as errors, and the formatting check.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
if ! command -v cargo >/dev/null 2>&1; then
	export PATH="$HOME/.cargo/bin:$PATH"
fi

# The dev profile is already optimised (Cargo.toml), so no --release here.
cargo test --workspace
cargo clippy --workspace --all-targets -- -D warnings
cargo fmt --all -- --check
