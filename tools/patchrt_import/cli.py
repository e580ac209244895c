"""The command line: python3 tools/import_model.py --format ... --input ... --out ...

Parses the arguments, runs the reader for --format, loads the labels, writes
the files and prints the one-line summary; exit status 0 done, 2 the input
cannot be imported, 1 the output cannot be written (tools/README.md).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

EXIT_BAD_INPUT = 2
EXIT_OUTPUT = 1

# Before the readers, which all need numpy: a missing numpy is an environment
# problem, reported as one line like any other.
try:
    import numpy  # noqa: F401
except ImportError:  # pragma: no cover - environment problem, not input
    print(
        "import_model: error: numpy is not installed "
        "(python3 -m pip install -r tools/requirements.txt)",
        file=sys.stderr,
    )
    sys.exit(EXIT_OUTPUT)

from .effnet_lite import read_effnet_lite  # noqa: E402
from .errors import InputError, fail  # noqa: E402
from .keras_h5 import read_keras_h5  # noqa: E402
from .labels import load_labels  # noqa: E402
from .torchvision import read_torchvision  # noqa: E402
from .writer import convert, fmt_float  # noqa: E402

READERS = {
    "keras-h5": read_keras_h5,
    "torchvision": read_torchvision,
    "effnet-lite": read_effnet_lite,
}


def _size(n: int) -> str:
    return f"{n / 1e6:.2f} MB" if n >= 1e5 else f"{n / 1e3:.1f} kB"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        prog="import_model.py",
        description="Convert MobileNetV2-family weights into PatchRT backbone and patch files.",
    )
    ap.add_argument("--format", required=True, choices=sorted(READERS))
    ap.add_argument("--input", required=True, help="source weights file")
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--labels", help="class names: one per line, a JSON list, or a pickled LabelEncoder")
    ap.add_argument("--dtype", choices=["f32", "f16"], default="f32",
                    help="storage of conv weights and classifier (BatchNorm stays f32)")
    ap.add_argument("--task", help="task name (default: imagenet for PyTorch sources, the file name for Keras)")
    ap.add_argument("--resolution", type=int, help="override the native resolution")
    ap.add_argument("--debug", action="store_true", help="show tracebacks")
    args = ap.parse_args(argv)
    started = time.perf_counter()

    def error(msg, code):
        print(f"import_model: error: {msg}", file=sys.stderr)
        return code

    try:
        if not os.path.exists(args.input):
            fail(f"{args.input}: no such file")
        if not os.path.isfile(args.input):
            fail(f"{args.input}: not a regular file")
        if args.task is not None and not 1 <= len(f"{args.task}@0".encode()) <= 128:
            fail("--task is empty or too long")
        try:
            model = READERS[args.format](args.input)
        except InputError as e:
            raise InputError(f"{args.input}: {e}") from None
        except Exception as e:
            if args.debug:
                raise
            detail = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise InputError(f"{args.input}: not a readable {args.format} file ({detail})") from None
        labels, labels_src = None, None
        if args.labels:
            labels, labels_src = load_labels(args.labels), args.labels
        elif args.format == "keras-h5":
            guess = os.path.join(os.path.dirname(os.path.abspath(args.input)), "label_encoder.pkl")
            if os.path.exists(guess):
                labels, labels_src = load_labels(guess), guess
        if labels is not None and any(not s for s in labels):
            fail(f"{labels_src}: empty label")
        summary = convert(model, args.out, args.dtype, args.task, labels, labels_src, args.resolution)
    except InputError as e:
        if args.debug:
            raise
        return error(str(e), EXIT_BAD_INPUT)
    except OSError as e:
        if args.debug:
            raise
        return error(f"writing {args.out}: {e}", EXIT_OUTPUT)

    elapsed = time.perf_counter() - started
    bb_size = os.path.getsize(summary["backbone"])
    p_size = os.path.getsize(summary["patch"])
    notes = "; ".join(model.notes)
    print(
        f"imported {args.format} {os.path.basename(args.input)} ({model.source_arch}): "
        f"arch=mobilenet_v2 width={fmt_float(summary['width'])} classes={summary['classes']} "
        f"res={summary['resolution']} task={summary['task']} layers={summary['layers']} "
        f"params={summary['params']:,} dtype={args.dtype} "
        f"labels={'yes' if labels is not None else 'none'} "
        f"backbone={_size(bb_size)} patch={_size(p_size)} "
        f"backbone_sha256={summary['identity']} time={elapsed:.2f}s"
        + (f" [{notes}]" if notes else "")
    )
    return 0

