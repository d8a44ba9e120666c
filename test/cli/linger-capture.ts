/** A capture for the CLI's TCP-linger flags: a TCP conversation closed by FIN both ways and the final ACK, then a late RST 2 s on. */
import { buildFrame, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../../src/trace/frame-builder.js';
import { PcapWriter } from '../../src/trace/pcap-writer.js';

export function lingerCapture(t0: number): Uint8Array {
  const w = new PcapWriter();
  const c = { src: '10.0.0.1', dst: '192.0.2.9', proto: 6, srcPort: 40001, dstPort: 443 };
  const s = { src: '192.0.2.9', dst: '10.0.0.1', proto: 6, srcPort: 443, dstPort: 40001 };
  w.packet(t0 + 1, buildFrame({ ...c, tcpFlags: TCP_SYN }));
  w.packet(t0 + 2, buildFrame({ ...s, tcpFlags: TCP_SYN | TCP_ACK }));
  w.packet(t0 + 3, buildFrame({ ...c, tcpFlags: TCP_FIN | TCP_ACK }));
  w.packet(t0 + 4, buildFrame({ ...s, tcpFlags: TCP_FIN | TCP_ACK }));
  w.packet(t0 + 5, buildFrame({ ...c, tcpFlags: TCP_ACK })); // the final ACK: closed
  w.packet(t0 + 2_000_000, buildFrame({ ...s, tcpFlags: TCP_RST })); // a late RST, 2 s on
  return w.toBuffer();
}
