#!/usr/bin/env bash
# Runs patchbench, the benchmark and demo binary, in release mode:
#   scripts/run.sh --help
# Arguments go to patchbench unchanged. The caller's working directory is
# kept (the manifest is named instead), so relative paths in the arguments
# mean what they say.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/setup.sh"
if ! command -v cargo >/dev/null 2>&1; then
	export PATH="$HOME/.cargo/bin:$PATH"
fi

exec cargo run --release --manifest-path "$root/Cargo.toml" -p patchbench -- "$@"
