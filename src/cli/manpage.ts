/**
 * The tunnelscope(1) man page, generated at build time (scripts/gen-man.mjs) from the CLI's own help: the program's
 * description and each command's `--help` text as commander prints it, so the page says exactly what `--help`
 * says. Pure: the program and the help texts in, roff out.
 */
import type { Command } from 'commander';
import type { CliIo } from './io.js';
import { buildProgram, type Subcommand } from './program.js';

/** Text for roff: backslashes and minus signs literal, no line read as a request. */
export function roffText(s: string): string {
  return s
    .replace(/\\/g, '\\e')
    .replace(/-/g, '\\-')
    .split('\n')
    .map((l) => (/^[.']/.test(l) ? `\\&${l}` : l))
    .join('\n');
}

/** A stdout that keeps what is written, as a terminal of `columns` columns (commander wraps help to it). */
function capture(columns: number): CliIo['stdout'] & { text: string } {
  const out = {
    text: '',
    isTTY: true,
    columns,
    write(chunk: string | Uint8Array) {
      out.text += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      return true;
    },
  };
  return out as unknown as CliIo['stdout'] & { text: string };
}

/** Each command's `--help` text, as `tunnelscope <command> --help` prints it in `columns` columns. */
export function helpTexts(subcommands: readonly Subcommand[], columns = 70): { program: Command; top: string; commands: { name: string; help: string }[] } {
  const stdout = capture(columns);
  const io: CliIo = { stdout, stderr: stdout, stdin: process.stdin };
  const program = buildProgram({ io, exitCode: 0 }, subcommands);
  program.outputHelp();
  const top = stdout.text;
  const commands = program.commands
    .filter((c) => c.name() !== 'help')
    .map((c) => {
      stdout.text = '';
      c.outputHelp();
      return { name: c.name(), help: stdout.text };
    });
  return { program, top, commands };
}

export interface ManOptions {
  version: string;
  /** Date in the title line (YYYY-MM-DD); '' leaves it out, for reproducible builds. */
  date?: string;
}

/** The man page (roff, man macros). */
export function manPage(subcommands: readonly Subcommand[], o: ManOptions): string {
  const { program, commands } = helpTexts(subcommands);
  const pre = (t: string) => `.PP\n.nf\n.RS 2\n${roffText(t.trimEnd())}\n.RE\n.fi\n`;
  let out = `.TH TUNNELSCOPE 1 "${o.date ?? ''}" "tunnelscope ${roffText(o.version)}" "User Commands"\n`;
  out += `.SH NAME\ntunnelscope \\- ${roffText(program.description().replace(/\.$/, ''))}\n`;
  out += `.SH SYNOPSIS\n`;
  for (const c of commands) out += `.B tunnelscope ${roffText(c.name)}\n${roffText(c.help.split('\n')[0]!.replace(/^Usage: tunnelscope \S+ ?/, ''))}\n.br\n`;
  out += `.B tunnelscope\n\\-V | \\-\\-version | \\-h | \\-\\-help | help [command]\n`;
  out += `.SH DESCRIPTION\n${roffText(program.description())}\n.PP\nOne command per run; each is described below with its options, exactly as its \\fB\\-\\-help\\fR prints them. Data goes to stdout, diagnostics and progress to stderr.\n`;
  out += `.SH COMMANDS\n`;
  for (const c of commands) out += `.SS ${roffText(c.name)}\n${pre(c.help)}`;
  out += `.SH EXIT STATUS\n.TP\n0\nsuccess (also for \\fB\\-\\-help\\fR and \\fB\\-V\\fR)\n.TP\n1\nan unexpected failure\n.TP\n2\nbad usage, an unreadable or corrupt capture (the message names the byte offset) or a bad list (file:line)\n`;
  out += `.SH FILES\n.TP\n.I data/vpn\\-domains.txt\nthe bundled VPN\\-provider domain list (in the package), used unless \\fB\\-\\-no\\-default\\-domains\\fR\n`;
  out += `.SH SEE ALSO\n.BR tcpdump (1),\n.BR tshark (1),\n.BR zeek\\-cut (1),\n.BR nfdump (1),\n.BR nfcapd (1)\n`;
  return out;
}
