/**
 * The command line every service shares: `[--config FILE]... [--set path=value]...` (and, for the
 * gateway, its mode). `--help` prints the usage and exits 0; anything it cannot parse is one line on
 * stderr naming the problem, then the usage, and exit 2 — never a stack trace.
 */
import { parseArgs } from 'node:util';

export interface ServiceCommand {
  /** How a person runs it, e.g. `pnpm worker`. */
  name: string;
  /** One or two sentences: what it does. */
  summary: string;
  /** The first positional word it takes (the gateway's mode); none when absent. */
  modes?: readonly string[];
  example: string;
  /** Where its settings are documented. */
  reference: string;
}

export interface ServiceArgs {
  configFiles: string[];
  overrides: string[];
  mode: string | undefined;
}

/** The name the command was run by: `loomwatch worker` under the `loomwatch` command, else its own. */
function nameOf(command: ServiceCommand): string {
  return process.env['LOOMWATCH_COMMAND'] ?? command.name;
}

export function usageOf(command: ServiceCommand): string {
  const mode = command.modes === undefined ? '' : ` <${command.modes.join('|')}>`;
  return [
    `usage: ${nameOf(command)}${mode} [--config FILE]... [--set path.to.key=value]...`,
    '',
    command.summary,
    '',
    'options:',
    '  --config FILE          a YAML config file (repeatable; a later file wins)',
    '  --set path=value       one setting, over files and environment (repeatable)',
    '  -h, --help             this help',
    '',
    `Settings also come from the environment (LOOMWATCH_<SECTION>__<KEY> and the standard variables, README "Configuration"); every key with its default: ${command.reference}.`,
    '',
    `example: ${command.example}`,
  ].join('\n');
}

/** What node's argument parser says is wrong, without its long hint about positionals. */
export function argumentProblem(err: unknown): string {
  return err instanceof Error ? (err.message.split('. ')[0] ?? err.message) : String(err);
}

/** Bad usage or config: one line on stderr, then (for usage) the usage, and exit 2. */
export function exitWithUsageError(command: ServiceCommand, problem: string, showUsage = true): never {
  process.stderr.write(`${nameOf(command)}: ${problem}\n${showUsage ? `\n${usageOf(command)}\n` : ''}`);
  process.exit(2);
}

/** Parses `argv` (default: this process's arguments) for `command`. */
export function parseServiceArgs(command: ServiceCommand, argv: readonly string[] = process.argv.slice(2)): ServiceArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: command.modes !== undefined,
      options: {
        config: { type: 'string', multiple: true },
        set: { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    exitWithUsageError(command, argumentProblem(err));
  }
  if (parsed.values.help === true) {
    process.stdout.write(`${usageOf(command)}\n`);
    process.exit(0);
  }
  const mode = parsed.positionals[0];
  if (command.modes !== undefined) {
    if (mode === undefined) exitWithUsageError(command, `say which mode: ${command.modes.join(', ')}`);
    if (!command.modes.includes(mode) || parsed.positionals.length > 1) exitWithUsageError(command, `unknown mode "${parsed.positionals.join(' ')}": use one of ${command.modes.join(', ')}`);
  }
  return { configFiles: parsed.values.config ?? [], overrides: parsed.values.set ?? [], mode };
}
