import { spawnSync } from 'node:child_process';
import type { Infra } from './infra.js';

export interface KcatRecord {
  partition: number;
  offset: number;
  key: string | null;
  payload: string;
}

/**
 * Every committed message of `topic` to its end, as kcat (an independent client, librdkafka)
 * reads it with isolation.level=read_committed: what a subscriber outside our code would see.
 */
export function readCommittedWithKcat(infra: Infra, topic: string): KcatRecord[] {
  const result = spawnSync(
    'kcat',
    ['-b', infra.kafkaBrokers.join(','), '-X', 'isolation.level=read_committed', '-C', '-t', topic, '-o', 'beginning', '-e', '-q', '-J'],
    { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, timeout: 60_000 },
  );
  if (result.status !== 0) throw new Error(`kcat failed: ${result.stderr}`);
  return result.stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as KcatRecord);
}
