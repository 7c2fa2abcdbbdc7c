"""The pass's images: the icon (notifications, the lock screen) and the logo on the card.

Made from the brand's uploaded logo, fitted inside each size with transparent padding; a
brand with no logo (or one Pillow cannot read) gets its initials drawn on its accent colour.
"""
from __future__ import annotations

import io

from PIL import Image, ImageDraw, ImageFont, UnidentifiedImageError

from pos_loyalty.wallet.colours import hex_rgb, readable_on
from pos_loyalty.wallet.content import PassContent

# Apple's sizes in points; the @2x files are twice as many pixels.
ICON_SIZE = (29, 29)
LOGO_SIZE = (160, 50)
SCALES = {"": 1, "@2x": 2, "@3x": 3}


def pass_images(content: PassContent) -> dict[str, bytes]:
    """icon.png, logo.png and their @2x and @3x versions, as PNG bytes."""
    logo = _opened(content.logo)
    files = {}
    for stem, size in (("icon", ICON_SIZE), ("logo", LOGO_SIZE)):
        for suffix, scale in SCALES.items():
            box = (size[0] * scale, size[1] * scale)
            image = (_fitted(logo, box) if logo is not None
                     else _initials(content.program_name, content.accent_color, box, stem))
            files[f"{stem}{suffix}.png"] = _png(image)
    return files


def _opened(logo: bytes | None) -> Image.Image | None:
    if not logo:
        return None
    try:
        with Image.open(io.BytesIO(logo)) as image:
            return image.convert("RGBA")
    except (UnidentifiedImageError, OSError):
        return None


def _fitted(logo: Image.Image, box: tuple[int, int]) -> Image.Image:
    """The logo as large as fits inside `box`, centred on transparency."""
    scaled = logo.copy()
    scaled.thumbnail(box, Image.Resampling.LANCZOS)
    canvas = Image.new("RGBA", box, (0, 0, 0, 0))
    canvas.paste(scaled, ((box[0] - scaled.width) // 2, (box[1] - scaled.height) // 2))
    return canvas


def _initials(name: str, accent: str, box: tuple[int, int], stem: str) -> Image.Image:
    """The name's initials on the accent colour: the whole square for the icon, a disc at the
    left of the logo (the pass writes the name beside it)."""
    background = hex_rgb(accent)
    canvas = Image.new("RGBA", box, (0, 0, 0, 0))
    draw = ImageDraw.Draw(canvas)
    side = box[1]
    if stem == "icon":
        draw.rectangle((0, 0, box[0] - 1, box[1] - 1), fill=background)
    else:
        draw.ellipse((0, 0, side - 1, side - 1), fill=background)
    font = ImageFont.load_default(size=max(side * 2 // 5, 8))
    draw.text((side / 2, side / 2), initials_of(name), fill=readable_on(background), font=font,
              anchor="mm")
    return canvas


def initials_of(name: str) -> str:
    """Up to two letters: the first of the first two words ("Demo Boulangerie" -> "DB")."""
    letters = [word[0] for word in name.split() if word[:1].isalnum()]
    return "".join(letters[:2]).upper() or "?"


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
