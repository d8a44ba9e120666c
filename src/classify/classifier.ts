/**
 * `createClassifier`: the library's main door. Holds the detector table and the current list snapshot;
 * classifies single flows, opens streaming sessions, and swaps lists atomically.
 */
import type { Detector, Evidence, FlowView } from '../detect/types.js';
import { ArrayFlowView, type ArrayPacket } from '../detect/array-flow.js';
import { DETECTORS } from '../detect/registry.js';
import { checkKnownOptions, checkOptions, describeValue, InvalidArgumentError, numberOption } from '../errors.js';
import { decide, DetectorTable, FlowDetection, labelIsVpn, type FlowAddresses } from './engine.js';
import { nextSnapshot, type ListSnapshot, type ListsInput } from './lists.js';
import type { Verdict } from './types.js';
import { ClassifierSession, type SessionOptions } from './session.js';
import { parseIp } from './addr.js';
import { DEFAULT_COMPANION_WINDOW_US, DEFAULT_SIDE_WINDOW_US } from './companions.js';
import type { BoundName } from './dns-bindings.js';
import { espPortMask } from './traits.js';
import { NATT_PORT } from '../detect/ike.js';
import { BUNDLED_VPN_DOMAINS, BUNDLED_VPN_DOMAINS_NAME } from '../lists/bundled-domains.js';
import { CertStreams } from '../detect/names/cert-stream.js';

/**
 * Classifier options. `vpnDomains` left out (or undefined) means the bundled VPN-provider list
 * (`data/vpn-domains.txt`, compiled into the package), as the CLI does; `vpnDomains: null` means no domain list
 * (the CLI's `--no-default-domains`).
 */
export interface ClassifierOptions extends ListsInput {
  /** Detectors to run (default: every built-in detector, see `DETECTORS`). */
  detectors?: readonly Detector[];
  /** Default flow-table options for sessions. */
  flow?: SessionOptions['flow'];
  /**
   * Companion rules (SSL-VPN DTLS / GlobalProtect ESP data channels): how long after its TLS control flow
   * started a data channel may start and still be tied to it, in capture seconds (default 10, reference part 3).
   * A data channel starting later is tied only while the TLS flow is still open.
   */
  companionWindowS?: number;
  /**
   * UDP ports where ESP-in-UDP next to a TLS flow, with no IKE between the hosts, is an SSL VPN's data channel
   * (Ivanti/Pulse keys ESP inside TLS; reference part 3: "port 4500 or operator-set"). Default [4500].
   */
  sslVpnEspPorts?: readonly number[];
  /**
   * SSL-VPN side connections: how long after a client's server:port was identified as an SSL-VPN gateway (strong
   * evidence: the CSTP tunnel request, a tied DTLS/ESP data channel…) another TLS connection from that client to it
   * is tied to that VPN, in capture seconds (default 300). 0 ties only connections alive at the identification.
   */
  sideConnectionWindowS?: number;
}

/** A flow given as plain data, for `classifyFlow` outside a capture. */
export interface FlowInput {
  transport: number;
  /** Initiator / responder IP (text). */
  src: string;
  dst: string;
  srcPort?: number;
  dstPort?: number;
  /** Payload-bearing packets in arrival order; dir 0 = from src. */
  packets: ArrayPacket[];
}

/**
 * A `FlowInput` comes from an embedder's code: a value that cannot be a flow is named here, rather than read as
 * garbage (a string as bytes, a port wrapped into another) or failing inside a detector.
 */
function checkFlowInput(flow: FlowInput): void {
  numberOption('classifyFlow: transport (an IP protocol number)', flow.transport, undefined, 0, 255, true);
  for (const [name, p] of [['srcPort', flow.srcPort], ['dstPort', flow.dstPort]] as const) {
    if (p !== undefined) numberOption(`classifyFlow: ${name}`, p, undefined, 0, 65535, true);
  }
  const packets: unknown = flow.packets;
  if (!Array.isArray(packets)) throw new InvalidArgumentError(`classifyFlow: packets must be an array, got ${describeValue(packets)}`);
  for (let i = 0; i < packets.length; i++) {
    const p: unknown = packets[i];
    if (p === null || typeof p !== 'object') throw new InvalidArgumentError(`classifyFlow: packet ${i} must be an object, got ${describeValue(p)}`);
    const { dir, bytes, len } = p as Partial<ArrayPacket>;
    if (dir !== 0 && dir !== 1) throw new InvalidArgumentError(`classifyFlow: packet ${i}: dir must be 0 or 1, got ${describeValue(dir)}`);
    if (!(bytes instanceof Uint8Array)) throw new InvalidArgumentError(`classifyFlow: packet ${i}: bytes must be a Uint8Array (or Buffer), got ${describeValue(bytes)}`);
    if (len !== undefined && (!Number.isSafeInteger(len) || len < bytes.length)) {
      throw new InvalidArgumentError(`classifyFlow: packet ${i}: len must be an integer at least the ${bytes.length} bytes given, got ${describeValue(len)}`);
    }
  }
}

/** A flow from the flow table (or any view that also carries addresses). */
export type ClassifiableFlow = FlowAddresses & { readonly view: FlowView };

export class Classifier {
  /** @internal */ readonly table: DetectorTable;
  private snapshot: ListSnapshot;
  private readonly flowDefaults: SessionOptions['flow'];
  /** Certificate streams for classifyFlow: one flow at a time, its stream given back before it returns. */
  private readonly certs = new CertStreams(1);
  /** @internal companion window in microseconds (sessions read it). */
  readonly companionWindowUs: number;
  /** @internal SSL-VPN side-connection window in microseconds (sessions read it). */
  readonly sideWindowUs: number;
  /** @internal SSL-VPN ESP ports (validated) and the ESP port mask sessions read. */
  readonly sslVpnEspPorts: readonly number[];
  /** @internal */
  readonly espPorts: Uint8Array;

  constructor(options: ClassifierOptions = {}) {
    // Checked here, before withDefaultDomains spreads it (an array would become an object).
    checkOptions('createClassifier', options);
    this.table = new DetectorTable(options.detectors ?? DETECTORS);
    this.snapshot = nextSnapshot(null, withDefaultDomains(options));
    this.flowDefaults = options.flow;
    const w = options.companionWindowS ?? DEFAULT_COMPANION_WINDOW_US / 1e6;
    if (!(typeof w === 'number' && Number.isFinite(w) && w >= 0)) throw new InvalidArgumentError(`companionWindowS must be a finite number >= 0, got ${String(w)}`);
    this.companionWindowUs = Math.round(w * 1e6);
    const sw = options.sideConnectionWindowS ?? DEFAULT_SIDE_WINDOW_US / 1e6;
    if (!(typeof sw === 'number' && Number.isFinite(sw) && sw >= 0)) throw new InvalidArgumentError(`sideConnectionWindowS must be a finite number >= 0, got ${String(sw)}`);
    this.sideWindowUs = Math.round(sw * 1e6);
    const ports = options.sslVpnEspPorts ?? [NATT_PORT];
    for (const p of ports) {
      if (!Number.isInteger(p) || p < 1 || p > 65535) throw new InvalidArgumentError(`sslVpnEspPorts: ${String(p)} is not a port (1-65535)`);
    }
    this.sslVpnEspPorts = Object.freeze([...ports]);
    this.espPorts = espPortMask(ports);
  }

  /** The list snapshot in force (immutable). */
  get lists(): ListSnapshot {
    return this.snapshot;
  }
  /** Version of the list snapshot in force; every verdict names the version it used. */
  get listVersion(): number {
    return this.snapshot.version;
  }

  /**
   * Swap lists atomically: the new snapshot is built and validated aside, then one reference is replaced.
   * Lists not named keep their current content. On error nothing changes.
   * @throws {ListParseError | CidrError | InvalidArgumentError}
   * @returns the new list version
   */
  update(input: ListsInput): number {
    this.snapshot = nextSnapshot(this.snapshot, input);
    return this.snapshot.version;
  }

  /**
   * Classify one whole flow. Detectors see the packets one at a time, as they would arrive, so the verdict and
   * its `decidedAtPacket` match what a streaming session would produce.
   */
  classifyFlow(flow: ClassifiableFlow | FlowInput): Verdict {
    const lists = this.snapshot;
    if (flow === null || typeof flow !== 'object') throw new InvalidArgumentError(`classifyFlow: the flow must be an object, got ${describeValue(flow)}`);
    if ('view' in flow) return this.classifyView(flow, flow.view, lists);
    checkFlowInput(flow);
    const src = parseIp(flow.src);
    const dst = parseIp(flow.dst);
    if (src.ipVersion !== dst.ipVersion) throw new InvalidArgumentError(`address families differ: ${flow.src} ${flow.dst}`);
    const bytes = new Uint8Array(32);
    bytes.set(src.bytes, 0);
    bytes.set(dst.bytes, 16);
    const addrs: FlowAddresses = {
      ipVersion: src.ipVersion,
      src4: src.v4,
      dst4: dst.v4,
      addrBytes: () => bytes,
      src6Off: () => 0,
      dst6Off: () => 16,
    };
    const view = new ArrayFlowView(
      { transport: flow.transport, srcPort: flow.srcPort ?? 0, dstPort: flow.dstPort ?? 0, ipVersion: src.ipVersion },
      flow.packets,
    );
    return this.classifyView(addrs, view, lists);
  }

  private classifyView(addrs: FlowAddresses, view: FlowView, lists: ListSnapshot): Verdict {
    const det = new FlowDetection();
    const total = view.nPackets;
    const stepper = view instanceof ArrayFlowView ? view : null;
    let at = 0;
    // As in a session: the label is final at the first packet where the evidence so far makes the flow a VPN
    // (labelIsVpn); inspection goes on for protocol and evidence, and decidedAtPacket names that packet.
    let labelAt = 0;
    for (let n = 1; n <= total; n++) {
      stepper?.truncate(n);
      at = n;
      const final = det.inspect(stepper ?? view, this.table, 255, this.certs);
      if (!final && labelAt === 0 && (det.fresh || n === 1) && labelIsVpn(det, addrs, lists, null)) labelAt = n;
      det.fresh = false;
      if (final) break;
      // A non-array view exposes only its current packets; inspect it once.
      if (!stepper) break;
    }
    stepper?.truncate(total);
    let cut = 0;
    for (let i = 0; i < at; i++) if (view.avail(i) < view.len(i)) cut++;
    const v = decide(det, addrs, lists, labelAt || at, null, null, cut);
    det.reset(); // gives back a certificate stream still joining (the flow's packets ran out first)
    return v;
  }

  /** Open a streaming session (packets in, verdict and flow events out). */
  session(options: SessionOptions = {}): ClassifierSession {
    checkOptions('session', options);
    checkKnownOptions('session', options, ['flow', 'decoder', 'records', 'maxDnsBindings', 'maxCertStreams']);
    const flow = options.flow ?? this.flowDefaults;
    return new ClassifierSession(this, flow === undefined ? options : { ...options, flow });
  }

  /** @internal used by sessions: decide with the snapshot in force right now. */
  decideNow(det: FlowDetection | null, addrs: FlowAddresses, at: number, extra: Evidence | null = null, bound: BoundName | null = null, payloadCut = 0, captureCapped = false): Verdict {
    return decide(det, addrs, this.snapshot, at, extra, bound, payloadCut, captureCapped);
  }
}

/** The options with the bundled domain list filled in when the caller named none (the CLI's default too). */
function withDefaultDomains(options: ClassifierOptions): ListsInput {
  if (options.vpnDomains !== undefined) return options;
  return {
    ...options,
    vpnDomains: BUNDLED_VPN_DOMAINS,
    names: { ...options.names, vpnDomains: options.names?.vpnDomains ?? BUNDLED_VPN_DOMAINS_NAME },
  };
}

/**
 * Create a classifier.
 * @example
 * const c = createClassifier({ registered: [['203.0.113.0/24', 'acme']] });
 * const v = c.classifyFlow({ transport: 17, src: '203.0.113.5', dst: '198.51.100.1', srcPort: 40000,
 *   dstPort: 51820, packets: [{ dir: 0, bytes: initiation148 }, { dir: 1, bytes: response92 }] });
 * v.label; // 'registered_vpn'
 */
/** The options {@link createClassifier} takes (the lists and the classifier's settings). */
export const CLASSIFIER_OPTIONS = ['registered', 'vpnEndpoints', 'vpnDomains', 'names', 'version', 'detectors', 'flow', 'companionWindowS', 'sslVpnEspPorts', 'sideConnectionWindowS'] as const;

export function createClassifier(options: ClassifierOptions = {}): Classifier {
  checkOptions('createClassifier', options);
  checkKnownOptions('createClassifier', options, CLASSIFIER_OPTIONS);
  return new Classifier(options);
}

export type { Evidence };
