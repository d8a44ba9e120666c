/**
 * Text from a child process's stdout or stderr. A pipe hands over bytes in reads of any size, so a UTF-8
 * character (tunnelscope's evidence has ≥, →, …) can straddle two reads; decoding each read on its own turns it
 * into two U+FFFD. `setEncoding` decodes with a StringDecoder, which keeps the partial character for the next read.
 */
import type { Readable } from 'node:stream';

export function onText(stream: Readable, fn: (text: string) => void): void {
  stream.setEncoding('utf8');
  stream.on('data', fn);
}
