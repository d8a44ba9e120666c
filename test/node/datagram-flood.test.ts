/**
 * A bounded flood over real loopback sockets (the full 200k-datagram run is bench/datagram-flood.ts): 20k
 * datagrams from 2k source ports, IPv4 and IPv6. Every datagram the socket delivers to the application is
 * inspected by the attached adapter, each tuple gets exactly one verdict, WireGuard handshakes among them are
 * found, and memory stays under the classifier's byte budget.
 */
import { describe, expect, it } from 'vitest';
import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { createClassifier } from '../../src/classify/classifier.js';
import { DatagramClassifier } from '../../src/node.js';
import type { Verdict } from '../../src/classify/types.js';
import { sleep, udpSocket, wgInit, wgResp, usedAfterGc } from './helpers.js';


const PORTS = 2000;
const PER_PORT = 10;

describe.each([['udp4', '127.0.0.1'], ['udp6', '::1']] as const)('flood over %s %s', (type, host) => {
  it(`${PORTS * PER_PORT} datagrams from ${PORTS} ports: all inspected, one verdict per tuple, memory under the budget`, async () => {
    const maxBytes = 16 * 1024 * 1024;
    const server = await udpSocket(type, host);
    server.setRecvBufferSize(4 * 1024 * 1024);
    const clients: dgram.Socket[] = [];
    try {
      for (let i = 0; i < PORTS; i++) clients.push(await udpSocket(type, host));
      const before = usedAfterGc();
      const dc = new DatagramClassifier(createClassifier({ registered: [[host === '::1' ? '::1/128' : '127.0.0.0/8', 'lab']] }), { maxBytes });
      const verdicts = new Map<number, Verdict[]>();
      dc.attach(server, (v, peer) => verdicts.set(peer.port, [...(verdicts.get(peer.port) ?? []), v]));
      let appSeen = 0;
      server.on('message', () => appSeen++);
      const port = (server.address() as AddressInfo).port;
      let sent = 0;
      for (let k = 0; k < PER_PORT; k++) {
        for (let i = 0; i < PORTS; i++) {
          // One port in five runs a WireGuard handshake (the server's reply accounted by the gateway), the rest send
          // random bytes.
          const wg = i % 5 === 0;
          const msg = wg ? (k === 0 ? wgInit(i + 1) : Buffer.from([4, 0, 0, 0, ...Array.from({ length: 60 }, (_, j) => (i * k + j) & 255)])) : Buffer.from(Array.from({ length: 64 + ((i * 13 + k) % 400) }, (_, j) => (i * 7 + k * 31 + j * 17) & 255));
          clients[i]!.send(msg, port, host);
          sent++;
          // Paced so the kernel never drops: what is measured is the adapter, not the receive buffer.
          if (sent % 100 === 0) for (let t = 0; appSeen < sent && t < 200; t++) await sleep(2);
        }
        if (k === 0) {
          for (let t = 0; appSeen < sent && t < 500; t++) await sleep(2);
          for (let i = 0; i < PORTS; i += 5) dc.outbound(server, wgResp(0x7000 + i, i + 1), clients[i]!.address());
        }
      }
      for (let t = 0; appSeen < sent && t < 1000; t++) await sleep(5);
      expect(appSeen).toBe(sent);
      const st = dc.stats;
      expect(st.datagrams).toBe(sent + PORTS / 5); // every delivered datagram, plus the replies accounted
      expect(st.tuples).toBe(PORTS);
      const grown = usedAfterGc() - before;
      expect(grown).toBeLessThan(maxBytes);
      // Random tuples are decided when the detectors' budget (8 datagrams) is spent; WireGuard at the reply.
      expect(verdicts.size).toBe(PORTS);
      for (const [p, list] of verdicts) {
        expect(list, `port ${p}`).toHaveLength(1);
      }
      const wg = [...verdicts.values()].filter((l) => l[0]!.protocol === 'wireguard');
      expect(wg.length).toBe(PORTS / 5);
      expect(wg.every((l) => l[0]!.label === 'registered_vpn')).toBe(true);
      console.log(`${type}: ${sent} datagrams, ${st.tuples} tuples, ${(grown / 1048576).toFixed(1)} MiB (budget ${maxBytes / 1048576} MiB, ${dc.maxTuples} tuples)`);
      dc.close();
    } finally {
      server.close();
      for (const c of clients) c.close();
    }
  }, 120_000);
});
