/**
 * How every Loomwatch command line reads, on commander: `--help` prints the usage, options with
 * their defaults and an example, and exits 0; anything it cannot parse is one line on stderr that
 * names the problem and where the help is, and exit 2 — never a stack trace.
 */
import { Argument, Command, CommanderError } from 'commander';
import type { z } from 'zod';
import { LoomwatchError, toLoomwatchError, type ErrorCode } from '@loomwatch/contracts';
import { settingsHelp } from './settings-help.js';

export interface CommandSpec {
  /** How a person runs it outside `loomwatch`, e.g. `pnpm worker`. */
  name: string;
  /** One or two sentences: what it does. */
  summary: string;
  /** Whole command lines, shown under the options. */
  examples: readonly string[];
  /** Lines after the examples: exit codes, where the settings are documented. */
  notes?: readonly string[];
}

/** The name the command was run by: `loomwatch worker` under the `loomwatch` command, else its own. */
export function commandName(name: string): string {
  return process.env['LOOMWATCH_COMMAND'] ?? name;
}

/** Adds the examples and notes to the end of `command`'s help. */
export function addExamples(command: Command, spec: Pick<CommandSpec, 'examples' | 'notes'>): Command {
  const lines = ['', 'examples:', ...spec.examples.map((example) => `  ${example}`)];
  if (spec.notes !== undefined && spec.notes.length > 0) lines.push('', ...spec.notes);
  return command.addHelpText('after', lines.join('\n'));
}

/**
 * A command that throws instead of exiting and prints no errors of its own (the caller prints the
 * one line); subcommands made with `.command()` inherit both.
 */
export function newCommand(spec: CommandSpec): Command {
  const command = new Command(commandName(spec.name))
    .description(spec.summary)
    .helpOption('-h, --help', 'show this help')
    .helpCommand(false)
    .exitOverride()
    .configureOutput({ writeErr: () => undefined })
    .allowExcessArguments(false);
  return addExamples(command, spec);
}

/** For repeatable options: `.option('--set <path=value>', '…', collect)`; the value is undefined when none was given. */
export function collect(value: string, previous: readonly string[] = []): string[] {
  return [...previous, value];
}

/**
 * Parses `argv` (the arguments after the command's name). 'help' when the help was printed;
 * a mistake is a LoomwatchError with `code` and one line that names it.
 */
export function parseCommand(command: Command, argv: readonly string[], code: ErrorCode = 'CONFIG_INVALID'): 'help' | 'parsed' {
  try {
    command.parse([...argv], { from: 'user' });
    return 'parsed';
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    if (err.exitCode === 0) return 'help';
    if (err.code === 'commander.missingArgument') {
      const missing = command.registeredArguments.find((argument) => argument.required && argument.argChoices !== undefined);
      if (missing !== undefined) throw new LoomwatchError(code, `say which ${missing.name()}: ${missing.argChoices?.join(', ')}`);
    }
    if (err.code === 'commander.help') {
      // A command of subcommands run without one.
      const names = command.commands.map((sub) => sub.name());
      throw new LoomwatchError(code, `say which subcommand: ${names.join(', ')}`);
    }
    throw new LoomwatchError(code, err.message.replace(/^error: /, '').replace(/\n[\s\S]*$/, ''));
  }
}

/** Bad usage or config: one line on stderr that says where the help is, and exit 2. */
export function exitWithUsageError(name: string, problem: string): never {
  process.stderr.write(`${name}: ${problem} (${name} --help shows the options and an example)\n`);
  process.exit(2);
}

/** Where a runtime failure is recorded besides stderr: the service's JSON log. */
export interface FailureLog {
  /** A pino logger fits. */
  logger: {
    fatal(fields: Record<string, unknown>, message: string): void;
    debug(fields: Record<string, unknown>, message: string): void;
  };
  /** What failed, put before the message in the log: `worker failed to start`. */
  failed: string;
}

/** Node's error for a port it could not listen on, if `err` is (or wraps) one. */
function listenError(err: unknown): (Error & { code: string; address?: string; port?: number }) | undefined {
  for (let inner = err, depth = 0; inner instanceof Error && depth < 8; inner = inner.cause, depth++) {
    const code = (inner as { code?: unknown }).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') return inner as Error & { code: string };
  }
  return undefined;
}

/** Anything a command failed with, as the error its one line reports: a port it could not listen on is a setting to change. */
function failure(err: unknown): LoomwatchError {
  const listen = err instanceof LoomwatchError ? undefined : listenError(err);
  if (listen === undefined) return toLoomwatchError(err);
  const where = listen.address === undefined ? 'its port' : `${listen.address}:${listen.port ?? '?'}`;
  const problem = listen.code === 'EADDRINUSE' ? `${where} is already in use` : `cannot listen on ${where} (${listen.code})`;
  return new LoomwatchError('CONFIG_INVALID', `${problem}: stop what holds it, or give this command another port (its own port setting, or ops.port for /healthz and /metrics)`, { cause: err });
}

/**
 * A runtime failure — at start (a broker down, a refused login or ACL, S3 refused, no model, a port
 * in use) or later — as one line on stderr, `<name>: <CODE>: <what is wrong and what to do>`, and
 * exit 1. With the service's log, the line is also logged at fatal level and the whole cause (the
 * client's nested errors and stacks) at debug level, kept out of the way of a person reading stderr.
 */
export function exitWithRuntimeError(name: string, err: unknown, log?: FailureLog): never {
  const error = failure(err);
  const message = error.message.replace(/\s*\n\s*/g, ' ');
  log?.logger.debug({ code: error.code, err: error.cause ?? error }, 'the failure in full');
  log?.logger.fatal({ code: error.code }, `${log.failed}: ${message}`);
  process.stderr.write(`${name}: ${error.code}: ${message}\n`);
  process.exit(1);
}

/**
 * `parseCommand` for an entry point: exits 0 after the help, 2 after a mistake, named by the
 * subcommand it was made in (`loomwatch rollout set: …`).
 */
export function parseOrExit(command: Command, argv: readonly string[] = process.argv.slice(2)): void {
  let name = command.name();
  command.hook('preSubcommand', (_command, subcommand) => {
    name = `${command.name()} ${subcommand.name()}`;
  });
  try {
    if (parseCommand(command, argv) === 'help') process.exit(0);
  } catch (err) {
    if (!(err instanceof LoomwatchError)) throw err;
    exitWithUsageError(name, err.message);
  }
}

/**
 * A command whose subcommands each parse their own arguments (with their own `--help`): which one
 * was named, and the arguments after it. Exits 0 after the help (or with no subcommand named after
 * it), 2 after a mistake.
 */
export function chooseSubcommand<S extends string>(spec: CommandSpec & { subcommands: readonly (readonly [S, string])[] }): { name: S; argv: string[] } {
  let chosen: { name: S; argv: string[] } | undefined;
  const program = newCommand(spec);
  for (const [sub, description] of spec.subcommands) {
    program
      .command(sub)
      .description(description)
      .helpOption(false)
      .allowUnknownOption()
      .allowExcessArguments()
      .argument('[options...]', `see ${spec.name} ${sub} --help`)
      .action((argv: string[]) => {
        chosen = { name: sub, argv };
      });
  }
  parseOrExit(program);
  if (chosen === undefined) process.exit(0);
  return chosen;
}

export interface ServiceCommand extends CommandSpec {
  /** The first word it takes (the gateway's mode); none when absent. */
  modes?: readonly string[];
  /** Its config schema: the help lists every key of it with its default. */
  settings: z.ZodType;
  /** Where its settings are documented (what each means). */
  reference: string;
}

export interface ServiceArgs {
  configFiles: string[];
  overrides: string[];
  mode: string | undefined;
}

/** The command line every service shares: `[mode] [--config FILE]... [--set path=value]...`. */
export function serviceCommand(spec: ServiceCommand): Command {
  const command = newCommand({
    ...spec,
    notes: [
      ...(spec.notes ?? []),
      ...settingsHelp(spec.settings),
      '',
      `Settings also come from the environment (LOOMWATCH_<SECTION>__<KEY> and the standard variables, README "Configuration"); what each means: ${spec.reference}.`,
      'Exit codes: 0 stopped cleanly, 1 runtime failure, 2 bad usage or configuration.',
    ],
  })
    .option('--config <file>', 'a YAML config file (repeatable; a later file wins)', collect)
    .option('--set <path=value>', 'one setting, over files and environment (repeatable)', collect);
  if (spec.modes !== undefined) command.addArgument(new Argument('<mode>', 'what it runs').choices(spec.modes));
  return command;
}

/** Parses a service's command line, exiting 0 after `--help` and 2 (one line) after a mistake. */
export function parseServiceArgs(spec: ServiceCommand, argv: readonly string[] = process.argv.slice(2)): ServiceArgs {
  const command = serviceCommand(spec);
  parseOrExit(command, argv);
  const options = command.opts<{ config?: string[]; set?: string[] }>();
  return { configFiles: options.config ?? [], overrides: options.set ?? [], mode: command.args[0] };
}
