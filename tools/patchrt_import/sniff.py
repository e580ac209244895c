"""What kind of file a path holds, from its first bytes."""

from __future__ import annotations

import struct

from .errors import fail


def sniff(path: str) -> str:
    with open(path, "rb") as f:
        head = f.read(16)
    if len(head) < 8:
        fail("file is too short to be a model file")
    if head[:4] == b"PK\x03\x04":
        return "zip"
    if head[:8] == b"\x89HDF\r\n\x1a\n":
        return "hdf5"
    if head[0] == 0x80:
        return "pickle"
    n = struct.unpack("<Q", head[:8])[0]
    if 2 <= n < 100_000_000 and head[8:9] == b"{":
        return "safetensors"
    return "unknown"
