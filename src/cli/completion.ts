/**
 * Shell completion generated from the program's own command definitions (commander's commands, options and
 * arguments), so it cannot drift from the CLI: `tunnelscope completion bash` prints a bash completion script.
 *
 * Commands nest one level (`lists publish`, `fleet stats`): each command path completes its own flags and values.
 * Values: options whose placeholder names a file (`<FILE>`) and capture operands complete file names; options with
 * a fixed set of values complete those (VALUE_WORDS: the format registries, `--only vpn`, `--emit`); other values
 * (numbers, URLs) get no suggestion rather than a wrong one.
 */
import type { Command, Option } from 'commander';
import { EMIT_VALUES, FLEET_STATS_FORMATS, FLEET_SUBMIT_FORMATS, UsageError } from './args.js';
import { CLASSIFY_FORMATS } from './records.js';
import { FLOWS_FORMATS } from './flows.js';
import { action, subcommand, type CliContext, type Subcommand } from './program.js';

const NAME = 'completion';
export const SHELLS = ['bash'] as const;

/** Fixed value sets per command path (`classify`, `fleet stats`) and option (long flag). */
const VALUE_WORDS: Readonly<Record<string, Readonly<Record<string, () => readonly string[]>>>> = {
  classify: { '--format': () => CLASSIFY_FORMATS.map((f) => f.name), '--only': () => ['vpn'], '--emit': () => EMIT_VALUES },
  flows: { '--format': () => FLOWS_FORMATS.map((f) => f.name) },
  'fleet stats': { '--format': () => FLEET_STATS_FORMATS },
  'fleet submit': { '--format': () => FLEET_SUBMIT_FORMATS },
};

/** Fixed operand words per command path (others with operands complete file names). */
const OPERAND_WORDS: Readonly<Record<string, readonly string[]>> = { completion: SHELLS };

/** Every flag of an option (`-q`, `--quiet`). */
function flagsOf(o: Option): string[] {
  return [o.short, o.long].filter((x): x is string => typeof x === 'string');
}

/** Shell-safe word list (the words are the CLI's own names: letters, digits, '-', '_'). */
function words(list: readonly string[]): string {
  for (const w of list) if (!/^[A-Za-z0-9_.:-]+$/.test(w)) throw new Error(`completion: unexpected word ${JSON.stringify(w)}`);
  return list.join(' ');
}

/** Commands other than commander's implicit `help`. */
function commandsOf(c: Command): Command[] {
  return c.commands.filter((s) => s.name() !== 'help');
}

/*
 * Candidates go into COMPREPLY one per line through _tunnelscope_reply, never through `COMPREPLY=($(…))`: that form
 * splits a file name at its spaces and expands `*`, `?` and `[…]` in it against the current directory, so
 * `my trace.pcap` was offered as `my` and `trace.pcap`, and `[a].pcap` as `a.pcap`, another file.
 */
const REPLY_WORDS = (list: readonly string[]): string => `_tunnelscope_reply < <(compgen -W "${words(list)}" -- "$cur")`;
const REPLY_FILES = '_tunnelscope_reply < <(compgen -f -- "$cur")';

/** The `case` arm completing the words after command path `path` (`classify`, `fleet stats`). */
function commandCase(c: Command, path: string): string {
  const opts = [...c.options];
  const flags = [...opts.flatMap(flagsOf), '-h', '--help'];
  const fileOpts: string[] = [], valueOpts: string[] = [], optionalOpts: string[] = [], choice: string[] = [];
  for (const o of opts) {
    if (!o.required && !o.optional) continue; // a switch
    const f = flagsOf(o);
    // `--lists-from [BUCKET]`: the next word may be the value or already the next flag.
    if (o.optional) { optionalOpts.push(...f); continue; }
    const fixed = o.long ? (VALUE_WORDS[path]?.[o.long]?.() ?? o.argChoices) : o.argChoices;
    if (fixed && fixed.length) choice.push(`        ${f.join('|')}) ${REPLY_WORDS(fixed)}; return ;;`);
    else if (/FILE/.test(o.flags)) fileOpts.push(...f);
    else valueOpts.push(...f);
  }
  const subs = commandsOf(c).map((s) => s.name());
  const operandWords = subs.length > 0 ? [...subs, 'help'] : OPERAND_WORDS[path];
  const operands = operandWords ? `else ${REPLY_WORDS(operandWords)}` : c.registeredArguments.length > 0 ? `else ${REPLY_FILES}` : 'else COMPREPLY=()';
  const arms = [
    ...choice,
    ...(fileOpts.length ? [`        ${fileOpts.join('|')}) ${REPLY_FILES}; return ;;`] : []),
    ...(valueOpts.length ? [`        ${valueOpts.join('|')}) return ;;`] : []),
    ...(optionalOpts.length ? [`        ${optionalOpts.join('|')}) [[ "$cur" == -* ]] || return ;;`] : []),
  ];
  const prevCase = arms.length === 0 ? '' : `      case "$prev" in\n${arms.join('\n')}\n      esac\n`;
  return `    "${path}")
${prevCase}      if [[ "$cur" == -* ]]; then ${REPLY_WORDS(flags)}
      ${operands}; fi
      return ;;
`;
}

/** The bash completion script for `program`. */
export function bashCompletion(program: Command): string {
  const cmds = commandsOf(program);
  const names = cmds.map((c) => c.name());
  const top = [...names, 'help', '-V', '--version', '-h', '--help'];
  // How the command path grows word by word: "" → `fleet` → `fleet stats`; a word after a full path is an operand
  // or an option's value, even when it is spelled like a command.
  const steps: string[] = [`      "|${names.join('"|"|')}"|"|help") cmd="$w" ;;`];
  let cases = '';
  for (const c of cmds) {
    cases += commandCase(c, c.name());
    const subs = commandsOf(c);
    if (subs.length === 0) continue;
    steps.push(`      ${[...subs.map((s) => s.name()), 'help'].map((s) => `"${c.name()}|${s}"`).join('|')}) cmd="$cmd $w" ;;`);
    steps.push(`      "help|${c.name()}") cmd="${c.name()} help" ;;`); // \`help fleet <TAB>\`: fleet's subcommands
    cases += `    "${c.name()} help") ${REPLY_WORDS(subs.map((s) => s.name()))}; return ;;\n`;
    for (const s of subs) cases += commandCase(s, `${c.name()} ${s.name()}`);
  }
  return `# bash completion for tunnelscope, generated by \`tunnelscope completion bash\` from its command definitions.
# Use: source <(tunnelscope completion bash), or save it as /etc/bash_completion.d/tunnelscope
_tunnelscope_reply() {
  local w
  COMPREPLY=()
  while IFS= read -r w; do COMPREPLY+=("$w"); done
}
_tunnelscope() {
  local cur prev cmd i w
  COMPREPLY=()
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  # \`--format=ze\`: bash splits the word at '=' (COMP_WORDBREAKS), so the flag is one word further back.
  if [[ "$cur" == "=" ]]; then cur=""
  elif [[ "$prev" == "=" && COMP_CWORD -gt 1 ]]; then prev="\${COMP_WORDS[COMP_CWORD-2]}"; fi
  cmd=""
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    case "$cmd|$w" in
${steps.join('\n')}
    esac
  done
  case "$cmd" in
    "") ${REPLY_WORDS(top)}; return ;;
    help) ${REPLY_WORDS(names)}; return ;;
${cases}  esac
}
complete -o filenames -o bashdefault -F _tunnelscope tunnelscope
`;
}

export const completionCommand: Subcommand = {
  name: NAME,
  define(program: Command, ctx: CliContext): Command {
    return subcommand(program, ctx, NAME, 'print a shell completion script (bash)')
      .argument('<shell>', `shell to complete for: ${SHELLS.join(', ')}`)
      .addHelpText('after', `\nExample:\n  source <(tunnelscope completion bash)    # or save it as /etc/bash_completion.d/tunnelscope\n`)
      .action(
        action(ctx, NAME, async (shell: string) => {
          if (shell !== 'bash') throw new UsageError(`unsupported shell ${JSON.stringify(shell)} (supported: ${SHELLS.join(', ')})`);
          ctx.io.stdout.write(bashCompletion(program));
          return 0;
        }),
      );
  },
};
