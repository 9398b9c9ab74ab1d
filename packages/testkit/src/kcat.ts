import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Infra } from './infra.js';

export interface KcatRecord {
  partition: number;
  offset: number;
  key: string | null;
  payload: string;
}

/** How long one kcat read may take: a 10,000-frame soak's verdicts are ≈ 340 MB of JSON. */
const KCAT_TIMEOUT_MS = 600_000;

/**
 * Every committed message of `topic` to its end, as kcat (an independent client, librdkafka)
 * reads it with isolation.level=read_committed: what a subscriber outside our code would see.
 * kcat writes to a file, read back line by line: a topic of any size (a pipe into memory was cut
 * at its buffer's limit, which once lost a soak's two hours of counts).
 */
export function readCommittedWithKcat(infra: Infra, topic: string, attempts = 3): KcatRecord[] {
  const dir = mkdtempSync(join(tmpdir(), 'loomwatch-kcat-'));
  try {
    const file = join(dir, 'records.jsonl');
    const out = openSync(file, 'w');
    let result: ReturnType<typeof spawnSync>;
    try {
      result = spawnSync(
        'kcat',
        ['-b', infra.kafkaBrokers.join(','), '-X', 'isolation.level=read_committed', '-C', '-t', topic, '-o', 'beginning', '-e', '-q', '-J'],
        { stdio: ['ignore', out, 'pipe'], encoding: 'utf8', timeout: KCAT_TIMEOUT_MS },
      );
    } finally {
      closeSync(out);
    }
    if (result.error === undefined && result.status === 0) return readJsonLines(file);
    // A read can fail once (a broker still settling after a restart): the soak's two hours of counts hang on it.
    if (attempts > 1) return readCommittedWithKcat(infra, topic, attempts - 1);
    const why = result.error?.message ?? (result.signal === null ? `exit code ${String(result.status)}` : `killed by ${result.signal} (${KCAT_TIMEOUT_MS / 1000} s timeout?)`);
    const stderr = String(result.stderr).trim();
    throw new Error(`kcat could not read ${topic} read_committed from ${infra.kafkaBrokers.join(',')} (${why}): ${stderr || 'no message on stderr'}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The JSON objects of a file with one per line, read in chunks (a line may be megabytes long). */
export function readJsonLines<T = KcatRecord>(file: string): T[] {
  const records: T[] = [];
  const fd = openSync(file, 'r');
  try {
    const chunk = Buffer.alloc(8 * 1024 * 1024);
    let rest = Buffer.alloc(0);
    for (let n = readSync(fd, chunk); n > 0; n = readSync(fd, chunk)) {
      const data = Buffer.concat([rest, chunk.subarray(0, n)]);
      let start = 0;
      for (let newline = data.indexOf(10, start); newline !== -1; newline = data.indexOf(10, start)) {
        const line = data.toString('utf8', start, newline);
        if (line.trim() !== '') records.push(JSON.parse(line) as T);
        start = newline + 1;
      }
      rest = Buffer.from(data.subarray(start));
    }
    const last = rest.toString('utf8');
    if (last.trim() !== '') records.push(JSON.parse(last) as T);
    return records;
  } finally {
    closeSync(fd);
  }
}
