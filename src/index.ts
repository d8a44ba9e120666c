/** Public API: re-exports only. */
export * from './errors.js';
export * from './detect/types.js';
export { ArrayFlowView, type ArrayPacket } from './detect/array-flow.js';
export * from './trace/types.js';
export { PcapWriter, type PcapWriterOptions } from './trace/pcap-writer.js';
export { buildFrame, buildIpPacket, type FrameSpec } from './trace/frame-builder.js';
