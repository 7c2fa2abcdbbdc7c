"""A picture of a .pkpass's front, drawn the way Wallet lays out a store card: for tests (a
scanner library reads the barcode back) and for the back office to show what customers see.

It reads only the bundle: pass.json and the logo, as an iPhone does.
"""
from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import qrcode
from barcode import Code128
from barcode.writer import ImageWriter
from PIL import Image, ImageDraw, ImageFont

WIDTH = 720
MARGIN = 32
# Bars 4 pixels a module (0.34 mm at 300 dpi), as on the app's card: any till scanner reads it.
BARCODE_OPTIONS = {"module_width": 0.34, "module_height": 18.0, "quiet_zone": 4.0,
                   "write_text": False, "dpi": 300}
QR_BOX_PIXELS = 8
CODE_TOP = 350
# A font with the currency signs (Pillow's own lacks €), where the system has it.
FONT_FILE = "DejaVuSans.ttf"
WHITE = (255, 255, 255)
BLACK = (0, 0, 0)


def render_pass_png(pkpass: bytes) -> bytes:
    """The front of the pass (logo, name, balance, fields, barcode) as PNG bytes."""
    with zipfile.ZipFile(io.BytesIO(pkpass)) as bundle:
        document = json.loads(bundle.read("pass.json"))
        names = set(bundle.namelist())
        logo_name = next((name for name in ("logo@2x.png", "logo.png") if name in names), None)
        logo = Image.open(io.BytesIO(bundle.read(logo_name))).convert("RGBA") \
            if logo_name else None
    barcode = document["barcodes"][0]
    code = _code_image(barcode)
    card = Image.new("RGB", (WIDTH, CODE_TOP + code.height + 64 + MARGIN),
                     _rgb(document["backgroundColor"]))
    draw = ImageDraw.Draw(card)
    _draw_header(card, draw, document, logo)
    _draw_fields(draw, document)
    _draw_code(card, draw, code, barcode.get("altText", ""))
    buffer = io.BytesIO()
    card.save(buffer, format="PNG")
    return buffer.getvalue()


def _draw_header(card: Image.Image, draw: ImageDraw.ImageDraw, document: dict[str, Any],
                 logo: Image.Image | None) -> None:
    left = MARGIN
    if logo is not None and logo.getbbox() is not None:
        logo = logo.crop(logo.getbbox())  # its drawn part, without the transparent padding
        logo.thumbnail((200, 64))
        card.paste(logo, (MARGIN, MARGIN), logo)
        left += logo.width + 16
    draw.text((left, MARGIN + 32), document.get("logoText", ""),
              fill=_rgb(document["foregroundColor"]), font=_font(28), anchor="lm")


def _draw_fields(draw: ImageDraw.ImageDraw, document: dict[str, Any]) -> None:
    """The primary field large, then the secondary and auxiliary fields in a row each."""
    fields = document["storeCard"]
    label, value = _rgb(document["labelColor"]), _rgb(document["foregroundColor"])
    top = MARGIN + 96
    for primary in fields["primaryFields"]:
        draw.text((MARGIN, top), primary["label"].upper(), fill=label, font=_font(18))
        draw.text((MARGIN, top + 24), str(primary["value"]), fill=value, font=_font(56))
    for row, top in ((fields["secondaryFields"], MARGIN + 190),
                     (fields["auxiliaryFields"], MARGIN + 260)):
        for column, field in enumerate(row):
            left = MARGIN + column * (WIDTH - 2 * MARGIN) // max(len(row), 1)
            draw.text((left, top), field["label"].upper(), fill=label, font=_font(16))
            draw.text((left, top + 22), str(field["value"]), fill=value, font=_font(26))


def _draw_code(card: Image.Image, draw: ImageDraw.ImageDraw, code: Image.Image,
               alt_text: str) -> None:
    """The code on a white panel, as Wallet shows it, its alternative text below."""
    top = CODE_TOP
    panel = (MARGIN, top, WIDTH - MARGIN, card.height - MARGIN)
    draw.rounded_rectangle(panel, radius=12, fill=WHITE)
    card.paste(code, ((WIDTH - code.width) // 2, top + 16))
    draw.text((WIDTH // 2, top + 16 + code.height + 20), alt_text, fill=BLACK, font=_font(22),
              anchor="mm")


def _code_image(barcode: dict[str, Any]) -> Image.Image:
    """The barcode pass.json asks for, in black on white, at a size a scanner reads."""
    message = barcode["message"]
    if barcode["format"] == "PKBarcodeFormatQR":
        qr = qrcode.QRCode(box_size=QR_BOX_PIXELS, border=2)
        qr.add_data(message)
        qr.make(fit=True)
        image = qr.make_image().get_image().convert("RGB")
    elif barcode["format"] == "PKBarcodeFormatCode128":
        image = Code128(message, writer=ImageWriter()).render(BARCODE_OPTIONS).convert("RGB")
    else:
        raise ValueError(f"cannot draw barcode format {barcode['format']!r}")
    if image.width > WIDTH - 2 * MARGIN - 32:
        raise ValueError(f"{message!r} makes a barcode wider than the card")
    return image


def _rgb(color: str) -> tuple[int, int, int]:
    """Apple's "rgb(r, g, b)"."""
    red, green, blue = (int(part) for part in color.strip()[4:-1].split(","))
    return red, green, blue


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.truetype(FONT_FILE, size)
    except OSError:
        return ImageFont.load_default(size=size)
