/**
 * Shapes of ordinary protocols that VPN data rules must not take for their own. A data rule that reads "a constant
 * word, then a counter rising by one" also reads relayed real-time media; the checks here name such a protocol by
 * its own documented structure, so a rule can leave the flow alone (test/classify/ordinary-lookalikes.test.ts).
 */
import { u16be, type FlowView } from './types.js';

/**
 * Packet j (UDP) is TURN ChannelData (RFC 8656 §12.4): a channel number 0x4000–0x7FFF, then the length of the
 * application data after the 4-byte header, which fills the datagram up to at most 3 bytes of padding. A relayed
 * call of constant-size frames (G.711: 172-byte RTP packets) repeats the first word, and RTP's first word (RFC 3550
 * §5.1: 0x80xx, then the sequence number) rises by one per packet: an ESP or OpenVPN P_DATA_V2 run's shape.
 */
export function isTurnChannelData(f: FlowView, j: number): boolean {
  const ch = u16be(f, j, 0);
  if (ch < 0x4000 || ch > 0x7fff) return false;
  const pad = f.len(j) - 4 - u16be(f, j, 2);
  return pad >= 0 && pad <= 3;
}
