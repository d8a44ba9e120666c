/**
 * `tunnelscope/node`: label connections inside a Node gateway built on node:net / node:dgram (src/node/).
 *
 * TCP: `classifySocket` gathers the client's first message without consuming it (every byte read is handed back
 * to the socket), labels the connection from its addresses and that message, and hands the verdict — or
 * `undecided` for a client that did not complete one — to the embedder, who decides what to do. UDP:
 * `DatagramClassifier` follows each 4-tuple incrementally (a streaming session with bounded memory) and reports
 * one verdict per tuple. Policy stays with the embedder.
 */
export type { Verdict } from './classify/types.js';
export { classifySocket, type SocketClassifyOptions, type SocketVerdict, type UndecidedVerdict } from './node/socket.js';
export { DatagramClassifier, type AttachOptions, type DatagramFlow, type DatagramOptions, type DatagramStats } from './node/datagram.js';
