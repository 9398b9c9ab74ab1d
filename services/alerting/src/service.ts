/**
 * The alerting service wired to Kafka: verdicts, dead letters and frames in (read_committed, its
 * own group), alerts out on `alerts.v1` in the same transaction as the input offset; alerts the
 * clock raises (stale, no frames, windows, quiet periods) in a transaction of their own.
 *
 * Restart safety: the engine lives in memory and is rebuilt at start (see recovery.ts). A record
 * handed back after a failed transaction gets the outputs it got the first time (the engine is
 * not fed it twice); anything that leaves the engine out of step with Kafka stops the service
 * (`onFatal`) so that a restart rebuilds it.
 */
import { LoomwatchError, type Alert } from '@loomwatch/contracts';
import { createKafkaClient, requireTopics, type InboundRecord, type OutboundMessage } from '@loomwatch/kafka';
import { Counter, Gauge, createMetricsRegistry, startOpsServer, type Logger } from '@loomwatch/observability';
import type { AlertingConfig } from './config.js';
import { AlertEngine } from './engine.js';
import { ServiceHealth } from './health.js';
import { alertMessage, decodeRecord, recordTime, type InputKind } from './records.js';
import { registerQualityMetrics } from './quality-metrics.js';
import { fencePreviousInstance, restoreEngine } from './recovery.js';
import type { Rules } from './rules.js';
import { WebhookDispatcher } from './webhook-dispatcher.js';

export interface RunningAlerting {
  readonly opsPort: number;
  /** Swaps the rules (SIGHUP); alerts of rules that are gone are resolved and published. */
  reloadRules(rules: Rules): Promise<void>;
  stop(): Promise<void>;
}

interface AlertingDeps {
  /** @defaultValue Date.now */
  now?: () => number;
  /** Called when the in-memory state can no longer be trusted; main exits so a restart rebuilds it. */
  onFatal?: (error: unknown) => void;
  fetch?: typeof globalThis.fetch;
}

interface Input {
  kind: InputKind;
  topic: string;
  /** Each input has its own group (and transactional ids): `<alerting.groupId>.<kind>`. */
  groupId: string;
}

export async function startAlerting(config: AlertingConfig, logger: Logger, deps: AlertingDeps = {}): Promise<RunningAlerting> {
  const now = deps.now ?? Date.now;
  const settings = config.alerting;
  const source = `/loomwatch/alerting/${settings.id}`;
  const client = createKafkaClient({ ...config.kafka, clientId: `alerting-${settings.id}` }, logger);
  const inputOf = (kind: InputKind, topic: string): Input => ({ kind, topic, groupId: `${settings.groupId}.${kind}` });
  const inputs: Input[] = [
    inputOf('verdict', settings.verdictTopic),
    inputOf('dead-letter', settings.deadLetterTopic),
    ...(settings.frameTopic === '' ? [] : [inputOf('frame', settings.frameTopic)]),
    ...(settings.driftTopic === '' ? [] : [inputOf('drift', settings.driftTopic)]),
    ...(settings.feedbackTopic === '' ? [] : [inputOf('feedback', settings.feedbackTopic)]),
  ];
  await requireTopics(client.topics, [...inputs.map((input) => input.topic), settings.alertTopic, settings.webhookDeadLetterTopic]);

  const registry = createMetricsRegistry({ service: 'alerting', instance: settings.id });
  const alertsTotal = new Counter({ name: 'loomwatch_alerts_total', help: 'Alert messages published', labelNames: ['rule', 'status'], registers: [registry] });
  const openGauge = new Gauge({ name: 'loomwatch_alerts_open', help: 'Alerts open now', registers: [registry] });
  const skipped = new Counter({ name: 'loomwatch_alerting_records_skipped_total', help: 'Input records that could not be read', labelNames: ['topic'], registers: [registry] });

  // Whatever a previous instance left in flight is aborted before anything is re-read.
  const tickId = `${settings.groupId}.ticks`;
  await fencePreviousInstance(client, tickId, inputs);
  const engine = new AlertEngine(config.rules, undefined, { qualityWindowMs: config.quality.windowMs });
  await restoreEngine(client, engine, { alertTopic: settings.alertTopic, inputs, back: settings.restoreRecords, now: now() }, logger);
  openGauge.set(engine.openAlerts().length);
  registerQualityMetrics({ registry, ...config.quality, now, inputs: (at, windowMs) => engine.qualityInputs(at, windowMs) });

  const health = new ServiceHealth((error) => {
    logger.fatal({ err: error }, 'alerting state can no longer be trusted: stopping so a restart rebuilds it');
    deps.onFatal?.(error);
  });

  const toMessages = (alerts: readonly Alert[], parent?: string): OutboundMessage[] =>
    alerts.map((alert) => alertMessage(alert, settings.alertTopic, source, parent));
  const published = (outputs: readonly OutboundMessage[]): void => {
    for (const output of outputs) {
      if (output.topic !== settings.alertTopic) continue;
      const alert = JSON.parse(output.value.toString()) as Alert;
      alertsTotal.inc({ rule: alert.rule, status: alert.status });
      logger.info({ alertId: alert.alertId, rule: alert.rule, status: alert.status, severity: alert.severity, dedupKey: alert.dedupKey }, alert.message);
    }
    openGauge.set(engine.openAlerts().length);
  };

  // Alerts that no input record caused go out in transactions of their own, one at a time.
  const tickProducer = client.transactionalPublisher(tickId);
  await tickProducer.connect();
  let chain: Promise<void> = Promise.resolve();
  const publishAlone = (produce: () => Alert[]): Promise<void> => {
    chain = chain.then(async () => {
      if (health.failed) return;
      const outputs = toMessages(produce());
      if (outputs.length === 0) return;
      const transaction = await tickProducer.transaction();
      try {
        await transaction.send(outputs);
        await transaction.commit();
        published(outputs);
      } catch (err) {
        await transaction.abort().catch(() => undefined);
        health.fail(err);
      }
    });
    return chain;
  };
  // Open alerts of rules that were removed while the service was down resolve now.
  await publishAlone(() => engine.setRules(config.rules, now()));

  const processors = inputs.map((input) => {
    // A failed transaction (the broker answers CONCURRENT_TRANSACTIONS now and then) hands its
    // records back; the engine has already applied them, so they get the outputs they got then.
    const applied = new Map<number, bigint>();
    const uncommitted = new Map<string, OutboundMessage[]>();
    return client.exactlyOnce({
      groupId: input.groupId,
      topic: input.topic,
      fromBeginning: settings.fromBeginning,
      logger,
      // One record at a time per partition: the engine must see each once, in order.
      maxInFlightPerPartition: 1,
      handler: (record: InboundRecord): Promise<OutboundMessage[]> => {
        const offset = BigInt(record.offset);
        const previous = applied.get(record.partition);
        if (previous !== undefined && offset <= previous) {
          const again = uncommitted.get(`${record.partition}@${record.offset}`);
          if (again !== undefined) return Promise.resolve(again);
          health.fail(new Error(`${input.topic}[${record.partition}] offset ${record.offset} came again after it was committed`));
        }
        if (health.failed) {
          // Retryable, so nothing commits while the process stops.
          return Promise.reject(new LoomwatchError('INTERNAL', 'alerting is stopping to rebuild its state', { retryable: true }));
        }
        applied.set(record.partition, offset);
        const decoded = decodeRecord(input.kind, record);
        let outputs: OutboundMessage[] = [];
        if ('skipped' in decoded) {
          skipped.inc({ topic: input.topic });
          logger.warn({ topic: input.topic, partition: record.partition, offset: record.offset }, `record skipped: ${decoded.skipped}`);
        } else {
          outputs = toMessages(engine.handle(decoded.event, recordTime(record)), record.headers['traceparent']);
        }
        uncommitted.set(`${record.partition}@${record.offset}`, outputs);
        return Promise.resolve(outputs);
      },
      // The handler does not throw for bad input; anything else is ours and means stop.
      onPermanentError: (_record, error) => {
        health.fail(error);
        throw error;
      },
      onCommitted: (records, outputs) => {
        for (const record of records) uncommitted.delete(`${record.partition}@${record.offset}`);
        published(outputs);
      },
    });
  });

  let ticking = false;
  const timer = setInterval(() => {
    if (ticking) return;
    ticking = true;
    void publishAlone(() => engine.handle({ type: 'tick' }, now())).finally(() => {
      ticking = false;
    });
  }, settings.tickMs);

  const webhooks =
    config.webhooks.length === 0
      ? undefined
      : new WebhookDispatcher({ client, groupId: `${settings.groupId}.webhooks`, topic: settings.alertTopic, deadLetterTopic: settings.webhookDeadLetterTopic, endpoints: config.webhooks, logger, registry, source, fetch: deps.fetch ?? globalThis.fetch, now, fromBeginning: settings.webhooksFromBeginning });

  health.watch([...processors, ...(webhooks === undefined ? [] : [webhooks.processor])]);
  const ops = await startOpsServer({ port: config.ops.port, host: config.ops.host, registry, readiness: { broker: () => health.ready() } });
  await Promise.all(processors.map((processor) => processor.start()));
  await webhooks?.start();
  health.setServing(true);
  logger.info({ groupId: settings.groupId, inputs: inputs.map((input) => input.topic), rules: config.rules.map((rule) => rule.name), opsPort: ops.port }, 'alerting started');

  return {
    opsPort: ops.port,
    reloadRules(rules) {
      logger.info({ rules: rules.map((rule) => rule.name) }, 'rules reloaded');
      return publishAlone(() => engine.setRules(rules, now()));
    },
    async stop() {
      health.setServing(false);
      clearInterval(timer);
      await chain;
      await Promise.all(processors.map((processor) => processor.stop()));
      await webhooks?.stop();
      await tickProducer.close();
      await ops.close();
      logger.info('alerting stopped');
    },
  };
}
