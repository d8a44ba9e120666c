#!/usr/bin/env node
// Alternating A/B of the list load through the CLI (issue 22 item 4): for each build directory, CPU (user+sys, all
// threads, /usr/bin/time) and peak RSS of `classify ONE_PACKET --format ndjson -q` with and without
// `--registered LIST`, rounds alternating between builds; prints best and median of each, the load (with - without)
// and minor page faults. NODE_EXTRA_CA_CERTS is unset (this host sets it; Node parses it at every start).
//   node bench/list-load-ab.mjs ROUNDS LIST ONE_PACKET_PCAP BUILD_DIR...
// e.g. after `npx tsx bench/real.bench.ts` has written .cache/: node bench/list-load-ab.mjs 7
//   .cache/registered-1000000.txt .cache/one-packet.pcap /tmp/main-clone .
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

const [rounds, list, cap, ...dirs] = process.argv.slice(2);
if (!rounds || !list || !cap || dirs.length === 0) throw new Error('usage: list-load-ab.mjs ROUNDS LIST ONE_PACKET_PCAP BUILD_DIR...');
const env = { ...process.env };
delete env.NODE_EXTRA_CA_CERTS;
function run(dir, withList) {
  const args = ['-f', '%e %U %S %M %R', process.execPath, resolve(dir, 'dist/cli.js'), 'classify', cap, '--format', 'ndjson', '-q', ...(withList ? ['--registered', list] : [])];
  const r = spawnSync('/usr/bin/time', args, { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  const [wall, user, sys, rssKB, faults] = r.stderr.trim().split('\n').pop().split(' ').map(Number);
  return { wall, cpu: user + sys, rss: rssKB / 1024, faults };
}
const res = new Map(dirs.map((d) => [d, { w: [], wo: [], rw: [], rwo: [], f: [], fo: [] }]));
for (let k = 0; k < Number(rounds); k++) {
  for (const d of dirs) {
    const a = run(d, true);
    const b = run(d, false);
    const r = res.get(d);
    r.w.push(a.cpu), r.wo.push(b.cpu), r.rw.push(a.rss), r.rwo.push(b.rss), r.f.push(a.faults), r.fo.push(b.faults);
  }
}
const min = (a) => Math.min(...a);
const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
for (const [d, r] of res) {
  console.log(
    `${d}: load CPU best ${(min(r.w) - min(r.wo)).toFixed(2)} s, median ${(med(r.w) - med(r.wo)).toFixed(2)} s ` +
      `(with ${min(r.w).toFixed(2)}/${med(r.w).toFixed(2)}, without ${min(r.wo).toFixed(2)}/${med(r.wo).toFixed(2)}); ` +
      `peak RSS ${min(r.rw).toFixed(0)} vs ${min(r.rwo).toFixed(0)} MB (+${(min(r.rw) - min(r.rwo)).toFixed(0)}); minor faults +${med(r.f) - med(r.fo)}`,
  );
}
