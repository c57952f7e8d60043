"""A PNG of throughput vs batch size, written with zlib and struct (no plotting library needed).

Log-log axes, one coloured line per framework x model x device, tick labels and a legend in a
built-in 3x5 pixel font. CPU lines are dashed so the CPU/GPU crossover stands out in greyscale too.
"""

from __future__ import annotations

import math
import struct
import zlib
from pathlib import Path
from typing import Any, Mapping, Sequence

WIDTH, HEIGHT = 720, 440
LEFT, RIGHT, TOP, BOTTOM = 70, 200, 20, 50
COLORS = [(31, 119, 180), (214, 39, 40), (44, 160, 44), (148, 103, 189), (255, 127, 14), (23, 190, 207), (140, 86, 75), (127, 127, 127)]
_FONT = {
    "0": "111101101101111", "1": "010110010010111", "2": "111001111100111", "3": "111001111001111",
    "4": "101101111001001", "5": "111100111001111", "6": "111100111101111", "7": "111001010010010",
    "8": "111101111101111", "9": "111101111001111", ".": "000000000000010", "-": "000000111000000",
    ":": "000010000010000", "/": "001001010100100", " ": "000000000000000", "k": "100101110101101",
    "m": "000111111101101", "a": "000011101101011", "b": "100110101101110", "c": "000011100100011",
    "d": "001011101101011", "e": "000111111100011", "f": "011100110100100", "g": "011101011001110",
    "h": "100110101101101", "i": "010000010010010", "j": "001000001101010", "l": "010010010010011",
    "n": "000110101101101", "o": "000010101101010", "p": "000110101110100", "q": "000011101011001",
    "r": "000101110100100", "s": "000011110011110", "t": "010111010010011", "u": "000101101101011",
    "v": "000101101101010", "w": "000101101111111", "x": "000101010101101", "y": "000101011001110",
    "z": "000111001100111", "(": "001010010010001", ")": "100010010010100", "=": "000111000111000",
}


class Canvas:
    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.pixels = bytearray(b"\xff" * (width * height * 3))

    def set(self, x: int, y: int, color: tuple[int, int, int]) -> None:
        if 0 <= x < self.width and 0 <= y < self.height:
            i = (y * self.width + x) * 3
            self.pixels[i : i + 3] = bytes(color)

    def line(self, x0: float, y0: float, x1: float, y1: float, color: tuple[int, int, int], width: int = 1, dash: int = 0) -> None:
        steps = int(max(abs(x1 - x0), abs(y1 - y0))) + 1
        for i in range(steps + 1):
            if dash and (i // dash) % 2:
                continue
            t = i / steps
            x, y = round(x0 + (x1 - x0) * t), round(y0 + (y1 - y0) * t)
            for dx in range(width):
                for dy in range(width):
                    self.set(x + dx - width // 2, y + dy - width // 2, color)

    def text(self, x: int, y: int, text: str, color: tuple[int, int, int] = (0, 0, 0), scale: int = 2) -> None:
        for ch in text.lower():
            glyph = _FONT.get(ch, _FONT[" "])
            for i, bit in enumerate(glyph):
                if bit == "1":
                    for sx in range(scale):
                        for sy in range(scale):
                            self.set(x + (i % 3) * scale + sx, y + (i // 3) * scale + sy, color)
            x += 4 * scale

    def png(self) -> bytes:
        raw = b"".join(b"\x00" + bytes(self.pixels[y * self.width * 3 : (y + 1) * self.width * 3]) for y in range(self.height))

        def chunk(kind: bytes, data: bytes) -> bytes:
            return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)
        return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def _label(value: float) -> str:
    if value >= 1e6:
        return f"{value / 1e6:g}m"
    if value >= 1e3:
        return f"{value / 1e3:g}k"
    return f"{value:g}"


def render_sweeps(sweeps: Sequence[Mapping[str, Any]]) -> bytes:
    """PNG bytes for the sweeps of a `nktenv.bench/1` document."""
    series = []
    for sweep in sweeps:
        points = [(p["batch_size"], p["samples_per_s"]) for p in sweep.get("points", [])
                  if p.get("samples_per_s") and p["samples_per_s"] > 0]
        if points:
            series.append((f"{sweep['framework']} {sweep['model']} {sweep['device']}", sweep["device"] == "cpu", points))
    canvas = Canvas(WIDTH, HEIGHT)
    x0, x1, y0, y1 = LEFT, WIDTH - RIGHT, TOP, HEIGHT - BOTTOM
    all_x = [bs for _, _, pts in series for bs, _ in pts] or [32, 1024]
    all_y = [v for _, _, pts in series for _, v in pts] or [1.0, 10.0]
    lx0, lx1 = math.log2(min(all_x)), math.log2(max(all_x))
    ly0, ly1 = math.floor(math.log10(min(all_y))), math.ceil(math.log10(max(all_y)))
    lx1 = lx1 if lx1 > lx0 else lx0 + 1
    ly1 = ly1 if ly1 > ly0 else ly0 + 1

    def px(bs: float) -> float:
        return x0 + (math.log2(bs) - lx0) / (lx1 - lx0) * (x1 - x0)

    def py(v: float) -> float:
        return y1 - (math.log10(v) - ly0) / (ly1 - ly0) * (y1 - y0)

    grey, black = (220, 220, 220), (0, 0, 0)
    for e in range(int(ly0), int(ly1) + 1):
        y = py(10.0**e)
        canvas.line(x0, y, x1, y, grey)
        canvas.text(5, int(y) - 5, _label(10.0**e))
    for e in range(int(lx0), int(math.ceil(lx1)) + 1):
        x = px(2.0**e)
        canvas.line(x, y0, x, y1, grey)
        canvas.text(int(x) - 10, y1 + 8, str(2**e))
    canvas.line(x0, y1, x1, y1, black)
    canvas.line(x0, y0, x0, y1, black)
    canvas.text(x0 + (x1 - x0) // 2 - 40, HEIGHT - 20, "batch size")
    canvas.text(5, 4, "samples/s")
    for i, (name, is_cpu, points) in enumerate(series):
        color = COLORS[i % len(COLORS)]
        points.sort()
        for (a, va), (b, vb) in zip(points, points[1:]):
            canvas.line(px(a), py(va), px(b), py(vb), color, width=2, dash=6 if is_cpu else 0)
        for bs, v in points:
            canvas.line(px(bs) - 3, py(v), px(bs) + 3, py(v), color, width=3)
        ly = TOP + 10 + 18 * i
        canvas.line(WIDTH - RIGHT + 12, ly + 5, WIDTH - RIGHT + 32, ly + 5, color, width=2, dash=4 if is_cpu else 0)
        canvas.text(WIDTH - RIGHT + 38, ly, name[:19])
    return canvas.png()


def write_sweep_png(sweeps: Sequence[Mapping[str, Any]], path: Path | str) -> Path:
    """Write the plot atomically (a temporary file, then rename)."""
    from nktenv.fsutil import write_bytes_atomic

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    return write_bytes_atomic(target, render_sweeps(sweeps))
