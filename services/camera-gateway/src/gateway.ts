import { hostname } from 'node:os';
import type { FrameEvent } from '@loomwatch/contracts';
import { createKafkaClient, requireTopics } from '@loomwatch/kafka';
import { Counter, Gauge, createMetricsRegistry, startOpsServer, type Logger } from '@loomwatch/observability';
import type { TokenTable } from '@loomwatch/http';
import { S3BlobStore } from '@loomwatch/storage';
import type { GatewayConfig, GatewayMode } from './config.js';
import type { Camera } from './credentials.js';
import { FramePublisher } from './frame-publisher.js';
import { HotFolder } from './hot-folder.js';
import { startHttpGateway } from './http-gateway.js';
import { listImageFiles } from './image-files.js';
import { PublishedFrames } from './published-frames.js';
import { runSimulator } from './simulator.js';

interface RunningGateway {
  readonly opsPort: number;
  /** The HTTP mode's port. */
  readonly httpPort: number | undefined;
  /** Settles when the mode ends by itself (a simulator with a frame count); never for the others. */
  readonly finished: Promise<void>;
  /** Stops taking frames, finishes those under way, closes the connections. */
  stop(): Promise<void>;
}

/**
 * Wires the gateway from its config: S3, the idempotent producer, the mode, metrics and the ops
 * server. `cameras`: who may publish in the HTTP mode (`httpCameras`).
 */
export async function startGateway(mode: GatewayMode, config: GatewayConfig, logger: Logger, cameras: TokenTable<Camera> | 'none'): Promise<RunningGateway> {
  const kafka = createKafkaClient({ ...config.kafka, clientId: `camera-gateway-${hostname()}` }, logger);
  const store = new S3BlobStore(config.s3);
  const registry = createMetricsRegistry({ service: 'camera-gateway', mode });
  const registers = [registry];
  const published = new Counter({ name: 'loomwatch_gateway_frames_published_total', help: 'Frames uploaded and published', labelNames: ['line', 'camera'], registers });
  const rejected = new Counter({ name: 'loomwatch_gateway_files_rejected_total', help: 'Hot-folder files skipped, by code', labelNames: ['code'], registers });
  const retries = new Counter({ name: 'loomwatch_gateway_upload_retries_total', help: 'Uploads retried after a transient failure', registers });
  const httpInFlight = new Gauge({ name: 'loomwatch_gateway_http_requests_in_flight', help: 'POST /v1/frames requests under way', registers });
  const countPublished = (event: FrameEvent): void => published.inc({ line: event.lineId, camera: event.cameraId });

  // The topic is the cluster's (`loomwatch topics apply`): checked here, never created.
  await requireTopics(kafka.topics, [config.gateway.topic]);
  await store.ensureBucket(config.gateway.bucket);
  const producer = kafka.publisher();
  await producer.connect();

  const publisher = new FramePublisher({
    store,
    publisher: producer,
    bucket: config.gateway.bucket,
    source: config.gateway.source,
    topic: config.gateway.topic,
    uploadAttempts: config.gateway.uploadAttempts,
    onRetry: (error, attempt) => {
      retries.inc();
      logger.warn({ code: error.code, attempt }, `upload failed, retrying: ${error.message}`);
    },
  });

  const ops = await startOpsServer({
    port: config.ops.port,
    host: config.ops.host,
    registry,
    readiness: { broker: () => producer.connected, s3: () => store.ping() },
  });

  let stopMode: () => Promise<void>;
  let finished: Promise<void> = new Promise<void>(() => undefined);
  let httpPort: number | undefined;
  switch (mode) {
    case 'simulate': {
      const files = await listImageFiles(config.simulator.dir);
      const abort = new AbortController();
      const { lines, camerasPerLine, fps, framesPerCamera, firstSeq } = config.simulator;
      logger.info({ files: files.length, lines, camerasPerLine, fps, framesPerCamera }, `replaying ${config.simulator.dir}`);
      const run = runSimulator(publisher, {
        files,
        lines,
        camerasPerLine,
        fps,
        framesPerCamera,
        ...(firstSeq === undefined ? {} : { firstSeq }),
        signal: abort.signal,
        onPublished: (event) => {
          countPublished(event);
          logger.debug({ frameId: event.frameId, key: event.image.key, bytes: event.image.bytes }, `published ${event.lineId}/${event.cameraId} seq ${event.seq}`);
        },
      });
      finished = run.then((count) => logger.info({ frames: count }, 'simulator done'));
      stopMode = async () => {
        abort.abort();
        await run.catch(() => undefined);
      };
      break;
    }
    case 'hot-folder': {
      const lookup = new PublishedFrames({ kafka, topic: config.gateway.topic, tailPerPartition: config.hotFolder.lookupTailPerPartition });
      const { dir = '', lineId, cameraId, fabricCode, fabricBySubfolder, settleMs, pollMs, ledgerPath } = config.hotFolder;
      const folder = new HotFolder(publisher, {
        dir,
        lineId,
        cameraId,
        fabricCode,
        fabricBySubfolder,
        settleMs,
        pollMs,
        ...(ledgerPath === undefined ? {} : { ledgerPath }),
        logger,
        alreadyPublished: (frameId, window) => lookup.has(frameId, window),
        onPublished: (event, file) => {
          countPublished(event);
          logger.info({ file, frameId: event.frameId, seq: event.seq }, 'published');
        },
        onRejected: (_file, error) => rejected.inc({ code: error.code }),
      });
      await folder.start();
      logger.info(
        { dir, lineId, cameraId, fabricCode, fabricBySubfolder },
        `watching the hot folder${Object.keys(fabricBySubfolder).length === 0 ? '' : ` and its subfolders ${Object.keys(fabricBySubfolder).join(', ')}`}; fabric: ${describeFabrics(fabricCode, fabricBySubfolder)}`,
      );
      stopMode = () => folder.stop();
      break;
    }
    case 'http': {
      const { port, host } = config.http;
      if (cameras === 'none') logger.warn('http.auth is none: anyone who reaches the port publishes frames as any line and camera; for development only — give each camera a token (http.cameraCredentialsFile)');
      else if (cameras.size === 0) logger.warn(`the cameras' credentials file ${config.http.cameraCredentialsFile ?? ''} holds no camera: every request is refused (401) until one is added (gateway token) and the gateway restarted`);
      const server = await startHttpGateway(publisher, { port, host, limits: config.http, cameras, logger, onPublished: countPublished, onInFlight: (count) => httpInFlight.set(count) });
      httpPort = server.port;
      logger.info({ port: server.port, host, cameras: cameras === 'none' ? 'any' : cameras.size }, 'accepting POST /v1/frames');
      stopMode = () => server.close();
      break;
    }
  }

  logger.info({ mode, topic: config.gateway.topic, bucket: config.gateway.bucket, opsPort: ops.port }, 'gateway started');
  return {
    opsPort: ops.port,
    httpPort,
    finished,
    async stop() {
      await stopMode();
      await producer.close();
      await ops.close();
      store.close();
      logger.info('gateway stopped');
    },
  };
}

/** Where the hot folder's frames get their fabric, in words for the start log. */
function describeFabrics(fabricCode: string | undefined, bySubfolder: Readonly<Record<string, string>>): string {
  const subfolders = Object.entries(bySubfolder).map(([subfolder, fabric]) => `${subfolder}/ → ${fabric}`);
  const rest = fabricCode === undefined ? 'the file name (AITEX NNNN_DDD_FF), else none' : fabricCode;
  return subfolders.length === 0 ? rest : `${subfolders.join(', ')}; elsewhere ${rest}`;
}
