/**
 * docker-compose.yml still creates its topics with deploy/k8s/base/provision-topics.sh
 * (kafka-topics.sh; the Kafka image has no Node): it must create what TOPIC_DECLARATIONS declares.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TOPIC_DECLARATIONS } from '@loomwatch/contracts';
import { REPO_ROOT } from '@loomwatch/testkit';

describe('provision-topics.sh (compose)', () => {
  it('creates every declared topic with its partitions, cleanup policy and retention', () => {
    const script = readFileSync(join(REPO_ROOT, 'deploy/k8s/base/provision-topics.sh'), 'utf8');
    const thirtyDays = /^thirty_days=(\d+)$/m.exec(script)?.[1];
    const frameDefault = /frame_partitions=\$\{FRAME_PARTITIONS:-(\d+)\}/.exec(script)?.[1];
    const created = new Map(
      [...script.matchAll(/^create (\S+) (\S+)(.*)$/gm)].map(([, name, count, rest]) => [
        name,
        {
          partitions: Number(count === '"$frame_partitions"' ? frameDefault : count),
          cleanupPolicy: /cleanup\.policy=(\w+)/.exec(rest ?? '')?.[1],
          retentionMs: /retention\.ms=\$thirty_days/.test(rest ?? '') ? Number(thirtyDays) : undefined,
        },
      ]),
    );
    expect(created).toEqual(new Map(TOPIC_DECLARATIONS.map((declared) => [declared.name, { partitions: declared.partitions, cleanupPolicy: declared.cleanupPolicy, retentionMs: declared.retentionMs }])));
  });
});
