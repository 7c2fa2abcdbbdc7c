"""The program's look in its phone app: the app's name, two colours and a logo.

They live in `Program.branding` (the keys `brand.branding` reads for the phone: app_name,
primary_color, secondary_color, logo_url). A logo is an image checked by its content, not its
name: PNG, JPEG or WebP that Pillow opens and verifies, within the size the back office allows.
"""
from __future__ import annotations

import hashlib
import io
import re
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from pos_loyalty.errors import ValidationFailed
from pos_loyalty.payloads import is_plain_text

APP_NAME_MAX_LENGTH = 60
COLOR_FORMAT = re.compile(r"#[0-9a-f]{6}")
# Image formats as Pillow names them, and what the logo is served as.
LOGO_TYPES = {"PNG": ("image/png", "png"), "JPEG": ("image/jpeg", "jpg"),
              "WEBP": ("image/webp", "webp")}
# Larger images are refused before they are decoded (a small file may unpack to gigabytes).
LOGO_MAX_PIXELS = 4096 * 4096


@dataclass(frozen=True)
class Look:
    """What the brand sets; an empty app name means the program's name."""
    app_name: str
    primary_color: str
    secondary_color: str


@dataclass(frozen=True)
class Logo:
    content_type: str
    extension: str
    content: bytes
    width: int
    height: int

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


def checked_look(app_name: str, primary_color: str, secondary_color: str) -> Look:
    name = " ".join((app_name or "").split())
    if len(name) > APP_NAME_MAX_LENGTH or not is_plain_text(name):
        raise ValidationFailed(f"An app name has at most {APP_NAME_MAX_LENGTH} characters.",
                               field="app_name", problem="app_name",
                               high=APP_NAME_MAX_LENGTH)
    return Look(name, _color(primary_color, "primary_color"),
                _color(secondary_color, "secondary_color"))


def _color(value: str, field: str) -> str:
    color = (value or "").strip().lower()
    if not COLOR_FORMAT.fullmatch(color):
        raise ValidationFailed(f"{field} is a colour like #1f2937.", field=field,
                               problem="color")
    return color


def checked_logo(content: bytes, max_bytes: int) -> Logo:
    """The upload as a logo, or ValidationFailed (field "logo") saying why not."""
    if not content:
        raise ValidationFailed("Choose an image file.", field="logo", problem="logo_missing")
    if len(content) > max_bytes:
        raise ValidationFailed(f"A logo has at most {max_bytes} bytes.", field="logo",
                               problem="logo_too_large", high=max_bytes)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content)) as image:
                kind, (width, height) = image.format, image.size
                if kind not in LOGO_TYPES or width * height > LOGO_MAX_PIXELS:
                    raise ValueError(kind)
                image.verify()
    except (UnidentifiedImageError, ValueError, OSError, SyntaxError, EOFError,
            Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValidationFailed("A logo is a PNG, JPEG or WebP image.", field="logo",
                               problem="logo_type") from None
    content_type, extension = LOGO_TYPES[kind]
    return Logo(content_type, extension, content, width, height)
