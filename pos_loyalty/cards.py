"""Card numbers and the barcodes printed on cards and shown in the app.

A card number is what the till scans. By default it is an EAN-13 in the restricted-circulation
range (prefix 20-29), so it can never collide with a product code on the same scanner. Programs
that need letters use Code 128 numbers: 6 to 32 characters from 0-9 and A-Z whose last character
is an ISO 7064 MOD 37,36 check character (it catches every single wrong character and all but
about 1 in 500 swaps of two neighbours). Everything here is pure: strings in, strings or image
bytes out, nothing written to disk.

New numbers are drawn at random in the program's range (`random_card_number`), so that one card
number tells nothing about the others. The phone shows its card with a live code after the
number (`<card number>-<6 digits>`, see `pos_loyalty.live_codes`): EAN-13 cannot carry it, so the
phone's barcode is always Code 128 (and QR).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from io import BytesIO

import qrcode
from barcode import EAN13, Code128
from barcode.base import Barcode
from barcode.writer import BaseWriter, ImageWriter, SVGWriter
from PIL import Image
from qrcode.constants import ERROR_CORRECT_M
from qrcode.image.svg import SvgPathImage

SYMBOLOGIES = ("ean13", "code128")
ALPHANUMERIC = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"

# Characters before the check character in the numbers we issue.
_BODY_LENGTH = {"ean13": 12, "code128": 11}
_PREFIX_FORMAT = {"ean13": re.compile(r"[0-9]+"), "code128": re.compile(r"[0-9A-Z]+")}
# Cashiers and customers type numbers with spaces or dashes, as printed on the card.
_SEPARATORS = re.compile(r"[\s-]+")
_EAN13_FORMAT = re.compile(r"[0-9]{13}")
_CODE128_FORMAT = re.compile(r"[0-9A-Z]{6,32}")
# What a scanner reads off the phone: the card number as issued, a dash, the live code.
LIVE_CODE_DIGITS = 6
_NUMBER_AND_LIVE_CODE = re.compile(r"([0-9A-Za-z]{6,32})-([0-9]{%d})" % LIVE_CODE_DIGITS)

# 300 dpi suits card printers; 5 pixels (0.42 mm) a module gives every bar a whole number of
# pixels and stays readable by a phone camera off a screen. The 1e-6 mm nudge keeps the writer's
# float sums just above whole pixels, which Pillow floors: without it some bars lose a pixel.
PNG_DPI = 300
MODULE_WIDTH_MM = 5 * 25.4 / PNG_DPI + 1e-6
BAR_HEIGHT_MM = 15.0
# EAN-13 needs 11 blank modules on the left, Code 128 needs 10; 12 suits both.
QUIET_ZONE_MM = 12 * MODULE_WIDTH_MM
# QR: 10 pixels a module and the 4-module border the standard asks for.
QR_BOX_PIXELS = 10
QR_BORDER_MODULES = 4


class InvalidCardNumber(ValueError):
    """A card number with a bad format or a wrong check digit (API code invalid_card_number)."""


def ean13_check_digit(first12: str) -> str:
    """The EAN-13 check digit: weights 1 and 3 from the left, rounded up to a multiple of 10."""
    if not re.fullmatch(r"[0-9]{12}", first12):
        raise InvalidCardNumber("card number format: an EAN-13 check digit needs 12 digits")
    total = sum(int(digit) * (3 if index % 2 else 1) for index, digit in enumerate(first12))
    return str(-total % 10)


def normalize_card_number(raw: str, symbology: str = "ean13") -> str:
    """The card number as stored and encoded, once its format and check character are right."""
    _require_symbology(symbology)
    compact = _SEPARATORS.sub("", raw)
    if symbology == "code128":
        return _checked_code128(compact)
    return _checked_ean13(compact)


def make_card_number(prefix: str, serial: int, symbology: str = "ean13") -> str:
    """A new card number: the prefix, the zero-padded serial, then the check character."""
    _require_symbology(symbology)
    if not _PREFIX_FORMAT[symbology].fullmatch(prefix):
        raise ValueError(f"prefix {prefix!r} has characters a {symbology} number cannot hold")
    serial_width = _BODY_LENGTH[symbology] - len(prefix)
    if serial < 0 or len(str(serial)) > serial_width:
        raise ValueError(f"serial {serial} does not fit in {serial_width} digits after {prefix!r}")
    body = prefix + str(serial).zfill(serial_width)
    if symbology == "code128":
        return body + _mod37_36_check_char(body)
    return body + ean13_check_digit(body)


def random_card_number(prefix: str, symbology: str = "ean13",
                       draw: Callable[[int], int] = secrets.randbelow) -> str:
    """A new card number: the prefix, random digits filling the body, the check character.

    `draw(n)` picks a number below n (the system's secure random source unless a test says).
    """
    return make_card_number(prefix, draw(card_range_size(prefix, symbology)), symbology)


def card_range_size(prefix: str, symbology: str = "ean13") -> int:
    """How many numbers the prefix leaves room for (the digits after it, before the check)."""
    _require_symbology(symbology)
    return 10 ** max(_BODY_LENGTH[symbology] - len(prefix), 0)


def split_live_code(scanned: str) -> tuple[str, str | None]:
    """The card number and the live code of what a till read off the phone
    (`<card number>-<6 digits>`); anything else is the number alone, with no code."""
    found = _NUMBER_AND_LIVE_CODE.fullmatch(scanned.strip())
    if found is None:
        return scanned, None
    return found.group(1), found.group(2)


def join_live_code(number: str, code: str) -> str:
    """What the phone's barcode and QR code carry: the card number, a dash, the live code."""
    return f"{number}-{code}"


def render_barcode_svg(number: str, symbology: str = "ean13") -> bytes:
    """The card's barcode as an SVG document (sizes in mm) with the number written under it."""
    return _barcode(number, symbology, SVGWriter()).render(_barcode_options())


def render_barcode_png(number: str, symbology: str = "ean13") -> bytes:
    """The card's barcode as a 300 dpi PNG with the number written under it."""
    image = _barcode(number, symbology, ImageWriter(dpi=PNG_DPI)).render(_barcode_options())
    return _png_bytes(image)


def render_live_barcode_svg(scan_value: str) -> bytes:
    """The phone's barcode: Code 128 of the card number and its live code, as SVG."""
    return Code128(_checked_scan_value(scan_value), writer=SVGWriter()).render(
        _barcode_options())


def render_live_barcode_png(scan_value: str) -> bytes:
    """The phone's barcode: Code 128 of the card number and its live code, as a PNG."""
    image = Code128(_checked_scan_value(scan_value), writer=ImageWriter(dpi=PNG_DPI)).render(
        _barcode_options())
    return _png_bytes(image)


def render_qr_svg(text: str) -> bytes:
    """The card number (or what the phone shows) as a QR code SVG document (one path,
    transparent background)."""
    buffer = BytesIO()
    _qr_code(text).make_image(image_factory=SvgPathImage).save(buffer)
    return buffer.getvalue()


def render_qr_png(text: str) -> bytes:
    """The card number (or what the phone shows) as a black on white QR code PNG."""
    return _png_bytes(_qr_code(text).make_image().get_image())


def _require_symbology(symbology: str) -> None:
    """An unknown symbology is a configuration mistake, not a customer's typo."""
    if symbology not in SYMBOLOGIES:
        raise ValueError(f"unknown symbology {symbology!r}, expected one of {SYMBOLOGIES}")


def _checked_ean13(compact: str) -> str:
    if not _EAN13_FORMAT.fullmatch(compact):
        raise InvalidCardNumber("card number format: an EAN-13 card number is 13 digits")
    if ean13_check_digit(compact[:12]) != compact[12]:
        raise InvalidCardNumber("card number check digit is wrong")
    return compact


def _checked_code128(compact: str) -> str:
    # isascii first: str.upper() turns some non-ASCII letters (the Turkish dotless i) into A-Z.
    number = compact.upper()
    if not (compact.isascii() and _CODE128_FORMAT.fullmatch(number)):
        raise InvalidCardNumber("card number format: 6 to 32 letters A-Z and digits")
    if _mod37_36_check_char(number[:-1]) != number[-1]:
        raise InvalidCardNumber("card number check character is wrong")
    return number


def _mod37_36_check_char(body: str) -> str:
    """ISO 7064 MOD 37,36 (hybrid system) check character over 0-9A-Z."""
    product = 36
    for char in body:
        total = (product + ALPHANUMERIC.index(char)) % 36 or 36
        product = total * 2 % 37
    return ALPHANUMERIC[(37 - product) % 36]


def _barcode(number: str, symbology: str, writer: BaseWriter) -> Barcode:
    """Check the number before drawing it: a printed typo is a card nobody can scan."""
    checked = normalize_card_number(number, symbology)
    if symbology == "code128":
        return Code128(checked, writer=writer)
    # python-barcode appends its own check digit to the first 12; it is the same algorithm.
    return EAN13(checked[:12], writer=writer)


def _checked_scan_value(scan_value: str) -> str:
    if split_live_code(scan_value)[1] is None:
        raise ValueError(f"{scan_value!r} is not a card number followed by a live code")
    return scan_value


def _barcode_options() -> dict[str, float]:
    return {
        "module_width": MODULE_WIDTH_MM,
        "module_height": BAR_HEIGHT_MM,
        "quiet_zone": QUIET_ZONE_MM,
    }


def _qr_code(text: str) -> qrcode.QRCode:
    code = qrcode.QRCode(
        error_correction=ERROR_CORRECT_M,
        box_size=QR_BOX_PIXELS,
        border=QR_BORDER_MODULES,
    )
    code.add_data(text)
    code.make(fit=True)
    return code


def _png_bytes(image: Image.Image) -> bytes:
    """PNG bytes that record the dpi, so printing keeps the intended physical size."""
    buffer = BytesIO()
    image.save(buffer, format="PNG", dpi=(PNG_DPI, PNG_DPI))
    return buffer.getvalue()
