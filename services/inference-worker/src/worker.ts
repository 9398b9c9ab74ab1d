import { deployedModelRef, toLoomwatchError, type Deployment, type Precision } from '@loomwatch/contracts';
import { EngineDecider, type Decider } from '@loomwatch/inference';
import { backoffDelay, sleep } from '@loomwatch/concurrency';
import { createKafkaClient, requireTopics, type KafkaClient } from '@loomwatch/kafka';
import { MODEL_NAME, defaultModel, modelSource, readCpuFlags, readModelCard, resolveModel, selectPrecision, type ModelSource } from '@loomwatch/model-registry';
import { createMetricsRegistry, startOpsServer, type Logger } from '@loomwatch/observability';
import { S3BlobStore } from '@loomwatch/storage';
import { ModelPool, createFrameProcessor, fixedDeployment, servedFor } from '@loomwatch/frame-pipeline';
import { staticMemberId, type WorkerConfig } from './config.js';
import { watchDeployments, type DeploymentWatch } from './deployments.js';
import { WorkerMetrics, type ServedModel } from './metrics.js';

export interface RunningWorker {
  /** The deployment in force now (it changes when a new one arrives on the control topic). */
  readonly deployment: Deployment;
  /** The production version's model reference. */
  readonly model: Decider['model'];
  readonly opsPort: number;
  /** Stops fetching, drops uncommitted in-flight frames (their new owner decides them), closes. */
  stop(): Promise<void>;
  /**
   * Called once when the consumer crashed and the Kafka client will not restart it: the worker
   * decides nothing more and `/readyz` says so; the process should stop and be restarted.
   */
  onFatal(listener: (error: Error) => void): void;
}

const LAG_POLL_MS = 10_000;

/**
 * Runs a start-up step again while it fails transiently (S3 restarting, say), for at most `budgetMs`
 * (`worker.retryForMs`): a worker starting during an outage waits for it rather than exit.
 */
async function untilAvailable(step: () => Promise<void>, budgetMs: number, logger: Logger): Promise<void> {
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      await step();
      return;
    } catch (err) {
      const error = toLoomwatchError(err);
      if (!error.retryable || Date.now() - started > budgetMs) throw error;
      logger.warn({ code: error.code, attempt }, `start-up waits: ${error.message}`);
      await sleep(backoffDelay(attempt, { initialMs: 500, maxMs: 5000 }));
    }
  }
}

/** Wires the worker from its config: Kafka, S3, the model, metrics and the ops server. */
export async function startWorker(config: WorkerConfig, logger: Logger): Promise<RunningWorker> {
  const client = createKafkaClient(
    { ...config.kafka, clientId: `inference-worker-${config.worker.id}`, groupInstanceId: staticMemberId(config.worker, process.env) },
    logger,
  );
  const store = new S3BlobStore(config.s3);
  const registry = createMetricsRegistry({ service: 'inference-worker', worker: config.worker.id });
  const cpuFlags = await readCpuFlags();
  const metrics = new WorkerMetrics(registry, cpuFlags);

  const { inputTopic, verdictTopic, shadowVerdictTopic, deadLetterTopic, controlTopic } = config.worker;
  await requireTopics(client.topics, [inputTopic, verdictTopic, shadowVerdictTopic, deadLetterTopic, controlTopic]);
  await untilAvailable(() => store.ensureBucket(config.worker.outputBucket), config.worker.retryForMs, logger);

  const served = (current: ModelPool): ServedModel[] =>
    [...new Set(current.versions)].flatMap((deployedVersion) => {
      const model = current.decider(deployedVersion)?.model;
      return model === undefined ? [] : [{ deployedVersion, model, precision: model.precision ?? 'fp32' }];
    });
  const recordDeployment = (current: ModelPool): void => metrics.recordDeployment(current.deployment, served(current));
  const { pool, watch } = await startModels(config, client, logger, recordDeployment, cpuFlags);
  recordDeployment(pool);

  const processor = createFrameProcessor({
    pipeline: config.worker,
    client,
    store,
    router: pool,
    logger,
    groupId: config.worker.groupId,
    inputTopic: config.worker.inputTopic,
    verdictTopic: config.worker.verdictTopic,
    workerId: config.worker.id,
    source: `/loomwatch/inference-worker/${config.worker.id}`,
    inFlight: metrics.inFlight,
    onDecided: (verdict, route) => metrics.recordVerdict(verdict, route),
    onShadowFailed: (frame, error) => {
      metrics.shadowFailures.inc({ version: pool.deployment.shadow?.version ?? 'unknown', code: error.code });
      logger.warn({ code: error.code, frameId: frame.frameId }, `shadow version failed on a frame: ${error.message}`);
    },
    onDeadLettered: (_, error) => metrics.deadLetters.inc({ code: error.code }),
  });

  const ops = await startOpsServer({
    port: config.ops.port,
    host: config.ops.host,
    registry,
    readiness: {
      // False before the start, while the client restarts a crashed consumer, and for good after a fatal crash.
      broker: () => processor.running,
      s3: () => store.ping(),
      model: () => pool.healthy,
      // Following its model's deployments (a pinned version follows none): false while a failed follow is retried.
      deployments: () => watch?.following ?? true,
    },
  });

  const offsets = client.offsets();
  const pollLag = async (): Promise<void> => {
    const [ends, committed] = await Promise.all([
      offsets.watermarks(config.worker.inputTopic),
      offsets.committed(config.worker.groupId, config.worker.inputTopic),
    ]);
    for (const end of ends) {
      metrics.consumerLag.set({ partition: String(end.partition) }, Math.max(0, end.high - (committed.get(end.partition) ?? 0)));
    }
  };
  const lagTimer = setInterval(() => void pollLag().catch(() => undefined), LAG_POLL_MS);

  await processor.start();
  logger.info({ groupId: config.worker.groupId, topic: config.worker.inputTopic, opsPort: ops.port }, 'worker started');

  return {
    get deployment() {
      return pool.deployment;
    },
    get model() {
      const production = pool.decider(pool.deployment.production);
      if (production === undefined) throw new Error('the production version is not loaded');
      return production.model;
    },
    opsPort: ops.port,
    async stop() {
      clearInterval(lagTimer);
      await watch?.stop();
      await processor.stop();
      await offsets.close();
      await pool.close();
      await ops.close();
      store.close();
      logger.info('worker stopped');
    },
    onFatal: (listener) => processor.onFatal(listener),
  };
}

/** `draem-aitex` follows the model's deployments; `name@version` or a directory pins one version. */
function followsDeployments(ref: string): boolean {
  return MODEL_NAME.test(ref);
}

async function chooseDefaultModel(registryRoot: string, logger: Logger): Promise<string> {
  const chosen = await defaultModel(registryRoot);
  logger.info({ model: chosen.name, productionVersion: chosen.version, imageAuroc: chosen.imageAuroc }, 'no model configured: following the best-validated production model of the registry');
  return chosen.name;
}

/**
 * Loads the model versions the worker needs. Following a model: the latest deployment on the
 * control topic, else the registry's production marker; later deployments switch the pool. Each
 * version asked for runs as itself or as its INT8 variant (the deployment's `precision`, else
 * `inference.precision`; the CPU's flags): the decider's model says which ran and what was asked.
 */
async function startModels(
  config: WorkerConfig,
  client: KafkaClient,
  logger: Logger,
  onSwitched: (pool: ModelPool) => void,
  cpuFlags: readonly string[],
): Promise<{ pool: ModelPool; watch: DeploymentWatch | undefined }> {
  const load = async (ref: ModelSource, pinned: Precision | undefined): Promise<Decider> => {
    const precision = pinned ?? config.inference.precision;
    const chosen = await selectPrecision(ref, { registryRoot: config.inference.registryRoot, precision, cpuFlags });
    const decider = await EngineDecider.load({ model: { dir: chosen.dir }, ...config.inference, overlayFormat: config.worker.overlayFormat, overlays: config.worker.overlays });
    logger.info(
      { model: chosen.name, requested: chosen.requested, version: decider.model.version, precision: chosen.precision, asked: precision, pinnedByDeployment: pinned !== undefined, cpuFlags, modelCpus: config.inference.modelCpus ?? 'all' },
      `${chosen.name}@${chosen.requested} runs as ${decider.model.version} (${chosen.precision}): ${chosen.reason}`,
    );
    return servedFor(decider, chosen.requested);
  };
  const ref = config.model ?? (await chooseDefaultModel(config.inference.registryRoot, logger));
  if (!followsDeployments(ref)) {
    // The config's model is the operator's: a value with a "/" is a version directory.
    const pinned = modelSource(ref);
    const card = await readModelCard(await resolveModel(pinned, config.inference.registryRoot));
    const pool = await ModelPool.start(() => load(pinned, undefined), fixedDeployment(card.name, card.version));
    logger.info({ model: ref, version: card.version }, 'model version pinned');
    return { pool, watch: undefined };
  }
  const name = ref;
  let poolReady!: (pool: ModelPool) => void;
  const poolPromise = new Promise<ModelPool>((resolve) => (poolReady = resolve));
  const watch = await watchDeployments({
    client,
    topic: config.worker.controlTopic,
    model: name,
    logger,
    onChange: async (deployment) => {
      const pool = await poolPromise;
      try {
        if (await pool.apply(deployment)) {
          onSwitched(pool);
          logger.info({ deployment }, `deployment revision ${deployment.revision} in force`);
        }
      } catch (err) {
        const error = toLoomwatchError(err);
        logger.error({ code: error.code, revision: deployment.revision }, `deployment not applied, the previous one stays: ${error.message}`);
      }
    },
  });
  const initial = watch.initial ?? fixedDeployment(name, (await readModelCard(await resolveModel(name, config.inference.registryRoot))).version);
  const pool = await ModelPool.start((version, precision) => load(deployedModelRef(name, version), precision), initial);
  poolReady(pool);
  logger.info({ deployment: initial }, watch.initial === undefined ? 'no deployment on the control topic: serving the registry production version' : 'deployment loaded');
  return { pool, watch };
}
