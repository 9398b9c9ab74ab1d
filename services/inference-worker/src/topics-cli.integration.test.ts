/**
 * `loomwatch topics apply` as a process against the real broker, on topics of its own (a unique
 * --prefix, deleted after): it creates every declared topic, checks without changing anything,
 * sets a config that drifted, grows partitions only when asked and reports what it may not change.
 * The shared frames.v1… are never touched.
 */
import { randomUUID } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { TOPIC_DECLARATIONS } from '@loomwatch/contracts';
import { useTestKafka } from '@loomwatch/kafka/testing';
import { REPO_ROOT, builtEntry } from '@loomwatch/testkit';

const kafka = useTestKafka();
const prefix = `test-apply-${randomUUID().slice(0, 8)}.`;
const names = TOPIC_DECLARATIONS.map((declared) => `${prefix}${declared.name}`);
afterAll(async () => {
  await kafka.client.topics.delete(names).catch(() => undefined);
});

interface Report {
  asDeclared: boolean;
  topics: { topic: string; status: string; differences: { field: string; actual: string; declared: string; fix: string; remaining: boolean }[] }[];
}

function topicsApply(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [builtEntry('services/inference-worker/dist/topics-cli.js'), 'apply', '--profile', 'dev', '--prefix', prefix, ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, KAFKA_BROKERS: kafka.infra.kafkaBrokers.join(',') },
  });
}

const report = (run: { stdout: string }): Report => JSON.parse(run.stdout) as Report;
const statusOf = (run: { stdout: string }): Record<string, string> => Object.fromEntries(report(run).topics.map((t) => [t.topic.slice(prefix.length), t.status]));

describe('loomwatch topics apply', () => {
  it('creates every declared topic as declared, then finds them as declared', async () => {
    const check = topicsApply('--check', '--json');
    expect(check.status, check.stderr).toBe(1);
    expect(new Set(Object.values(statusOf(check)))).toEqual(new Set(['missing']));
    expect((await kafka.client.topics.describe(names)).size).toBe(0);

    const apply = topicsApply();
    expect(apply.status, apply.stderr).toBe(0);
    const lines = apply.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^TOPIC +PARTITIONS +REPLICAS +STATUS +DETAILS$/);
    expect(lines.slice(1, -1)).toHaveLength(TOPIC_DECLARATIONS.length);
    expect(lines.at(-1)).toBe(`${TOPIC_DECLARATIONS.length} created, 0 changed, 0 already as declared`);

    const states = await kafka.client.topics.describe(names);
    for (const declared of TOPIC_DECLARATIONS) {
      const state = states.get(`${prefix}${declared.name}`);
      expect(state, declared.name).toMatchObject({ partitions: declared.partitions, replicationFactor: 1, configs: { 'cleanup.policy': declared.cleanupPolicy, 'min.insync.replicas': '1' } });
      if (declared.retentionMs !== undefined) expect(state?.configs['retention.ms']).toBe(String(declared.retentionMs));
    }
    const again = topicsApply('--check');
    expect(again.status, again.stdout).toBe(0);
    expect(again.stdout.trim().split('\n').at(-1)).toBe(`${TOPIC_DECLARATIONS.length} topics as declared`);
  }, 120_000);

  it('reports drift without changing anything under --check, sets configs, and grows partitions only when asked', async () => {
    const [frames, alerts] = [`${prefix}frames.v1`, `${prefix}alerts.v1`];
    await kafka.client.topics.alterConfigs(frames, { 'retention.ms': '3600000' });
    // alerts.v1 declares 4 partitions: one more than declared cannot be undone.
    await kafka.client.topics.grow(alerts, 5);

    const check = topicsApply('--check', '--json');
    expect(check.status, check.stderr).toBe(1);
    const drifted = report(check).topics.filter((t) => t.status !== 'ok');
    expect(drifted.map((t) => [t.topic.slice(prefix.length), t.differences.map((d) => [d.field, d.actual, d.declared, d.fix])])).toEqual([
      ['frames.v1', [['retention.ms', '3600000', '2592000000', 'alter']]],
      ['alerts.v1', [['partitions', '5', '4', 'manual']]],
    ]);
    expect((await kafka.client.topics.describe([frames])).get(frames)?.configs['retention.ms']).toBe('3600000');

    const apply = topicsApply('--json', '--partitions', 'frames.v1=10');
    expect(apply.status, apply.stderr).toBe(1);
    expect(statusOf(apply)).toMatchObject({ 'frames.v1': 'drift', 'alerts.v1': 'drift', 'verdicts.v1': 'ok' });
    // The config was set; the partitions were not grown without --grow-partitions.
    const framesState = (await kafka.client.topics.describe([frames])).get(frames);
    expect([framesState?.configs['retention.ms'], framesState?.partitions]).toEqual(['2592000000', 8]);

    const grown = topicsApply('--json', '--partitions', 'frames.v1=10', '--partitions', 'alerts.v1=5', '--grow-partitions');
    expect(grown.status, grown.stderr).toBe(0);
    expect(statusOf(grown)).toMatchObject({ 'frames.v1': 'altered', 'alerts.v1': 'ok' });
    expect((await kafka.client.topics.describe([frames])).get(frames)?.partitions).toBe(10);
  }, 120_000);

  it('refuses a replication factor the cluster cannot hold before creating anything, exit 2', () => {
    const run = spawnSync(process.execPath, [builtEntry('services/inference-worker/dist/topics-cli.js'), 'apply', '--prefix', `${prefix}never.`], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, KAFKA_BROKERS: kafka.infra.kafkaBrokers.join(',') },
    });
    expect(run.status).toBe(2);
    expect(run.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^loomwatch topics apply: replication factor 3 needs 3 brokers, the cluster has 1: .*use --profile dev/)]);
    expect(run.stdout).toBe('');
  });
});
