import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { Alert, DriftEvent, EVENT_TYPES, Feedback, decodeMessage, encodeMessage, messageKey, Verdict, WebhookDeadLetter } from '@loomwatch/contracts';
import { createLogger } from '@loomwatch/observability';
import { useTestKafka } from '@loomwatch/kafka/testing';
import { review } from '@loomwatch/quality/fixtures';
import { readCommittedWithKcat } from '@loomwatch/testkit';
import { AlertingConfig } from './config.js';
import { startAlerting, type RunningAlerting } from './service.js';
import { startWebhookReceiver } from './testing/webhook-receiver.js';
import { craftDriftEvent, craftVerdict } from './testing/verdicts.js';

const kafka = useTestKafka();
// ALERTING_TEST_LOG=info shows the service's logs when a run fails.
const logger = createLogger({ service: 'alerting-test', level: process.env['ALERTING_TEST_LOG'] ?? 'silent' });
const SECRET = 'integration-webhook-secret';

function publish(topic: string, verdicts: readonly Verdict[]): Promise<void> {
  return kafka.publish(
    topic,
    verdicts.map((verdict) => ({ key: messageKey(verdict.lineId, verdict.cameraId), value: encodeMessage(Verdict, verdict) })),
  );
}

/** Payloads as kcat, an independent client, reads them with read_committed. */
function kcatPayloads(topic: string): string[] {
  return readCommittedWithKcat(kafka.infra, topic).map((record) => record.payload);
}

/** A validator that reads only docs/schemas: no zod, no code of ours. */
function schemaValidator(file: string) {
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormatsModule.default(ajv);
  return ajv.compile(JSON.parse(readFileSync(join(import.meta.dirname, '../../../docs/schemas', file), 'utf8')) as object);
}

async function until(condition: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('alerting on the real broker', () => {
  it('opens a burst alert once, resolves it after a restart mid-stream, and each webhook arrives signed and once despite failures, those to a failing endpoint are dead-lettered after the last try; kcat reads schema-valid alerts and verdicts', async () => {
    const [verdictTopic, deadLetterTopic, alertTopic, webhookDeadLetterTopic] = await Promise.all([
      kafka.topic({ partitions: 2, prefix: 'verdicts' }),
      kafka.topic({ prefix: 'dlq' }),
      kafka.topic({ partitions: 2, prefix: 'alerts' }),
      kafka.topic({ prefix: 'webhook-dlq' }),
    ]);
    const receiver = await startWebhookReceiver(SECRET, [503, 'drop']);
    // An endpoint that never answers 2xx: each message ends on the webhook dead-letter topic.
    const broken = await startWebhookReceiver(SECRET, Array<number>(100).fill(500));
    const config = AlertingConfig.parse({
      kafka: { brokers: kafka.infra.kafkaBrokers },
      alerting: { id: 'test', groupId: kafka.group('alerting'), verdictTopic, deadLetterTopic, frameTopic: '', driftTopic: '', alertTopic, webhookDeadLetterTopic, tickMs: 500, fromBeginning: true, webhooksFromBeginning: true },
      rules: [{ name: 'burst', kind: 'burst', defects: 3, frames: 5, cooldownMs: 0 }],
      webhooks: [
        { name: 'mes', url: receiver.url, secrets: [SECRET], maxAttempts: 5, initialBackoffMs: 20 },
        { name: 'broken', url: broken.url, secrets: [SECRET], maxAttempts: 2, initialBackoffMs: 20 },
      ],
      ops: { port: 0 },
    });

    let service: RunningAlerting = await startAlerting(config, logger);
    try {
      // Another camera's defects never count towards cam-1's window.
      await publish(verdictTopic, [1, 2, 3].map((seq) => craftVerdict(seq, true)).concat([craftVerdict(1, true, { camera: 'cam-2' })]));
      await until(() => receiver.seen.size === 1, 'the burst alert webhook');
      // Stopping while the failing endpoint is still retrying would interrupt that delivery (it is
      // sent again on the next start, a seventh request): stop only once it is dead-lettered.
      await kafka.readCommitted(webhookDeadLetterTopic, 1);
      await service.stop();

      // While the service is down: five good frames, which resolve the burst only with the three defects remembered.
      await publish(verdictTopic, [4, 5, 6, 7, 8].map((seq) => craftVerdict(seq, false)));
      service = await startAlerting(config, logger);
      await until(() => receiver.seen.size === 2, 'the resolution webhook');
      // A new burst is a new episode.
      await publish(verdictTopic, [9, 10, 11].map((seq) => craftVerdict(seq, true)));
      await until(() => receiver.seen.size === 3, 'the second burst webhook');
      // Likewise the third message's dead letter (read again after the stop: a duplicate would show).
      await kafka.readCommitted(webhookDeadLetterTopic, 3);
    } finally {
      await service.stop();
      await receiver.close();
      await broken.close();
    }

    // Every message read_committed to the end: a duplicate or an aborted one would show.
    const messages = await kafka.readCommitted(alertTopic, 3);
    const alerts = messages.map((message) => decodeMessage(Alert, message.value));
    expect(alerts.map((alert) => [alert.status, alert.revision, alert.cameraId])).toEqual([
      ['open', 0, 'cam-1'],
      ['resolved', 1, 'cam-1'],
      ['open', 0, 'cam-1'],
    ]);
    expect(alerts[0]).toMatchObject({ stopLine: true, severity: 'critical', frameIds: ['line-1.cam-1.1', 'line-1.cam-1.2', 'line-1.cam-1.3'] });
    expect(alerts[1]?.alertId).toBe(alerts[0]?.alertId);
    expect(alerts[1]?.observation).toEqual({ value: 0, threshold: 3, frames: 5 });
    expect(alerts[2]?.alertId).not.toBe(alerts[0]?.alertId);
    expect(messages.map((message) => [message.key, message.headers['ce_type']])).toEqual(Array(3).fill(['line-1:cam-1', EVENT_TYPES.alert]));

    expect([...receiver.seen.values()]).toEqual(alerts);

    const letters = (await kafka.readCommitted(webhookDeadLetterTopic, 3)).map((message) => decodeMessage(WebhookDeadLetter, message.value));
    expect(letters.map((letter) => [letter.endpoint, letter.attempts, letter.lastError, letter.idempotencyKey])).toEqual(
      alerts.map((alert) => ['broken', 2, 'HTTP 500', `${alert.alertId}.${alert.revision}`]),
    );
    expect(broken.requests).toHaveLength(6);

    const validAlert = schemaValidator('alert.v1.json');
    const validVerdict = schemaValidator('verdict.v1.json');
    const alertPayloads = kcatPayloads(alertTopic);
    const verdictPayloads = kcatPayloads(verdictTopic);
    expect(alertPayloads).toHaveLength(3);
    expect(verdictPayloads).toHaveLength(12);
    for (const payload of alertPayloads) expect(validAlert(JSON.parse(payload)), JSON.stringify(validAlert.errors)).toBe(true);
    for (const payload of verdictPayloads) expect(validVerdict(JSON.parse(payload)), JSON.stringify(validVerdict.errors)).toBe(true);
    expect(receiver.requests.filter((request) => request.status === 200).every((request) => request.verified)).toBe(true);
  });

  it('turns drift judgements read from the drift topic into a drift alert that opens and resolves', async () => {
    const [verdictTopic, deadLetterTopic, alertTopic, driftTopic] = await Promise.all([
      kafka.topic({ prefix: 'verdicts' }),
      kafka.topic({ prefix: 'dlq' }),
      kafka.topic({ prefix: 'alerts' }),
      kafka.topic({ prefix: 'drift' }),
    ]);
    const config = AlertingConfig.parse({
      kafka: { brokers: kafka.infra.kafkaBrokers },
      alerting: { id: 'test-drift', groupId: kafka.group('alerting'), verdictTopic, deadLetterTopic, frameTopic: '', driftTopic, alertTopic, tickMs: 500, fromBeginning: true },
      rules: [{ name: 'camera-drift', kind: 'drift', cooldownMs: 0 }],
      ops: { port: 0 },
    });
    const service = await startAlerting(config, logger);
    const publishDrift = (event: DriftEvent): Promise<void> =>
      kafka.publish(driftTopic, [{ key: messageKey(event.lineId, event.cameraId), value: encodeMessage(DriftEvent, event) }]);
    try {
      await publishDrift(craftDriftEvent(['input-psi', 'input-ks'], { fabric: '05' }));
      await kafka.readCommitted(alertTopic, 1);
      await publishDrift(craftDriftEvent([], { fabric: '05' }));
      const alerts = (await kafka.readCommitted(alertTopic, 2)).map((message) => decodeMessage(Alert, message.value));
      expect(alerts.map((alert) => [alert.status, alert.kind, alert.rule, alert.cameraId])).toEqual([
        ['open', 'drift', 'camera-drift', 'cam-1'],
        ['resolved', 'drift', 'camera-drift', 'cam-1'],
      ]);
      expect(alerts[0]?.message).toContain('input-psi 0.500 beyond 0.100');
    } finally {
      await service.stop();
    }
  });

  it('opens a precision alert from reviews read on the feedback topic, resolves it after a restart, and exports the quality gauges', async () => {
    const [verdictTopic, deadLetterTopic, alertTopic, feedbackTopic] = await Promise.all([
      kafka.topic({ prefix: 'verdicts' }),
      kafka.topic({ prefix: 'dlq' }),
      kafka.topic({ prefix: 'alerts' }),
      kafka.topic({ partitions: 2, prefix: 'feedback' }),
    ]);
    const config = AlertingConfig.parse({
      kafka: { brokers: kafka.infra.kafkaBrokers },
      alerting: { id: 'test-precision', groupId: kafka.group('alerting'), verdictTopic, deadLetterTopic, frameTopic: '', driftTopic: '', feedbackTopic, alertTopic, tickMs: 500, fromBeginning: true },
      rules: [{ name: 'low-precision', kind: 'precision', floor: 0.5, minReviews: 10, cooldownMs: 0 }],
      ops: { port: 0 },
    });
    const now = new Date().toISOString();
    const publishReviews = (records: readonly Feedback[]): Promise<void> =>
      kafka.publish(feedbackTopic, records.map((record) => ({ key: messageKey(record.lineId, record.cameraId), value: encodeMessage(Feedback, record) })));
    const reviews = (from: number, count: number, label: 'false-alarm' | 'defect-confirmed'): Feedback[] =>
      Array.from({ length: count }, (_, i) => review(`f${from + i}`, label, { decidedAt: now }));

    let service = await startAlerting(config, logger);
    try {
      // 10 false alarms (a double-sent one among them): the interval lies below 0.5.
      const falseAlarms = reviews(0, 10, 'false-alarm');
      await publishReviews([...falseAlarms, falseAlarms[3] as Feedback]);
      const [opened] = (await kafka.readCommitted(alertTopic, 1)).map((message) => decodeMessage(Alert, message.value));
      expect(opened).toMatchObject({ status: 'open', kind: 'precision', dedupKey: 'low-precision:line-1:*', observation: { value: 0, threshold: 0.5, frames: 10 } });
      const metrics = await (await fetch(`http://127.0.0.1:${service.opsPort}/metrics`)).text();
      const labels = 'line="line-1",camera="cam-1",fabric="05",model="patchcore-aitex",version="1.2.0"';
      const own = 'service="alerting",instance="test-precision"';
      expect(metrics).toContain(`loomwatch_quality_precision{${labels},${own}} 0\n`);
      // 0 of 10: the interval reaches 0.3085 (scipy's beta.ppf(0.975, 1, 10))
      expect(metrics).toContain(`loomwatch_quality_precision_upper{${labels},${own}} 0.30849`);
      expect(metrics).toContain(`loomwatch_quality_reviews_total{${labels},kind="flagged",${own}} 10\n`);
      expect(metrics).not.toContain('loomwatch_quality_miss_rate{');
      await service.stop();

      // While it is down, ten confirmations: the restart rebuilds the ten false alarms and resolves on 10 of 20.
      await publishReviews(reviews(10, 10, 'defect-confirmed'));
      service = await startAlerting(config, logger);
      const alerts = (await kafka.readCommitted(alertTopic, 2)).map((message) => decodeMessage(Alert, message.value));
      expect(alerts.map((alert) => [alert.status, alert.alertId, alert.observation?.value])).toEqual([
        ['open', opened?.alertId, 0],
        ['resolved', opened?.alertId, 0.5],
      ]);
    } finally {
      await service.stop();
    }
  });
});
