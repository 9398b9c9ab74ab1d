/**
 * Sends every committed alert message to the webhook endpoints that want it. It reads
 * `alerts.v1` (read_committed, its own group), so a webhook goes out only for an alert that was
 * published, and the offset moves only after each endpoint's outcome: delivered, or given up and
 * dead-lettered. At least once; receivers de-duplicate on the idempotency key.
 */
import { Alert, WebhookDeadLetter, decodeMessage, encodeMessage, messageKey } from '@loomwatch/contracts';
import { sleep } from '@loomwatch/concurrency';
import type { InboundRecord, KafkaClient, Publisher, RecordProcessor } from '@loomwatch/kafka';
import { Counter, type Logger, type Registry } from '@loomwatch/observability';
import { DeliveryInterrupted, deliverWebhook, endpointWants, idempotencyKey, type WebhookEndpoint } from './webhook.js';

interface WebhookDispatcherOptions {
  client: KafkaClient;
  groupId: string;
  topic: string;
  deadLetterTopic: string;
  endpoints: readonly WebhookEndpoint[];
  logger: Logger;
  registry: Registry;
  source: string;
  fetch: typeof globalThis.fetch;
  now: () => number;
  /** @defaultValue false */
  fromBeginning?: boolean;
}

export class WebhookDispatcher {
  private readonly options: WebhookDispatcherOptions;
  /** The alerts consumer (at least once: a crash re-delivers, the idempotency key dedups). */
  readonly processor: RecordProcessor;
  private readonly producer: Publisher;
  private readonly outcomes: Counter;
  private running = false;

  constructor(options: WebhookDispatcherOptions) {
    this.options = options;
    // Retries can outlast the session timeout: the handler heartbeats after each backoff pause.
    this.processor = options.client.atLeastOnce({
      groupId: options.groupId,
      topic: options.topic,
      logger: options.logger,
      fromBeginning: options.fromBeginning ?? false,
      handler: (record, heartbeat) => this.dispatch(record, heartbeat),
    });
    this.producer = options.client.publisher();
    this.outcomes = new Counter({
      name: 'loomwatch_webhook_deliveries_total',
      help: 'Webhook messages by endpoint and final outcome',
      labelNames: ['endpoint', 'outcome'],
      registers: [options.registry],
    });
  }

  async start(): Promise<void> {
    this.running = true;
    await this.producer.connect();
    await this.processor.start();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.processor.stop();
    await this.producer.close();
  }

  private async dispatch(record: InboundRecord, heartbeat: () => Promise<void>): Promise<void> {
    let alert: Alert;
    try {
      alert = decodeMessage(Alert, record.value);
    } catch (err) {
      this.options.logger.warn({ err }, 'skipping an alert message that does not match the contract');
      return;
    }
    const alive = (): boolean => this.running;
    await Promise.all(
      this.options.endpoints
        .filter((endpoint) => endpointWants(endpoint, alert))
        .map(async (endpoint) => {
          // Thrown DeliveryInterrupted leaves the offset where it is: the next start sends again.
          const pause = async (ms: number): Promise<void> => {
            await sleep(ms);
            await heartbeat().catch(() => undefined);
          };
          const outcome = await deliverWebhook(endpoint, alert, { fetch: this.options.fetch, now: this.options.now, sleep: pause, alive });
          if (outcome.delivered) {
            this.outcomes.inc({ endpoint: endpoint.name, outcome: 'delivered' });
            return;
          }
          this.outcomes.inc({ endpoint: endpoint.name, outcome: 'dead-lettered' });
          this.options.logger.error({ endpoint: endpoint.name, alertId: alert.alertId, attempts: outcome.attempts, lastError: outcome.lastError }, 'webhook dead-lettered');
          const letter: WebhookDeadLetter = {
            endpoint: endpoint.name,
            idempotencyKey: idempotencyKey(alert),
            alert,
            attempts: outcome.attempts,
            lastError: outcome.lastError.slice(0, 4096),
            failedAt: new Date(this.options.now()).toISOString(),
          };
          if (outcome.status !== undefined) letter.status = outcome.status;
          await this.producer.send([
            { topic: this.options.deadLetterTopic, key: messageKey(alert.lineId, alert.cameraId ?? '*'), value: encodeMessage(WebhookDeadLetter, letter), headers: {} },
          ]);
        }),
    ).catch((err: unknown) => {
      if (err instanceof DeliveryInterrupted) this.options.logger.info('webhook delivery interrupted by shutdown');
      throw err;
    });
  }
}
