/**
 * Regression fixtures the long fuzz mode saves: fixtures/fuzz/<campaign>/<sha1-12>.<ext>, the input as the
 * campaign writes it, and <sha1-12>.meta.json saying what it broke and when. replay.test.ts runs every one through its
 * campaign's check on every `npm test`.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './seeds.js';

export const FIXTURES = join(ROOT, 'fixtures', 'fuzz');

export interface FixtureMeta {
  campaign: string;
  kind: string;
  message: string;
  found: string;
  /** fast-check seed and path that produced it, when known. */
  replay?: string;
}

/** Write a failing input; returns its path (the same input twice is one file). */
export function saveFixture(campaign: string, ext: string, data: Uint8Array | string, meta: Omit<FixtureMeta, 'campaign' | 'found'>): string {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
  const id = createHash('sha1').update(bytes).digest('hex').slice(0, 12);
  const dir = join(FIXTURES, campaign);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${id}.${ext}`);
  if (!existsSync(file)) {
    writeFileSync(file, bytes);
    const m: FixtureMeta = { campaign, found: new Date().toISOString(), ...meta, message: meta.message.slice(0, 2000) };
    writeFileSync(join(dir, `${id}.meta.json`), `${JSON.stringify(m, null, 2)}\n`);
  }
  return file;
}

/** Every saved input: campaign, file, extension (after the id), bytes. */
export function listFixtures(): { campaign: string; file: string; ext: string; data: Buffer }[] {
  if (!existsSync(FIXTURES)) return [];
  const out: { campaign: string; file: string; ext: string; data: Buffer }[] = [];
  for (const campaign of readdirSync(FIXTURES).sort()) {
    const dir = join(FIXTURES, campaign);
    for (const f of readdirSync(dir).sort()) {
      if (f.endsWith('.meta.json') || f.startsWith('.')) continue;
      const ext = f.slice(f.indexOf('.') + 1);
      out.push({ campaign, file: join(dir, f), ext, data: readFileSync(join(dir, f)) });
    }
  }
  return out;
}
