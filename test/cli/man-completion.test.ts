/**
 * The man page and the bash completion are generated from the CLI's own command definitions: every command and
 * every flag appears in both; the built page (dist/tunnelscope.1, written at build time) is current and groff
 * formats it without a warning; bash completes commands, flags, format names and file names with it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bashCompletion, buildProgram, main, manPage, packageVersion, SUBCOMMANDS } from '../../src/cli/main.js';
import { roffText } from '../../src/cli/manpage.js';
import { Sink } from '../helpers/sink.js';
import { ensureTools } from '../helpers/tools.js';
import { ROOT } from '../output/sample-records.js';

const io = () => ({ stdout: new Sink(), stderr: new Sink(), stdin: process.stdin });
const program = buildProgram({ io: io(), exitCode: 0 }, SUBCOMMANDS);
const commands = program.commands.filter((c) => c.name() !== 'help');
const flags = (c: (typeof commands)[number]) => c.options.flatMap((o) => [o.short, o.long]).filter((x): x is string => !!x);

describe('man page', () => {
  const page = readFileSync(join(ROOT, 'dist', 'tunnelscope.1'), 'utf8');

  it('the built page is the one the current CLI definitions give, and package.json ships it', () => {
    expect(page).toBe(manPage(SUBCOMMANDS, { version: packageVersion(), date: '' }));
    expect(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).man).toEqual(['./dist/tunnelscope.1']);
  });

  it('names every command and every flag', () => {
    for (const c of commands) {
      expect(page).toContain(`.SS ${c.name()}\n`);
      for (const f of flags(c)) expect(page, `${c.name()} ${f}`).toContain(roffText(f));
    }
  });

  it('escapes roff: no line of help text can become a request', () => {
    expect(roffText(".TH x\n'br\na\\b -c")).toBe("\\&.TH x\n\\&'br\na\\eb \\-c");
  });

  const noGroff = ensureTools('groff');
  it.skipIf(noGroff !== null)(`groff formats it without a warning${noGroff ? ` — skipped: ${noGroff}` : ''}`, () => {
    const r = spawnSync('groff', ['-man', '-Tutf8', '-ww'], { input: page, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const text = r.stdout.replace(/.\x08/g, '');
    for (const c of commands) for (const f of flags(c)) expect(text).toContain(f);
    expect(text).toContain('--ipfix <udp://HOST:PORT>');
  });
});

describe('bash completion', () => {
  const script = bashCompletion(program);

  it('`tunnelscope completion bash` prints it; another shell is a usage error', async () => {
    const a = io();
    expect(await main(['completion', 'bash'], a)).toBe(0);
    expect(a.stdout.text).toBe(script);
    const b = io();
    expect(await main(['completion', 'fish'], b)).toBe(2);
    expect(b.stderr.text).toMatch(/^tunnelscope completion: unsupported shell "fish"/);
  });

  /** What bash completes for the words typed so far (the last one being completed); words passed as arguments, never as script text. */
  function complete(dir: string, ...typed: string[]): string[] {
    const cmd = `source "$1"; cd "$2"; shift 2; COMP_WORDS=(tunnelscope "$@"); COMP_CWORD=$#; _tunnelscope; printf '%s\\n' "\${COMPREPLY[@]}"`;
    return execFileSync('bash', ['-c', cmd, 'bash', join(dir, 'c.bash'), dir, ...typed], { encoding: 'utf8' }).split('\n').filter(Boolean).sort();
  }

  it('completes commands, flags, values and files from the definitions', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tunnelscope-completion-'));
    try {
      writeFileSync(join(dir, 'c.bash'), script);
      writeFileSync(join(dir, 'trace.pcap'), '');
      writeFileSync(join(dir, 'reg.txt'), '');
      expect(complete(dir, '')).toEqual([...commands.map((c) => c.name()), '--help', '--version', '-V', '-h', 'help'].sort());
      expect(complete(dir, 'cl')).toEqual(['classify']);
      expect(complete(dir, 'classify', '--')).toEqual(flags(commands.find((c) => c.name() === 'classify')!).filter((f) => f.startsWith('--')).concat('--help').sort());
      expect(complete(dir, 'classify', '--format', '')).toEqual(['csv', 'eve', 'json', 'ndjson', 'table', 'zeek', 'zeek-json']);
      expect(complete(dir, 'classify', '--format', 'ze')).toEqual(['zeek', 'zeek-json']);
      expect(complete(dir, 'flows', '--format', '')).toEqual(['json', 'ndjson', 'table']);
      expect(complete(dir, 'classify', '--registered', 'r')).toEqual(['reg.txt']);
      expect(complete(dir, 'classify', 'tr')).toEqual(['trace.pcap']);
      expect(complete(dir, 'classify', '--idle-timeout', '')).toEqual([]);
      expect(complete(dir, 'synth', '--out', 't')).toEqual(['trace.pcap']);
      expect(complete(dir, 'help', 'f')).toEqual(['fleet', 'flows']);
      expect(complete(dir, 'completion', '')).toEqual(['bash']);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it('offers a file name with spaces or glob characters as the one name it is', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tunnelscope-completion-'));
    try {
      writeFileSync(join(dir, 'c.bash'), script);
      for (const f of ['my trace.pcap', 'a.pcap', '[a].pcap', 'x*y.pcap', 'xy.pcap']) writeFileSync(join(dir, f), '');
      expect(complete(dir, 'classify', 'my')).toEqual(['my trace.pcap']);
      expect(complete(dir, 'classify', '--registered', 'my')).toEqual(['my trace.pcap']);
      expect(complete(dir, 'classify', '[')).toEqual(['[a].pcap']);
      expect(complete(dir, 'classify', 'x')).toEqual(['x*y.pcap', 'xy.pcap']);
      expect(complete(dir, 'fleet', 'submit', 'my')).toEqual(['my trace.pcap']);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it('completes the subcommands of lists and fleet, with their own flags and values', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tunnelscope-completion-'));
    try {
      writeFileSync(join(dir, 'c.bash'), script);
      writeFileSync(join(dir, 'reg.txt'), '');
      const nested = commands.filter((c) => c.commands.length > 0);
      expect(nested.map((c) => c.name()).sort()).toEqual(['fleet', 'lists']);
      for (const c of nested) {
        const subs = c.commands.filter((s) => s.name() !== 'help');
        expect(complete(dir, c.name(), '')).toEqual([...subs.map((s) => s.name()), 'help'].sort());
        expect(complete(dir, c.name(), 'help', '')).toEqual(subs.map((s) => s.name()).sort());
        expect(complete(dir, 'help', c.name(), '')).toEqual(subs.map((s) => s.name()).sort());
        for (const s of subs) {
          const want = flags(s).filter((f) => f.startsWith('--')).concat('--help').sort();
          expect(complete(dir, c.name(), s.name(), '--'), `${c.name()} ${s.name()}`).toEqual(want);
        }
      }
      expect(complete(dir, 'lists', 'publish', '--registered', 'r')).toEqual(['reg.txt']);
      expect(complete(dir, 'fleet', 'stats', '--format', '')).toEqual(['json', 'ndjson', 'table']);
      expect(complete(dir, 'fleet', 'submit', '--format', '')).toEqual(['ndjson']);
      // An optional value (`--lists-from [BUCKET]`) is no value to complete, but the next flag still is.
      expect(complete(dir, 'fleet', 'work', '--lists-from', '')).toEqual([]);
      expect(complete(dir, 'fleet', 'work', '--lists-from', '--max-j')).toEqual(['--max-jobs']);
      // A word after the command path is an operand, even when spelled like a command.
      expect(complete(dir, 'fleet', 'submit', 'work', '--ti')).toEqual(['--timeout']);
      expect(complete(dir, 'classify', '--emit', '')).toEqual(['both', 'records', 'verdicts']);
      // `--format=ze`: bash hands the words over split at '=' (COMP_WORDBREAKS).
      expect(complete(dir, 'classify', '--format', '=', 'ze')).toEqual(['zeek', 'zeek-json']);
      expect(complete(dir, 'classify', '--format', '=')).toEqual(['csv', 'eve', 'json', 'ndjson', 'table', 'zeek', 'zeek-json']);
      expect(complete(dir, 'lists', 'publish', '--registered', '=', 'r')).toEqual(['reg.txt']);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});

describe('README', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const cli = readme.slice(readme.indexOf('\n## CLI\n'), readme.indexOf('\n### Live capture\n'));

  it("names every flag of every command and subcommand in its CLI section (the usage block or the text after it)", () => {
    const missing: string[] = [];
    for (const c of commands) {
      for (const cmd of [c, ...c.commands.filter((s) => s.name() !== 'help')]) {
        const path = cmd === c ? c.name() : `${c.name()} ${cmd.name()}`;
        for (const f of flags(cmd).filter((x) => x.startsWith('--'))) if (!new RegExp(`${f}(?![a-z-])`).test(cli)) missing.push(`${path} ${f}`);
      }
    }
    expect(missing).toEqual([]);
  });
});
