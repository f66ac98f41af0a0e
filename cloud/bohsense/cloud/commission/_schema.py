"""The hand-over sheet's sections and columns: the one list the reader, the template and the
docs (``docs/commissioning.md``) are made from.

A sheet is one XLSX workbook with a worksheet per section, or one CSV file in which each
section starts with a line ``[section]`` followed by its header line. Every section has a
header row naming its columns; a column not listed here is refused, as is a section.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MACHINE_CLASSES", "SECTIONS", "Column", "Section", "section"]

#: the ISO 20816 machine classes the gateway's condition features know
#: (``bohsense.edge.features.MACHINE_CLASSES``; a test keeps the two equal)
MACHINE_CLASSES = ("group1-rigid", "group1-flexible", "group2-rigid", "group2-flexible", "small")
#: what a device of the ``devices`` section is
DEVICE_KINDS = ("shelf", "condition", "rfid")
#: the kinds of RFID zone (``bohsense.cloud.boh.ZONE_KINDS``)
ZONE_KINDS = ("floor", "backroom", "door")


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    #: "id" (a name: letters, digits, ``_ . : -``), "str", "int", "float" or "choice"
    kind: str
    help: str
    required: bool = False
    low: float | None = None  # inclusive bounds of a number
    high: float | None = None
    above: float | None = None  # exclusive lower bound of a number
    choices: tuple[str, ...] = ()
    max_length: int = 200


@dataclass(frozen=True, slots=True)
class Section:
    name: str
    help: str
    columns: tuple[Column, ...]
    required: bool = False
    #: exactly one data row (the store, its gateway)
    single: bool = False

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)


SECTIONS: tuple[Section, ...] = (
    Section(
        "site",
        "The store (site) handed over: exactly one row.",
        (
            Column(
                "site",
                "id",
                "the site id used everywhere in the cloud",
                True,
                max_length=64,
            ),
            Column("name", "str", "a readable name"),
        ),
        required=True,
        single=True,
    ),
    Section(
        "gateway",
        "The store's gateway: exactly one row.",
        (
            Column(
                "gateway",
                "id",
                "the gateway id: its MQTT login and client id, unique in the fleet",
                True,
                max_length=64,
            ),
            Column(
                "broker_url",
                "str",
                "mqtt://host[:port] or mqtts://host[:port] the gateway connects to (no credentials)",
                True,
                max_length=300,
            ),
            Column(
                "tls_ca",
                "str",
                "CA bundle path on the gateway for mqtts:// (empty: system store)",
                max_length=300,
            ),
            Column(
                "outbox_path",
                "str",
                "the outbox file on the gateway (default /var/lib/bohsense-edge/outbox.sqlite3)",
                max_length=300,
            ),
        ),
        required=True,
        single=True,
    ),
    Section(
        "devices",
        "Every device the gateway reads: serial shelves, serial condition sensors, RFID readers.",
        (
            Column(
                "device",
                "id",
                "the device id it reports under (a shelf's lanes: <device>.lane-<n>)",
                True,
                max_length=64,
            ),
            Column("kind", "choice", "shelf, condition or rfid", True, choices=DEVICE_KINDS),
            Column(
                "port",
                "str",
                "serial devices: the port (/dev/ttyUSB0, a udev symlink or a pyserial URL)",
                max_length=300,
            ),
            Column(
                "baudrate", "int", "serial devices: the line speed (default 115200)", above=0, high=4_000_000
            ),
            Column("host", "str", "rfid: the reader's address", max_length=253),
            Column("llrp_port", "int", "rfid: the reader's LLRP port (default 5084)", low=1, high=65535),
        ),
        required=True,
    ),
    Section(
        "zones",
        "RFID readers: which zone each antenna covers.",
        (
            Column(
                "reader",
                "id",
                "an rfid device of the devices section",
                True,
                max_length=64,
            ),
            Column("antenna", "int", "the antenna number (1-based)", True, low=1, high=65535),
            Column("zone", "id", "the zone it covers", True, max_length=128),
            Column(
                "zone_kind",
                "choice",
                "floor, backroom or door (a door: items leaving the store); default floor",
                choices=ZONE_KINDS,
            ),
        ),
    ),
    Section(
        "skus",
        "SKUs the planogram uses that the catalog does not know yet (known ones may be left out).",
        (
            Column("sku", "id", "the SKU", True, max_length=64),
            Column("name", "str", "its name"),
            Column("unit", "str", "its unit (default unit)", max_length=32),
            Column("pack_size", "int", "units per order pack (default 1)", low=1, high=100_000),
            Column(
                "gtin", "str", "GTIN-8, -12, -13 or -14 with its check digit (kept as GTIN-14)", max_length=14
            ),
        ),
    ),
    Section(
        "lanes",
        "The planogram: each lane of each shelf, the SKU it holds, its unit weight and capacity.",
        (
            Column("device", "id", "a shelf of the devices section", True, max_length=64),
            Column("lane", "int", "the lane number on that shelf (1-based)", True, low=1, high=64),
            Column(
                "sku",
                "id",
                "the SKU it holds (skus section or the catalog)",
                True,
                max_length=64,
            ),
            Column(
                "unit_weight_g",
                "float",
                "the weight of one unit, grams",
                True,
                above=0,
                high=100_000,
            ),
            Column("capacity", "int", "units the lane holds when full", True, low=1, high=100_000),
            Column(
                "tare_g", "float", "the empty lane's reading, grams (default 0)", low=-100_000, high=100_000
            ),
            Column(
                "location",
                "str",
                "the stock location the lane belongs to (default: the shelf device); lanes of one"
                " SKU at one location add up",
                max_length=128,
            ),
            Column("min", "float", "reorder point of the location, units (default 0)", low=0, high=1e9),
            Column(
                "target",
                "float",
                "order-up-to level of the location, units (default: its capacity)",
                low=0,
                high=1e9,
            ),
            Column(
                "safety_stock", "float", "safety stock of the location, units (default 0)", low=0, high=1e9
            ),
            Column("aisle", "str", "the aisle (out-of-stock heat map rows)", max_length=64),
            Column("shelf", "str", "the shelf label (heat map rows)", max_length=64),
            Column("zone", "id", "the RFID zone covering the location, if any", max_length=128),
        ),
    ),
    Section(
        "assets",
        "Equipment with its condition sensor (and its bearing's geometry when known).",
        (
            Column("asset", "id", "the asset id", True, max_length=64),
            Column("name", "str", "a readable name"),
            Column("kind", "str", "its kind (compressor, motor, hvac…)", max_length=64),
            Column(
                "sensor",
                "id",
                "its condition sensor: a condition device of the devices section",
                max_length=64,
            ),
            Column(
                "machine_class", "choice", "ISO 20816 class for the vibration zones", choices=MACHINE_CLASSES
            ),
            Column("rpm", "float", "shaft speed, rev/min", above=0, high=200_000),
            Column("bearing_balls", "int", "bearing: number of rolling elements", low=3, high=200),
            Column("bearing_ball_d_mm", "float", "bearing: rolling element diameter, mm", above=0, high=1000),
            Column("bearing_pitch_d_mm", "float", "bearing: pitch diameter, mm", above=0, high=10_000),
            Column(
                "bearing_contact_deg", "float", "bearing: contact angle, degrees (default 0)", low=0, high=89
            ),
            Column(
                "temp_limit_c", "float", "local alarm: temperature above this for 30 min", low=-100, high=500
            ),
        ),
    ),
)

_BY_NAME = {s.name: s for s in SECTIONS}


def section(name: str) -> Section | None:
    return _BY_NAME.get(name)
