import { z } from 'zod';
import { afterEach, describe, expect, it } from 'vitest';
import { LoomwatchError } from '@loomwatch/contracts';
import { collect, commandName, newCommand, parseCommand, serviceCommand } from './command-line.js';

const SPEC = { name: 'pnpm thing', summary: 'Does a thing.', examples: ['loomwatch thing --size 3'], notes: ['Exit codes: 0, 1, 2.'] };

/** A command whose help goes to `out` instead of stdout. */
function quiet<T extends { configureOutput(config: { writeOut(text: string): void }): unknown }>(command: T, out: string[]): T {
  command.configureOutput({ writeOut: (text: string) => void out.push(text) });
  return command;
}

function refusal(run: () => unknown): LoomwatchError {
  try {
    run();
  } catch (err) {
    if (err instanceof LoomwatchError) return err;
    throw err;
  }
  throw new Error('accepted');
}

afterEach(() => {
  delete process.env['LOOMWATCH_COMMAND'];
});

describe('newCommand and parseCommand', () => {
  it('prints the usage, options with defaults, examples and notes for --help, and says so', () => {
    const out: string[] = [];
    const command = quiet(newCommand(SPEC).option('--size <n>', 'how big', '2'), out);
    expect(parseCommand(command, ['--help'])).toBe('help');
    const help = out.join('');
    expect(help).toMatch(/^Usage: pnpm thing \[options\]/);
    expect(help).toContain('--size <n>  how big (default: "2")');
    expect(help).toContain('examples:\n  loomwatch thing --size 3');
    expect(help).toContain('Exit codes: 0, 1, 2.');
  });

  it('refuses an unknown option, a missing value and extra words with one line and the code asked for', () => {
    const command = (): ReturnType<typeof newCommand> => newCommand(SPEC).option('--size <n>', 'how big');
    const unknown = refusal(() => parseCommand(command(), ['--bogus'], 'REPLAY_INVALID'));
    expect(unknown).toMatchObject({ code: 'REPLAY_INVALID', message: "unknown option '--bogus'" });
    expect(refusal(() => parseCommand(command(), ['--size'])).message).toBe("option '--size <n>' argument missing");
    expect(refusal(() => parseCommand(command(), ['extra'])).message).toMatch(/^too many arguments/);
    expect(refusal(() => parseCommand(command(), ['extra'])).code).toBe('CONFIG_INVALID');
  });

  it('asks for a subcommand by name when none is given', () => {
    const command = newCommand(SPEC);
    command.command('status').action(() => undefined);
    command.command('set').action(() => undefined);
    expect(refusal(() => parseCommand(command, [])).message).toBe('say which subcommand: status, set');
  });

  it('names itself as run under loomwatch', () => {
    process.env['LOOMWATCH_COMMAND'] = 'loomwatch thing';
    expect(commandName('pnpm thing')).toBe('loomwatch thing');
    expect(newCommand(SPEC).name()).toBe('loomwatch thing');
  });

  it('collects a repeated option in order', () => {
    const command = newCommand(SPEC).option('--set <kv>', 'a setting', collect);
    parseCommand(command, ['--set', 'a=1', '--set', 'b=2']);
    expect(command.opts()).toEqual({ set: ['a=1', 'b=2'] });
  });
});

describe('serviceCommand', () => {
  const GATEWAY = { ...SPEC, name: 'pnpm gateway', modes: ['simulate', 'http'], settings: z.strictObject({ port: z.int().default(8080) }), reference: 'the README' };

  it('takes config files, settings and a mode', () => {
    const command = serviceCommand(GATEWAY);
    expect(parseCommand(command, ['http', '--config', 'a.yaml', '--set', 'x.y=1', '--config', 'b.yaml'])).toBe('parsed');
    expect(command.opts()).toEqual({ config: ['a.yaml', 'b.yaml'], set: ['x.y=1'] });
    expect(command.args).toEqual(['http']);
  });

  it('lists the modes when none is given or an unknown one', () => {
    expect(refusal(() => parseCommand(serviceCommand(GATEWAY), [])).message).toBe('say which mode: simulate, http');
    expect(refusal(() => parseCommand(serviceCommand(GATEWAY), ['watch'])).message).toMatch(/'watch' is invalid.*simulate, http/);
  });

  it('lists its settings with their defaults and points at the reference in its help', () => {
    const out: string[] = [];
    expect(parseCommand(quiet(serviceCommand(GATEWAY), out), ['-h'])).toBe('help');
    expect(out.join('')).toContain('settings (--set key=value) and their defaults:\n  port  8080\n');
    expect(out.join('')).toContain('what each means: the README.');
  });
});
