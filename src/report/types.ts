/** Input types of the report builder: the records it reads and the run it describes. */
import type { Evidence } from '../detect/types.js';
import type { FlowRecord } from '../classify/record.js';

/**
 * One flow as `classify` emits it (FlowRecord), optionally tagged with the sensor that saw it (a fleet
 * stream). Any source that yields these plugs into the builder: a session's `flow` events, an NDJSON file of
 * records, a message stream.
 */
export interface ReportRecord extends Omit<FlowRecord, 'evidence'> {
  evidence: readonly Evidence[];
  /** Sensor id, for reports over many sensors; a per-sensor breakdown appears when any record carries one. */
  sensor?: string;
}

/** A list that was in force for the run, shown in the report header. */
export interface ReportList {
  /** What the list is for: `registered`, `vpn-endpoints`, `vpn-domains`. */
  role: string;
  /** File name or other name of the list, as the evidence reasons name it. */
  name: string;
  /** Number of entries, when known. */
  entries?: number;
}

/** What the report says about the run, beyond the records. Every string here is treated as untrusted. */
export interface ReportMeta {
  /** Page title. Default `tunnelscope report`. */
  title?: string;
  /** The capture, record file or stream the records came from (shown as given, escaped). */
  capture: string;
  /** Packets read by the run (reader statistics). Default: the sum of the records' packet counts. */
  packets?: number;
  /** Flows the run saw, when records were left out before the builder (e.g. a VPN-only stream). */
  flows?: number;
  /** Lists in force. The list snapshot versions come from the records' `listVersion`. */
  lists?: readonly ReportList[];
  /** Sensor ids expected in a fleet report; a sensor listed here with no records still gets a row. */
  sensors?: readonly string[];
  /** Packets the reader skipped, by reason (non-zero counters are listed in the header). */
  skipped?: Readonly<Record<string, number>>;
  /**
   * Packets counted as their tunnel's carrier flow because the tunnel inside could not be opened, by reason
   * (SessionStats.fallback; non-zero counters are listed in the header): their inner flows are not in the report.
   */
  tunnelFallback?: Readonly<Record<string, number>>;
  /** When the report was made (shown in the footer). Omit for a byte-reproducible file. */
  generatedAt?: Date | string;
  /** The tool that made the records, e.g. `tunnelscope 0.1.0`. */
  tool?: string;
}

/** Options of {@link ReportBuilder}. */
export interface ReportOptions {
  /**
   * Flows kept for the flow table and the time charts (default 1,000,000: a ~60 MB page). Flows beyond it still
   * count in the headline figures and in the protocol, registrant, sensor and time-to-verdict charts, and the
   * page says how many were left out of the table. Memory: ~90 bytes per kept flow plus its distinct strings.
   */
  maxFlows?: number;
  /** Upper bound on the number of bars in the time charts (default 72). */
  maxTimeBins?: number;
  /**
   * Embed the flow data gzip-compressed (base64) instead of as JSON text. `auto` (default) compresses when the
   * JSON (flow data and evidence text) exceeds 256 kB: a 100k-flow page shrinks ~3.6x. Decompressed in the page with the browser's
   * `DecompressionStream`.
   */
  compress?: boolean | 'auto';
}
