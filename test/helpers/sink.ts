/** A Writable that keeps what was written, for CLI tests (optionally pretending to be a terminal). */
import { Writable } from 'node:stream';

export class Sink extends Writable {
  text = '';
  isTTY?: boolean;
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}
