/**
 * Rebuilding the alerting state from Kafka at start: the alerts topic, read entirely, says which
 * episodes are open or cooling down; a bounded re-read of the inputs before the groups' committed
 * offsets rebuilds the windows. Nothing is sent while rebuilding.
 */
import { Alert, decodeMessage } from '@loomwatch/contracts';
import type { KafkaClient, PartitionRange, Watermarks } from '@loomwatch/kafka';
import type { Logger } from '@loomwatch/observability';
import type { AlertEngine, AlertEvent } from './engine.js';
import { decodeRecord, recordTime, type InputKind } from './records.js';

/** An input topic, what its records are, and the group whose committed offsets end its re-read. */
interface RestoredInput {
  kind: InputKind;
  topic: string;
  groupId: string;
}

/**
 * Aborts whatever transactions a previous instance left open, by initialising its transactional
 * ids: the tick publisher's, and each input partition's (`<group>.<topic>.<partition>`, the ids the
 * exactly-once processors take). A read_committed re-read would otherwise wait for them to time out.
 */
export async function fencePreviousInstance(client: KafkaClient, tickId: string, inputs: readonly RestoredInput[]): Promise<void> {
  const ids = [tickId];
  const offsets = client.offsets();
  try {
    for (const { topic, groupId } of inputs) {
      for (const { partition } of await offsets.watermarks(topic)) ids.push(`${groupId}.${topic}.${partition}`);
    }
  } finally {
    await offsets.close();
  }
  await Promise.all(
    ids.map(async (transactionalId) => {
      const publisher = client.transactionalPublisher(transactionalId);
      await publisher.connect();
      await publisher.close();
    }),
  );
}

interface RestoreOptions {
  alertTopic: string;
  inputs: readonly RestoredInput[];
  /** Records per input partition re-read before the group's committed offset. */
  back: number;
  /** The moment of the restart: open episodes and cooldowns are judged against it. */
  now: number;
}

/**
 * Feeds `engine` what Kafka remembers: every alert published (an episode opened long ago may
 * still be open), then the inputs' recent events in time order, observed without producing alerts.
 */
export async function restoreEngine(client: KafkaClient, engine: AlertEngine, options: RestoreOptions, logger: Logger): Promise<void> {
  const alerts: Alert[] = [];
  await client.reader.readToEnd([options.alertTopic], (record) => {
    try {
      alerts.push(decodeMessage(Alert, record.value));
    } catch {
      // Not an alert of the contract: it restores nothing.
    }
  });
  engine.restoreEpisodes(alerts, options.now);

  const kindOf = new Map(options.inputs.map((input) => [input.topic, input.kind]));
  const history: { at: number; event: AlertEvent }[] = [];
  const ranges = await rangesBeforeCommitted(client, options.inputs, options.back);
  await client.reader.readRanges(ranges, (record) => {
    const kind = kindOf.get(record.topic);
    if (kind === undefined) return;
    const decoded = decodeRecord(kind, record);
    if ('event' in decoded) history.push({ at: recordTime(record), event: decoded.event });
  });
  history.sort((a, b) => a.at - b.at);
  for (const { at, event } of history) engine.observe(event, at);
  logger.info({ open: engine.openAlerts().length, alertsRead: alerts.length, eventsReplayed: history.length, ranges }, 'state rebuilt from Kafka');
}

async function rangesBeforeCommitted(client: KafkaClient, inputs: readonly RestoredInput[], back: number): Promise<PartitionRange[]> {
  const offsets = client.offsets();
  try {
    const ranges: PartitionRange[] = [];
    for (const { topic, groupId } of inputs) {
      ranges.push(...restoreRanges(topic, await offsets.watermarks(topic), await offsets.committed(groupId, topic), back));
    }
    return ranges;
  } finally {
    await offsets.close();
  }
}

/**
 * Per partition: the last `back` records before the group's committed offset, no further back
 * than the partition's first record. A partition the group never committed has nothing to restore:
 * the group will read it from its start (or from now on) anyway.
 */
export function restoreRanges(topic: string, watermarks: readonly Watermarks[], committed: ReadonlyMap<number, number>, back: number): PartitionRange[] {
  return watermarks.flatMap(({ partition, low }) => {
    const end = committed.get(partition) ?? low;
    const from = Math.max(low, end - back);
    return from < end ? [{ topic, partition, from, to: end }] : [];
  });
}
