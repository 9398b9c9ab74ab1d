import { resolve } from 'node:path';
import { EngineDecider } from '@loomwatch/inference';
import { defaultModel, modelSource, readModelCard, resolveModel } from '@loomwatch/model-registry';
import { createMetricsRegistry, startOpsServer, type Logger } from '@loomwatch/observability';
import { S3BlobStore } from '@loomwatch/storage';
import { Admission } from './admission.js';
import { apiAuth } from './auth.js';
import type { ApiConfig } from './config.js';
import { ApiMetrics } from './metrics.js';
import { ModelCache } from './models.js';
import { openApiDocument } from './openapi.js';
import { ResultCache } from './results.js';
import { StreamOverlays } from './stream-overlays.js';
import { startInferenceApi } from './server.js';

export interface ApiService {
  readonly port: number;
  readonly opsPort: number;
  /** What a request without `?model=` runs. */
  readonly defaultModel: string;
  stop(): Promise<void>;
}

/** Builds the API from its config: loads the default model (so a bad one fails the start), then listens. */
export async function startApiService(config: ApiConfig, logger: Logger, version = '0.1.0'): Promise<ApiService> {
  const auth = apiAuth(config.api);
  if (auth.mode === 'none') logger.warn('api.auth is none: anyone who reaches the API may run it; set api.auth=token with LOOMWATCH_API_TOKEN or api.tokenDigests outside a developer machine');
  const { registryRoot } = config.inference;
  let ref = config.model;
  if (ref === undefined) {
    const chosen = await defaultModel(registryRoot);
    logger.info({ model: chosen.name, productionVersion: chosen.version, imageAuroc: chosen.imageAuroc }, 'no model configured: serving the best-validated production model of the registry');
    ref = chosen.name;
  }
  // `name@version` of a registry reference; a bare name is its production version at the time of the request.
  const canonical = async (model: string): Promise<string> => {
    const card = await readModelCard(await resolveModel(model, registryRoot));
    return `${card.name}@${card.version}`;
  };
  // The config may name a version directory (a value with a "/"); `?model=` only registry references.
  const configured = modelSource(ref);
  // Pinned by version, so a later promotion does not change what the running API answers with; a
  // directory is its own key, and loads as itself.
  const defaultRef = typeof configured === 'string' ? await canonical(configured) : resolve(configured.dir);
  const sourceOf = (model: string) => (typeof configured !== 'string' && model === defaultRef ? { dir: model } : model);

  const models = new ModelCache(
    // Overlays are rendered when their link is first asked for, not with every answer.
    (model) => EngineDecider.load({ model: sourceOf(model), ...config.inference, overlayFormat: 'jpeg', overlays: 'on-request' }),
    config.api.maxModels,
    (model) => (model === defaultRef ? Promise.resolve(model) : canonical(model)),
  );
  await models.use(defaultRef, () => Promise.resolve());
  logger.info({ model: defaultRef }, 'default model loaded');

  const overlayStore = config.api.streamOverlays.buckets.length === 0 ? undefined : new S3BlobStore(config.s3);
  const registry = createMetricsRegistry({ service: 'inference-api' });
  const metrics = new ApiMetrics(registry);
  const api = await startInferenceApi({
    port: config.api.port,
    host: config.api.host,
    limits: config.http,
    retryAfterSeconds: config.api.retryAfterSeconds,
    auth,
    defaultModel: defaultRef,
    models,
    results: new ResultCache(config.api.maxResults, config.api.maxResultBytes),
    streamOverlays: overlayStore === undefined ? undefined : new StreamOverlays(overlayStore, { ...config.api.streamOverlays, retryAfterSeconds: config.api.retryAfterSeconds }),
    admission: new Admission(config.api.maxInFlight, config.api.maxQueued),
    openApi: openApiDocument(version),
    metrics,
    logger,
  });
  const ops = await startOpsServer({
    port: config.ops.port,
    host: config.ops.host,
    registry,
    readiness: { model: () => models.ready(defaultRef) },
  });
  logger.info({ port: api.port, opsPort: ops.port, auth: auth.mode, tokens: auth.mode === 'token' ? auth.tokens.size : 0 }, 'inference API listening');
  return {
    port: api.port,
    opsPort: ops.port,
    defaultModel: defaultRef,
    async stop() {
      await api.close();
      await models.close();
      await ops.close();
      overlayStore?.close();
      logger.info('inference API stopped');
    },
  };
}
