/** Public API: re-exports only. Deep imports are not part of the API. */

// Errors
export {
  TunnelscopeError,
  InvalidArgumentError,
  CidrError,
  ListParseError,
  ListReadError,
  TraceFormatError,
  PoolError,
  type PoolErrorReason,
  SessionError,
  type SessionErrorReason,
  type ErrorCode,
} from './errors.js';

// Printing untrusted text (paths, list values, names from packets)
export { escapeText, escapeJson } from './text.js';

// Addresses and CIDR tables
export { parseIPv4, parseIPv6 } from './ip/parse.js';
export { formatIPv4, formatIPv6, formatIPv6Words } from './ip/format.js';
export { CidrMap, CidrMapBuilder, type CidrMapOptions, type CidrMergePolicy, type CidrMatch } from './trie/cidr-map.js';

// Lists
export { parseCidrList, loadCidrList, type CidrList, type CidrListOptions } from './lists/cidr-list.js';
export { mergeCidrs, excludeCidrs, overlapCidrs, containsCidrs } from './lists/cidr-ops.js';
export { defaultVpnDomainsPath } from './lists/default-domains.js';
export { BUNDLED_VPN_DOMAINS, BUNDLED_VPN_DOMAINS_NAME } from './lists/bundled-domains.js';
export { MAX_LIST_BYTES, MAX_LIST_ENTRIES, MAX_LINE_CHARS, MAX_VALUE_CHARS } from './lists/read-text.js';
export { DomainSet, parseDomainList, loadDomainList, normaliseDomain, type DomainList, type DomainListOptions } from './lists/domains.js';

// Traces
export { CaptureReader, readCaptureFile, readCaptureFileSync, readCaptureFileUntil, readCaptureStream, readCaptureBuffer, isCaptureTime, type ReaderStats, type ReadUntilOptions } from './trace/reader.js';
export { Decoder, newPacketView, type DecodeStats, type DecoderOptions } from './trace/decode.js';
export { FlowTable, type FlowTableOptions, type FlowListener, type FlowTableStats } from './trace/flow-table.js';
export { Reassembler, type ReassemblyOptions, type ReassemblyStats, type DatagramSink } from './trace/reassembly.js';
export { transportName, formatEndpoint, isoMicros } from './trace/flow-format.js';
export {
  type RawPacket,
  type PacketView,
  type FlowHandle,
  type EndReason,
  type EncapName,
  ENCAP_NAMES,
  LINKTYPE_ETHERNET,
  LINKTYPE_RAW,
  LINKTYPE_NULL,
  LINKTYPE_LOOP,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_LINUX_SLL2,
  LINKTYPE_NFLOG,
  LINKTYPE_PFLOG,
  LINKTYPE_IPV4,
  LINKTYPE_IPV6,
} from './trace/types.js';
export { PcapWriter, type PcapWriterOptions } from './trace/pcap-writer.js';
export { buildFrame, buildIpPacket, type FrameSpec } from './trace/frame-builder.js';

// Detection
export {
  type Detector,
  type Evidence,
  type FlowView,
  type Strength,
  IPPROTO_TCP,
  IPPROTO_UDP,
  IPPROTO_ESP,
  IPPROTO_AH,
  IPPROTO_GRE,
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_SCTP,
} from './detect/types.js';
export { ArrayFlowView, type ArrayPacket } from './detect/array-flow.js';
export { DETECTORS } from './detect/registry.js';
export { flowNames, nameEvidence, listedName, type FlowNames } from './detect/names/index.js';
export { combine, type Combined } from './classify/combine.js';

// Classification
export { createClassifier, Classifier, type ClassifierOptions, type FlowInput, type ClassifiableFlow } from './classify/classifier.js';
export { ClassifierSession, createClassifyStream, type SessionOptions, type SessionStats, type VerdictEvent } from './classify/session.js';
export type { ListSnapshot, ListsInput, CidrListInput, DomainListInput } from './classify/lists.js';
export type { FlowRecord } from './classify/record.js';
export type { Verdict, Label } from './classify/types.js';

// Record formats (Zeek conn.log TSV/JSON, Suricata EVE, CSV)
export {
  OUTPUT_FORMATS,
  zeekFormat,
  zeekJsonFormat,
  eveFormat,
  csvFormat,
  eveFlowEvent,
  communityId,
  type RecordFormat,
  type FormatContext,
} from './output/index.js';

// IPFIX export (RFC 7011 over UDP)
export { IpfixEncoder, IpfixExporter, createIpfixExporter, parseIpfixUrl, type IpfixOptions, type IpfixExporterOptions, type IpfixExporterStats } from './ipfix/index.js';

// Scale-out
export * from './pool/index.js';
export * from './batch/index.js';

// Synthetic traces
export { synthesize, type SynthOptions, type SynthResult, type TruthRecord } from './synth/generate.js';
