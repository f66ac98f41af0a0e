"""SGTIN-96: the 96-bit EPC of a trade item (GS1 EPC Tag Data Standard, section 14.5.1).

::

    bits   8 header 0x30 | 3 filter | 3 partition | 20-40 company prefix
           | 24-4 item reference (indicator digit first) | 38 serial

The partition value says how the 44 bits after it split between the GS1 company
prefix (12 down to 6 digits) and the item reference (1 up to 7 digits, the GTIN's
indicator digit first). The GTIN-14 is indicator, company prefix, the rest of the
item reference and a mod-10 check digit.

``Sgtin96`` holds the decoded fields (the company prefix and item reference as digit
strings, since their leading zeros are significant); it converts to and from the 12
bytes on the tag, the hex form, the pure identity URI ``urn:epc:id:sgtin:…``, the tag
URI ``urn:epc:tag:sgtin-96:…`` and the GTIN-14. Anything that is not a valid SGTIN-96
raises ``EpcError`` with a stable ``reason``.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

__all__ = ["PARTITIONS", "SGTIN96_HEADER", "EpcError", "EpcErrorReason", "Sgtin96", "gtin_check_digit"]

SGTIN96_HEADER = 0x30
SERIAL_BITS = 38

# partition → (company prefix bits, digits, item reference bits, digits)
PARTITIONS: dict[int, tuple[int, int, int, int]] = {
    0: (40, 12, 4, 1),
    1: (37, 11, 7, 2),
    2: (34, 10, 10, 3),
    3: (30, 9, 14, 4),
    4: (27, 8, 17, 5),
    5: (24, 7, 20, 6),
    6: (20, 6, 24, 7),
}
_BY_DIGITS = {digits: p for p, (_, digits, _, _) in PARTITIONS.items()}


class EpcErrorReason(enum.StrEnum):
    NOT_SGTIN96 = "not-sgtin96"
    BAD_PARTITION = "bad-partition"
    BAD_LENGTH = "bad-length"
    BAD_CHECK_DIGIT = "bad-check-digit"
    OUT_OF_RANGE = "out-of-range"


class EpcError(ValueError):
    """A value that is not a valid SGTIN-96; ``reason`` says why."""

    def __init__(self, reason: EpcErrorReason, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail


def _digits(value: str, what: str) -> str:
    if not value.isascii() or not value.isdigit():
        raise EpcError(EpcErrorReason.OUT_OF_RANGE, f"{what} {value!r} is not all digits")
    return value


def gtin_check_digit(first13: str) -> int:
    """The GS1 mod-10 check digit of the first 13 digits of a GTIN-14."""
    _digits(first13, "GTIN")
    if len(first13) != 13:
        raise EpcError(
            EpcErrorReason.BAD_LENGTH, f"a GTIN-14 has 13 digits before its check digit, got {len(first13)}"
        )
    # weights 3, 1, 3, … from the left of the 13 digits (the rightmost data digit weighs 3)
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(first13))
    return (10 - total % 10) % 10


@dataclass(frozen=True, slots=True)
class Sgtin96:
    """One SGTIN-96. ``company_prefix`` has 6-12 digits, ``item_reference`` 13 minus as many
    (its first digit is the GTIN's indicator), ``serial`` < 2^38, ``filter`` 0-7."""

    company_prefix: str
    item_reference: str
    serial: int
    filter: int = 1  # 1: point of sale trade item (GS1 filter value table)

    def __post_init__(self) -> None:
        _digits(self.company_prefix, "company prefix")
        if self.item_reference:
            _digits(self.item_reference, "item reference")
        if len(self.company_prefix) not in _BY_DIGITS:
            raise EpcError(
                EpcErrorReason.BAD_LENGTH,
                f"a company prefix has 6 to 12 digits, got {len(self.company_prefix)}",
            )
        if len(self.company_prefix) + len(self.item_reference) != 13:
            raise EpcError(
                EpcErrorReason.BAD_LENGTH,
                f"company prefix and item reference make 13 digits, got "
                f"{len(self.company_prefix)} + {len(self.item_reference)}",
            )
        if not 0 <= self.serial < 1 << SERIAL_BITS:
            raise EpcError(EpcErrorReason.OUT_OF_RANGE, f"serial {self.serial} does not fit 38 bits")
        if not 0 <= self.filter <= 7:
            raise EpcError(EpcErrorReason.OUT_OF_RANGE, f"filter {self.filter} is not 0-7")

    @property
    def partition(self) -> int:
        return _BY_DIGITS[len(self.company_prefix)]

    # -- binary ----------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        cp_bits, _, ir_bits, _ = PARTITIONS[self.partition]
        word = SGTIN96_HEADER
        word = (word << 3) | self.filter
        word = (word << 3) | self.partition
        word = (word << cp_bits) | int(self.company_prefix)
        word = (word << ir_bits) | int(self.item_reference)
        word = (word << SERIAL_BITS) | self.serial
        return word.to_bytes(12, "big")

    def hex(self) -> str:
        return self.to_bytes().hex().upper()

    @classmethod
    def from_bytes(cls, data: bytes) -> Sgtin96:
        if len(data) != 12:
            raise EpcError(EpcErrorReason.BAD_LENGTH, f"an SGTIN-96 is 12 bytes, got {len(data)}")
        if data[0] != SGTIN96_HEADER:
            raise EpcError(
                EpcErrorReason.NOT_SGTIN96, f"header 0x{data[0]:02X} is not SGTIN-96 (0x{SGTIN96_HEADER:02X})"
            )
        word = int.from_bytes(data, "big")
        filter_value = (word >> 85) & 0x7
        partition = (word >> 82) & 0x7
        if partition not in PARTITIONS:
            raise EpcError(EpcErrorReason.BAD_PARTITION, f"partition {partition} is not 0-6")
        cp_bits, cp_digits, ir_bits, ir_digits = PARTITIONS[partition]
        company = (word >> (SERIAL_BITS + ir_bits)) & ((1 << cp_bits) - 1)
        item = (word >> SERIAL_BITS) & ((1 << ir_bits) - 1)
        serial = word & ((1 << SERIAL_BITS) - 1)
        if company >= 10**cp_digits:
            raise EpcError(
                EpcErrorReason.OUT_OF_RANGE, f"company prefix {company} has more than {cp_digits} digits"
            )
        if item >= 10**ir_digits:
            raise EpcError(
                EpcErrorReason.OUT_OF_RANGE, f"item reference {item} has more than {ir_digits} digits"
            )
        return cls(f"{company:0{cp_digits}d}", f"{item:0{ir_digits}d}", serial, filter_value)

    @classmethod
    def from_hex(cls, text: str) -> Sgtin96:
        try:
            data = bytes.fromhex(text)
        except ValueError as exc:
            raise EpcError(EpcErrorReason.NOT_SGTIN96, f"{text!r} is not hexadecimal") from exc
        return cls.from_bytes(data)

    # -- URIs ------------------------------------------------------------------------

    def pure_uri(self) -> str:
        return f"urn:epc:id:sgtin:{self.company_prefix}.{self.item_reference}.{self.serial}"

    def tag_uri(self) -> str:
        return f"urn:epc:tag:sgtin-96:{self.filter}.{self.company_prefix}.{self.item_reference}.{self.serial}"

    @classmethod
    def from_uri(cls, uri: str, *, filter: int = 1) -> Sgtin96:
        """Parse a pure identity URI (with ``filter`` for the tag) or an SGTIN-96 tag URI."""
        m = _TAG_URI.fullmatch(uri)
        if m:
            filt, company, item, serial = m.groups()
            filter = int(filt)
        else:
            m = _PURE_URI.fullmatch(uri)
            if not m:
                raise EpcError(EpcErrorReason.NOT_SGTIN96, f"{uri!r} is not an SGTIN URI")
            company, item, serial = m.groups()
        if len(serial) > 1 and serial.startswith("0"):
            # TDS: an SGTIN-96 serial is a number; a leading zero needs SGTIN-198
            raise EpcError(EpcErrorReason.OUT_OF_RANGE, f"serial {serial!r} has a leading zero")
        return cls(company, item, int(serial), filter)

    # -- GTIN-14 ---------------------------------------------------------------------

    def gtin14(self) -> str:
        first13 = self.item_reference[:1] + self.company_prefix + self.item_reference[1:]
        return first13 + str(gtin_check_digit(first13))

    @classmethod
    def from_gtin(cls, gtin: str, company_prefix_digits: int, serial: int, *, filter: int = 1) -> Sgtin96:
        """From a GTIN-14 (or a GTIN-8/12/13, padded with zeros on the left) whose company
        prefix has ``company_prefix_digits`` digits (the GTIN alone does not say)."""
        _digits(gtin, "GTIN")
        if len(gtin) not in (8, 12, 13, 14):
            raise EpcError(EpcErrorReason.BAD_LENGTH, f"a GTIN has 8, 12, 13 or 14 digits, got {len(gtin)}")
        gtin = gtin.zfill(14)
        if int(gtin[13]) != gtin_check_digit(gtin[:13]):
            raise EpcError(
                EpcErrorReason.BAD_CHECK_DIGIT,
                f"GTIN {gtin} ends in {gtin[13]}, its check digit is {gtin_check_digit(gtin[:13])}",
            )
        if company_prefix_digits not in _BY_DIGITS:
            raise EpcError(
                EpcErrorReason.BAD_LENGTH, f"a company prefix has 6 to 12 digits, got {company_prefix_digits}"
            )
        company = gtin[1 : 1 + company_prefix_digits]
        item = gtin[0] + gtin[1 + company_prefix_digits : 13]
        return cls(company, item, serial, filter)


_PURE_URI = re.compile(r"urn:epc:id:sgtin:([0-9]{6,12})\.([0-9]{1,7})\.([0-9]+)")
_TAG_URI = re.compile(r"urn:epc:tag:sgtin-96:([0-7])\.([0-9]{6,12})\.([0-9]{1,7})\.([0-9]+)")
