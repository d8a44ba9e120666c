/** onText against the defect it fixes: a character split across two pipe reads arrives whole. */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { onText } from './text-stream.js';

describe('onText', () => {
  it('a UTF-8 character written in two parts, 100 ms apart, is one character', async () => {
    // "≥" is E2 89 A5: the child writes E2, then 89 A5 in a later write (a later read here).
    const p = spawn(process.execPath, ['-e', "process.stdout.write(Buffer.from([0x61, 0xe2])); setTimeout(() => process.stdout.write(Buffer.from([0x89, 0xa5, 0x62])), 100);"]);
    let text = '';
    let reads = 0;
    onText(p.stdout, (t) => {
      text += t;
      reads++;
    });
    await new Promise((r) => p.once('close', r));
    expect(reads).toBe(2);
    expect(text).toBe('a≥b');
  });
});
