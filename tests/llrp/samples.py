"""One sample of every message the LLRP core types, using every parameter it types, so
that the encoder and decoder of each are exercised (a new type without a sample fails
``test_every_message_and_parameter_type_has_a_sample``)."""

from __future__ import annotations

from bohsense.llrp import (
    EPC96,
    SUCCESS,
    AccessCommand,
    AccessReportSpec,
    AccessSpec,
    AccessSpecStopTrigger,
    AddAccessSpec,
    AddAccessSpecResponse,
    AddROSpec,
    AddROSpecResponse,
    AISpec,
    AISpecEvent,
    AISpecStopTrigger,
    AISpecStopTriggerType,
    AntennaConfiguration,
    AntennaEvent,
    AntennaProperties,
    BitString,
    C1G2BlockErase,
    C1G2BlockEraseOpSpecResult,
    C1G2BlockWrite,
    C1G2BlockWriteOpSpecResult,
    C1G2EPCMemorySelector,
    C1G2Filter,
    C1G2InventoryCommand,
    C1G2Kill,
    C1G2KillOpSpecResult,
    C1G2LLRPCapabilities,
    C1G2Lock,
    C1G2LockOpSpecResult,
    C1G2LockPayload,
    C1G2Read,
    C1G2ReadOpSpecResult,
    C1G2RFControl,
    C1G2SingulationControl,
    C1G2SingulationDetails,
    C1G2TagInventoryMask,
    C1G2TagInventoryStateAwareFilterAction,
    C1G2TagInventoryStateAwareSingulationAction,
    C1G2TagInventoryStateUnawareFilterAction,
    C1G2TagSpec,
    C1G2TargetTag,
    C1G2UHFRFModeTable,
    C1G2UHFRFModeTableEntry,
    C1G2Write,
    C1G2WriteOpSpecResult,
    CloseConnection,
    CloseConnectionResponse,
    ConnectionAttemptEvent,
    ConnectionCloseEvent,
    Custom,
    CustomMessage,
    DeleteAccessSpec,
    DeleteAccessSpecResponse,
    DeleteROSpec,
    DeleteROSpecResponse,
    DisableAccessSpec,
    DisableAccessSpecResponse,
    DisableROSpec,
    DisableROSpecResponse,
    EnableAccessSpec,
    EnableAccessSpecResponse,
    EnableEventsAndReports,
    EnableROSpec,
    EnableROSpecResponse,
    EPCData,
    ErrorMessage,
    EventNotificationState,
    EventsAndReports,
    FieldError,
    FixedFrequencyTable,
    FrequencyHopTable,
    FrequencyInformation,
    FrequencyRSSILevelEntry,
    GeneralDeviceCapabilities,
    GetAccessSpecs,
    GetAccessSpecsResponse,
    GetReaderCapabilities,
    GetReaderCapabilitiesResponse,
    GetReaderConfig,
    GetReaderConfigResponse,
    GetReport,
    GetROSpecs,
    GetROSpecsResponse,
    GPIEvent,
    GPIOCapabilities,
    GPIPortCurrentState,
    GPITriggerValue,
    GPOWriteData,
    HoppingEvent,
    Identification,
    InventoryParameterSpec,
    Keepalive,
    KeepaliveAck,
    KeepaliveSpec,
    LLRPCapabilities,
    LLRPConfigurationStateValue,
    LLRPStatus,
    Message,
    ParameterError,
    PerAntennaAirProtocol,
    PerAntennaReceiveSensitivityRange,
    PeriodicTriggerValue,
    ReaderEventNotification,
    ReaderEventNotificationData,
    ReaderEventNotificationSpec,
    ReaderExceptionEvent,
    ReceiveSensitivityTableEntry,
    RegulatoryCapabilities,
    ReportBufferLevelWarningEvent,
    ReportBufferOverflowErrorEvent,
    RFReceiver,
    RFSurveyEvent,
    RFSurveyReportData,
    RFSurveySpec,
    RFSurveySpecStopTrigger,
    RFTransmitter,
    ROAccessReport,
    ROBoundarySpec,
    ROReportSpec,
    ROReportTrigger,
    ROSpec,
    ROSpecEvent,
    ROSpecStartTrigger,
    ROSpecStartTriggerType,
    ROSpecState,
    ROSpecStopTrigger,
    ROSpecStopTriggerType,
    SetReaderConfig,
    SetReaderConfigResponse,
    StartROSpec,
    StartROSpecResponse,
    StatusCode,
    StopROSpec,
    StopROSpecResponse,
    TagObservationTrigger,
    TagReportContentSelector,
    TagReportData,
    TransmitPowerLevelTableEntry,
    UHFBandCapabilities,
    Uptime,
    UTCTimestamp,
)

IMPINJ = 25882
EPC = bytes.fromhex("3005fb63ac1f3841ec880467")

GPI = GPITriggerValue(gpi_port_num=1, gpi_event=True, timeout=5000)
SELECTOR = TagReportContentSelector(
    enable_ro_spec_id=True, enable_antenna_id=True, enable_peak_rssi=True, enable_first_seen_timestamp=True,
    enable_last_seen_timestamp=True, enable_tag_seen_count=True, enable_channel_index=True,
    epc_memory_selectors=(C1G2EPCMemorySelector(enable_crc=False, enable_pc_bits=True),),
)  # fmt: skip
INVENTORY = C1G2InventoryCommand(
    tag_inventory_state_aware=False,
    filters=(
        C1G2Filter(
            truncate=1,
            mask=C1G2TagInventoryMask(mb=1, pointer=32, tag_mask=BitString(12, b"\x30\x00")),
            aware_action=C1G2TagInventoryStateAwareFilterAction(target=1, action=0),
            unaware_action=C1G2TagInventoryStateUnawareFilterAction(action=1),
        ),
    ),
    rf_control=C1G2RFControl(mode_index=1000, tari=0),
    singulation_control=C1G2SingulationControl(
        session=1,
        tag_population=32,
        tag_transit_time=0,
        state_aware_action=C1G2TagInventoryStateAwareSingulationAction(i=True, s=False),
    ),
    extensions=(Custom(vendor_id=IMPINJ, subtype=23, data=b"\x00\x02"),),  # ImpinjInventorySearchMode
)
ANTENNA = AntennaConfiguration(
    antenna_id=1,
    rf_receiver=RFReceiver(receiver_sensitivity=1),
    rf_transmitter=RFTransmitter(hop_table_id=1, channel_index=0, transmit_power=81),
    inventory_commands=(INVENTORY,),
)
RO_SPEC = ROSpec(
    ro_spec_id=1,
    priority=0,
    current_state=ROSpecState.DISABLED,
    boundary=ROBoundarySpec(
        start_trigger=ROSpecStartTrigger(
            trigger_type=ROSpecStartTriggerType.PERIODIC,
            periodic=PeriodicTriggerValue(
                offset=0, period=1000, utc_timestamp=UTCTimestamp(microseconds=10**15)
            ),
        ),
        stop_trigger=ROSpecStopTrigger(trigger_type=ROSpecStopTriggerType.GPI_WITH_TIMEOUT, gpi=GPI),
    ),
    specs=(
        AISpec(
            antenna_ids=(0,),
            stop_trigger=AISpecStopTrigger(
                trigger_type=AISpecStopTriggerType.TAG_OBSERVATION,
                tag_observation=TagObservationTrigger(trigger_type=0, number_of_tags=100, timeout=500),
            ),
            inventory_parameter_specs=(InventoryParameterSpec(spec_id=1, antenna_configurations=(ANTENNA,)),),
        ),
        RFSurveySpec(
            antenna_id=1,
            start_frequency=902750,
            end_frequency=927250,
            stop_trigger=RFSurveySpecStopTrigger(trigger_type=1, duration_period=100, n=0),
        ),
    ),
    report_spec=ROReportSpec(
        trigger=ROReportTrigger.UPON_N_TAGS_OR_END_OF_AISPEC, n=1, content_selector=SELECTOR
    ),
)
ACCESS_SPEC = AccessSpec(
    access_spec_id=7,
    antenna_id=0,
    current_state=True,
    ro_spec_id=1,
    stop_trigger=AccessSpecStopTrigger(trigger_type=1, operation_count=1),
    command=AccessCommand(
        tag_spec=C1G2TagSpec(
            targets=(
                C1G2TargetTag(
                    mb=1,
                    match=True,
                    pointer=32,
                    tag_mask=BitString.of(b"\xff"),
                    tag_data=BitString.of(b"\x30"),
                ),
            )
        ),
        op_specs=(
            C1G2Read(op_spec_id=1, access_password=0, mb=2, word_pointer=0, word_count=6),
            C1G2Write(op_spec_id=2, access_password=0, mb=3, word_pointer=0, write_data=(0xBEEF,)),
            C1G2Kill(op_spec_id=3, kill_password=0xDEADBEEF),
            C1G2Lock(op_spec_id=4, access_password=1, payloads=(C1G2LockPayload(privilege=0, data_field=2),)),
            C1G2BlockErase(op_spec_id=5, access_password=0, mb=3, word_pointer=0, word_count=2),
            C1G2BlockWrite(op_spec_id=6, access_password=0, mb=3, word_pointer=0, write_data=(1, 2)),
        ),
    ),
    report_spec=AccessReportSpec(access_report_trigger=1),
)
TAG = TagReportData(
    epc=EPC96(epc=EPC), ro_spec_id=1, spec_index=1, inventory_parameter_spec_id=1, antenna_id=2, peak_rssi=-61,
    channel_index=7, first_seen_utc=1_700_000_000_000_000, first_seen_uptime=5_000_000,
    last_seen_utc=1_700_000_000_500_000, last_seen_uptime=5_500_000, tag_seen_count=3, c1g2_pc=0x3000,
    c1g2_crc=0x1234, access_spec_id=7,
    op_spec_results=(
        C1G2ReadOpSpecResult(result=0, op_spec_id=1, read_data=(0xE280, 0x1160)),
        C1G2WriteOpSpecResult(result=0, op_spec_id=2, num_words_written=1),
        C1G2KillOpSpecResult(result=4, op_spec_id=3),
        C1G2LockOpSpecResult(result=0, op_spec_id=4),
        C1G2BlockEraseOpSpecResult(result=0, op_spec_id=5),
        C1G2BlockWriteOpSpecResult(result=0, op_spec_id=6, num_words_written=2),
    ),
    extensions=(Custom(vendor_id=IMPINJ, subtype=57, data=b"\xed\x0e"),),  # ImpinjPeakRSSI
)  # fmt: skip
CONFIG = {
    "antenna_properties": (AntennaProperties(antenna_connected=True, antenna_id=1, antenna_gain=600),),
    "antenna_configurations": (ANTENNA,),
    "reader_event_notification_spec": ReaderEventNotificationSpec(
        states=tuple(EventNotificationState(event_type=t, notification_state=t in (2, 8)) for t in range(9))
    ),
    "ro_report_spec": ROReportSpec(
        trigger=ROReportTrigger.UPON_N_TAGS_OR_END_OF_ROSPEC, n=0, content_selector=SELECTOR
    ),
    "access_report_spec": AccessReportSpec(access_report_trigger=0),
    "keepalive_spec": KeepaliveSpec(trigger_type=1, periodic_trigger_value=10_000),
    "gpo_write_data": (GPOWriteData(gpo_port_number=1, gpo_data=True),),
    "gpi_port_current_states": (GPIPortCurrentState(gpi_port_num=1, config=True, state=2),),
    "events_and_reports": EventsAndReports(hold_events_and_reports_upon_reconnect=False),
}
FAILED = LLRPStatus(
    status_code=StatusCode.M_PARAMETER_ERROR,
    error_description="ROSpec 1 has no AISpecStopTrigger",
    field_error=FieldError(field_num=2, error_code=StatusCode.M_FIELD_ERROR),
    parameter_error=ParameterError(
        parameter_type=183,
        error_code=StatusCode.P_MISSING_PARAMETER,
        parameter_error=ParameterError(parameter_type=184, error_code=StatusCode.P_MISSING_PARAMETER),
    ),
)
TIME = UTCTimestamp(microseconds=1_700_000_000_000_000)

SAMPLES: list[Message] = [
    GetReaderCapabilities(message_id=1, requested_data=0),
    GetReaderCapabilitiesResponse(
        message_id=1,
        general_device_capabilities=GeneralDeviceCapabilities(
            max_number_of_antennas_supported=4,
            can_set_antenna_properties=False,
            has_utc_clock_capability=True,
            device_manufacturer_name=IMPINJ,
            model_name=2001002,
            reader_firmware_version="5.14.0.240",
            receive_sensitivities=(ReceiveSensitivityTableEntry(index=1, receive_sensitivity=0),),
            receive_sensitivity_ranges=(
                PerAntennaReceiveSensitivityRange(
                    antenna_id=1, receive_sensitivity_index_min=1, receive_sensitivity_index_max=42
                ),
            ),
            gpio_capabilities=GPIOCapabilities(num_gpis=4, num_gpos=4),
            air_protocols=(PerAntennaAirProtocol(antenna_id=1, protocol_ids=b"\x01"),),
        ),
        llrp_capabilities=LLRPCapabilities(
            can_do_rf_survey=False,
            can_report_buffer_fill_warning=True,
            supports_client_request_op_spec=False,
            can_do_tag_inventory_state_aware_singulation=False,
            supports_event_and_report_holding=True,
            max_num_priority_levels_supported=1,
            client_request_op_spec_timeout=0,
            max_num_ro_specs=1,
            max_num_specs_per_ro_spec=32,
            max_num_inventory_parameter_specs_per_ai_spec=1,
            max_num_access_specs=1508,
            max_num_op_specs_per_access_spec=8,
        ),
        regulatory_capabilities=RegulatoryCapabilities(
            country_code=840,
            communications_standard=1,
            uhf_band_capabilities=UHFBandCapabilities(
                transmit_power_levels=tuple(
                    TransmitPowerLevelTableEntry(index=i, transmit_power=1000 + 25 * (i - 1))
                    for i in range(1, 82)
                ),
                frequency_information=FrequencyInformation(
                    hopping=True,
                    hop_tables=(FrequencyHopTable(hop_table_id=1, frequencies=(909250, 908250, 925750)),),
                    fixed_frequency_table=FixedFrequencyTable(frequencies=(915250,)),
                ),
                rf_mode_tables=(
                    C1G2UHFRFModeTable(
                        entries=(
                            C1G2UHFRFModeTableEntry(
                                mode_identifier=1000,
                                dr_value=True,
                                epc_hag_tc_conformance=False,
                                m_value=2,
                                forward_link_modulation=2,
                                spectral_mask_indicator=3,
                                bdr_value=256000,
                                pie_value=1500,
                                min_tari_value=6250,
                                max_tari_value=25000,
                                step_tari_value=0,
                            ),
                        )
                    ),
                ),
            ),
            extensions=(Custom(vendor_id=IMPINJ, subtype=1, data=b"\x00"),),
        ),
        c1g2_llrp_capabilities=C1G2LLRPCapabilities(
            can_support_block_erase=False, can_support_block_write=True, max_num_select_filters_per_query=2
        ),
    ),
    GetReaderConfig(message_id=2, antenna_id=0, requested_data=0, gpi_port_num=0, gpo_port_num=0),
    GetReaderConfigResponse(
        message_id=2,
        identification=Identification(id_type=0, reader_id=bytes.fromhex("001625ffff1125d6")),
        llrp_configuration_state=LLRPConfigurationStateValue(value=2057940966),
        **CONFIG,  # type: ignore[arg-type]
    ),
    SetReaderConfig(message_id=3, reset_to_factory_default=True, **CONFIG),  # type: ignore[arg-type]
    SetReaderConfigResponse(message_id=3),
    AddROSpec(message_id=4, ro_spec=RO_SPEC),
    AddROSpecResponse(message_id=4, status=FAILED),
    DeleteROSpec(message_id=5, ro_spec_id=0),
    DeleteROSpecResponse(message_id=5),
    StartROSpec(message_id=6, ro_spec_id=1),
    StartROSpecResponse(message_id=6),
    StopROSpec(message_id=7, ro_spec_id=1),
    StopROSpecResponse(message_id=7),
    EnableROSpec(message_id=8, ro_spec_id=1),
    EnableROSpecResponse(message_id=8),
    DisableROSpec(message_id=9, ro_spec_id=1),
    DisableROSpecResponse(message_id=9),
    GetROSpecs(message_id=10),
    GetROSpecsResponse(message_id=10, ro_specs=(RO_SPEC,)),
    AddAccessSpec(message_id=11, access_spec=ACCESS_SPEC),
    AddAccessSpecResponse(message_id=11),
    DeleteAccessSpec(message_id=12, access_spec_id=0),
    DeleteAccessSpecResponse(message_id=12),
    EnableAccessSpec(message_id=13, access_spec_id=7),
    EnableAccessSpecResponse(message_id=13),
    DisableAccessSpec(message_id=14, access_spec_id=7),
    DisableAccessSpecResponse(message_id=14),
    GetAccessSpecs(message_id=15),
    GetAccessSpecsResponse(message_id=15, access_specs=(ACCESS_SPEC,)),
    GetReport(message_id=16),
    ROAccessReport(
        message_id=17,
        tags=(TAG, TagReportData(epc=EPCData(epc=BitString(144, bytes(range(18)))), antenna_id=1)),
        rf_survey=(
            RFSurveyReportData(
                ro_spec_id=1,
                spec_index=2,
                entries=(
                    FrequencyRSSILevelEntry(
                        frequency=902750,
                        bandwidth=500,
                        average_rssi=-80,
                        peak_rssi=-70,
                        timestamp=Uptime(microseconds=9),
                    ),
                ),
            ),
        ),
    ),
    Keepalive(message_id=18),
    KeepaliveAck(message_id=18),
    ReaderEventNotification(
        message_id=19,
        data=ReaderEventNotificationData(timestamp=TIME, connection_attempt=ConnectionAttemptEvent()),
    ),
    ReaderEventNotification(
        message_id=20,
        data=ReaderEventNotificationData(
            timestamp=Uptime(microseconds=123),
            hopping=HoppingEvent(hop_table_id=1, next_channel_index=3),
            gpi=GPIEvent(gpi_port_number=1, gpi_event=True),
            ro_spec=ROSpecEvent(event_type=1, ro_spec_id=1),
            report_buffer_level_warning=ReportBufferLevelWarningEvent(report_buffer_percentage_full=90),
            report_buffer_overflow=ReportBufferOverflowErrorEvent(),
            reader_exception=ReaderExceptionEvent(
                message="antenna 3 disconnected", antenna_id=3, op_spec_id=1
            ),
            rf_survey=RFSurveyEvent(event_type=0, ro_spec_id=1, spec_index=2),
            ai_spec=AISpecEvent(
                ro_spec_id=1,
                spec_index=1,
                singulation_details=C1G2SingulationDetails(num_collision_slots=2, num_empty_slots=5),
            ),
            antenna=AntennaEvent(event_type=0, antenna_id=3),
            connection_close=ConnectionCloseEvent(),
        ),
    ),
    EnableEventsAndReports(message_id=21),
    ErrorMessage(
        message_id=22,
        status=LLRPStatus(status_code=StatusCode.M_UNSUPPORTED_MESSAGE, error_description="type 999"),
    ),
    CloseConnection(message_id=23),
    CloseConnectionResponse(message_id=23, status=SUCCESS),
    CustomMessage(message_id=24, vendor_id=IMPINJ, subtype=21, data=b"\x00\x00\x00\x00"),
]
