/** The README's code examples, for the tests that run them as written. */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { expect } from 'vitest';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** The code block that follows `<!-- readme-example: name -->`. */
export function example(name: string): string {
  const at = README.indexOf(`<!-- readme-example: ${name} -->`);
  expect(at, `README has no example ${name}`).toBeGreaterThanOrEqual(0);
  const open = README.indexOf('```js\n', at) + 6;
  return README.slice(open, README.indexOf('\n```\n', open) + 1);
}
