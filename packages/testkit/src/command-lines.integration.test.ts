/**
 * Every command line, as `loomwatch <command>` runs it (the compiled entries; benchmarks from
 * source with tsx): `--help` prints the usage, options and an example, exit 0; an unknown option
 * and a missing or bad required setting are one line on stderr that names it and where the help
 * is, exit 2, never a stack trace. None of these reach Kafka or S3; a broker that does not answer
 * is one line that names it and what to do, exit 1.
 */
import { spawn, spawnSync } from 'node:child_process';
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { builtEntry } from './build.js';
import { REPO_ROOT } from './infra.js';

const CLI = 'deploy/cli/dist/loomwatch.js';

function loomwatch(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, [builtEntry(CLI), ...args], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000, env: { ...process.env, LOG_LEVEL: 'silent', ...env } });
}

/** Exit 2 and exactly one line on stderr, `loomwatch[ <who>]: <problem> (… --help …)`. */
function expectUsageError(result: ReturnType<typeof loomwatch>, who: string, problem: RegExp): void {
  expect(result.status, result.stderr).toBe(2);
  const lines = result.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(new RegExp(`^loomwatch${who === '' ? '' : ` ${who}`}: `));
  expect(lines[0]).toMatch(problem);
  expect(lines[0]).toMatch(/--help/);
}

/** [the command's words, extra words before a bad option, a command line missing or breaking a required setting, what that line says] */
const COMMANDS: [string, string[], string[], RegExp][] = [
  ['worker', [], ['--set', 'worker.maxInFlight=0'], /worker\.maxInFlight/],
  ['gateway', ['simulate'], ['hot-folder', '--set', 'ops.port=0'], /hot-folder mode needs hotFolder\.dir/],
  ['alerting', [], ['--set', 'nope.key=1'], /nope: unknown setting/],
  ['drift', [], ['--set', 'nope.key=1'], /nope: unknown setting/],
  ['dashboard', [], ['--set', 'dashboard.port=-1'], /dashboard\.port/],
  ['api', [], ['--set', 'api.port=x'], /api\.port/],
  ['verdicts tail', [], ['--to-end'], /add --from-beginning/],
  ['rollout status', [], ['--model'], /option '--model <name>' argument missing/],
  ['rollout set', [], ['--shadow', '1.2.0', '--shadow-sample', '2', '--dry-run'], /--shadow-sample must be a share between 0 and 1/],
  ['topics apply', [], ['--partitions', 'frames.v1'], /--partitions takes TOPIC=COUNT/],
  ['replay run', [], ['--from', 'earliest'], /--model is required/],
  ['replay report', [], [], /--replay-topic is required/],
  ['dataset snapshot', [], ['--parent', 'latest'], /--parent latest is not a snapshot id/],
  ['dataset pull', ['3f9c0a', '--out', 'data'], ['3f9c0a'], /required option '--out <dir>' not specified/],
  ['dataset list', [], ['--bucket', 'A_B'], /--bucket A_B is not an S3 bucket name/],
  ['retrain run', [], ['--set', 'policy.falseAlarms=0'], /policy\.falseAlarms/],
  ['retrain request', ['--model', 'm'], [], /required option '--model <name>' not specified/],
  ['infer', ['x.png'], [], /missing required argument 'images'/],
  ['soak', [], ['--frames', 'many'], /--frames many: expected a number/],
  ['demo', [], ['--set', 'lines=0'], /lines/],
  ['bench inference', [], ['--frames'], /argument missing/],
];

describe.each(COMMANDS)('loomwatch %s', (command, before, missing, problem) => {
  const words = command.split(' ');

  it('answers --help with its usage, options and an example, exit 0', () => {
    const help = loomwatch([...words, '--help']);
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toMatch(new RegExp(`^Usage: loomwatch ${command} `));
    expect(help.stdout).toMatch(/^Options:$/m);
    expect(help.stdout).toMatch(/^examples:\n {2}\S/m);
  });

  it('refuses an unknown option with one line, exit 2', () => {
    expectUsageError(loomwatch([...words, ...before, '--bogus']), command, /unknown option '--bogus'/);
  });

  it('refuses a missing or bad setting with one line naming it, exit 2', () => {
    expectUsageError(loomwatch([...words, ...missing]), command, problem);
  });
});

/** [a service's words, one of its settings with the default its help must show] */
const SERVICES: [string, string, string][] = [
  ['worker', 'worker.maxInFlight', '3'],
  ['gateway simulate', 'gateway.topic', 'frames.v1'],
  ['alerting', 'alerting.tickMs', '5000'],
  ['drift', 'window.inputFrames', '16'],
  ['dashboard', 'kafka.brokers', '127.0.0.1:19092'],
  ['api', 'api.port', '8090'],
];

describe.each(SERVICES)('loomwatch %s --help', (command, key, value) => {
  it('lists every setting with its default, from the config schema', () => {
    const help = loomwatch([...command.split(' '), '--help']);
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/^settings \(--set key=value\) and their defaults:$/m);
    expect(help.stdout).toMatch(new RegExp(`^  ${key.replace(/\./g, '\\.')} +${value.replace(/\./g, '\\.')}$`, 'm'));
    expect(help.stdout).toMatch(/^ {2}ops\.port +\d+$/m);
    expect(help.stdout).toMatch(/^ {2}log\.level +info$/m);
  });
});

describe('loomwatch rollout set --false-alarm-rate', () => {
  // No broker listens here: a usage error (exit 2), not BROKER_UNAVAILABLE (exit 1), shows the change was checked before connecting.
  const noBroker = { KAFKA_BROKERS: '127.0.0.1:1' };

  it('refuses a rate outside 0.001 to 0.2, or not a number, with one line before connecting, exit 2', () => {
    for (const rate of ['0.5', '0.0001', 'low']) {
      expectUsageError(loomwatch(['rollout', 'set', '--false-alarm-rate', rate, '--line', 'line-2'], noBroker), 'rollout set', new RegExp(`--false-alarm-rate must be a share between 0\\.001 and 0\\.2 .*, not ${rate} `));
    }
  });

  it('refuses --line without a rate with one line before connecting, exit 2', () => {
    expectUsageError(loomwatch(['rollout', 'set', '--line', 'line-2'], noBroker), 'rollout set', /--line line-2 needs --false-alarm-rate <rate\|default>/);
  });
});

describe('a broker that does not answer', () => {
  /** Runs `loomwatch args` against a port nothing listens on; resolves with its exit code and stderr. */
  function withoutBroker(args: string[]): Promise<{ status: number | null; stderr: string }> {
    const child = spawn(process.execPath, [builtEntry(CLI), ...args], { cwd: REPO_ROOT, env: { ...process.env, LOG_LEVEL: 'silent', KAFKA_BROKERS: '127.0.0.1:1' } });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    return new Promise((resolve) => child.on('close', (status) => resolve({ status, stderr })));
  }

  it('is one line naming the brokers and what to do, exit 1, never a stack trace', async () => {
    const runs = [
      ['rollout status', ['rollout', 'status']],
      ['verdicts tail', ['verdicts', 'tail', '--from-beginning', '--to-end']],
      ['verdicts tail', ['verdicts', 'tail']],
      ['topics apply', ['topics', 'apply', '--check']],
      ['dataset snapshot', ['dataset', 'snapshot']],
      ['retrain request', ['retrain', 'request', '--model', 'patchcore-aitex']],
    ] as const;
    const results = await Promise.all(runs.map(async ([who, args]) => ({ who, ...(await withoutBroker([...args])) })));
    for (const { who, status, stderr } of results) {
      expect(status, stderr).toBe(1);
      expect(stderr.trim().split('\n')).toEqual([
        expect.stringMatching(new RegExp(`^loomwatch ${who}: BROKER_UNAVAILABLE: no Kafka broker answers at 127\\.0\\.0\\.1:1 \\(connect ECONNREFUSED 127\\.0\\.0\\.1:1\\): start the brokers .* or point kafka\\.brokers \\(KAFKA_BROKERS\\) at yours$`)),
      ]);
    }
  }, 60_000);
});

describe('loomwatch itself', () => {
  it('lists every command with its arguments', () => {
    const help = loomwatch(['--help']);
    expect(help.status).toBe(0);
    for (const name of ['worker', 'gateway', 'alerting', 'drift', 'dashboard', 'api', 'verdicts', 'rollout', 'replay', 'dataset', 'retrain', 'topics', 'infer', 'soak', 'demo', 'bench', 'completion']) {
      expect(help.stdout).toMatch(new RegExp(`^  ${name} `, 'm'));
    }
  });

  it('asks for a command, a subcommand, a mode or a benchmark by name when one is missing or unknown, exit 2', () => {
    expectUsageError(loomwatch([]), '', /say which command: worker, gateway/);
    expect(loomwatch(['nope']).stderr.trim()).toBe("loomwatch: unknown command 'nope' (loomwatch --help lists the commands)");
    expectUsageError(loomwatch(['rollout']), 'rollout', /say which subcommand: status, set/);
    expectUsageError(loomwatch(['replay']), 'replay', /say which subcommand: run, report/);
    expectUsageError(loomwatch(['dataset']), 'dataset', /say which subcommand: snapshot, pull, list/);
    expectUsageError(loomwatch(['retrain']), 'retrain', /say which subcommand: run, request/);
    expectUsageError(loomwatch(['topics']), 'topics', /say which subcommand: apply/);
    expectUsageError(loomwatch(['gateway']), 'gateway', /say which mode: simulate, hot-folder, http/);
    expectUsageError(loomwatch(['bench']), '', /say which benchmark: inference, pipeline, replay, api, kafka/);
    expectUsageError(loomwatch(['bench', 'nope']), '', /unknown benchmark "nope"/);
  });

  it('completes commands, subcommands and a command\'s options in bash', () => {
    // The command as deploy/cli/README.md installs it: its bin directory on PATH (and this run's Node).
    const bin = dirname(builtEntry('deploy/cli/bin/loomwatch'));
    const complete = (words: string[]): string[] => {
      const script = `eval "$(loomwatch completion)"; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _loomwatch; echo "\${COMPREPLY[*]}"`;
      const result = spawnSync('bash', ['-c', script], { encoding: 'utf8', env: { ...process.env, PATH: `${bin}:${dirname(process.execPath)}:${process.env['PATH'] ?? ''}` } });
      expect(result.status, result.stderr).toBe(0);
      return result.stdout.trim().split(' ');
    };
    expect(complete(['loomwatch', 'ro'])).toEqual(['rollout']);
    expect(complete(['loomwatch', 'rollout', ''])).toEqual(['status', 'set']);
    expect(complete(['loomwatch', 'rollout', 'set', '--sha'])).toEqual(['--shadow', '--shadow-sample']);
    expect(complete(['loomwatch', 'rollout', 'set', '--fal'])).toEqual(['--false-alarm-rate']);
    expect(complete(['loomwatch', 'worker', '--s'])).toEqual(['--set']);
  });
});
