#!/usr/bin/env node
// Stands in for an SSTP server's HTTP and SSTP layers behind a TLS terminator (scripts/record/sstp.sh, variant
// clear-standin), because the one SSTP server Debian ships, SoftEther's (softether-vpnserver 5.01.9674+git20200806),
// never answers an SSTP_DUPLEX_POST: its ProtoHandleConnection(proto, sock, "SSTP") returns false for every
// protocol name (the container it looks up is never assigned), so the call set-up stops at the HTTP request.
// What this does, each step from MS-SSTP and nothing more, so that the real client (sstpc) goes on with its side:
//   - reads the client's HTTP request up to the blank line and answers `HTTP/1.1 200` with
//     `Content-Length: 18446744073709551615` (MS-SSTP §4.1, HTTPS layer establishment, which also
//     provides for plain HTTP behind an SSL/TLS terminating edge device);
//   - answers SSTP_MSG_CALL_CONNECT_REQUEST with SSTP_MSG_CALL_CONNECT_ACK carrying one Crypto Binding Request
//     attribute (MS-SSTP §2.2.10, §2.2.6: 3 reserved bytes, hash bitmask 3 = SHA-1 | SHA-256, a 32-byte nonce);
//   - sends one SSTP_MSG_ECHO_REQUEST a second later and answers the client's echo requests with
//     SSTP_MSG_ECHO_RESPONSE (§2.2);
//   - sends no PPP of its own: the client's pppd is scripts/record/pppd-standin, whose pty echoes what it is sent
//     (it never sets raw mode), so any server PPP frame would come back as a client data packet that no pppd sent;
//   - answers SSTP_MSG_CALL_DISCONNECT with …_DISCONNECT_ACK and closes.
// Usage: node sstp-server-standin.mjs HOST PORT (exits after 60 s whatever happens).
import { randomBytes } from 'node:crypto';
import net from 'node:net';

const [host, portArg] = process.argv.slice(2);
const REQUEST = 'SSTP_DUPLEX_POST /sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/ HTTP/1.1';
const log = (m) => console.log(`${new Date().toISOString()} ${m}`);

/** An SSTP control packet: version 1.0, C bit, 12-bit length, message type, attributes (id, value). */
function control(type, attrs = []) {
  const body = attrs.map(([id, value]) => Buffer.concat([Buffer.from([0, id, 0, 0]), value]));
  for (const b of body) b.writeUInt16BE(b.length, 2);
  const head = Buffer.alloc(8);
  head[0] = 0x10;
  head[1] = 0x01;
  head.writeUInt16BE(type, 4);
  head.writeUInt16BE(attrs.length, 6);
  const p = Buffer.concat([head, ...body]);
  p.writeUInt16BE(p.length, 2);
  return p;
}

const server = net.createServer((sock) => {
  log(`connection from ${sock.remoteAddress}:${sock.remotePort}`);
  let buf = Buffer.alloc(0);
  let http = true;
  sock.on('data', (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    if (http) {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buf.subarray(0, end).toString('latin1');
      buf = buf.subarray(end + 4);
      if (!head.startsWith(REQUEST)) {
        log(`not SSTP: ${JSON.stringify(head.split('\r\n')[0])}`);
        sock.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      http = false;
      log('SSTP_DUPLEX_POST: HTTP 200');
      sock.write(`HTTP/1.1 200\r\nContent-Length: 18446744073709551615\r\nServer: Microsoft-HTTPAPI/2.0\r\nDate: ${new Date().toUTCString()}\r\n\r\n`);
    }
    while (buf.length >= 4) {
      const len = buf.readUInt16BE(2) & 0x0fff;
      if (buf[0] !== 0x10 || len < 4) {
        log(`bad SSTP packet ${buf.subarray(0, 8).toString('hex')}: closing`);
        sock.destroy();
        return;
      }
      if (buf.length < len) return;
      const p = buf.subarray(0, len);
      buf = buf.subarray(len);
      if (p[1] & 1) {
        const type = p.readUInt16BE(4);
        log(`control message ${type} (${p.toString('hex')})`);
        if (type === 1) {
          const value = Buffer.concat([Buffer.from([0, 0, 0, 3]), randomBytes(32)]);
          sock.write(control(2, [[4, value]]));
          setTimeout(() => sock.writable && sock.write(control(8)), 1000);
        } else if (type === 8) sock.write(control(9));
        else if (type === 6) sock.end(control(7));
        else if (type === 5) sock.end();
      } else {
        log(`data packet (${p.subarray(4).toString('hex')})`);
      }
    }
  });
  sock.on('error', (e) => log(`socket error: ${e.message}`));
  sock.on('close', () => log('closed'));
});
server.listen(Number(portArg), host, () => log(`listening on ${host}:${portArg}`));
setTimeout(() => process.exit(0), 60_000).unref();
