/**
 * Every service's command line, as deployed (`node <service>/dist/main.js`): `--help` prints the
 * usage and exits 0; an unknown option and an unknown setting are one line on stderr naming them,
 * exit 2, never a stack trace.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { builtEntry } from './build.js';
import { REPO_ROOT } from './infra.js';

const SERVICES: [string, string, string[]][] = [
  ['pnpm worker', 'services/inference-worker/dist/main.js', []],
  ['pnpm gateway', 'services/camera-gateway/dist/main.js', ['simulate']],
  ['pnpm alerting', 'services/alerting/dist/main.js', []],
  ['pnpm drift', 'services/drift-monitor/dist/main.js', []],
  ['pnpm api', 'services/inference-api/dist/main.js', []],
  ['pnpm dashboard', 'services/dashboard/dist/main.js', []],
];

function run(entry: string, args: string[]) {
  return spawnSync(process.execPath, [builtEntry(entry), ...args], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 30_000, env: { ...process.env, LOG_LEVEL: 'silent' } });
}

describe.each(SERVICES)('%s', (name, entry, mode) => {
  it('answers --help with its usage, options and an example, exit 0', () => {
    const help = run(entry, ['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(new RegExp(`^usage: ${name}`));
    expect(help.stdout).toContain('--config FILE');
    expect(help.stdout).toContain('example: ');
  });

  it('refuses an unknown option and an unknown setting with one line naming it, exit 2', () => {
    const option = run(entry, [...mode, '--bogus']);
    expect(option.status).toBe(2);
    expect(option.stderr.split('\n')[0]).toBe(`${name}: Unknown option '--bogus'`);
    const setting = run(entry, [...mode, '--set', 'nope.key=1']);
    expect(setting.status).toBe(2);
    expect(setting.stderr.trim().split('\n')).toHaveLength(1);
    expect(setting.stderr).toContain(`${name}: invalid configuration — nope: unknown setting`);
    for (const text of [option.stderr, setting.stderr]) expect(text).not.toMatch(/^\s+at /m);
  });
});

describe.each([
  ['rollout', 'services/inference-worker/dist/rollout-cli.js', ['set']],
  ['verdicts', 'services/alerting/dist/verdicts-cli.js', ['tail']],
])('the %s command', (name, entry, subcommand) => {
  it('answers --help with its usage (exit 0), and an unknown option with one line and the usage (exit 2)', () => {
    const help = run(entry, [...subcommand, '--help']);
    expect(help.status).toBe(0);
    expect(help.stdout + help.stderr).toMatch(new RegExp(`usage: ${name} `));
    const option = run(entry, [...subcommand, '--bogus']);
    expect(option.status).toBe(2);
    expect(option.stderr.split('\n')[0]).toBe(`${name}: Unknown option '--bogus'`);
    expect(option.stderr).not.toMatch(/^\s+at /m);
  });
});

describe('loomwatch, the one command', () => {
  const CLI = 'deploy/cli/dist/loomwatch.js';

  it('lists every command, runs one with its own help and errors, and refuses an unknown one with exit 2', () => {
    const help = run(CLI, ['--help']);
    expect(help.status).toBe(0);
    for (const name of ['worker', 'gateway', 'alerting', 'drift', 'dashboard', 'api', 'verdicts', 'rollout', 'replay', 'infer', 'soak', 'demo']) {
      expect(help.stdout).toMatch(new RegExp(`^  ${name} `, 'm'));
    }
    const worker = run(CLI, ['worker', '--help']);
    expect(worker.status).toBe(0);
    expect(worker.stdout).toMatch(/^usage: loomwatch worker /);
    const bogus = run(CLI, ['worker', '--bogus']);
    expect(bogus.status).toBe(2);
    expect(bogus.stderr.split('\n')[0]).toBe("loomwatch worker: Unknown option '--bogus'");
    const unknown = run(CLI, ['nope']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr.split('\n')[0]).toBe("error: unknown command 'nope'");
  });
});
