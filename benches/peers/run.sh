#!/usr/bin/env bash
# PatchRT side by side with ncnn (Vulkan, CPU), ONNX Runtime and LiteRT on the
# same random MobileNetV2 1.0 weights: the one command of benches/peers.
#
#   bash benches/peers/run.sh [compare.py options, e.g. --runs 20 --json out/peers.json]
#
# 1. makes a venv (out/peers-venv; PEERS_VENV=DIR for another, PYTHON=... for
#    the interpreter, 3.11) and installs benches/peers/requirements.txt into it
#    (skipped when the venv already holds exactly that file's pins);
# 2. runs tools/fetch_models.sh when models/torchvision-random or the fixture
#    it was imported from is missing;
# 3. cargo build --release -p patchbench;
# 4. runs benches/peers/compare.py with the arguments given here.
# See benches/peers/README.md.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/benches/peers"
VENV="${PEERS_VENV:-$ROOT/out/peers-venv}"
PY="${PYTHON:-python3}"

log() { printf '[peers] %s\n' "$*" >&2; }

if [[ ! -x "$VENV/bin/python" ]]; then
    log "creating $VENV"
    "$PY" -m venv "$VENV"
fi
if ! cmp -s "$HERE/requirements.txt" "$VENV/.peers-requirements.txt"; then
    log "installing benches/peers/requirements.txt into $VENV"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps -r "$HERE/requirements.txt"
    cp "$HERE/requirements.txt" "$VENV/.peers-requirements.txt"
fi

if [[ ! -f "$ROOT/models/torchvision-random/backbone.safetensors" ||
    ! -f "$ROOT/models/torchvision-random/patch.safetensors" ||
    ! -f "$ROOT/models/downloads/torchvision-fixture/mobilenet_v2_random.safetensors" ||
    ! -f "$ROOT/models/downloads/torchvision-fixture/mobilenet_v2_random.pth" ]]; then
    log "models/torchvision-random missing: running tools/fetch_models.sh"
    bash "$ROOT/tools/fetch_models.sh"
fi

log "cargo build --release -p patchbench"
(cd "$ROOT" && cargo build --release -p patchbench)

cd "$ROOT"
exec "$VENV/bin/python" "$HERE/compare.py" --patchbench "$ROOT/target/release/patchbench" "$@"
