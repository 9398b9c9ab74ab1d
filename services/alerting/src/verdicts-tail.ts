/**
 * `verdicts tail`: prints verdicts as JSON lines, read_committed, validated against the
 * contract — a small schema-aware tool for integrators. Pure parts here, the CLI in verdicts-cli.ts.
 */
import { Verdict, decodeMessage, toLoomwatchError } from '@loomwatch/contracts';
import type { InboundRecord, KafkaClient, Subscription } from '@loomwatch/kafka';

interface TailFilter {
  line?: string;
  camera?: string;
}

type TailLine = { out: string } | { err: string } | undefined;

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

interface TailOptions extends TailFilter {
  topic: string;
  fromBeginning: boolean;
  write: (line: string) => void;
  warn: (line: string) => void;
}

function printer(options: TailOptions) {
  return (record: InboundRecord): void => {
    const line = tailLine(record.value, options, `${options.topic}[${record.partition}]@${record.offset}`);
    if (line !== undefined && 'out' in line) options.write(line.out);
    if (line !== undefined && 'err' in line) options.warn(line.err);
  };
}

/** Tails until `stop` is called; a throwaway group that never commits, so tails do not interfere. */
export function tailVerdicts(client: KafkaClient, options: TailOptions): Promise<Subscription> {
  return client.reader.follow(options.topic, printer(options), { from: options.fromBeginning ? 'beginning' : 'end' });
}

/** Prints every verdict the topic holds now, from its beginning, and resolves at its end. */
export function dumpVerdicts(client: KafkaClient, options: TailOptions): Promise<void> {
  return client.reader.readToEnd([options.topic], printer(options));
}
