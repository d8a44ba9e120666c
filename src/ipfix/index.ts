/** IPFIX (RFC 7011) export of flow records: the encoder (pure) and its UDP transport. */
export { IpfixEncoder, cutUtf8, TEMPLATE_V4, TEMPLATE_V6, TEMPLATE_V4_PORTLESS, TEMPLATE_V6_PORTLESS, type IpfixOptions, type IpfixStats } from './encoder.js';
export { IpfixExporter, createIpfixExporter, parseIpfixUrl, IPFIX_PORT, type IpfixExporterOptions, type IpfixExporterStats } from './udp.js';
export { DOCUMENTATION_PEN, REVERSE_PEN, IE, TS_IE, FLOW_END_REASON } from './elements.js';
