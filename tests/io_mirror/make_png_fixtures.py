#!/usr/bin/env python3
"""Writes the PNG fixtures in tests/data/io/ by hand (zlib + struct, no imaging library).

They exercise decoder paths that unigap's own encoder never produces (it only
writes 8-bit RGB): grayscale, a 2-bit palette with tRNS-free packing, RGBA with
partial transparency, and 16-bit RGB. tests/core/test_io_png.cpp recomputes the
expected pixels from the same formulas, so keep the two in step.

Usage: make_png_fixtures.py [OUTDIR]   (default: tests/data/io next to this script)
"""
import os
import struct
import sys
import zlib


def chunk(kind, payload):
    body = kind + payload
    return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def png(width, height, bit_depth, colour_type, rows, extra=b""):
    """rows: list of already-packed scanline bytes (without the filter byte)."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    raw = b"".join(b"\x00" + r for r in rows)  # filter type 0 (None) on every row
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def gray8():
    # 5x3, value = min(255, 40*x + 70*y); the bottom-right pixel clips, covering 255
    w, h = 5, 3
    rows = [bytes(min(255, 40 * x + 70 * y) for x in range(w)) for y in range(h)]
    return png(w, h, 8, 0, rows)


PALETTE = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (10, 20, 30)]


def palette2():
    # 3x2, 2-bit indices: index = (x + 2*y) % 4, packed 4 pixels per byte, MSB first
    w, h = 3, 2
    rows = []
    for y in range(h):
        idx = [(x + 2 * y) % 4 for x in range(w)]
        idx += [0] * (-len(idx) % 4)
        rows.append(bytes((a << 6) | (b << 4) | (c << 2) | d for a, b, c, d in zip(*[iter(idx)] * 4)))
    plte = chunk(b"PLTE", b"".join(bytes(c) for c in PALETTE))
    return png(w, h, 2, 3, rows, plte)


RGBA = [
    [(200, 100, 50, 255), (255, 255, 255, 0)],
    [(255, 0, 0, 128), (0, 255, 0, 255)],
]


def rgba8():
    rows = [b"".join(bytes(p) for p in row) for row in RGBA]
    return png(2, 2, 8, 6, rows)


def rgb16():
    # 2x1, 16-bit samples: (0xFFFF, 0x8080, 0x0000) and (0x0101, 0x7F7F, 0xFEFE);
    # exact 8-bit equivalents are 255,128,0 and 1,127,254 (v16 = v8 * 257).
    row = struct.pack(">6H", 0xFFFF, 0x8080, 0x0000, 0x0101, 0x7F7F, 0xFEFE)
    return png(2, 1, 16, 2, [row])


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "io")
    os.makedirs(out, exist_ok=True)
    for name, data in [("gray8.png", gray8()), ("palette2.png", palette2()), ("rgba8.png", rgba8()), ("rgb16.png", rgb16())]:
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
