/**
 * IEEE 802.11 data frames (802.11-2020 §9.2-9.3) carrying LLC/SNAP-encapsulated IP: used for CAPWAP's native
 * frames and the 802.11 / radiotap link types. Only the MAC header length rules needed to reach the body:
 * 3 or 4 addresses, QoS control, HT control. Protected (encrypted) bodies are not readable.
 * Never allocates; every read is bounds-checked.
 */
import { u16be } from './bytes.js';
import { etherTypeToIp } from './decode-ether.js';
import type { PacketView } from './types.js';

/** Not an IP-carrying frame (management, control, null data): nothing to decode, not an error. */
export const WLAN_NO_IP = -1;
/** A data frame whose body cannot be reached (cut, encrypted, not LLC/SNAP, non-IP EtherType). */
export const WLAN_BAD = -2;

const WLAN_HEADER = 24;
const WLAN_4ADDR_EXTRA = 6;
const WLAN_QOS_EXTRA = 2;
const WLAN_HTC_EXTRA = 4;
const LLC_SNAP_LEN = 8;

/** IEEE 802.11 data frame with LLC/SNAP, frame-control bytes given: IP offset, WLAN_NO_IP or WLAN_BAD. */
export function wlanDataToIp(out: PacketView, b: Uint8Array, q: number, end: number, fc0: number, fc1: number, iv: boolean): number {
  if (end - q < WLAN_HEADER) return WLAN_BAD;
  if ((fc0 & 0x03) !== 0) return WLAN_BAD; // protocol version 0 only
  // Management and control frames, and the null-data subtypes, carry no IP packet: not a failure.
  if (((fc0 >> 2) & 3) !== 2) return WLAN_NO_IP;
  const subtype = fc0 >> 4;
  if (subtype & 0x04) return WLAN_NO_IP;
  if (fc1 & 0x40) return WLAN_BAD; // protected: encrypted body
  let o = q + WLAN_HEADER;
  if ((fc1 & 0x03) === 0x03) o += WLAN_4ADDR_EXTRA;
  if (subtype & 0x08) {
    o += WLAN_QOS_EXTRA;
    if (fc1 & 0x80) o += WLAN_HTC_EXTRA;
  }
  if (end - o < LLC_SNAP_LEN) return WLAN_BAD;
  if (b[o] !== 0xaa || b[o + 1] !== 0xaa || b[o + 2] !== 0x03 || b[o + 3] !== 0 || b[o + 4] !== 0 || b[o + 5] !== 0) {
    return WLAN_BAD;
  }
  const r = etherTypeToIp(out, b, o + LLC_SNAP_LEN, end, u16be(b, o + 6), iv);
  return r >= 0 ? r : WLAN_BAD;
}
