#!/usr/bin/env python3
"""Independent safetensors reader, standard library only.

The C++ tests write a file with unigap's encoder and run this script on it, so a
mistake that the C++ reader shares with the C++ writer (e.g. wrong endianness,
misread offsets) still shows up. It follows the format description at
https://github.com/huggingface/safetensors, not unigap's code.

Usage: safetensors_dump.py FILE
Prints "metadata <json>" if there is metadata, then one line per tensor in name
order: "<name> <dtype> <shape> <first up to 4 values>", then "ok".
Exits 1 with a message on stderr if the file breaks the format.
"""
import json
import struct
import sys

# dtype -> (struct format of one element, element size)
DTYPES = {
    "F64": ("<d", 8),
    "F32": ("<f", 4),
    "F16": ("<e", 2),
    "BF16": ("<H", 2),  # decoded by hand below: struct has no bfloat16
    "I64": ("<q", 8),
    "I32": ("<i", 4),
    "U8": ("<B", 1),
}


def fail(msg):
    print("safetensors_dump: " + msg, file=sys.stderr)
    sys.exit(1)


def element(dtype, raw):
    fmt, _ = DTYPES[dtype]
    (v,) = struct.unpack(fmt, raw)
    if dtype == "BF16":
        (v,) = struct.unpack("<f", struct.pack("<I", v << 16))
    return repr(v)


def main(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        fail("shorter than the 8-byte header length")
    (n,) = struct.unpack("<Q", data[:8])
    if 8 + n > len(data):
        fail("header length %d runs past the end of the file" % n)
    raw_header = data[8 : 8 + n]
    # The reference writer pads the header with spaces to a multiple of 8 bytes.
    if n % 8 != 0:
        fail("header length %d is not a multiple of 8" % n)
    header = json.loads(raw_header.decode("utf-8"))
    if not isinstance(header, dict):
        fail("header is not a JSON object")
    buf = data[8 + n :]

    meta = header.pop("__metadata__", None)
    if meta is not None:
        if not all(isinstance(v, str) for v in meta.values()):
            fail("metadata values must be strings")
        print("metadata " + json.dumps(meta, sort_keys=True))

    spans = []
    for name in sorted(header):
        info = header[name]
        dtype, shape, (begin, end) = info["dtype"], info["shape"], info["data_offsets"]
        if dtype not in DTYPES:
            fail("%s: unknown dtype %s" % (name, dtype))
        size = DTYPES[dtype][1]
        numel = 1
        for d in shape:
            numel *= d
        if end - begin != numel * size or end > len(buf):
            fail("%s: data_offsets [%d, %d] do not fit dtype/shape" % (name, begin, end))
        spans.append((begin, end, name))
        values = [element(dtype, buf[begin + i * size : begin + (i + 1) * size]) for i in range(min(numel, 4))]
        print("%s %s %s %s" % (name, dtype, json.dumps(shape).replace(" ", ""), ",".join(values)))

    covered = 0
    for begin, end, name in sorted(spans):
        if begin != covered:
            fail("%s: starts at %d, expected %d (gap or overlap)" % (name, begin, covered))
        covered = end
    if covered != len(buf):
        fail("data buffer has %d bytes, tensors cover %d" % (len(buf), covered))
    print("ok")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        fail("usage: safetensors_dump.py FILE")
    main(sys.argv[1])
