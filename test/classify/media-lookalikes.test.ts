/**
 * Ordinary real-time media whose headers carry a constant word and a +1 counter, the shape of several VPN data
 * rules, through the whole classifier: it must stay ordinary. TURN ChannelData (RFC 8656 §12.4: 2-byte channel
 * number 0x4000–0x7FFF, 2-byte length of the application data) carrying RTP (RFC 3550 §5.1: V=2, payload type,
 * 16-bit sequence +1 per packet, timestamp, SSRC) of a constant-bitrate codec (G.711: 160-byte frames every 20 ms).
 * A channel number 0x48xx–0x4Fxx makes byte 0 an OpenVPN P_DATA_V2 opcode, bytes 1–3 (channel low byte + constant
 * length) a constant "peer id", and bytes 4–7 (RTP's first word) rise by 1 with the sequence number.
 */
import { describe, expect, it } from 'vitest';
import { classify, CLIENT, SERVER, type Pkt } from './flow-builders.js';

function rtp(seq: number, ts: number, ssrc: number, pt: number, payload: number): Uint8Array {
  const b = new Uint8Array(12 + payload);
  b[0] = 0x80; b[1] = pt; b[2] = (seq >>> 8) & 255; b[3] = seq & 255;
  b[4] = ts >>> 24; b[5] = (ts >>> 16) & 255; b[6] = (ts >>> 8) & 255; b[7] = ts & 255;
  b[8] = ssrc >>> 24; b[9] = (ssrc >>> 16) & 255; b[10] = (ssrc >>> 8) & 255; b[11] = ssrc & 255;
  for (let i = 12; i < b.length; i++) b[i] = (i * 29 + seq * 7) & 255; // µ-law samples
  return b;
}
function channelData(channel: number, data: Uint8Array): Uint8Array {
  const b = new Uint8Array(4 + data.length);
  b[0] = channel >>> 8; b[1] = channel & 255; b[2] = data.length >>> 8; b[3] = data.length & 255;
  b.set(data, 4);
  return b;
}

/** A relayed call seen mid-stream: `n` packets each way, 20 ms apart, both through the TURN server's port 3478. */
function turnCall(channel: number, n: number, pt = 0, payload = 160): Pkt[] {
  const c = { src: CLIENT, dst: SERVER, proto: 17, srcPort: 50_002, dstPort: 3478 };
  const s = { src: SERVER, dst: CLIENT, proto: 17, srcPort: 3478, dstPort: 50_002 };
  const out: Pkt[] = [];
  for (let k = 0; k < n; k++) {
    out.push({ ...c, t: 1 + k * 0.02, payload: channelData(channel, rtp(0x1200 + k, 0x10000 + 160 * k, 0x11223344, pt, payload)) });
    out.push({ ...s, t: 1.005 + k * 0.02, payload: channelData(channel, rtp(0x7700 + k, 0x20000 + 160 * k, 0x55667788, pt, payload)) });
  }
  return out;
}

describe('relayed real-time media is ordinary', () => {
  it.each(['4000', '4801', '4c2a', '4f00', '7fff'])('TURN ChannelData on channel 0x%s carrying G.711 RTP both ways', (hex) => {
    const ch = parseInt(hex, 16);
    for (const pt of [0, 8]) {
      const [r] = classify(turnCall(ch, 30, pt));
      expect(r!.label, JSON.stringify(r!.evidence)).toBe('ordinary');
    }
  });
});
