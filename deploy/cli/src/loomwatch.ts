#!/usr/bin/env node
/**
 * `loomwatch <command> …`: one entry point for every Loomwatch command. Each command is the
 * service's or tool's own compiled entry, run in this process with the remaining arguments (so
 * `loomwatch worker --help` is the worker's help, and a signal sent to `loomwatch` — a terminal's
 * Ctrl-C, a supervisor's SIGTERM — reaches the command once, as it would reach `node <entry>`).
 * `loomwatch bench <name>` runs a benchmark from its source with tsx; `loomwatch completion`
 * prints a bash completion script. Commander lists the commands and refuses an unknown one (exit 2).
 * `bin/loomwatch` (the command a person runs, `pnpm loomwatch`) checks the Node version and builds
 * the workspace first when it is stale.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Command, CommanderError } from 'commander';
import { BENCHES, COMMANDS } from './commands.js';
import { bashCompletion } from './completion.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** Bad usage of loomwatch itself: one line, exit 2. */
function usageError(problem: string): never {
  process.stderr.write(`loomwatch: ${problem} (loomwatch --help lists the commands)\n`);
  process.exit(2);
}

/** The absolute path of a compiled entry, refusing one that is not built. */
function entryPath(entry: string): string {
  const path = join(REPO_ROOT, entry);
  if (!existsSync(path)) usageError(`${entry} is not built: run pnpm build (or make install) first`);
  return path;
}

/**
 * Runs `<entry> <args…>` as `loomwatch <name>` in this process: no process in between to forward a
 * signal the command already got from its process group (which a service would count as a second).
 */
function run(name: string, entry: string, args: readonly string[]): void {
  const path = entryPath(entry);
  // The command names itself by how it was run, in its usage and errors, and reads its own arguments.
  process.env['LOOMWATCH_COMMAND'] = `loomwatch ${name}`;
  process.argv = [process.argv[0] ?? process.execPath, path, ...args];
  import(pathToFileURL(path).href).catch((err: unknown) => {
    // What `node <entry>` does with an error thrown while loading: print it, exit 1.
    console.error(err);
    process.exit(1);
  });
}

/** Runs a benchmark's tsx as a child, passing signals in and the exit code out. */
function runBench(name: string, file: string, args: readonly string[]): void {
  const child = spawn(process.execPath, [entryPath('node_modules/tsx/dist/cli.mjs'), '--conditions=@loomwatch/source', join(REPO_ROOT, file), ...args], {
    stdio: 'inherit',
    env: { ...process.env, LOOMWATCH_COMMAND: `loomwatch bench ${name}` },
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal === null ? 1 : 128 + 15)));
}

const program = new Command('loomwatch')
  .description('Streaming visual inspection: every command, one entry point. `loomwatch <command> --help` shows a command\'s options.')
  .usage('<command> [options]')
  // The command list shows what each command takes (its usage), not the pass-through argument.
  .configureHelp({ subcommandTerm: (command) => `${command.name()} ${command.usage()}`.trim() })
  .helpOption('-h, --help', 'show this help')
  .helpCommand(false)
  .configureOutput({ writeErr: () => undefined })
  .exitOverride();
for (const command of COMMANDS) {
  program
    .command(command.name)
    .usage(command.args)
    .description(command.description)
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .argument('[arguments...]')
    .action((args: string[]) => run(command.name, command.entry, args));
}
const benchList = Object.entries(BENCHES).map(([name, bench]) => `  ${name.padEnd(10)} ${bench.description}`);
program
  .command('bench')
  .usage('<name> [options]')
  .description(`run a benchmark: ${Object.keys(BENCHES).join(', ')} (loomwatch bench <name> --help)`)
  .helpOption(false)
  .allowUnknownOption()
  .allowExcessArguments()
  .argument('[name]')
  .argument('[arguments...]')
  .action((name: string | undefined, args: string[]) => {
    if (name === undefined) usageError(`say which benchmark: ${Object.keys(BENCHES).join(', ')}`);
    if (name === '--help' || name === '-h') {
      process.stdout.write(['usage: loomwatch bench <name> [options]', '', ...benchList, '', 'example: loomwatch bench inference --frames 8 --reps 3'].join('\n') + '\n');
      process.exit(0);
    }
    const bench = BENCHES[name];
    if (bench === undefined) usageError(`unknown benchmark "${name}": use one of ${Object.keys(BENCHES).join(', ')}`);
    runBench(name, bench.file, args);
  });
program
  .command('completion')
  .description('print a bash completion script: eval "$(loomwatch completion)"')
  .action(() => {
    process.stdout.write(bashCompletion());
  });
program.addHelpText('after', '\nexamples:\n  loomwatch gateway simulate --set simulator.framesPerCamera=5\n  loomwatch worker --help\n  loomwatch rollout status --model draem-aitex');

try {
  program.parse();
} catch (err) {
  if (!(err instanceof CommanderError)) throw err;
  if (err.exitCode === 0) process.exit(0);
  if (err.code === 'commander.help') usageError(`say which command: ${program.commands.map((command) => command.name()).join(', ')}`);
  usageError(err.message.replace(/^error: /, ''));
}
