"""Draw the app icons (PNG) from the same design as static/icons/icon.svg.

    .venv/bin/python scripts/make_icons.py

Writes icon-192.png and icon-512.png (rounded, purpose "any"), maskable-192.png
and maskable-512.png (full bleed, the symbol inside the 80 % safe circle) and
badge-96.png (white on transparent, for notifications). Re-run after changing
the design; the PNGs are committed so the app needs no build step.
"""
from pathlib import Path

from PIL import Image, ImageDraw

GREEN, WHITE, YELLOW = (11, 110, 79, 255), (255, 255, 255, 255), (255, 209, 102, 255)
OUT = Path(__file__).resolve().parent.parent / "civic" / "static" / "icons"
SCALE = 4  # draw large, then shrink: smooth edges without an SVG renderer


def symbol(draw, size, inset, colour=WHITE, dot=YELLOW):
    """The grid square with a cross and a dot, inside `inset` of the edge."""
    lo, hi = size * inset, size * (1 - inset)
    mid, line = (lo + hi) / 2, (hi - lo) * 0.11
    draw.rectangle([lo, lo, hi, hi], outline=colour, width=round(line))
    draw.line([mid, lo, mid, hi], fill=colour, width=round(line * 0.75))
    draw.line([lo, mid, hi, mid], fill=colour, width=round(line * 0.75))
    r, cx, cy = (hi - lo) * 0.17, lo + (hi - lo) * 0.75, lo + (hi - lo) * 0.25
    draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=dot)


def draw_icon(px, maskable):
    size = px * SCALE
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    if maskable:
        draw.rectangle([0, 0, size, size], fill=GREEN)
        symbol(draw, size, 0.27)  # inside the safe zone (a circle of 40 % radius)
    else:
        draw.rounded_rectangle([0, 0, size - 1, size - 1], radius=size * 0.22, fill=GREEN)
        symbol(draw, size, 0.22)
    return image.resize((px, px), Image.LANCZOS)


def draw_badge(px):
    size = px * SCALE
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    symbol(ImageDraw.Draw(image), size, 0.14, dot=WHITE)
    return image.resize((px, px), Image.LANCZOS)


def main():
    for px in (192, 512):
        draw_icon(px, maskable=False).save(OUT / f"icon-{px}.png", optimize=True)
        draw_icon(px, maskable=True).save(OUT / f"maskable-{px}.png", optimize=True)
    draw_badge(96).save(OUT / "badge-96.png", optimize=True)


if __name__ == "__main__":
    main()
