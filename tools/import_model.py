#!/usr/bin/env python3
"""Convert trained MobileNetV2-family weights into PatchRT files.

    python3 tools/import_model.py --format {keras-h5|torchvision|effnet-lite} \
        --input FILE --out DIR [--labels FILE] [--dtype f32|f16] \
        [--task NAME] [--resolution N]

writes DIR/backbone.safetensors and DIR/patch.safetensors as described in
docs/formats.md and prints a one-line summary. A source that cannot be read
(missing, truncated, wrong format, unexpected layer names or shapes) exits
with status 2 and a one-line message; see tools/README.md.

Needs Python 3.11, numpy, h5py (keras-h5 only) and safetensors; never torch,
tensorflow or keras: PyTorch checkpoints (zip and legacy formats) and pickled
scikit-learn label encoders are read with restricted unpicklers that build
plain numpy arrays and never import or run the classes they name.

The importer itself is the package tools/patchrt_import/; this file is its
entry point.
"""

import os
import sys

_TOOLS = os.path.dirname(os.path.abspath(__file__))
if _TOOLS not in sys.path:  # e.g. under python3 -P / PYTHONSAFEPATH
    sys.path.insert(0, _TOOLS)

from patchrt_import.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
