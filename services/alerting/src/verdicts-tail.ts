/**
 * `verdicts tail`: prints verdicts as JSON lines, read_committed, validated against the
 * contract — a small schema-aware tool for integrators. Pure parts here, the CLI in verdicts-cli.ts.
 */
import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { Verdict, decodeMessage, toLoomwatchError } from '@loomwatch/contracts';

export interface TailFilter {
  line?: string;
  camera?: string;
}

export type TailLine = { out: string } | { err: string } | undefined;

/** One record → a stdout line (the verdict as JSON), a stderr line (why it is not a verdict), or nothing (filtered out). */
export function tailLine(value: Buffer | null, filter: TailFilter, where: string): TailLine {
  let verdict: Verdict;
  try {
    verdict = decodeMessage(Verdict, value);
  } catch (err) {
    return { err: `${where}: ${toLoomwatchError(err).message}` };
  }
  if (filter.line !== undefined && verdict.lineId !== filter.line) return undefined;
  if (filter.camera !== undefined && verdict.cameraId !== filter.camera) return undefined;
  return { out: JSON.stringify(verdict) };
}

export interface TailOptions extends TailFilter {
  topic: string;
  fromBeginning: boolean;
  write: (line: string) => void;
  warn: (line: string) => void;
}

/** Tails until `stop` is called; a throwaway group that never commits, so tails do not interfere. */
export async function tailVerdicts(kafka: Kafka, options: TailOptions): Promise<{ stop: () => Promise<void> }> {
  const consumer = kafka.consumer({ groupId: `loomwatch-tail-${randomUUID()}`, readUncommitted: false });
  await consumer.connect();
  await consumer.subscribe({ topic: options.topic, fromBeginning: options.fromBeginning });
  await consumer.run({
    autoCommit: false,
    eachMessage: ({ partition, message }) => {
      const line = tailLine(message.value, options, `${options.topic}[${partition}]@${message.offset}`);
      if (line !== undefined && 'out' in line) options.write(line.out);
      if (line !== undefined && 'err' in line) options.warn(line.err);
      return Promise.resolve();
    },
  });
  return { stop: () => consumer.disconnect() };
}
