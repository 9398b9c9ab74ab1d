/**
 * The MES contract, generated: one JSON Schema per message and version (`docs/schemas/`) and the
 * AsyncAPI 3.0 document (`docs/asyncapi.yaml`), both derived from the zod schemas in
 * `@loomwatch/contracts` — there is no hand-written second copy. `pnpm run docs` writes them (a bare
 * `pnpm docs` is pnpm's own command, which opens the package's web page); a test fails when the
 * committed files differ. The model card, which is a file in the registry
 * and not a message, gets a schema file too (`model-card.v1.json`): the Python registry
 * validates the cards it writes against it.
 *
 * JSON Schema draft-07: what AsyncAPI 3.0 payloads and most validators (ajv's default) read.
 * zod refinements that JSON Schema cannot say (an object key without "..", an alert's resolvedAt
 * set exactly when resolved) are stated in the descriptions; our code checks them.
 */
import { z } from 'zod';
import { stringify } from 'yaml';
import { Alert } from '../alert.js';
import { Deployment } from '../control.js';
import { DeadLetter } from '../dead-letter.js';
import { DriftEvent } from '../drift.js';
import { Feedback } from '../feedback.js';
import { FrameEvent } from '../frame-event.js';
import { EVENT_TYPES } from '../headers.js';
import { ModelCard } from '../model-card.js';
import { ReplayPlan } from '../replay-plan.js';
import { RETRAIN_REQUEST_EVENT_TYPE, RetrainRequest } from '../retrain.js';
import { TOPICS, topicDeclaration, type TopicName } from '../topics.js';
import { Verdict } from '../verdict.js';
import { WebhookDeadLetter } from '../webhook-dead-letter.js';

interface MessageSpec {
  name: string;
  title: string;
  file: string;
  schema: z.ZodType;
  eventType: string;
  description: string;
  /** The Kafka key's schema. @defaultValue lineId:cameraId */
  key?: Record<string, unknown>;
}

interface ChannelSpec {
  id: string;
  /** Its partitions come from the topic's declaration (TOPIC_DECLARATIONS). */
  address: TopicName;
  messages: MessageSpec[];
  description: string;
  /** What a subscriber (MES, dashboard) does with it. */
  receive: string;
}

const MESSAGES: Record<'frame' | 'verdict' | 'deadLetter' | 'alert' | 'webhookDeadLetter' | 'deployment' | 'replayPlan' | 'retrainRequest' | 'drift' | 'feedback', MessageSpec> = {
  frame: {
    name: 'FrameEvent',
    title: 'A frame a camera produced',
    file: 'frame-event.v1.json',
    schema: FrameEvent,
    eventType: EVENT_TYPES.frame,
    description: 'Published once the image is in the object store. Image keys are relative and contain no ".." segment.',
  },
  verdict: {
    name: 'Verdict',
    title: 'The decision for one frame',
    file: 'verdict.v1.json',
    schema: Verdict,
    eventType: EVENT_TYPES.verdict,
    description: 'Published in the same Kafka transaction as the frame offset: read with isolation.level=read_committed.',
  },
  deadLetter: {
    name: 'DeadLetter',
    title: 'A frame that could not be decided',
    file: 'dead-letter.v1.json',
    schema: DeadLetter,
    eventType: EVENT_TYPES.deadLetter,
    description: 'The original message with the reason (a stable error code). A frame has either a verdict or a dead letter.',
  },
  alert: {
    name: 'Alert',
    title: 'An alert opening or resolving',
    file: 'alert.v1.json',
    schema: Alert,
    eventType: EVENT_TYPES.alert,
    description:
      'One message per transition. alertId names the episode, revision orders its messages (0 = open); keep the highest. resolvedAt is set exactly when status is resolved.',
  },
  webhookDeadLetter: {
    name: 'WebhookDeadLetter',
    title: 'An alert a webhook endpoint did not take',
    file: 'webhook-dead-letter.v1.json',
    schema: WebhookDeadLetter,
    eventType: EVENT_TYPES.webhookDeadLetter,
    description:
      'Published by alerting when an endpoint failed its last try: the alert, the idempotency key the endpoint would have seen, the attempts and the last error. Sent again by hand, the idempotency key dedups.',
  },
  deployment: {
    name: 'Deployment',
    title: 'Which model versions decide live frames',
    file: 'deployment.v1.json',
    schema: Deployment,
    eventType: EVENT_TYPES.deployment,
    description:
      'Published by `pnpm rollout set`; the latest revision per model is in force (compacted topic). Routing: fabrics, then canary lines/cameras, then production; shadow decides a sample again for verdicts.shadow.v1. operatingPoint: the false-alarm rate a frame is judged at, its line\'s, else the deployment\'s, else each model card\'s default (0.05); the verdict names the rate applied.',
    key: { type: 'string', pattern: '^deployment:[A-Za-z0-9._-]+$', description: 'deployment:<model>' },
  },
  drift: {
    name: 'DriftEvent',
    title: "A window of a camera's frames judged against the model's reference",
    file: 'drift.v1.json',
    schema: DriftEvent,
    eventType: EVENT_TYPES.drift,
    description:
      'Published by the drift monitor each time a window is evaluated: every measure (input PSI and KS, contrast, score PSI, defect rate) with its threshold, the checks that tripped, and the reference used. Keep the latest per line, camera and fabric.',
  },
  feedback: {
    name: 'Feedback',
    title: "An operator's review of a verdict",
    file: 'feedback.v1.json',
    schema: Feedback,
    eventType: EVENT_TYPES.feedback,
    description:
      'Published by the dashboard when a signed-in operator reviews a frame: defect-confirmed or false-alarm on a flagged frame, ok-confirmed or missed-defect (with regions) on an ok one. A second review of a frame is a new record with the next revision; the highest revision is the label. feedbackId is the idempotency key: keep the first record of an id. queue says why the frame was shown (only sample frames estimate the miss rate).',
  },
  replayPlan: {
    name: 'ReplayPlan',
    title: 'What a replay decides again, and where it stands',
    file: 'replay-plan.v1.json',
    schema: ReplayPlan,
    eventType: EVENT_TYPES.replayPlan,
    description:
      'Published by `pnpm replay` before it starts: the input offsets per partition, the model version, the target topic and the selection. A rerun under the same name reads it back and continues the same plan.',
    key: { type: 'string', pattern: '^replay:[A-Za-z0-9._-]+$', description: 'replay:<id>' },
  },
  retrainRequest: {
    name: 'RetrainRequest',
    title: 'A refit of a model from the reviews, and where it stands',
    file: 'retrain-request.v1.json',
    schema: RetrainRequest,
    eventType: RETRAIN_REQUEST_EVENT_TYPE,
    description:
      'Published by the retrain policy or `loomwatch retrain request` (status requested); the retrainer advances status: snapshot (the data set snapshot id), refit, candidate (the version) or refused (the gate\'s reasons) or failed (code, message), then shadow (the deployment revision that shadows the candidate). The latest value per model and fabric is in force.',
    key: { type: 'string', pattern: '^retrain:[A-Za-z0-9._-]+:[A-Za-z0-9._-]+$', description: 'retrain:<model>:<fabric|all>' },
  },
};

const CHANNELS: ChannelSpec[] = [
  { id: 'frames', address: TOPICS.frames, messages: [MESSAGES.frame], description: 'Frames, keyed lineId:cameraId.', receive: 'Read frames as they are published.' },
  { id: 'verdicts', address: TOPICS.verdicts, messages: [MESSAGES.verdict], description: 'Verdicts, exactly once, keyed lineId:cameraId.', receive: 'Read verdicts (read_committed).' },
  { id: 'deadLetters', address: TOPICS.deadLetters, messages: [MESSAGES.deadLetter], description: 'Frames that could not be decided, keyed lineId:cameraId.', receive: 'Read dead letters (read_committed).' },
  {
    id: 'shadowVerdicts',
    address: TOPICS.shadowVerdicts,
    messages: [MESSAGES.verdict],
   
    description: 'Verdicts of the shadow model version on a sample of live frames, exactly once, keyed lineId:cameraId. Alerting never reads them.',
    receive: 'Compare a candidate version with production (pnpm replay report --replay-topic verdicts.shadow.v1).',
  },
  {
    id: 'control',
    address: TOPICS.control,
    messages: [MESSAGES.deployment, MESSAGES.replayPlan, MESSAGES.retrainRequest],
   
    description: 'The control plane, compacted: model deployments under deployment:<model> keys, replay plans under replay:<id> keys and retrain requests under retrain:<model>:<fabric|all> keys; a reader skips keys of the others; the latest value of a key is in force.',
    receive: 'Workers read it to the end at start, then follow it; a replay reads its plan back.',
  },
  { id: 'alerts', address: TOPICS.alerts, messages: [MESSAGES.alert], description: 'Alert transitions, exactly once, keyed lineId:cameraId (lineId:* for a line-wide alert).', receive: 'Read alerts (read_committed).' },
  {
    id: 'webhookDeadLetters',
    address: TOPICS.webhookDeadLetters,
    messages: [MESSAGES.webhookDeadLetter],
   
    description: 'Webhook messages whose endpoint failed its last try, keyed lineId:cameraId of the alert.',
    receive: 'Watch for endpoints that lose alerts; resend by hand with the idempotency key.',
  },
  {
    id: 'drift',
    address: TOPICS.drift,
    messages: [MESSAGES.drift],
   
    description: 'Drift judgements, exactly once, keyed lineId:cameraId.',
    receive: 'Read drift judgements (read_committed); alerting turns a drifting one into a drift alert.',
  },
  {
    id: 'feedback',
    address: TOPICS.feedback,
    messages: [MESSAGES.feedback],
    description: 'Operators\' reviews of verdicts, keyed lineId:cameraId, kept until deleted.',
    receive: 'Read reviews (read_committed); keep the highest revision per frame and the first record per feedbackId.',
  },
];

const VERSIONING_POLICY =
  'Versioning: a topic name carries its major version (verdicts.v1). Within v1 a message only gains optional fields; ' +
  'consumers must ignore fields they do not know. A breaking change (a field removed, renamed, retyped or made required) ' +
  'means a v2 topic published side by side with v1 until every consumer has moved. The schemas are strict ' +
  '(additionalProperties: false) so that a misspelt field fails; a consumer that validates messages should use the ' +
  'current schema files of the version it reads, as v1 may gain optional fields.';

/** The JSON Schema of one message, draft-07, as written to `docs/schemas/<file>`. */
function messageJsonSchema(message: MessageSpec): Record<string, unknown> {
  const generated = z.toJSONSchema(message.schema, { target: 'draft-7', io: 'output', unrepresentable: 'throw' }) as Record<string, unknown>;
  return { ...generated, title: message.name, description: `${message.title}. ${message.description}` };
}

const CLOUD_EVENT_HEADERS = {
  type: 'object',
  description: 'CloudEvents 1.0 Kafka binary-mode headers and W3C trace context, as UTF-8 strings.',
  required: ['ce_id', 'ce_type', 'ce_source', 'ce_specversion', 'ce_time', 'content-type', 'traceparent'],
  properties: {
    ce_id: { type: 'string', description: 'Unique per event (an alert message: <alertId>.<revision>).' },
    ce_type: { type: 'string', description: 'io.loomwatch.<message>.v1' },
    ce_source: { type: 'string', description: 'The producing process, e.g. /loomwatch/inference-worker/<id>.' },
    ce_specversion: { type: 'string', const: '1.0' },
    ce_time: { type: 'string', format: 'date-time' },
    'content-type': { type: 'string', const: 'application/json' },
    traceparent: { type: 'string', pattern: '^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$' },
  },
};

const KEY_SCHEMA = { type: 'string', pattern: '^[A-Za-z0-9._-]+:([A-Za-z0-9._-]+|\\*)$', description: 'lineId:cameraId' };

/** The channel's Kafka binding, from the topic's declaration (replication is the cluster's: `loomwatch topics apply`). */
function kafkaBinding(topic: TopicName): Record<string, unknown> {
  const declared = topicDeclaration(topic);
  const topicConfiguration = { 'cleanup.policy': [declared.cleanupPolicy], ...(declared.retentionMs === undefined ? {} : { 'retention.ms': declared.retentionMs }) };
  return { topic, partitions: declared.partitions, topicConfiguration, bindingVersion: '0.5.0' };
}

/** Every generated file, path relative to the repo's `docs/` → content. */
export function contractFiles(): Map<string, string> {
  const files = new Map<string, string>();
  const messages = Object.values(MESSAGES);
  for (const message of messages) files.set(`schemas/${message.file}`, `${JSON.stringify(messageJsonSchema(message), null, 2)}\n`);
  files.set('schemas/model-card.v1.json', `${JSON.stringify(modelCardJsonSchema(), null, 2)}\n`);

  const document = {
    asyncapi: '3.0.0',
    info: {
      title: 'Loomwatch messages',
      version: '1.0.0',
      description:
        'The topics Loomwatch publishes, for MES systems and other subscribers. Every message is JSON, ' +
        'keyed lineId:cameraId, with CloudEvents binary-mode headers. Read verdicts, dead letters and ' +
        `alerts with isolation.level=read_committed. Generated from the zod schemas; do not edit by hand.\n\n${VERSIONING_POLICY}`,
    },
    defaultContentType: 'application/json',
    servers: {
      local: { host: '127.0.0.1:19092', protocol: 'kafka', description: 'The broker `make demo` and the tests start (deploy/local).' },
    },
    channels: Object.fromEntries(
      CHANNELS.map((channel) => [
        channel.id,
        {
          address: channel.address,
          description: channel.description,
          messages: Object.fromEntries(channel.messages.map((message) => [message.name, { $ref: `#/components/messages/${message.name}` }])),
          bindings: { kafka: kafkaBinding(channel.address) },
        },
      ]),
    ),
    operations: Object.fromEntries(
      CHANNELS.map((channel) => [
        `receive${channel.id[0]?.toUpperCase() ?? ''}${channel.id.slice(1)}`,
        {
          action: 'receive',
          channel: { $ref: `#/channels/${channel.id}` },
          summary: channel.receive,
          messages: channel.messages.map((message) => ({ $ref: `#/channels/${channel.id}/messages/${message.name}` })),
        },
      ]),
    ),
    components: {
      messages: Object.fromEntries(
        messages.map((message) => [
          message.name,
          {
            name: message.name,
            title: message.title,
            summary: message.description,
            contentType: 'application/json',
            headers: { $ref: '#/components/schemas/CloudEventHeaders' },
            payload: { schemaFormat: 'application/schema+json;version=draft-07', schema: withoutMeta(messageJsonSchema(message)) },
            bindings: { kafka: { key: message.key ?? KEY_SCHEMA, bindingVersion: '0.5.0' } },
            'x-cloudevents-type': message.eventType,
            'x-json-schema': `schemas/${message.file}`,
          },
        ]),
      ),
      schemas: { CloudEventHeaders: CLOUD_EVENT_HEADERS },
    },
  };
  files.set('asyncapi.yaml', `# Generated by packages/contracts/src/docs/contract-docs.ts from the zod schemas: do not edit.\n${stringify(document, { lineWidth: 0, aliasDuplicateObjects: false })}`);
  return files;
}

/**
 * The model card as the registry stores it (`models/registry/<name>/<version>/model.json`):
 * the schema of what the engine accepts when it reads a card (zod's input side).
 */
function modelCardJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(ModelCard, { target: 'draft-7', io: 'input', unrepresentable: 'throw' }) as Record<string, unknown>;
  return {
    ...generated,
    title: 'ModelCard',
    description: 'A model version in the registry: ONNX file and hash, tile contract, preprocessing, postprocessing (thresholds, normalisation, per-fabric calibration), metrics and lineage.',
  };
}

function withoutMeta(schema: Record<string, unknown>): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = schema;
  return rest;
}
