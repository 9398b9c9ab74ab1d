import { createKafkaClient } from '@loomwatch/kafka';
import { createMetricsRegistry, startOpsServer, type Logger } from '@loomwatch/observability';
import { S3BlobStore } from '@loomwatch/storage';
import { objectAllowances, type DashboardConfig } from './config.js';
import { measureLag, startFeed, ViewStore } from './feed.js';
import type { HistoryDeps } from './history.js';
import { DashboardMetrics } from './metrics.js';
import { OverlayDesk } from './overlays.js';
import { FeedbackDesk, publishFeedback } from './feedback.js';
import { VerdictTally } from './quality.js';
import { ReviewBook } from './reviews.js';
import { startDashboardServer } from './server.js';

export interface DashboardService {
  readonly port: number;
  readonly opsPort: number;
  /** The page's address. */
  readonly url: string;
  stop(): Promise<void>;
}

/** Builds the dashboard from its config: starts following the topics, then listens. */
export async function startDashboardService(config: DashboardConfig, logger: Logger): Promise<DashboardService> {
  // The whole section, so whatever connection settings it carries (SASL, TLS) reach the client.
  const kafka = createKafkaClient({ ...config.kafka }, logger);
  const offsets = kafka.offsets();
  const blobs = new S3BlobStore(config.s3);
  const registry = createMetricsRegistry({ service: 'dashboard' });
  const metrics = new DashboardMetrics(registry);
  const store = new ViewStore({
    verdictsPerCamera: config.view.verdictsPerCamera,
    cameras: config.view.cameras,
    resolvedAlerts: config.view.resolvedAlerts,
    driftEntries: config.view.driftEntries,
  });
  const reviews = new ReviewBook();
  // Coverage's denominator: every verdict the view takes in (a repeat of one it holds changes nothing, so is not counted).
  const tally = new VerdictTally();
  store.subscribe((event) => {
    if (event.type === 'verdict') tally.add(event.verdict);
  });
  const feed = startFeed({
    kafka,
    offsets,
    topics: config.topics,
    store,
    reviews,
    seedVerdictsPerPartition: config.view.seedVerdictsPerPartition,
    lagGroupId: config.lag.groupId,
    lagIntervalMs: config.lag.intervalSeconds * 1000,
    metrics,
    logger,
  });
  const history: HistoryDeps = {
    reader: kafka.reader,
    offsets,
    verdictsTopic: config.topics.verdicts,
    framesTopic: config.topics.frames,
    maxScan: config.history.maxScan,
    frameLookupMs: config.history.frameLookupSeconds * 1000,
    onSkipped: (topic, code) => metrics.skipped.inc({ topic, code }),
  };
  const server = await startDashboardServer({
    port: config.dashboard.port,
    host: config.dashboard.host,
    limits: config.http,
    auth: config.auth,
    publicDir: config.dashboard.publicDir,
    store,
    history,
    blobs,
    allow: objectAllowances(config.objects),
    reportPages: config.objects.retrainReports,
    maxObjectBytes: config.objects.maxBytes,
    overlays: config.objects.renderOverlays ? new OverlayDesk(blobs, objectAllowances(config.objects), config.objects.maxConcurrentRenders) : undefined,
    maxLimit: config.history.maxLimit,
    maxClients: config.dashboard.maxClients,
    maxClientBufferBytes: config.dashboard.maxClientBufferBytes,
    maxConcurrentReads: config.history.maxConcurrentReads,
    heartbeatMs: config.dashboard.heartbeatSeconds * 1000,
    lag: () => measureLag(offsets, config.lag.groupId, config.topics.frames),
    control: { kafka, topic: config.topics.control },
    reviews: {
      book: reviews,
      desk: new FeedbackDesk({ book: reviews, ready: () => feed.readiness()[config.topics.feedback] === true, publish: (record) => publishFeedback(kafka, config.topics.feedback, record) }),
      queue: config.review,
      tally,
    },
    metrics,
    logger,
  });
  const ops = await startOpsServer({
    port: config.ops.port,
    host: config.ops.host,
    registry,
    readiness: {
      ...Object.fromEntries(Object.keys(feed.readiness()).map((topic) => [topic, () => feed.readiness()[topic] === true])),
      s3: () => blobs.ping(),
      'sign-in': () => server.signIn.ready(),
    },
  });
  const url = `http://${config.dashboard.host.includes(':') ? `[${config.dashboard.host}]` : config.dashboard.host}:${server.port}/`;
  logger.info({ url, opsPort: ops.port }, 'dashboard listening');
  return {
    port: server.port,
    opsPort: ops.port,
    url,
    async stop() {
      await server.close();
      await feed.stop();
      await offsets.close();
      blobs.close();
      await ops.close();
      logger.info('dashboard stopped');
    },
  };
}
