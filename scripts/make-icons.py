#!/usr/bin/env python3
"""Draws the tray and window icons as PNGs (no image library needed): a rounded square in the
state's colour with a white "K"-like mark. Run from the repository root; writes icons/*.png."""
import struct
import zlib

STATES = {
    "icon": (0x1f, 0x6f, 0xd1),          # app icon / connected
    "tray-connected": (0x1f, 0x9d, 0x55),
    "tray-reconnecting": (0xe0, 0x9b, 0x1a),
    "tray-offline": (0x80, 0x80, 0x80),
    "tray-unread": (0xd1, 0x2f, 0x2f),
    "tray-paused": (0x5a, 0x5a, 0x8c),
}


def png(size, colour):
    rows = []
    radius = size // 5
    for y in range(size):
        row = bytearray([0])
        for x in range(size):
            inside = True
            if (x < radius or x > size - 1 - radius) and (y < radius or y > size - 1 - radius):
                cx = radius if x < radius else size - 1 - radius
                cy = radius if y < radius else size - 1 - radius
                inside = (x - cx) ** 2 + (y - cy) ** 2 <= radius ** 2
            # The mark: a vertical bar and a diagonal.
            u, v = x / size, y / size
            mark = (0.30 <= u <= 0.40 and 0.22 <= v <= 0.78) or \
                   (abs((u - 0.40) - abs(v - 0.5) * 0.75) < 0.06 and 0.40 <= u <= 0.75 and 0.22 <= v <= 0.78)
            if not inside:
                row += bytes((0, 0, 0, 0))
            elif mark:
                row += bytes((255, 255, 255, 255))
            else:
                row += bytes((*colour, 255))
        rows.append(bytes(row))
    raw = b"".join(rows)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def ico(png_bytes, size):
    entry = struct.pack("<BBBBHHII", size if size < 256 else 0, size if size < 256 else 0, 0, 0, 1, 32, len(png_bytes), 22)
    return struct.pack("<HHH", 0, 1, 1) + entry + png_bytes


for name, colour in STATES.items():
    with open(f"icons/{name}.png", "wb") as f:
        f.write(png(64 if name.startswith("tray") else 128, colour))
big = png(256, STATES["icon"])
with open("icons/icon.ico", "wb") as f:
    f.write(ico(big, 256))
with open("icons/32x32.png", "wb") as f:
    f.write(png(32, STATES["icon"]))
