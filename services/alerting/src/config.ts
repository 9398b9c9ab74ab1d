import { hostname } from 'node:os';
import { z } from 'zod';
import { KafkaConfig, LogConfig, opsConfig } from '@loomwatch/config';
import { TOPICS } from '@loomwatch/contracts';
import { Rules } from './rules.js';
import { WebhookEndpoint } from './webhook.js';

export const AlertingConfig = z.strictObject({
  kafka: KafkaConfig.prefault({}),
  alerting: z
    .strictObject({
      /** Shown as the CloudEvents source. @defaultValue '<hostname>-<pid>' */
      id: z.string().min(1).max(128).default(`${hostname()}-${process.pid}`),
      /**
       * Consumer group; also the prefix of the transactional ids. Run one instance per group:
       * line-wide rules need every camera of a line in one process.
       * @defaultValue 'loomwatch-alerting'
       */
      groupId: z.string().min(1).default('loomwatch-alerting'),
      /** @defaultValue 'verdicts.v1' */
      verdictTopic: z.string().min(1).default(TOPICS.verdicts),
      /** @defaultValue 'frames.dlq.v1' */
      deadLetterTopic: z.string().min(1).default(TOPICS.deadLetters),
      /** Read for the stale-verdicts rule; empty to not read frames. @defaultValue 'frames.v1' */
      frameTopic: z.string().default(TOPICS.frames),
      /** Read for the drift rule; empty to not read drift judgements. @defaultValue 'drift.v1' */
      driftTopic: z.string().default(TOPICS.drift),
      /** Operators' reviews, read for the precision rule and the quality metrics; empty to not read them. @defaultValue 'feedback.v1' */
      feedbackTopic: z.string().default(TOPICS.feedback),
      /** @defaultValue 'alerts.v1' */
      alertTopic: z.string().min(1).default(TOPICS.alerts),
      /** Webhook messages that failed their last try. @defaultValue 'alerts.webhooks.dlq.v1' */
      webhookDeadLetterTopic: z.string().min(1).default(TOPICS.webhookDeadLetters),
      /**
       * Where input groups with no committed offset start: false judges only what arrives from
       * now on (a first deployment does not alert on last week's verdicts). @defaultValue false
       */
      fromBeginning: z.boolean().default(false),
      /**
       * Where a webhook group with no committed offset starts: false sends only alerts published
       * from now on, true every retained alert. @defaultValue false
       */
      webhooksFromBeginning: z.boolean().default(false),
      /** How often time-based rules (stale, no frames, windows, quiet periods) are judged. @defaultValue 5000 */
      tickMs: z.int().positive().default(5000),
      /** On start, this many records per input partition before the committed offset rebuild the history. @defaultValue 2000 */
      restoreRecords: z.int().nonnegative().default(2000),
      /** First SIGTERM waits this long before closing. @defaultValue 20000 */
      shutdownTimeoutMs: z.int().positive().default(20_000),
    })
    .prefault({}),
  /** The `loomwatch_quality_*` metrics (from verdicts and feedback). */
  quality: z
    .strictObject({
      /** The metrics cover the verdicts decided within this window. @defaultValue 604800000 (7 days) */
      windowMs: z.int().positive().default(7 * 24 * 3600_000),
      /**
       * At most this many label sets (line, camera, fabric, model version) per metric, the groups
       * with the most verdicts first; the rest are counted in loomwatch_quality_groups_dropped.
       * @defaultValue 500
       */
      maxGroups: z.int().positive().default(500),
    })
    .prefault({}),
  /** The rules; reloaded from the same files on SIGHUP. @defaultValue [] */
  rules: Rules.default([]),
  /** Webhook endpoints; each gets every alert message it matches. @defaultValue [] */
  webhooks: z.array(WebhookEndpoint).default([]),
  /** `/healthz`, `/readyz`, `/metrics`. @defaultValue port 9466 on 127.0.0.1 (the worker has 9464, the gateway 9465) */
  ops: opsConfig(9466),
  log: LogConfig,
});
export type AlertingConfig = z.infer<typeof AlertingConfig>;
