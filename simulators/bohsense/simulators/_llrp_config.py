"""The LLRP reader's capabilities and configuration: GET_READER_CAPABILITIES,
GET_READER_CONFIG and SET_READER_CONFIG (validated whole before anything changes), and
the checks of antenna configurations and report specs that ADD_ROSPEC shares."""

from __future__ import annotations

from bohsense.llrp import (
    AccessReportSpec,
    AntennaConfiguration,
    AntennaProperties,
    C1G2InventoryCommand,
    C1G2LLRPCapabilities,
    C1G2RFControl,
    C1G2SingulationControl,
    C1G2UHFRFModeTable,
    C1G2UHFRFModeTableEntry,
    ConfigRequest,
    EventNotificationState,
    EventsAndReports,
    FieldError,
    FrequencyHopTable,
    FrequencyInformation,
    GeneralDeviceCapabilities,
    GetReaderCapabilities,
    GetReaderCapabilitiesResponse,
    GetReaderConfig,
    GetReaderConfigResponse,
    GPIOCapabilities,
    GPIPortCurrentState,
    GPOWriteData,
    Identification,
    KeepaliveSpec,
    LLRPCapabilities,
    LLRPConfigurationStateValue,
    Message,
    ParameterError,
    PerAntennaAirProtocol,
    ReaderEventNotificationSpec,
    ReceiveSensitivityTableEntry,
    RegulatoryCapabilities,
    RFReceiver,
    RFTransmitter,
    ROReportSpec,
    SetReaderConfig,
    SetReaderConfigResponse,
    StatusCode,
    TransmitPowerLevelTableEntry,
    UHFBandCapabilities,
)
from bohsense.simulators._llrp_base import (
    GPIO_PORTS,
    IMPINJ_VENDOR_ID,
    POWER_TABLE,
    ReaderBase,
    Refusal,
)
from bohsense.simulators._llrp_impinj import (
    ImpinjSelectorError,
    is_impinj_tag_selector,
    parse_impinj_tag_selector,
)

__all__ = ["ConfigHandlers"]


class ConfigHandlers(ReaderBase):
    """Capabilities and configuration requests."""

    # capabilities and configuration

    def _on_get_capabilities(self, m: GetReaderCapabilities) -> Message:
        what = m.requested_data
        if what > 4:
            raise Refusal(StatusCode.M_FIELD_ERROR, f"RequestedData {what} is not 0-4", "bad-field",
                          field_error=FieldError(field_num=0, error_code=StatusCode.A_OUT_OF_RANGE))  # fmt: skip
        n = len(self.antenna_ids)
        impinj = self.behaviour.impinj_extensions
        general = GeneralDeviceCapabilities(
            max_number_of_antennas_supported=n,
            can_set_antenna_properties=False,
            has_utc_clock_capability=True,
            device_manufacturer_name=IMPINJ_VENDOR_ID if impinj else 0,
            model_name=2001002 if impinj else 1,
            reader_firmware_version="5.14.0.240" if impinj else "bohsense-sim 1.0",
            receive_sensitivities=(ReceiveSensitivityTableEntry(index=1, receive_sensitivity=0),),
            gpio_capabilities=GPIOCapabilities(num_gpis=GPIO_PORTS, num_gpos=GPIO_PORTS),
            air_protocols=tuple(
                PerAntennaAirProtocol(antenna_id=a, protocol_ids=b"\x01") for a in self.antenna_ids
            ),
        )
        llrp = LLRPCapabilities(
            can_do_rf_survey=False,
            can_report_buffer_fill_warning=False,
            supports_client_request_op_spec=False,
            can_do_tag_inventory_state_aware_singulation=False,
            supports_event_and_report_holding=True,
            max_num_priority_levels_supported=1,
            client_request_op_spec_timeout=0,
            max_num_ro_specs=8,
            max_num_specs_per_ro_spec=8,
            max_num_inventory_parameter_specs_per_ai_spec=1,
            max_num_access_specs=0,
            max_num_op_specs_per_access_spec=0,
        )
        modes = C1G2UHFRFModeTable(entries=(
            C1G2UHFRFModeTableEntry(mode_identifier=1000, dr_value=True, epc_hag_tc_conformance=False, m_value=0,
                                    forward_link_modulation=2, spectral_mask_indicator=3, bdr_value=40000,
                                    pie_value=1500, min_tari_value=6250, max_tari_value=6250, step_tari_value=0),
            C1G2UHFRFModeTableEntry(mode_identifier=2, dr_value=True, epc_hag_tc_conformance=False, m_value=2,
                                    forward_link_modulation=2, spectral_mask_indicator=3, bdr_value=274000,
                                    pie_value=2000, min_tari_value=20000, max_tari_value=20000, step_tari_value=0),
            C1G2UHFRFModeTableEntry(mode_identifier=0, dr_value=True, epc_hag_tc_conformance=False, m_value=0,
                                    forward_link_modulation=2, spectral_mask_indicator=1, bdr_value=640000,
                                    pie_value=1500, min_tari_value=6250, max_tari_value=6250, step_tari_value=0),
        ))  # fmt: skip
        regulatory = RegulatoryCapabilities(
            country_code=840,
            communications_standard=1,  # US FCC part 15
            uhf_band_capabilities=UHFBandCapabilities(
                transmit_power_levels=tuple(
                    TransmitPowerLevelTableEntry(index=i, transmit_power=p) for i, p in POWER_TABLE
                ),
                frequency_information=FrequencyInformation(
                    hopping=True,
                    hop_tables=(
                        FrequencyHopTable(
                            hop_table_id=1, frequencies=tuple(902750 + 500 * i for i in range(50))
                        ),
                    ),
                ),
                rf_mode_tables=(modes,),
            ),
        )
        c1g2 = C1G2LLRPCapabilities(
            can_support_block_erase=False, can_support_block_write=False, max_num_select_filters_per_query=2
        )
        return GetReaderCapabilitiesResponse(
            message_id=m.message_id,
            general_device_capabilities=general if what in (0, 1) else None,
            llrp_capabilities=llrp if what in (0, 2) else None,
            regulatory_capabilities=regulatory if what in (0, 3) else None,
            c1g2_llrp_capabilities=c1g2 if what in (0, 4) else None,
        )

    def _antenna_configuration(self, antenna_id: int) -> AntennaConfiguration:
        return AntennaConfiguration(
            antenna_id=antenna_id,
            rf_receiver=RFReceiver(receiver_sensitivity=self.sensitivity[antenna_id]),
            rf_transmitter=RFTransmitter(
                hop_table_id=1, channel_index=1, transmit_power=self.tx_power[antenna_id]
            ),
            inventory_commands=(
                C1G2InventoryCommand(
                    tag_inventory_state_aware=False,
                    rf_control=C1G2RFControl(mode_index=1000, tari=0),
                    singulation_control=C1G2SingulationControl(
                        session=1, tag_population=32, tag_transit_time=0
                    ),
                ),
            ),
        )

    def _on_get_config(self, m: GetReaderConfig) -> Message:
        what = m.requested_data
        if what > 11:
            raise Refusal(StatusCode.M_FIELD_ERROR, f"RequestedData {what} is not 0-11", "bad-field",
                          field_error=FieldError(field_num=1, error_code=StatusCode.A_OUT_OF_RANGE))  # fmt: skip
        if m.antenna_id and m.antenna_id not in self.antenna_ids:
            raise Refusal(StatusCode.M_FIELD_ERROR, f"no antenna {m.antenna_id}", "bad-antenna",
                          field_error=FieldError(field_num=0, error_code=StatusCode.A_OUT_OF_RANGE))  # fmt: skip
        for num, port in ((2, m.gpi_port_num), (3, m.gpo_port_num)):
            if port > GPIO_PORTS:
                raise Refusal(StatusCode.M_FIELD_ERROR, f"no {'GPI' if num == 2 else 'GPO'} port {port}", "bad-gpio",
                              field_error=FieldError(field_num=num, error_code=StatusCode.A_OUT_OF_RANGE))  # fmt: skip
        ants = (m.antenna_id,) if m.antenna_id else self.antenna_ids
        gpis = (m.gpi_port_num,) if m.gpi_port_num else range(1, GPIO_PORTS + 1)
        gpos = (m.gpo_port_num,) if m.gpo_port_num else range(1, GPIO_PORTS + 1)

        def want(part: ConfigRequest) -> bool:
            return what in (ConfigRequest.ALL, part)

        return GetReaderConfigResponse(
            message_id=m.message_id,
            identification=Identification(id_type=0, reader_id=self._mac) if want(ConfigRequest.IDENTIFICATION) else None,
            antenna_properties=tuple(
                AntennaProperties(antenna_connected=True, antenna_id=a, antenna_gain=0) for a in ants
            ) if want(ConfigRequest.ANTENNA_PROPERTIES) else (),
            antenna_configurations=tuple(self._antenna_configuration(a) for a in ants)
            if want(ConfigRequest.ANTENNA_CONFIGURATION) else (),
            reader_event_notification_spec=ReaderEventNotificationSpec(states=tuple(
                EventNotificationState(event_type=e, notification_state=e in self.events_on) for e in range(9)
            )) if want(ConfigRequest.READER_EVENT_NOTIFICATION_SPEC) else None,
            ro_report_spec=self.default_report if want(ConfigRequest.RO_REPORT_SPEC) else None,
            access_report_spec=AccessReportSpec(access_report_trigger=self.access_report_trigger)
            if want(ConfigRequest.ACCESS_REPORT_SPEC) else None,
            llrp_configuration_state=LLRPConfigurationStateValue(value=self.config_state)
            if want(ConfigRequest.LLRP_CONFIGURATION_STATE_VALUE) else None,
            keepalive_spec=KeepaliveSpec(trigger_type=1 if self.keepalive_ms else 0,
                                         periodic_trigger_value=self.keepalive_ms)
            if want(ConfigRequest.KEEPALIVE_SPEC) else None,
            gpi_port_current_states=tuple(
                GPIPortCurrentState(gpi_port_num=p, config=self.gpi_enabled[p], state=0) for p in gpis
            ) if want(ConfigRequest.GPI_PORT_CURRENT_STATE) else (),
            gpo_write_data=tuple(GPOWriteData(gpo_port_number=p, gpo_data=self.gpo[p]) for p in gpos)
            if want(ConfigRequest.GPO_WRITE_DATA) else (),
            events_and_reports=EventsAndReports(hold_events_and_reports_upon_reconnect=self.hold_reports)
            if want(ConfigRequest.EVENTS_AND_REPORTS) else None,
        )  # fmt: skip

    def _on_set_config(self, m: SetReaderConfig) -> Message:
        # validate everything before changing anything: a refused SET changes nothing
        for conf in m.antenna_configurations:
            self._check_antenna_configuration(conf)
        if m.antenna_properties:
            raise Refusal(StatusCode.M_PARAMETER_ERROR, "antenna properties cannot be set on this reader",
                          "unsupported-parameter", parameter_error=ParameterError(
                              parameter_type=AntennaProperties.TYPE, error_code=StatusCode.P_UNSUPPORTED_PARAMETER))  # fmt: skip
        for port, ptype in [(g.gpo_port_number, GPOWriteData.TYPE) for g in m.gpo_write_data] + [
            (g.gpi_port_num, GPIPortCurrentState.TYPE) for g in m.gpi_port_current_states
        ]:
            if not 1 <= port <= GPIO_PORTS:
                raise Refusal(StatusCode.M_PARAMETER_ERROR, f"no GPIO port {port} (1-{GPIO_PORTS})", "bad-gpio",
                              parameter_error=ParameterError(parameter_type=ptype, error_code=StatusCode.P_FIELD_ERROR,
                                  field_error=FieldError(field_num=0, error_code=StatusCode.A_OUT_OF_RANGE)))  # fmt: skip
        if m.keepalive_spec is not None and m.keepalive_spec.trigger_type not in (0, 1):
            raise Refusal(StatusCode.M_PARAMETER_ERROR, "KeepaliveTriggerType must be 0 or 1", "bad-field",
                          parameter_error=ParameterError(parameter_type=KeepaliveSpec.TYPE,
                                                         error_code=StatusCode.P_FIELD_ERROR))  # fmt: skip
        if m.ro_report_spec is not None:
            self._check_report_spec(m.ro_report_spec)
        if m.access_report_spec is not None and m.access_report_spec.access_report_trigger not in (0, 1):
            raise Refusal(StatusCode.M_PARAMETER_ERROR, "AccessReportTrigger must be 0 or 1", "bad-field")
        if m.reset_to_factory_default:  # configuration and ROSpecs back to what the reader boots with
            self._factory_reset()
        if m.reader_event_notification_spec is not None:
            for s in m.reader_event_notification_spec.states:
                (self.events_on.add if s.notification_state else self.events_on.discard)(s.event_type)
        for conf in m.antenna_configurations:
            for a in (conf.antenna_id,) if conf.antenna_id else self.antenna_ids:
                if conf.rf_transmitter is not None:
                    self.tx_power[a] = conf.rf_transmitter.transmit_power
                if conf.rf_receiver is not None:
                    self.sensitivity[a] = conf.rf_receiver.receiver_sensitivity
        if m.ro_report_spec is not None:
            self.default_report = m.ro_report_spec
        if m.keepalive_spec is not None:
            self.keepalive_ms = (
                m.keepalive_spec.periodic_trigger_value if m.keepalive_spec.trigger_type else 0
            )
            self._next_keepalive = self.elapsed() + self.keepalive_ms / 1000 if self.keepalive_ms else None
        for gpo in m.gpo_write_data:
            self.gpo[gpo.gpo_port_number] = gpo.gpo_data
        for gpi in m.gpi_port_current_states:
            self.gpi_enabled[gpi.gpi_port_num] = gpi.config
        if m.access_report_spec is not None:
            self.access_report_trigger = m.access_report_spec.access_report_trigger
        if m.events_and_reports is not None:
            self.hold_reports = m.events_and_reports.hold_events_and_reports_upon_reconnect
        self.config_state += 1
        return SetReaderConfigResponse(message_id=m.message_id)

    def _check_antenna_configuration(self, conf: AntennaConfiguration) -> None:
        if conf.antenna_id and conf.antenna_id not in self.antenna_ids:
            raise Refusal(StatusCode.M_PARAMETER_ERROR, f"no antenna {conf.antenna_id}", "bad-antenna",
                          parameter_error=ParameterError(
                              parameter_type=AntennaConfiguration.TYPE, error_code=StatusCode.P_FIELD_ERROR,
                              field_error=FieldError(field_num=0, error_code=StatusCode.A_OUT_OF_RANGE)))  # fmt: skip
        if conf.rf_transmitter is not None:
            index = conf.rf_transmitter.transmit_power
            if not 1 <= index <= len(POWER_TABLE):
                raise Refusal(StatusCode.M_PARAMETER_ERROR,
                              f"transmit power index {index} is not in the table (1-{len(POWER_TABLE)})",
                              "bad-transmit-power", parameter_error=ParameterError(
                                  parameter_type=RFTransmitter.TYPE, error_code=StatusCode.P_FIELD_ERROR,
                                  field_error=FieldError(field_num=2, error_code=StatusCode.A_OUT_OF_RANGE)))  # fmt: skip
            if conf.rf_transmitter.hop_table_id != 1:
                raise Refusal(StatusCode.M_PARAMETER_ERROR, f"no hop table {conf.rf_transmitter.hop_table_id}",
                              "bad-hop-table", parameter_error=ParameterError(
                                  parameter_type=RFTransmitter.TYPE, error_code=StatusCode.P_FIELD_ERROR,
                                  field_error=FieldError(field_num=0, error_code=StatusCode.A_OUT_OF_RANGE)))  # fmt: skip
        if conf.rf_receiver is not None and conf.rf_receiver.receiver_sensitivity != 1:
            raise Refusal(StatusCode.M_PARAMETER_ERROR, "receiver sensitivity index must be 1", "bad-field")
        for cmd in conf.inventory_commands:
            bad = self._unwanted(cmd.extensions)
            if bad is not None:
                raise Refusal(StatusCode.M_UNSUPPORTED_PARAMETER, bad, "unsupported-extension")
            if cmd.filters:
                raise Refusal(StatusCode.M_PARAMETER_ERROR, "C1G2 filters are not supported by this reader",
                              "unsupported-filter", parameter_error=ParameterError(
                                  parameter_type=331, error_code=StatusCode.P_UNSUPPORTED_PARAMETER))  # fmt: skip
        bad = self._unwanted(conf.extensions)
        if bad is not None:
            raise Refusal(StatusCode.M_UNSUPPORTED_PARAMETER, bad, "unsupported-extension")

    def _check_report_spec(self, spec: ROReportSpec) -> None:
        if spec.trigger not in (0, 1, 2):
            raise Refusal(StatusCode.M_PARAMETER_ERROR, f"ROReportTrigger {spec.trigger} is not 0-2", "bad-field",
                          parameter_error=ParameterError(parameter_type=ROReportSpec.TYPE,
                                                         error_code=StatusCode.P_FIELD_ERROR))  # fmt: skip
        bad = self._unwanted(spec.extensions) or self._unwanted(spec.content_selector.extensions)
        if bad is not None:
            raise Refusal(StatusCode.M_UNSUPPORTED_PARAMETER, bad, "unsupported-extension")
        for ext in spec.extensions:
            if is_impinj_tag_selector(ext):
                try:
                    parse_impinj_tag_selector(ext)
                except ImpinjSelectorError as exc:
                    raise Refusal(StatusCode.M_PARAMETER_ERROR, str(exc), "bad-impinj-selector") from exc

    # ROSpecs
