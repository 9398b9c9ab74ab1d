#!/usr/bin/env node
/**
 * `loomwatch <command> …`: one entry point for every Loomwatch command. Each command is the
 * service's or tool's own compiled entry, run as a child with the remaining arguments (so
 * `loomwatch worker --help` is the worker's help); the exit code and signals pass through.
 * Commander lists the commands and refuses an unknown one (exit 2).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { COMMANDS } from './commands.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

function run(name: string, entry: string, args: readonly string[]): void {
  const path = join(REPO_ROOT, entry);
  if (!existsSync(path)) {
    process.stderr.write(`loomwatch: ${entry} is not built: run pnpm build (or make install) first\n`);
    process.exit(2);
  }
  // The child names itself by how it was run, in its usage and errors.
  const child = spawn(process.execPath, [path, ...args], { stdio: 'inherit', env: { ...process.env, LOOMWATCH_COMMAND: `loomwatch ${name}` } });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal === null ? 1 : 128 + 15)));
}

const program = new Command('loomwatch')
  .description('Streaming visual inspection: every command, one entry point. `loomwatch <command> --help` shows a command\'s options.')
  .usage('<command> [options]')
  .showHelpAfterError('(loomwatch --help lists the commands)')
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
program.addHelpText('after', '\nexamples:\n  loomwatch gateway simulate --set simulator.framesPerCamera=5\n  loomwatch worker --help\n  loomwatch rollout status --model draem-aitex');

try {
  program.parse();
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
  throw err;
}
