#!/usr/bin/env bash
# Runs patchbench, the benchmark and demo binary, in release mode:
#   scripts/run.sh --help
# Arguments go to patchbench unchanged. The caller's working directory is
# kept (the manifest is named instead), so relative paths in the arguments
# mean what they say.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/setup.sh"
# Mesa's Vulkan WSI complains on every start when this is unset (headless machines).
if [ -z "${XDG_RUNTIME_DIR:-}" ]; then
	XDG_RUNTIME_DIR="$(mktemp -d)"
	export XDG_RUNTIME_DIR
fi
if ! command -v cargo >/dev/null 2>&1; then
	export PATH="$HOME/.cargo/bin:$PATH"
fi

# The main job uses a real model once `tools/fetch_models.sh` has imported
# one, unless the caller names a backbone or asks for a subcommand.
real="$root/models/effnet-lite0"
first="${1:-}"
case "$first" in
classify | cascade | help | -h | --help | -V | --version) ;;
*)
	case " $* " in
	*" --backbone "*) ;;
	*)
		if [ -f "$real/backbone.safetensors" ] && [ -f "$real/patch.safetensors" ]; then
			echo "run: using the imported EfficientNet-Lite0 in $real (delete it to run the synthetic default)" >&2
			set -- --backbone "$real/backbone.safetensors" --patch "$real/patch.safetensors" "$@"
		fi
		;;
	esac
	;;
esac

exec cargo run --release --manifest-path "$root/Cargo.toml" -p patchbench -- "$@"
