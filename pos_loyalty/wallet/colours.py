"""The brand's colours as the wallets want them, and a text colour readable on each."""
from __future__ import annotations

RGB = tuple[int, int, int]

# Text on a dark background, and on a light one: Apple's own near-black.
WHITE: RGB = (255, 255, 255)
NEAR_BLACK: RGB = (28, 28, 30)


def hex_rgb(color: str) -> RGB:
    """"#rrggbb" (the branding's format) as three 0-255 numbers."""
    value = color.strip().lstrip("#")
    if len(value) != 6:
        raise ValueError(f"expected a #rrggbb colour, got {color!r}")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def css_rgb(rgb: RGB) -> str:
    """Apple's colour format: "rgb(r, g, b)"."""
    return "rgb({}, {}, {})".format(*rgb)


def readable_on(background: RGB) -> RGB:
    """White or near-black, whichever contrasts more with `background` (WCAG luminance)."""
    light = _contrast(_luminance(WHITE), _luminance(background))
    dark = _contrast(_luminance(NEAR_BLACK), _luminance(background))
    return WHITE if light >= dark else NEAR_BLACK


def mix(color: RGB, other: RGB, share: float) -> RGB:
    """`color` moved `share` of the way towards `other` (labels a little softer than values)."""
    red, green, blue = (round(mine + (theirs - mine) * share)
                        for mine, theirs in zip(color, other))
    return red, green, blue


def _luminance(rgb: RGB) -> float:
    def linear(channel: int) -> float:
        value = channel / 255
        return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4
    red, green, blue = (linear(channel) for channel in rgb)
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def _contrast(first: float, second: float) -> float:
    return (max(first, second) + 0.05) / (min(first, second) + 0.05)
