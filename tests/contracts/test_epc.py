"""SGTIN-96 against the GS1 Tag Data Standard's published example, its partition table
and check digits, with round trips over every partition."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bohsense.contracts.epc import PARTITIONS, EpcError, EpcErrorReason, Sgtin96, gtin_check_digit

# GS1 EPC Tag Data Standard, SGTIN-96 example (section 14.5.1 / annex E)
TDS_HEX = "3074257BF7194E4000001A85"
TDS_GTIN = "80614141123458"
TDS_PURE = "urn:epc:id:sgtin:0614141.812345.6789"
TDS_TAG = "urn:epc:tag:sgtin-96:3.0614141.812345.6789"


def test_the_tds_example_encodes_to_the_published_hex() -> None:
    epc = Sgtin96.from_gtin(TDS_GTIN, 7, 6789, filter=3)
    assert (epc.company_prefix, epc.item_reference, epc.partition) == ("0614141", "812345", 5)
    assert epc.hex() == TDS_HEX
    assert epc.pure_uri() == TDS_PURE
    assert epc.tag_uri() == TDS_TAG


def test_the_tds_example_decodes_from_the_published_hex() -> None:
    epc = Sgtin96.from_hex(TDS_HEX)
    assert epc == Sgtin96("0614141", "812345", 6789, 3)
    assert epc.gtin14() == TDS_GTIN
    assert Sgtin96.from_uri(TDS_TAG) == epc
    assert Sgtin96.from_uri(TDS_PURE, filter=3) == epc


def test_the_bit_layout_field_by_field() -> None:
    word = int(TDS_HEX, 16)
    assert word >> 88 == 0x30  # header
    assert (word >> 85) & 7 == 3  # filter
    assert (word >> 82) & 7 == 5  # partition: 24-bit company prefix, 20-bit item reference
    assert (word >> 58) & (2**24 - 1) == 614141
    assert (word >> 38) & (2**20 - 1) == 812345
    assert word & (2**38 - 1) == 6789


@pytest.mark.parametrize(
    ("first13", "check"),
    [("8061414112345", 8), ("0000000000000", 0), ("1000000000000", 7), ("0950110153000", 3)],
)
def test_check_digits(first13: str, check: int) -> None:
    assert gtin_check_digit(first13) == check


def test_gtin13_is_padded_to_gtin14() -> None:
    # GTIN-13 4006381333931 (a published EAN-13), company prefix 4006381 (7 digits)
    epc = Sgtin96.from_gtin("4006381333931", 7, 1)
    assert epc.gtin14() == "04006381333931"
    assert epc.item_reference == "033393"


@pytest.mark.parametrize(
    ("call", "reason"),
    [
        (lambda: Sgtin96.from_hex("3174257BF7194E4000001A85"), EpcErrorReason.NOT_SGTIN96),
        (lambda: Sgtin96.from_hex("zz"), EpcErrorReason.NOT_SGTIN96),
        (lambda: Sgtin96.from_hex("301C257BF7194E4000001A85"), EpcErrorReason.BAD_PARTITION),
        (lambda: Sgtin96.from_hex("3074257BF7194E4000001A"), EpcErrorReason.BAD_LENGTH),
        (lambda: Sgtin96.from_gtin("80614141123457", 7, 1), EpcErrorReason.BAD_CHECK_DIGIT),
        (lambda: Sgtin96.from_gtin("806141411234", 7, 1), EpcErrorReason.BAD_CHECK_DIGIT),
        (lambda: Sgtin96.from_gtin("8061414112345", 7, 1), EpcErrorReason.BAD_CHECK_DIGIT),
        (lambda: Sgtin96.from_gtin("806141411234581", 7, 1), EpcErrorReason.BAD_LENGTH),
        (lambda: Sgtin96.from_gtin(TDS_GTIN, 5, 1), EpcErrorReason.BAD_LENGTH),
        (lambda: Sgtin96.from_gtin(TDS_GTIN, 7, 2**38), EpcErrorReason.OUT_OF_RANGE),
        (lambda: Sgtin96.from_gtin(TDS_GTIN, 7, -1), EpcErrorReason.OUT_OF_RANGE),
        (lambda: Sgtin96("0614141", "812345", 1, filter=8), EpcErrorReason.OUT_OF_RANGE),
        (lambda: Sgtin96("0614141", "81234", 1), EpcErrorReason.BAD_LENGTH),
        (lambda: Sgtin96("06141x1", "812345", 1), EpcErrorReason.OUT_OF_RANGE),
        (lambda: Sgtin96.from_uri("urn:epc:id:sgtin:0614141.812345.06789"), EpcErrorReason.OUT_OF_RANGE),
        (lambda: Sgtin96.from_uri("urn:epc:id:sscc:0614141.1234567890"), EpcErrorReason.NOT_SGTIN96),
        (lambda: Sgtin96.from_uri("urn:epc:tag:sgtin-96:8.0614141.812345.1"), EpcErrorReason.NOT_SGTIN96),
    ],
)
def test_bad_input_is_refused_with_a_reason(call: object, reason: EpcErrorReason) -> None:
    with pytest.raises(EpcError) as info:
        call()  # type: ignore[operator]
    assert info.value.reason is reason
    assert str(info.value).startswith(reason.value + ": ")


def test_a_company_prefix_too_large_for_its_bits_is_out_of_range() -> None:
    # partition 6: 20 bits carry up to 1048575, but a 6-digit prefix stops at 999999
    word = (0x30 << 88) | (1 << 85) | (6 << 82) | (999_999 + 1) << 62
    with pytest.raises(EpcError) as info:
        Sgtin96.from_bytes(word.to_bytes(12, "big"))
    assert info.value.reason is EpcErrorReason.OUT_OF_RANGE


@st.composite
def sgtins(draw: st.DrawFn) -> Sgtin96:
    partition = draw(st.sampled_from(sorted(PARTITIONS)))
    _, cp_digits, _, ir_digits = PARTITIONS[partition]
    company = draw(st.text("0123456789", min_size=cp_digits, max_size=cp_digits))
    item = draw(st.text("0123456789", min_size=ir_digits, max_size=ir_digits))
    serial = draw(st.integers(0, 2**38 - 1))
    return Sgtin96(company, item, serial, draw(st.integers(0, 7)))


@given(sgtins())
def test_round_trips(epc: Sgtin96) -> None:
    assert Sgtin96.from_bytes(epc.to_bytes()) == epc
    assert Sgtin96.from_hex(epc.hex()) == epc
    assert Sgtin96.from_uri(epc.tag_uri()) == epc
    assert Sgtin96.from_uri(epc.pure_uri(), filter=epc.filter) == epc
    gtin = epc.gtin14()
    assert len(gtin) == 14
    assert Sgtin96.from_gtin(gtin, len(epc.company_prefix), epc.serial, filter=epc.filter) == epc


@given(st.binary(min_size=11, max_size=11))
def test_any_sgtin96_header_bytes_decode_or_are_refused_with_a_reason(rest: bytes) -> None:
    data = bytes([0x30]) + rest
    partition = (int.from_bytes(data, "big") >> 82) & 7
    decoded: Sgtin96 | EpcError
    try:
        decoded = Sgtin96.from_bytes(data)
    except EpcError as exc:
        decoded = exc
    if isinstance(decoded, Sgtin96):
        assert decoded.to_bytes() == data
    elif partition == 7:
        assert decoded.reason is EpcErrorReason.BAD_PARTITION
    else:
        assert decoded.reason is EpcErrorReason.OUT_OF_RANGE
