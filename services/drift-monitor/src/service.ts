/**
 * The drift monitor wired to Kafka: verdicts in (read_committed, its own group), drift events out on
 * `drift.v1` in the same transaction as the verdict offsets. The windows live in memory; at start
 * they are refilled from the verdicts just before the group's committed offsets, without publishing.
 */
import { DriftEvent, EVENT_TYPES, LoomwatchError, Verdict, cloudEventHeaders, decodeMessage, encodeMessage, messageKey } from '@loomwatch/contracts';
import { createKafkaClient, requireTopics, type InboundRecord, type KafkaClient, type OutboundMessage, type PartitionRange } from '@loomwatch/kafka';
import { Counter, Gauge, createMetricsRegistry, startOpsServer, type Logger } from '@loomwatch/observability';
import type { DriftConfig } from './config.js';
import { DriftMonitor } from './monitor.js';
import { ReferenceProfiles } from './references.js';

export interface RunningDriftMonitor {
  readonly opsPort: number;
  stop(): Promise<void>;
}

interface DriftDeps {
  /** @defaultValue () => new Date() */
  now?: () => Date;
  /** Called when the consumer crashed for good; main exits so a restart rebuilds the windows. */
  onFatal?: (error: unknown) => void;
}

export async function startDriftMonitor(config: DriftConfig, logger: Logger, deps: DriftDeps = {}): Promise<RunningDriftMonitor> {
  const now = deps.now ?? ((): Date => new Date());
  const settings = config.drift;
  const source = `/loomwatch/drift-monitor/${settings.id}`;
  const client = createKafkaClient({ ...config.kafka, clientId: `drift-${settings.id}` }, logger);
  await requireTopics(client.topics, [settings.verdictTopic, settings.driftTopic]);

  const registry = createMetricsRegistry({ service: 'drift-monitor', instance: settings.id });
  const labelNames = ['line', 'camera', 'fabric'] as const;
  const valueGauge = new Gauge({ name: 'loomwatch_drift_value', help: 'The latest value of each drift check per line, camera and fabric', labelNames: [...labelNames, 'check'], registers: [registry] });
  const driftingGauge = new Gauge({ name: 'loomwatch_drift_drifting', help: '1 while the latest judgement of a line, camera and fabric is drifting', labelNames, registers: [registry] });
  const eventsTotal = new Counter({ name: 'loomwatch_drift_events_total', help: 'Drift events published', labelNames: ['status'], registers: [registry] });
  const unjudged = new Counter({ name: 'loomwatch_drift_unjudged_total', help: 'Verdicts no window took, by reason', labelNames: ['reason'], registers: [registry] });

  const monitor = new DriftMonitor(config.window, { ...config.thresholds, minScoreFrames: config.window.minScoreFrames }, settings.id);
  const references = new ReferenceProfiles(settings.registryRoot);
  const missingLogged = new Set<string>();

  /** The verdict's judgement, if one is due; undecodable verdicts and unknown models are counted and skipped. */
  async function observe(record: InboundRecord, at: Date): Promise<DriftEvent | undefined> {
    let verdict: Verdict;
    try {
      verdict = decodeMessage(Verdict, record.value);
    } catch (err) {
      unjudged.inc({ reason: 'undecodable' });
      logger.warn({ err, partition: record.partition, offset: record.offset }, 'verdict skipped: it does not match the contract');
      return undefined;
    }
    const reference = await references.lookup(verdict.model);
    if ('missing' in reference) {
      unjudged.inc({ reason: 'no-reference' });
      if (!missingLogged.has(reference.missing)) logger.warn(`verdicts of ${verdict.model.name}@${verdict.model.version} are not judged: ${reference.missing}`);
      missingLogged.add(reference.missing);
      return undefined;
    }
    return monitor.observe(verdict, reference, at);
  }

  await restoreWindows(client, settings.verdictTopic, settings.groupId, settings.restoreRecords, (record) => observe(record, now()), logger);

  const lastStatus = new Map<string, DriftEvent['status']>();
  const published = (outputs: readonly OutboundMessage[]): void => {
    for (const output of outputs) {
      const event = JSON.parse(output.value.toString()) as DriftEvent;
      const labels = { line: event.lineId, camera: event.cameraId, fabric: event.fabricCode ?? '' };
      for (const measure of event.measures) valueGauge.set({ ...labels, check: measure.check }, measure.value);
      driftingGauge.set(labels, event.status === 'drifting' ? 1 : 0);
      eventsTotal.inc({ status: event.status });
      const key = `${labels.line}:${labels.camera}:${labels.fabric}`;
      const context = { lineId: event.lineId, cameraId: event.cameraId, fabricCode: event.fabricCode, tripped: event.tripped, measures: event.measures };
      if (lastStatus.get(key) !== event.status && (event.status === 'drifting' || lastStatus.has(key))) {
        logger.info(context, event.status === 'drifting' ? `drift on ${key}: ${event.tripped.join(', ')}` : `no drift on ${key} any more`);
      } else logger.debug(context, `drift judged on ${key}: ${event.status}`);
      lastStatus.set(key, event.status);
    }
  };

  // A record handed back after a failed transaction gets the output it got the first time: the
  // windows have taken it already.
  const applied = new Map<number, bigint>();
  const uncommitted = new Map<string, OutboundMessage[]>();
  const processor = client.exactlyOnce({
    groupId: settings.groupId,
    topic: settings.verdictTopic,
    fromBeginning: settings.fromBeginning,
    logger,
    maxInFlightPerPartition: 1,
    handler: async (record) => {
      const id = `${record.partition}@${record.offset}`;
      const previous = applied.get(record.partition);
      if (previous !== undefined && BigInt(record.offset) <= previous) {
        const again = uncommitted.get(id);
        if (again !== undefined) return again;
        throw new LoomwatchError('INTERNAL', `${settings.verdictTopic}[${id}] came again after it was committed: restart the drift monitor`);
      }
      applied.set(record.partition, BigInt(record.offset));
      const event = await observe(record, now());
      const outputs =
        event === undefined
          ? []
          : [
              {
                topic: settings.driftTopic,
                key: messageKey(event.lineId, event.cameraId),
                value: encodeMessage(DriftEvent, event),
                headers: { ...cloudEventHeaders(EVENT_TYPES.drift, source, { parentTraceparent: record.headers['traceparent'] }) },
              },
            ];
      uncommitted.set(id, outputs);
      return outputs;
    },
    onPermanentError: (_record, error) => {
      // Only our own faults get here (bad verdicts are skipped): the windows cannot be trusted.
      deps.onFatal?.(error);
      throw error;
    },
    onCommitted: (records, outputs) => {
      for (const record of records) uncommitted.delete(`${record.partition}@${record.offset}`);
      published(outputs);
    },
  });
  processor.onFatal((error) => {
    logger.fatal({ err: error }, 'the verdict consumer stopped for good: exiting so a restart rebuilds the windows');
    deps.onFatal?.(error);
  });

  const ops = await startOpsServer({ port: config.ops.port, host: config.ops.host, registry, readiness: { broker: () => processor.running } });
  await processor.start();
  logger.info({ groupId: settings.groupId, verdictTopic: settings.verdictTopic, driftTopic: settings.driftTopic, window: config.window, opsPort: ops.port }, 'drift monitor started');

  return {
    opsPort: ops.port,
    async stop() {
      await processor.stop();
      await ops.close();
      logger.info('drift monitor stopped');
    },
  };
}

/** Feeds the windows the last `back` verdicts per partition before the group's committed offsets. */
async function restoreWindows(
  client: KafkaClient,
  topic: string,
  groupId: string,
  back: number,
  observe: (record: InboundRecord) => Promise<unknown>,
  logger: Logger,
): Promise<void> {
  if (back === 0) return;
  const offsets = client.offsets();
  let ranges: PartitionRange[];
  try {
    const committed = await offsets.committed(groupId, topic);
    ranges = (await offsets.watermarks(topic)).flatMap(({ partition, low }) => {
      const to = committed.get(partition);
      return to === undefined || to <= low ? [] : [{ topic, partition, from: Math.max(low, to - back), to }];
    });
  } finally {
    await offsets.close();
  }
  if (ranges.length === 0) return;
  let records = 0;
  await client.reader.readRanges(ranges, async (record) => {
    records++;
    await observe(record);
  });
  logger.info({ records, partitions: ranges.length }, 'drift windows refilled from the verdicts before the committed offsets');
}
