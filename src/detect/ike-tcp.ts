/**
 * IKE over TCP (spec: ../shared/reference/parts/2-ipsec-l2tp-pptp.md §"IKE and ESP over TCP"; RFC 9329 §3–4, which
 * obsoletes RFC 8229): the fallback IPsec clients use where UDP 500/4500 is blocked, on TCP 4500 by default and
 * often on 443.
 *
 * Owns: the initiator's 6-byte stream prefix `IKETCP`, sent once at the start of its byte stream; the framing
 * after it (each message behind a 2-byte length that counts itself; an IKE message behind the 4-byte zero non-ESP
 * marker); the IKE header and payload chain inside a frame (the checks of ./ike.ts, with the frame's length in
 * place of the datagram's). Must never: decide on the port, on the prefix alone, or on a frame whose IKE length
 * disagrees with the frame's.
 *
 * Rules: `ike.tcp` (strong) — the prefix, then a frame whose IKE header passes with IKE length = frame length − 6;
 * `ike.tcp-message` — a frame anywhere in the flow (a capture that joined after the prefix) whose IKE payload chain
 * walks exactly to the frame's end (strong, as `ike.message` on UDP), or whose header alone passes while the
 * message continues past the segment (medium). ESP frames are left alone: a length, a constant SPI and a +1
 * sequence number is also OpenVPN's P_DATA_V2 over TCP (length, opcode and peer id, packet id), and the reference
 * gives ESP in TCP no rule. A TLS-wrapped stream (RFC 9329 §8) shows nothing of its own.
 *
 * A frame is looked for where a segment starts (or right after the prefix): an IKE message is written in one
 * send and, with its length field, starts a segment in practice; a frame elsewhere is missed, never invented.
 * Reads the newest packet in full and only byte 0–5 and the direction of earlier ones.
 */
import { hasAsciiAt } from './ascii.js';
import { chainText, flagsText, headerOk, IKE_HEADER_LEN, NON_ESP_MARKER_LEN, paddedV1Body, walkChain, X_NAMES } from './ike.js';
import { eq32, IPPROTO_TCP, u8, u16be, u32be, type Detector, type Evidence, type FlowView } from './types.js';

/** The initiator's stream prefix (RFC 9329 §4). */
const PREFIX = 'IKETCP';
export const IKETCP_PREFIX_LEN = PREFIX.length;
/** The frame's length field: 2 bytes, counting itself (RFC 9329 §3). */
const LEN_FIELD = 2;
/** Length field, non-ESP marker, IKE header: the shortest IKE frame. */
const MIN_IKE_FRAME = LEN_FIELD + NON_ESP_MARKER_LEN + IKE_HEADER_LEN;

/** The packet holding the initiator's first payload bytes (direction 0: the TCP client), or -1. */
function firstInitiatorPacket(f: FlowView, upTo: number): number {
  for (let j = 0; j <= upTo; j++) if (f.dir(j) === 0) return j;
  return -1;
}

/** An IKE frame at offset `o` of packet i: its IKE version byte (0x10/0x20) when the header checks pass, else 0. */
function frameAt(f: FlowView, i: number, o: number): number {
  const frame = u16be(f, i, o);
  if (frame < MIN_IKE_FRAME || !eq32(f, i, o + LEN_FIELD, 0)) return 0;
  return headerOk(f, i, o + LEN_FIELD + NON_ESP_MARKER_LEN, frame - LEN_FIELD - NON_ESP_MARKER_LEN);
}

function headerText(f: FlowView, i: number, o: number, ver: number): string {
  const h = o + LEN_FIELD + NON_ESP_MARKER_LEN;
  const x = u8(f, i, h + 18);
  return (
    `frame length ${u16be(f, i, o)} at offset ${o}, non-ESP marker 0, IKEv${ver === 0x10 ? 1 : 2} header: exchange ${X_NAMES[x] ?? x}(${x}), ` +
    `flags ${flagsText(ver, u8(f, i, h + 19))}, message id ${u32be(f, i, h + 20)}, length ${u32be(f, i, h + 24)} == frame − 6`
  );
}

export const ikeTcp: Detector = {
  id: 'ike-tcp',
  transports: [IPPROTO_TCP],
  carriers: [],
  maxPackets: 6,
  rules: {
    'ike.tcp':
      "RFC 9329 IKE over TCP: the initiator's stream opens with the prefix 'IKETCP', then a frame (2-byte length counting itself, 4-byte zero non-ESP marker) holding an IKE header (version 0x10/0x20, known exchange, reserved flags 0) whose length is the frame's minus 6",
    'ike.tcp-message':
      'a length-framed IKE message over TCP without the prefix in sight (capture joined later): the payload chain walks exactly to the frame end (strong), or the header alone passes and the message runs past the segment (medium)',
  },
  detect(f: FlowView): Evidence[] | null {
    const i = f.nPackets - 1;
    if (i < 0) return null;
    const p0 = firstInitiatorPacket(f, i);
    const prefixed = p0 >= 0 && hasAsciiAt(f, p0, 0, PREFIX);
    // The frame starts right after the prefix in the prefix's own segment, else where this segment starts.
    const o = i === p0 && prefixed ? IKETCP_PREFIX_LEN : 0;
    if (f.len(i) < o + MIN_IKE_FRAME) return null;
    const ver = frameAt(f, i, o);
    if (ver === 0) return null;
    const frame = u16be(f, i, o), h = o + LEN_FIELD + NON_ESP_MARKER_LEN;
    const frameEnd = o + frame;
    const encryptedV1 = ver === 0x10 && (u8(f, i, h + 19) & 0x01) !== 0;
    const n = encryptedV1 || frameEnd > f.len(i) ? -1 : walkChain(f, i, h, ver, frameEnd);
    const chain = n > 0 ? `, payload chain ${chainText(f, i, h, ver)} (${n} payloads) ends at the frame end` : '';
    if (prefixed) {
      return [
        {
          source: 'ike-tcp', protocol: 'ipsec', strength: 'strong', rule: 'ike.tcp', packet: i, offset: o,
          reason: `packet ${p0}: stream prefix 'IKETCP'; packet ${i}${f.dir(i) ? ' (reverse)' : ''}: ${headerText(f, i, o, ver)}${chain}`,
        },
      ];
    }
    // Without the prefix: a whole walk is as strong as ike.message on UDP; a header whose message runs past this
    // segment is what the spec's medium header rule is for. An IKEv1 encrypted body (not walkable) in a whole frame
    // whose length is a multiple of 8 is the same medium case.
    const cutShort = frameEnd > f.len(i);
    const v1Padded = encryptedV1 && !cutShort && paddedV1Body(frame - LEN_FIELD - NON_ESP_MARKER_LEN);
    if (n <= 0 && !cutShort && !v1Padded) return null;
    return [
      {
        source: 'ike-tcp', protocol: 'ipsec', strength: n > 0 ? 'strong' : 'medium', rule: 'ike.tcp-message', packet: i, offset: o,
        reason: `packet ${i}${f.dir(i) ? ' (reverse)' : ''}: ${headerText(f, i, o, ver)}${chain || (cutShort ? `; the message continues past this ${f.len(i)}-byte segment` : '; encrypted IKEv1 body, a multiple of 8')}`,
      },
    ];
  },
};
