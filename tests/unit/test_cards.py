"""Card numbers: check characters, normalisation, issuing, and barcodes a scanner reads back."""

from io import BytesIO
from itertools import groupby
from xml.etree import ElementTree

import pytest
import zxingcpp
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from pos_loyalty.cards import (
    ALPHANUMERIC,
    InvalidCardNumber,
    card_range_size,
    ean13_check_digit,
    join_live_code,
    make_card_number,
    normalize_card_number,
    random_card_number,
    render_barcode_png,
    render_barcode_svg,
    render_live_barcode_png,
    render_live_barcode_svg,
    render_qr_png,
    render_qr_svg,
    split_live_code,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SVG_NAMESPACE = "{http://www.w3.org/2000/svg}"
EAN13_CARD = "2900000000018"
CODE128_CARD = "LC0000000420"


def decoded(png: bytes) -> list[tuple[str, zxingcpp.BarcodeFormat]]:
    with Image.open(BytesIO(png)) as image:
        return [(found.text, found.format) for found in zxingcpp.read_barcodes(image)]


def svg_root(svg: bytes) -> ElementTree.Element:
    return ElementTree.fromstring(svg)


# Check characters


@pytest.mark.parametrize(
    ("first12", "check_digit"),
    [
        ("400638133393", "1"),
        ("590123412345", "7"),
        ("290000000001", "8"),
        ("000000000000", "0"),
    ],
)
def test_ean13_check_digit_matches_published_numbers(first12: str, check_digit: str) -> None:
    assert ean13_check_digit(first12) == check_digit


@pytest.mark.parametrize("first12", ["40063813339", "4006381333931", "40063813339A", ""])
def test_ean13_check_digit_needs_exactly_twelve_digits(first12: str) -> None:
    with pytest.raises(InvalidCardNumber, match="format"):
        ean13_check_digit(first12)


def test_code128_check_character_is_iso7064_mod_37_36() -> None:
    # Worked example of the standard (also python-stdnum's doctest): A12425GABC1234002 -> M.
    assert normalize_card_number("A12425GABC1234002M", "code128") == "A12425GABC1234002M"
    with pytest.raises(InvalidCardNumber, match="check character"):
        normalize_card_number("A12425GABC1234002N", "code128")


# Normalisation


def test_typed_ean13_with_spaces_and_dashes_is_the_printed_number() -> None:
    assert normalize_card_number(" 4 006381-333931\t") == "4006381333931"


def test_ean13_with_wrong_check_digit_is_refused() -> None:
    with pytest.raises(InvalidCardNumber, match="check digit"):
        normalize_card_number("4006381333932")


@pytest.mark.parametrize(
    "raw",
    ["400638133393", "40063813339310", "", "40063813339A1", "4006381333931.", "٤006381333931"],
)
def test_ean13_must_be_thirteen_ascii_digits(raw: str) -> None:
    with pytest.raises(InvalidCardNumber, match="format"):
        normalize_card_number(raw)


def test_invalid_card_number_is_a_value_error() -> None:
    assert issubclass(InvalidCardNumber, ValueError)


def test_code128_number_is_uppercased_and_unspaced() -> None:
    assert normalize_card_number(" lc00-0000 0420 ", "code128") == CODE128_CARD


@pytest.mark.parametrize("position", range(len(CODE128_CARD)))
def test_code128_with_any_one_character_changed_is_refused(position: int) -> None:
    for replacement in ALPHANUMERIC.replace(CODE128_CARD[position], ""):
        changed = CODE128_CARD[:position] + replacement + CODE128_CARD[position + 1 :]
        with pytest.raises(InvalidCardNumber, match="check character"):
            normalize_card_number(changed, "code128")


@pytest.mark.parametrize("raw", ["LC042", "A" * 33, "LC00000004_0", "LC0000000ı20"])
def test_code128_must_be_6_to_32_ascii_letters_or_digits(raw: str) -> None:
    with pytest.raises(InvalidCardNumber, match="format"):
        normalize_card_number(raw, "code128")


def test_unknown_symbology_is_a_configuration_error_not_a_bad_card() -> None:
    with pytest.raises(ValueError, match="unknown symbology") as raised:
        normalize_card_number(EAN13_CARD, "upca")
    assert not isinstance(raised.value, InvalidCardNumber)


# Issuing


def test_first_card_of_prefix_29_is_2900000000018() -> None:
    number = make_card_number("29", 1)
    assert number == EAN13_CARD
    assert normalize_card_number(number) == number


def test_last_serial_that_fits_fills_the_twelve_digits() -> None:
    assert make_card_number("29", 9_999_999_999) == "2999999999991"


@pytest.mark.parametrize("serial", [10_000_000_000, -1])
def test_ean13_serial_that_does_not_fit_is_refused(serial: int) -> None:
    with pytest.raises(ValueError, match="does not fit"):
        make_card_number("29", serial)


def test_ean13_prefix_must_be_digits() -> None:
    with pytest.raises(ValueError, match="prefix"):
        make_card_number("2A", 1)


def test_code128_card_is_prefix_padded_serial_and_check_character() -> None:
    assert make_card_number("LC", 42, "code128") == CODE128_CARD
    assert normalize_card_number(CODE128_CARD, "code128") == CODE128_CARD


def test_code128_serial_that_does_not_fit_is_refused() -> None:
    with pytest.raises(ValueError, match="does not fit"):
        make_card_number("LC", 1_000_000_000, "code128")


@given(
    serial=st.integers(0, 10**10 - 1),
    position=st.integers(0, 12),
    shift=st.integers(1, 9),
)
def test_issued_ean13_survives_normalizing_and_any_one_wrong_digit_is_caught(
    serial: int, position: int, shift: int
) -> None:
    number = make_card_number("29", serial)
    assert normalize_card_number(number) == number
    wrong = str((int(number[position]) + shift) % 10)
    with pytest.raises(InvalidCardNumber, match="check digit"):
        normalize_card_number(number[:position] + wrong + number[position + 1 :])


@given(
    serial=st.integers(0, 10**9 - 1),
    position=st.integers(0, 11),
    shift=st.integers(1, 35),
)
def test_issued_code128_survives_normalizing_and_any_one_wrong_character_is_caught(
    serial: int, position: int, shift: int
) -> None:
    number = make_card_number("LC", serial, "code128")
    assert normalize_card_number(number, "code128") == number
    wrong = ALPHANUMERIC[(ALPHANUMERIC.index(number[position]) + shift) % 36]
    with pytest.raises(InvalidCardNumber, match="check character"):
        normalize_card_number(number[:position] + wrong + number[position + 1 :], "code128")


# Barcodes


@pytest.mark.parametrize(
    ("number", "symbology", "barcode_format"),
    [
        (EAN13_CARD, "ean13", zxingcpp.BarcodeFormat.EAN13),
        ("4006381333931", "ean13", zxingcpp.BarcodeFormat.EAN13),
        (CODE128_CARD, "code128", zxingcpp.BarcodeFormat.Code128),
    ],
)
def test_png_barcode_scans_back_to_the_card_number(
    number: str, symbology: str, barcode_format: zxingcpp.BarcodeFormat
) -> None:
    png = render_barcode_png(number, symbology)
    assert png.startswith(PNG_SIGNATURE)
    assert decoded(png) == [(number, barcode_format)]


@pytest.mark.parametrize(
    ("number", "symbology"), [(EAN13_CARD, "ean13"), (CODE128_CARD, "code128")]
)
def test_png_bars_are_whole_five_pixel_modules_with_quiet_zones(
    number: str, symbology: str
) -> None:
    with Image.open(BytesIO(render_barcode_png(number, symbology))) as image:
        row = [image.convert("L").getpixel((x, 50)) < 128 for x in range(image.width)]
    runs = [len(list(pixels)) for _, pixels in groupby(row)]
    assert runs[0] == runs[-1] == 60
    assert {width % 5 for width in runs[1:-1]} == {0}


def test_png_barcode_of_a_mistyped_number_is_refused() -> None:
    with pytest.raises(InvalidCardNumber, match="check digit"):
        render_barcode_png("2900000000017")


def test_qr_png_scans_back_to_the_card_number() -> None:
    png = render_qr_png(EAN13_CARD)
    assert png.startswith(PNG_SIGNATURE)
    assert decoded(png) == [(EAN13_CARD, zxingcpp.BarcodeFormat.QRCode)]


def test_ean13_svg_has_thirty_bars_and_the_number_under_them() -> None:
    svg = render_barcode_svg("2900 0000 0001 8")
    assert svg.startswith(b"<?xml")
    root = svg_root(svg)
    assert root.tag == f"{SVG_NAMESPACE}svg"
    # One white background rect, then 2 bars per digit and 2 per guard (left, middle, right).
    assert len(list(root.iter(f"{SVG_NAMESPACE}rect"))) == 1 + 12 * 2 + 3 * 2
    texts = [text.text for text in root.iter(f"{SVG_NAMESPACE}text")]
    assert texts == [EAN13_CARD]


def test_code128_svg_shows_the_number_under_the_bars() -> None:
    root = svg_root(render_barcode_svg(CODE128_CARD, "code128"))
    assert root.tag == f"{SVG_NAMESPACE}svg"
    assert len(list(root.iter(f"{SVG_NAMESPACE}rect"))) > 20
    assert [text.text for text in root.iter(f"{SVG_NAMESPACE}text")] == [CODE128_CARD]


def test_qr_svg_is_one_path_of_square_modules() -> None:
    svg = render_qr_svg(EAN13_CARD)
    assert svg.startswith(b"<?xml")
    root = svg_root(svg)
    assert root.tag == f"{SVG_NAMESPACE}svg"
    # Version 1 QR (21 modules) plus a 4-module border on each side.
    assert root.get("viewBox") == "0 0 29 29"
    paths = list(root.iter(f"{SVG_NAMESPACE}path"))
    assert len(paths) == 1
    assert paths[0].get("d", "").startswith("M4,4H5V5H4z")


# Random numbers and the phone's live code


def test_random_numbers_fill_the_prefix_range_and_carry_their_check_digit() -> None:
    draws = iter([0, 481_516_234, 9_999_999_999])
    numbers = [random_card_number("29", draw=lambda below: next(draws)) for _ in range(3)]
    assert numbers == ["2900000000001", "2904815162343", "2999999999991"]
    assert all(normalize_card_number(number) == number for number in numbers)


def test_a_random_number_draws_every_digit_after_the_prefix() -> None:
    asked = []
    random_card_number("LC", "code128", draw=lambda below: asked.append(below) or 42)
    assert asked == [10**9] and card_range_size("29") == 10**10


@given(st.sampled_from([("29", "ean13"), ("2", "ean13"), ("LC", "code128")]))
def test_random_numbers_are_valid_and_keep_their_prefix(prefix_and_symbology) -> None:
    prefix, symbology = prefix_and_symbology
    number = random_card_number(prefix, symbology)
    assert number.startswith(prefix)
    assert normalize_card_number(number, symbology) == number


def test_what_the_phone_shows_splits_into_card_number_and_live_code() -> None:
    assert join_live_code(EAN13_CARD, "012345") == "2900000000018-012345"
    assert split_live_code("2900000000018-012345") == (EAN13_CARD, "012345")
    assert split_live_code(" LC0000000420-999999\n") == (CODE128_CARD, "999999")
    assert split_live_code(EAN13_CARD) == (EAN13_CARD, None)
    for no_code in ("2900000000018-01234", "2900-0000-0001-8", "2900000000018-0123456"):
        assert split_live_code(no_code) == (no_code, None)


@pytest.mark.parametrize("render", [render_live_barcode_png, render_qr_png])
def test_the_phone_s_barcodes_scan_back_to_the_number_and_its_live_code(render) -> None:
    scanned = decoded(render("2900000000018-012345"))
    assert [text for text, _ in scanned] == ["2900000000018-012345"]
    assert scanned[0][1] in (zxingcpp.BarcodeFormat.Code128, zxingcpp.BarcodeFormat.QRCode)


def test_the_phone_s_barcode_is_code128_with_the_code_written_under_it() -> None:
    root = svg_root(render_live_barcode_svg("2900000000018-012345"))
    assert [text.text for text in root.iter(f"{SVG_NAMESPACE}text")] == ["2900000000018-012345"]
    assert decoded(render_live_barcode_png("2900000000018-012345"))[0][1] \
        == zxingcpp.BarcodeFormat.Code128


def test_the_phone_s_barcode_needs_a_live_code() -> None:
    with pytest.raises(ValueError, match="live code"):
        render_live_barcode_png(EAN13_CARD)
