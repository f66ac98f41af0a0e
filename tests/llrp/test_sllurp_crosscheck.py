"""sllurp 3.0.5, an independent LLRP implementation, as a cross-check of the core: what
the core encodes for the reader side, sllurp's client decodes to the same values; what
sllurp's client encodes, the core decodes without a warning and re-encodes to the
same bytes. (sllurp is GPL-3.0-only and only in the dev dependency group.)"""

from __future__ import annotations

from typing import Any

import pytest
from sllurp.llrp import LLRPMessage
from sllurp.llrp_proto import Error_Type2Name, LLRPError, LLRPROSpec

from bohsense.llrp import (
    EPC96,
    AddROSpec,
    AISpec,
    AISpecStopTriggerType,
    EPCData,
    GetReaderCapabilitiesResponse,
    GetReaderConfigResponse,
    GetROSpecsResponse,
    Message,
    ReaderEventNotification,
    ROAccessReport,
    SetReaderConfig,
    decode_message,
    encode_message,
)
from tests.llrp.samples import FAILED, SAMPLES


def sllurp_decode(message: Message) -> dict[str, Any]:
    (body,) = LLRPMessage(msgbytes=encode_message(message)).msgdict.values()
    return dict(body)


def sample(kind: type[Message]) -> Any:
    return next(m for m in SAMPLES if isinstance(m, kind))


# ---------------------------------------------------------------- reader side → sllurp's client


def test_tag_reports_read_the_same_in_sllurp() -> None:
    report = sample(ROAccessReport)
    got = sllurp_decode(report)
    assert len(got["TagReportData"]) == len(report.tags)
    fields = {
        "AntennaID": "antenna_id", "PeakRSSI": "peak_rssi", "ChannelIndex": "channel_index",
        "FirstSeenTimestampUTC": "first_seen_utc", "FirstSeenTimestampUptime": "first_seen_uptime",
        "LastSeenTimestampUTC": "last_seen_utc", "LastSeenTimestampUptime": "last_seen_uptime",
        "TagSeenCount": "tag_seen_count", "ROSpecID": "ro_spec_id", "SpecIndex": "spec_index",
        "InventoryParameterSpecID": "inventory_parameter_spec_id", "AccessSpecID": "access_spec_id",
        "C1G2PC": "c1g2_pc", "C1G2CRC": "c1g2_crc",
    }  # fmt: skip
    for theirs, ours in zip(got["TagReportData"], report.tags, strict=True):
        assert theirs["EPC"].decode() == ours.epc_hex
        assert ("EPC-96" in theirs) == isinstance(ours.epc, EPC96)
        for their_name, our_name in fields.items():
            assert theirs.get(their_name) == getattr(ours, our_name), their_name
    first = got["TagReportData"][0]
    assert first["C1G2ReadOpSpecResult"]["ReadData"] == bytes.fromhex("e2801160")
    assert first["ImpinjPeakRSSI"] == -4850  # the Impinj Custom parameter passed through intact
    assert isinstance(report.tags[1].epc, EPCData)


def test_capabilities_read_the_same_in_sllurp() -> None:
    caps = sample(GetReaderCapabilitiesResponse)
    got = sllurp_decode(caps)
    g, tg = caps.general_device_capabilities, got["GeneralDeviceCapabilities"]
    assert (tg["MaxNumberOfAntennaSupported"], tg["DeviceManufacturerName"], tg["ModelName"]) == (
        g.max_number_of_antennas_supported, g.device_manufacturer_name, g.model_name,
    )  # fmt: skip
    assert tg["ReaderFirmwareVersion"].decode() == g.reader_firmware_version
    assert (tg["CanSetAntennaProperties"], tg["HasUTCClockCapability"]) == (
        g.can_set_antenna_properties, g.has_utc_clock_capability,
    )  # fmt: skip
    assert tg["GPIOCapabilities"] == {"NumGPIs": 4, "NumGPOs": 4}
    assert [a["ProtocolID"] for a in tg["PerAntennaAirProtocol"]] == [
        list(a.protocol_ids) for a in g.air_protocols
    ]
    c, tc = caps.llrp_capabilities, got["LLRPCapabilities"]
    assert (tc["MaxNumROSpec"], tc["MaxNumSpecsPerROSpec"], tc["MaxNumAccessSpec"], tc["SupportsEventAndReportHolding"]) == (
        c.max_num_ro_specs, c.max_num_specs_per_ro_spec, c.max_num_access_specs, c.supports_event_and_report_holding,
    )  # fmt: skip
    band, tb = (
        caps.regulatory_capabilities.uhf_band_capabilities,
        got["RegulatoryCapabilities"]["UHFBandCapabilities"],
    )
    assert [(p["Index"], p["TransmitPowerValue"]) for p in tb["TransmitPowerLevelTableEntry"]] == [
        (p.index, p.transmit_power) for p in band.transmit_power_levels
    ]
    (mode,) = tb["UHFC1G2RFModeTable"]["UHFC1G2RFModeTableEntry"]
    ours = band.rf_mode_tables[0].entries[0]
    assert (mode["ModeIdentifier"], mode["DR"], mode["M"], mode["BDR"], mode["PIE"], mode["MaxTari"]) == (
        ours.mode_identifier,
        int(ours.dr_value),
        ours.spectral_mask_indicator,
        ours.bdr_value,
        ours.pie_value,
        ours.max_tari_value,
    )  # fmt: skip  (sllurp calls the spectral mask "M" and the modulation "Mod")
    assert mode["Mod"] == ours.m_value
    assert tb["FrequencyInformation"]["FrequencyHopTable"][0]["Frequency"] == list(
        band.frequency_information.hop_tables[0].frequencies
    )
    assert got["C1G2LLRPCapabilities"]["CanSupportBlockWrite"] is True
    assert got["C1G2LLRPCapabilities"]["MaxNumSelectFiltersPerQuery"] == 2


def test_reader_config_reads_the_same_in_sllurp() -> None:
    config = sample(GetReaderConfigResponse)
    got = sllurp_decode(config)
    assert got["Identification"]["ReaderID"].decode() == config.identification.reader_id.hex()
    # trigger type 1 is "Periodic" in LLRP; sllurp's table names the same value "Immediate"
    assert got["KeepaliveSpec"] == {"KeepaliveTriggerType": "Immediate", "TimeInterval": 10_000}
    assert [(a["AntennaID"], a["AntennaGain"], a["AntennaConnected"]) for a in got["AntennaProperties"]] == [
        (a.antenna_id, a.antenna_gain, a.antenna_connected) for a in config.antenna_properties
    ]
    assert got["ROReportSpec"]["ROReportTrigger"] == "Upon_N_Tags_Or_End_Of_ROSpec"
    assert got["ROReportSpec"]["TagReportContentSelector"]["EnablePeakRSSI"] is True


@pytest.mark.parametrize(
    "message", [m for m in SAMPLES if type(m).__name__.endswith("Response") and hasattr(m, "status")],
    ids=lambda m: type(m).__name__,
)  # fmt: skip
def test_every_status_reads_the_same_in_sllurp(message: Message) -> None:
    if isinstance(message, GetROSpecsResponse) or type(message).__name__ == "GetAccessSpecsResponse":
        with pytest.raises(LLRPError, match="Cannot find decoder"):
            sllurp_decode(message)  # sllurp cannot decode these; the core can (test_encode)
        return
    status = sllurp_decode(message)["LLRPStatus"]
    ours = message.status  # type: ignore[attr-defined]
    assert status["StatusCode"] == Error_Type2Name[ours.status_code]
    assert status["ErrorDescription"].decode() == ours.error_description
    if ours is FAILED:
        assert status["FieldError"]["FieldNum"] == 2
        assert status["ParameterError"]["ParameterType"] == "AISpec"


def test_the_connection_event_reads_the_same_in_sllurp() -> None:
    hello = sample(ReaderEventNotification)
    got = sllurp_decode(hello)["ReaderEventNotificationData"]
    assert got["ConnectionAttemptEvent"] == {"Status": "Success"}
    assert got["UTCTimestamp"]["Microseconds"] == hello.data.timestamp.microseconds


# ---------------------------------------------------------------- sllurp's client → the reader side


def sllurp_encode(name: str, body: dict[str, Any]) -> bytes:
    return bytes(LLRPMessage(msgdict={name: body}).msgbytes)


CLIENT = [
    ("GET_READER_CAPABILITIES", {"RequestedData": 0, "ID": 1}),
    ("GET_READER_CONFIG", {"RequestedData": 0, "ID": 2}),
    ("ENABLE_ROSPEC", {"ROSpecID": 1, "ID": 4}),
    ("START_ROSPEC", {"ROSpecID": 1, "ID": 5}),
    ("STOP_ROSPEC", {"ROSpecID": 1, "ID": 6}),
    ("DISABLE_ROSPEC", {"ROSpecID": 1, "ID": 7}),
    ("DELETE_ROSPEC", {"ROSpecID": 0, "ID": 8}),
    ("DELETE_ACCESSSPEC", {"AccessSpecID": 0, "ID": 9}),
    ("KEEPALIVE_ACK", {"ID": 10}),
    ("ENABLE_EVENTS_AND_REPORTS", {"ID": 11}),
    ("CLOSE_CONNECTION", {"ID": 12}),
]


@pytest.mark.parametrize(("name", "body"), CLIENT, ids=[n for n, _ in CLIENT])
def test_sllurps_requests_decode_cleanly_and_reencode_to_its_bytes(name: str, body: dict[str, Any]) -> None:
    wire = sllurp_encode(name, dict(body))
    message, warnings = decode_message(wire)
    assert warnings == []
    assert message.message_id == body["ID"]
    for key, attr in (
        ("ROSpecID", "ro_spec_id"),
        ("AccessSpecID", "access_spec_id"),
        ("RequestedData", "requested_data"),
    ):
        if key in body:
            assert getattr(message, attr) == body[key]
    assert encode_message(message) == wire


def test_sllurps_rospec_decodes_cleanly_with_its_impinj_extension() -> None:
    rospec = LLRPROSpec(
        {"ModeIdentifier": 1000, "MaxTari": 25000}, 1, antennas=(1, 2), tx_power={1: 81, 2: 60},
        report_every_n_tags=1, report_timeout_ms=500, session=1, tag_population=16, tag_filter_mask=["3008"],
        impinj_search_mode=2, duration_sec=2.5, tag_content_selector={"EnableFirstSeenTimestamp": True},
    )  # fmt: skip
    wire = sllurp_encode("ADD_ROSPEC", {"ROSpecID": 1, "ROSpec": rospec, "ID": 3})
    message, warnings = decode_message(wire)
    assert warnings == []
    assert isinstance(message, AddROSpec)
    spec = message.ro_spec
    assert spec.ro_spec_id == 1
    assert spec.boundary.stop_trigger.duration_trigger_value == 2500
    (ai,) = spec.specs
    assert isinstance(ai, AISpec)
    assert ai.antenna_ids == (1, 2)
    # sllurp's "report every N tags" is an AISpec stop trigger on tag observation (the known gap)
    assert ai.stop_trigger.trigger_type == AISpecStopTriggerType.TAG_OBSERVATION
    assert ai.stop_trigger.tag_observation is not None
    assert (ai.stop_trigger.tag_observation.number_of_tags, ai.stop_trigger.tag_observation.timeout) == (
        1,
        500,
    )
    (ips,) = ai.inventory_parameter_specs
    assert [(a.antenna_id, a.rf_transmitter.transmit_power) for a in ips.antenna_configurations] == [
        (1, 81),
        (2, 60),
    ]  # type: ignore[union-attr]
    inventory = ips.antenna_configurations[0].inventory_commands[0]
    assert inventory.singulation_control is not None
    assert (inventory.singulation_control.session, inventory.singulation_control.tag_population) == (1, 16)
    assert inventory.filters[0].mask.tag_mask.data == bytes.fromhex("3008")
    (impinj,) = inventory.extensions  # ImpinjInventorySearchMode, kept as a Custom parameter
    assert (impinj.vendor_id, impinj.subtype, impinj.data) == (25882, 23, b"\x00\x02")  # type: ignore[union-attr]
    assert spec.report_spec is not None
    assert spec.report_spec.content_selector.enable_first_seen_timestamp
    assert encode_message(message) == wire


def test_sllurps_reader_config_decodes_cleanly() -> None:
    events = {
        "HoppingEvent": False, "GPIEvent": False, "ROSpecEvent": True, "ReportBufferFillWarning": False,
        "ReaderExceptionEvent": True, "RFSurveyEvent": False, "AISpecEvent": True,
        "AISpecEventWithSingulation": False, "AntennaEvent": True,
    }  # fmt: skip
    wire = sllurp_encode(
        "SET_READER_CONFIG",
        {
            "ID": 13,
            "ResetToFactoryDefaults": False,
            "ReaderEventNotificationSpec": {"EventNotificationState": events},
            "KeepaliveSpec": {"KeepaliveTriggerType": 1, "TimeInterval": 10000},
        },
    )
    message, warnings = decode_message(wire)
    assert warnings == []
    assert isinstance(message, SetReaderConfig)
    assert message.keepalive_spec is not None
    assert (message.keepalive_spec.trigger_type, message.keepalive_spec.periodic_trigger_value) == (1, 10000)
    assert message.reader_event_notification_spec is not None
    assert [s.notification_state for s in message.reader_event_notification_spec.states] == list(
        events.values()
    )
    assert encode_message(message) == wire
