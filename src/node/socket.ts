/**
 * `classifySocket`: label an accepted TCP connection from its addresses and the client's first message, without
 * consuming the client's bytes.
 *
 * The client's bytes are gathered until its first message is whole (first-message.ts: TLS, HTTP/1.x, OpenVPN,
 * PPTP, tinc framings), the byte cap is reached, or — for bytes no framing describes — the client pauses for
 * `settleMs` or ends its side; only that message is judged (what followed it in the same segment is not), so the
 * verdict does not depend on how the bytes were segmented. Everything read is handed back to the socket (`unshift`)
 * before the promise resolves. A client that has not completed a first message by `firstBytesTimeoutMs`, or whose
 * socket ends (mid-message) or closes first, is `undecided` unless the embedder asks
 * for a verdict from what was seen (`undecided: 'decide'`): the embedder, not the adapter, decides what such a
 * client gets. The copy of the bytes inspected is zeroed once the verdict is made.
 */
import type { Socket } from 'node:net';
import type { Classifier } from '../classify/classifier.js';
import type { Verdict } from '../classify/types.js';
import type { ArrayPacket } from '../detect/array-flow.js';
import { IPPROTO_TCP } from '../detect/types.js';
import { checkClassifier, checkKnownOptions, checkOptions, describeValue, InvalidArgumentError, MAX_DELAY_MS, numberOption } from '../errors.js';

/** Largest `maxBytes`: far past any first message the detectors read, and a bound on what one peer can make us hold. */
const MAX_SOCKET_BYTES = 1 << 24;
import { parseSockAddr, sameFamily } from './address.js';
import { firstMessageEnd, MORE, newFramingState, UNKNOWN } from './first-message.js';

export interface SocketClassifyOptions {
  /** How long the client has to complete its first message, from the call (ms, default 2000; at most 2^31 - 1). */
  firstBytesTimeoutMs?: number;
  /** At most this many first bytes are gathered and inspected (default 16384; at most 16 MiB). */
  maxBytes?: number;
  /**
   * Bytes that no documented framing describes are classified once the client has sent nothing more for this
   * long (ms, default 100, at most 2^31 - 1; a framed first message is classified as soon as it is whole).
   */
  settleMs?: number;
  /**
   * What a client that did not complete a first message gets (silent past the timeout, a message cut short,
   * or a socket closed first): `'report'` (default) resolves an {@link UndecidedVerdict}; `'decide'` resolves the
   * verdict from the addresses and whatever bytes arrived.
   */
  undecided?: 'report' | 'decide';
}

/** The client did not complete a first message: the embedder decides what it gets. */
export interface UndecidedVerdict {
  readonly label: 'undecided';
  /** `silent`: no byte before the timeout; `incomplete`: a first message cut short at the timeout; `closed`: the socket ended, closed or failed first. */
  readonly cause: 'silent' | 'incomplete' | 'closed';
  /** Client bytes received (all handed back to the socket). */
  readonly bytes: number;
  /** What the addresses and the bytes received say (decidedAtPacket 0 when there were none). */
  readonly verdict: Verdict;
}

export type SocketVerdict = Verdict | UndecidedVerdict;

/**
 * Label an accepted TCP connection (server side: the remote peer is the initiator). Call it before anything
 * reads the socket, and without `setEncoding`. Resolves once; never rejects and never throws into the socket's
 * event handlers (a socket that closes, resets or errors is resolved `undecided`, cause `closed`). The bytes
 * read are unshifted back: attach 'data' or `pipe()` the socket afterwards to read them.
 * @example
 * server.on('connection', async (sock) => {
 *   const v = await classifySocket(classifier, sock);
 *   if (v.label === 'unregistered_vpn' || v.label === 'undecided') return sock.destroy();
 *   sock.pipe(upstream).pipe(sock);
 * });
 * @throws {InvalidArgumentError} on bad options, or when the first argument is not a Classifier or the second not a
 *   socket (synchronously, before anything is read)
 */
export function classifySocket(classifier: Classifier, socket: Socket, options: SocketClassifyOptions = {}): Promise<SocketVerdict> {
  checkClassifier('classifySocket', 'the first argument', classifier, 'classifyFlow');
  if (socket === null || typeof socket !== 'object' || typeof socket.read !== 'function') {
    throw new InvalidArgumentError(`classifySocket: the second argument must be a net.Socket, got ${describeValue(socket)}`);
  }
  checkOptions('classifySocket', options);
  checkKnownOptions('classifySocket', options, ['firstBytesTimeoutMs', 'maxBytes', 'settleMs', 'undecided']);
  const timeoutMs = numberOption('firstBytesTimeoutMs', options.firstBytesTimeoutMs, 2000, 0, MAX_DELAY_MS);
  // A copy of what the peer sends, grown on demand: unbounded, a peer that never stops would fill the heap.
  const maxBytes = Math.floor(numberOption('maxBytes', options.maxBytes, 16384, 1, MAX_SOCKET_BYTES));
  const settleMs = numberOption('settleMs', options.settleMs, 100, 0, MAX_DELAY_MS);
  const report = (options.undecided ?? 'report') === 'report';
  if (options.undecided !== undefined && options.undecided !== 'report' && options.undecided !== 'decide') {
    throw new InvalidArgumentError(`undecided must be 'report' or 'decide', got ${typeof options.undecided === 'string' ? JSON.stringify(options.undecided) : describeValue(options.undecided)}`);
  }
  // Addresses are read now, while the socket is connected: a reset later makes `localAddress` undefined.
  const [src, dst] = sameFamily(parseSockAddr(socket.remoteAddress), parseSockAddr(socket.localAddress));
  const srcPort = socket.remotePort ?? 0;
  const dstPort = socket.localPort ?? 0;

  return new Promise<SocketVerdict>((resolve) => {
    const chunks: Buffer[] = [];
    let total = 0;
    /** Copy of the first `maxBytes` bytes, grown on demand; zeroed when the verdict is made. */
    let buf = new Uint8Array(0);
    const framing = newFramingState();
    let done = false;
    let settle: NodeJS.Timeout | undefined;
    /** What the framing said of the bytes so far (MORE until it has seen any). */
    let framed = MORE;

    const classify = (end: number): Verdict => {
      const n = Math.min(total, maxBytes);
      const packets: ArrayPacket[] = [];
      // The first message alone: bytes the client sent after it in the same segment would be seen or not
      // depending on the segmentation, which must not change the verdict.
      if (n > 0) packets.push({ dir: 0, bytes: buf.subarray(0, end > 0 && end < n ? end : n) });
      try {
        return classifier.classifyFlow({ transport: IPPROTO_TCP, src: src.text, dst: dst.text, srcPort, dstPort, packets });
      } finally {
        buf.fill(0);
      }
    };

    const finish = (outcome: 'decided' | 'silent' | 'incomplete' | 'closed', end = 0): void => {
      if (done) return;
      done = true;
      clearTimeout(deadline);
      clearTimeout(settle);
      socket.off('readable', onReadable);
      socket.off('end', onEnd);
      socket.off('close', onClose);
      socket.off('error', onClose);
      // Hand everything read back, in order, before anything else can read the socket. Synchronous with the last
      // read, so a stream that reached its end has not emitted 'end' yet.
      if (total > 0 && !socket.destroyed) {
        try {
          socket.unshift(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total));
        } catch {
          // A destroyed or ended stream refuses the bytes; nobody can read them any more.
        }
      }
      chunks.length = 0;
      let result: SocketVerdict;
      try {
        const v = classify(end);
        result = outcome === 'decided' || !report ? v : { label: 'undecided', cause: outcome, bytes: total, verdict: v };
      } catch (e) {
        // The classifier threw (a bug, or lists swapped mid-call): never into the socket's handlers.
        result = {
          label: 'undecided',
          cause: 'closed',
          bytes: total,
          verdict: {
            label: 'ordinary', protocol: null, confidence: 0, registrant: null, registeredSide: null, listVersion: classifier.listVersion, decidedAtPacket: 0,
            evidence: [{ source: 'adapter', protocol: 'none', strength: 'weak', rule: 'adapter.error', reason: `classification failed: ${String((e as Error)?.message ?? e)}` }],
          },
        };
      }
      resolve(result);
    };

    const evaluate = (ended: boolean): void => {
      if (done) return;
      const n = Math.min(total, maxBytes);
      if (n === 0) {
        if (ended) finish('closed');
        return;
      }
      framed = firstMessageEnd(buf, n, maxBytes, framing);
      if (framed > 0) return finish('decided', framed);
      // The byte cap is spent: decided on what it holds.
      if (total >= maxBytes) return finish('decided', 0);
      // The client sent its last byte: bytes no framing describes are its message; a message its framing says is
      // not whole never will be (as at the deadline).
      if (ended) return finish(framed === UNKNOWN ? 'decided' : 'incomplete', 0);
      clearTimeout(settle);
      settle = undefined;
      // Unframed bytes: decided once the client pauses. MORE: keep waiting, up to the deadline.
      if (framed === UNKNOWN) settle = setTimeout(() => finish('decided', 0), settleMs);
    };

    const onReadable = (): void => {
      if (done) return;
      let eof = socket.readableLength === 0; // 'readable' with nothing buffered is the end of the stream
      for (;;) {
        const len = socket.readableLength;
        if (len === 0 || total >= maxBytes) break;
        const chunk = socket.read(len) as Buffer | string | null;
        if (chunk === null) break;
        const c = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        chunks.push(c);
        const room = Math.min(c.length, maxBytes - total);
        if (room > 0) {
          if (total + room > buf.length) {
            const next = new Uint8Array(Math.min(maxBytes, Math.max(1024, (total + room) * 2)));
            next.set(buf.subarray(0, total));
            buf.fill(0);
            buf = next;
          }
          buf.set(c.subarray(0, room), total);
        }
        total += c.length;
      }
      // Data and FIN can arrive together: then no empty 'readable' follows, and only the stream state tells.
      if (!eof) eof = (socket as unknown as { _readableState?: { ended?: boolean } })._readableState?.ended === true && socket.readableLength === 0;
      evaluate(eof);
    };
    const onClose = (): void => finish('closed');
    // An end not announced by an empty 'readable' (a half-open socket, allowHalfOpen) still ends the gathering.
    const onEnd = (): void => evaluate(true);

    const deadline = setTimeout(() => finish(total === 0 ? 'silent' : framed === UNKNOWN ? 'decided' : 'incomplete'), timeoutMs);
    // Destroyed, or a half-open socket (allowHalfOpen) whose client ended before the call, its end already emitted.
    if (socket.destroyed || socket.readableEnded) return finish('closed');
    socket.on('readable', onReadable);
    socket.once('end', onEnd);
    socket.once('close', onClose);
    socket.once('error', onClose);
  });
}
