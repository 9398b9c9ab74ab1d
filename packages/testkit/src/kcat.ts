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
export function readCommittedWithKcat(infra: Infra, topic: string, attempts = 3): KcatRecord[] {
  const result = spawnSync(
    'kcat',
    ['-b', infra.kafkaBrokers.join(','), '-X', 'isolation.level=read_committed', '-C', '-t', topic, '-o', 'beginning', '-e', '-q', '-J'],
    { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, timeout: 60_000 },
  );
  if (result.status !== 0) {
    // A read can fail once (a broker still settling after a restart): the soak's two hours of counts hang on it.
    if (attempts > 1) return readCommittedWithKcat(infra, topic, attempts - 1);
    const why = result.error?.message ?? (result.signal === null ? `exit code ${String(result.status)}` : `killed by ${result.signal} (60 s timeout?)`);
    throw new Error(`kcat could not read ${topic} read_committed from ${infra.kafkaBrokers.join(',')} (${why}): ${result.stderr.trim() || 'no message on stderr'}`);
  }
  return result.stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as KcatRecord);
}
