// Writes dist/tunnelscope.1 from the built CLI's own help (src/cli/manpage.ts). Run by tsup after every build
// (tsup.config.ts onSuccess), so `npm run build`, `npm test` and `npm pack` all ship a current page.
// SOURCE_DATE_EPOCH, when set, dates the page; otherwise it carries no date (reproducible builds).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dist = join(import.meta.dirname, '..', 'dist');
const { manPage, SUBCOMMANDS, packageVersion } = await import(join(dist, 'cli-main.js'));
const epoch = process.env.SOURCE_DATE_EPOCH;
const date = epoch ? new Date(Number(epoch) * 1000).toISOString().slice(0, 10) : '';
writeFileSync(join(dist, 'tunnelscope.1'), manPage(SUBCOMMANDS, { version: packageVersion(), date }));
