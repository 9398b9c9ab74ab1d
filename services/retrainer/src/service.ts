/**
 * The retrainer: follows control.v1 for retrain requests (and the deployments their shadows
 * extend) and runs each pending request to its end, one at a time; with a policy model, it also
 * follows feedback.v1 and asks for a refit when a fabric has gathered enough new false alarms, and
 * with `policy.drift` alerts.v1 and drift.v1, asking for one when a drift alert is open on a fabric.
 * A restart reads the compacted topic again and continues every request from its last step.
 * `--once` runs the requests pending when it has read the topic, then stops (a Kubernetes Job).
 */
import { Alert, Deployment, DriftEvent, Feedback, LoomwatchError, RETRAIN_REQUEST_EVENT_TYPE, RetrainRequest, cloudEventHeaders, decodeMessage, encodeMessage, isRetrainKey, retrainKey, retrainPending, toLoomwatchError } from '@loomwatch/contracts';
import { publishControlMessage } from '@loomwatch/frame-pipeline';
import { createKafkaClient, requireTopics, type InboundRecord, type KafkaClient, type Subscription } from '@loomwatch/kafka';
import { Counter, createMetricsRegistry, startOpsServer, type Logger } from '@loomwatch/observability';
import { applyFeedback, type FrameLabel } from '@loomwatch/quality';
import { S3BlobStore } from '@loomwatch/storage';
import type { RetrainConfig } from './config.js';
import { driftEventKey, driftRequests, supersedes } from './drift-policy.js';
import { policyRequests } from './policy.js';
import { runRequest, type RetrainSteps } from './runner.js';
import { realSteps } from './steps.js';

/** How long `--once` waits before running again requests a drain left pending. */
const ONCE_RETRY_MS = 2000;

export interface RetrainerService {
  readonly opsPort: number;
  /** With `once`: settles when every request pending at the start has ended (or stopped); else never. */
  readonly drained: Promise<void>;
  stop(): Promise<void>;
}

export interface RetrainerOptions {
  /** The work behind each step (tests); the real steps by default. */
  steps?: (deps: { client: KafkaClient; deployment: (model: string) => Deployment | undefined; signal: AbortSignal }) => RetrainSteps;
  /** Run the requests pending once the topics are read (and those the policies ask for then), then settle `drained`. */
  once?: boolean;
}

/** Publishes a request (any step) under its model's and fabric's key. */
export async function publishRetrainRequest(client: KafkaClient, topic: string, request: RetrainRequest): Promise<void> {
  await publishControlMessage(client, topic, {
    key: retrainKey(request.model, request.fabric),
    value: encodeMessage(RetrainRequest, request),
    headers: { ...cloudEventHeaders(RETRAIN_REQUEST_EVENT_TYPE, '/loomwatch/retrainer') },
  });
}

export async function startRetrainer(config: RetrainConfig, logger: Logger, options: RetrainerOptions = {}): Promise<RetrainerService> {
  const settings = config.retrain;
  const client = createKafkaClient({ ...config.kafka, clientId: 'loomwatch-retrainer' }, logger);
  const policyModel = config.policy.model;
  const followDrift = config.policy.drift && policyModel !== undefined;
  await requireTopics(client.topics, [
    settings.controlTopic,
    ...(policyModel === undefined ? [] : [settings.feedbackTopic]),
    ...(followDrift ? [settings.alertsTopic, settings.driftTopic] : []),
  ]);

  const registry = createMetricsRegistry();
  const steps = new Counter({ name: 'loomwatch_retrain_steps_total', help: 'Retrain request steps recorded, by the step reached', labelNames: ['step'], registers: [registry] });
  const deployments = new Map<string, Deployment>();
  const requests = new Map<string, RetrainRequest>();
  const labels = new Map<string, FrameLabel>();
  const alerts = new Map<string, Alert>();
  const judgements = new Map<string, DriftEvent>();
  const abort = new AbortController();
  const deps = { client, deployment: (model: string) => deployments.get(model), signal: abort.signal };
  const work = options.steps?.(deps) ?? realSteps({
      config: settings,
      client,
      deployment: deps.deployment,
      store: new S3BlobStore(config.s3),
      timing: (part, ms, frames) => logger.info({ part, ms, frames }, `retrain replay step: ${part} of ${frames} reviewed frames in ${(ms / 1000).toFixed(1)} s`),
      signal: abort.signal,
    });
  let stopped = false;
  let running: Promise<void> | undefined;

  const publish = async (request: RetrainRequest): Promise<void> => {
    // A step cut short by the shutdown is not an outcome: the next run redoes it.
    if (stopped) throw new LoomwatchError('RETRAIN_INVALID', `stopping: ${request.id} continues from ${requests.get(retrainKey(request.model, request.fabric))?.status.step ?? 'its last step'} on restart`);
    const inForce = requests.get(retrainKey(request.model, request.fabric));
    if (inForce !== undefined && inForce.id !== request.id) throw new LoomwatchError('RETRAIN_INVALID', `${request.id} was replaced by ${inForce.id}: its run stops here`);
    await publishRetrainRequest(client, settings.controlTopic, request);
    requests.set(retrainKey(request.model, request.fabric), request);
    steps.inc({ step: request.status.step });
    logger.info({ request: request.id, model: request.model, fabric: request.fabric ?? 'all', status: request.status }, `retrain ${request.id}: ${request.status.step}`);
  };

  // The policies' requests not yet on the topic: run only once their `requested` record is, so no
  // step's record can land before it.
  const asking = new Set<string>();
  const runnable = (request: RetrainRequest): boolean => retrainPending(request) && !asking.has(request.id);

  const drain = async (): Promise<void> => {
    for (;;) {
      const next = [...requests.values()].find(runnable);
      if (next === undefined || stopped) return;
      try {
        await runRequest(next, work, publish, { guard: config.guard });
      } catch (err) {
        const error = toLoomwatchError(err);
        logger.warn({ request: next.id, code: error.code }, `retrain ${next.id} stopped before its next step was recorded: ${error.message}`);
        // Replaced: run the new request. Else (stopping, the broker down) try again on the next record read.
        if (requests.get(retrainKey(next.model, next.fabric))?.id === next.id) return;
      }
    }
  };
  /** Settles once no drain is under way and nothing runnable is pending (or the service stops). */
  const untilIdle = async (): Promise<void> => {
    for (;;) {
      // The policies' requests are published asynchronously: let them land before judging.
      await new Promise((resolve) => setTimeout(resolve, 50));
      const current = running;
      if (current !== undefined) await current;
      else if (asking.size > 0) continue;
      else if (stopped || ![...requests.values()].some(retrainPending)) return;
      else {
        // A drain that stopped with work left (the broker down): try again after a pause.
        await new Promise((resolve) => setTimeout(resolve, ONCE_RETRY_MS));
        kick();
      }
    }
  };
  const kick = (): void => {
    running ??= drain().finally(() => {
      running = undefined;
    });
  };

  const ask = (request: RetrainRequest): void => {
    requests.set(retrainKey(request.model, request.fabric), request);
    asking.add(request.id);
    void publishRetrainRequest(client, settings.controlTopic, request)
      .then(
        () => undefined,
        (err: unknown) => {
          // Not on the topic, so not run: the policy asks again on the next record it reads.
          if (requests.get(retrainKey(request.model, request.fabric))?.id === request.id) requests.delete(retrainKey(request.model, request.fabric));
          logger.error({ code: toLoomwatchError(err).code }, `the policy's request ${request.id} was not published: ${toLoomwatchError(err).message}`);
        },
      )
      .finally(() => {
        asking.delete(request.id);
        kick();
      });
  };
  const runPolicy = (): void => {
    if (policyModel === undefined) return;
    const now = new Date();
    for (const request of policyRequests(labels.values(), requests, { model: policyModel, falseAlarms: config.policy.falseAlarms, now })) ask(request);
    // After the false-alarm requests: a fabric just asked for is pending, so drift does not ask twice.
    if (followDrift) for (const request of driftRequests(alerts.values(), judgements.values(), requests, { model: policyModel, now })) ask(request);
  };

  let caughtUp = false;
  const visitControl = (record: InboundRecord): void => {
    if (record.value === null || record.key === undefined) return;
    try {
      if (record.key.startsWith('deployment:')) {
        const deployment = decodeMessage(Deployment, record.value);
        deployments.set(deployment.model, deployment);
      } else if (isRetrainKey(record.key)) {
        const request = decodeMessage(RetrainRequest, record.value);
        if (retrainKey(request.model, request.fabric) !== record.key) throw new LoomwatchError('RETRAIN_INVALID', `the request under key ${record.key} names ${retrainKey(request.model, request.fabric)}`);
        const known = requests.get(record.key);
        // Our own records come back; an older one read after a newer one we published is skipped.
        if (known === undefined || known.id !== request.id || Date.parse(request.updatedAt) >= Date.parse(known.updatedAt)) requests.set(record.key, request);
        if (caughtUp) kick();
      }
    } catch (err) {
      const error = toLoomwatchError(err);
      logger.error({ code: error.code, offset: record.offset, key: record.key }, `ignoring an invalid message on ${settings.controlTopic}: ${error.message}`);
    }
  };
  const visitFeedback = (record: InboundRecord): void => {
    if (record.value === null) return;
    try {
      const feedback = decodeMessage(Feedback, record.value);
      const next = applyFeedback(labels.get(feedback.frameId), feedback);
      if (next !== undefined) labels.set(feedback.frameId, next);
      if (caughtUp) runPolicy();
    } catch (err) {
      logger.error({ code: toLoomwatchError(err).code, offset: record.offset }, `ignoring an invalid review on ${settings.feedbackTopic}`);
    }
  };

  const visitAlert = (record: InboundRecord): void => {
    if (record.value === null) return;
    try {
      const alert = decodeMessage(Alert, record.value);
      if (alert.kind !== 'drift') return;
      if (alert.status === 'resolved') alerts.delete(alert.alertId);
      else if (supersedes(alert, alerts.get(alert.alertId))) alerts.set(alert.alertId, alert);
      if (caughtUp) runPolicy();
    } catch (err) {
      logger.error({ code: toLoomwatchError(err).code, offset: record.offset }, `ignoring an invalid alert on ${settings.alertsTopic}`);
    }
  };
  const visitDrift = (record: InboundRecord): void => {
    if (record.value === null) return;
    try {
      const event = decodeMessage(DriftEvent, record.value);
      const key = driftEventKey(event);
      const kept = judgements.get(key);
      if (kept === undefined || Date.parse(event.window.to) >= Date.parse(kept.window.to)) judgements.set(key, event);
      if (caughtUp) runPolicy();
    } catch (err) {
      logger.error({ code: toLoomwatchError(err).code, offset: record.offset }, `ignoring an invalid drift judgement on ${settings.driftTopic}`);
    }
  };

  const subscriptions: Subscription[] = [await client.reader.follow(settings.controlTopic, visitControl)];
  if (policyModel !== undefined) subscriptions.push(await client.reader.follow(settings.feedbackTopic, visitFeedback));
  if (followDrift) subscriptions.push(await client.reader.follow(settings.driftTopic, visitDrift), await client.reader.follow(settings.alertsTopic, visitAlert));
  caughtUp = true;
  runPolicy();
  kick();
  // --once: what is pending now (and what the policies just asked for) is this run's work.
  const drained = options.once === true ? untilIdle() : new Promise<void>(() => undefined);

  const ops = await startOpsServer({ port: config.ops.port, host: config.ops.host, registry, readiness: { broker: () => subscriptions.every((s) => s.running) } });
  logger.info({ controlTopic: settings.controlTopic, policy: config.policy, opsPort: ops.port }, 'retrainer started');
  return {
    opsPort: ops.port,
    drained,
    async stop() {
      stopped = true;
      abort.abort();
      await running;
      for (const subscription of subscriptions) await subscription.stop();
      await ops.close();
      logger.info('retrainer stopped');
    },
  };
}
