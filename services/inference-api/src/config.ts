import { z } from 'zod';
import { LogConfig, S3Config, opsConfig } from '@loomwatch/config';
import { Sha256 } from '@loomwatch/contracts';
import { httpLimitsConfig } from '@loomwatch/http';
import { InferenceConfig } from '@loomwatch/inference';

/** The REST inference API's config; unknown keys are refused with their path. */
export const ApiConfig = z.strictObject({
  api: z
    .strictObject({
      /** Port of `/v1/*` and `/openapi.json`; 0 picks a free one. @defaultValue 8090 */
      port: z.int().min(0).max(65_535).default(8090),
      /** @defaultValue '127.0.0.1' */
      host: z.string().default('127.0.0.1'),
      /**
       * Images decided at once. The engine overlaps two frames (one's decoding and post-processing
       * with the other's model run), so more only queue inside it. @defaultValue 2
       */
      maxInFlight: z.int().positive().max(64).default(2),
      /** Requests waiting for a slot; past in-flight + queued the answer is 429 with `Retry-After`. @defaultValue 2 */
      maxQueued: z.int().nonnegative().max(64).default(2),
      /** The `Retry-After` of a 429, in seconds. @defaultValue 1 */
      retryAfterSeconds: z.int().positive().max(3600).default(1),
      /** Model versions kept loaded for `?model=`; the least recently used one is closed past this. @defaultValue 3 */
      maxModels: z.int().positive().max(16).default(3),
      /**
       * Results kept for `GET /v1/results/…`: the anomaly map, and the image until its overlay is
       * first asked for (rendered then, kept instead of the image); the oldest go first. @defaultValue 64
       */
      maxResults: z.int().positive().default(64),
      /** …and at most this many bytes of them. @defaultValue 256 MiB */
      maxResultBytes: z.int().positive().default(256 * 1024 * 1024),
      /**
       * `token`: every `/v1/*` request needs `Authorization: Bearer <token>` with a token of
       * `api.token` or `api.tokenDigests`, and the API refuses to start without one. `none`: no
       * auth, for a developer's machine only (a warning at start). @defaultValue 'token'
       */
      auth: z.enum(['token', 'none']).default('token'),
      /** A token, in plain: set it from the environment (`LOOMWATCH_API_TOKEN`, a Secret), not a file. Never logged. @defaultValue none */
      token: z.string().min(16, 'at least 16 characters').optional(),
      /** Tokens by their SHA-256 (lower-case hex), one per client, safe to keep in a config file. @defaultValue none */
      tokenDigests: z.array(Sha256).default([]),
      /**
       * `GET /v1/overlays/{bucket}/{key}`: a stream verdict's overlay (its `overlay` bucket and key),
       * for links from an MES, with the API's auth. The workers' `worker.overlays: on-request` stores
       * none: the first request renders it from the anomaly map and the frame (read from `s3`) and
       * stores it. Off while `buckets` is empty.
       */
      streamOverlays: z
        .strictObject({
          /** Results buckets served (the workers' `worker.outputBucket`); the API's S3 user reads `maps/` and writes `overlays/` there. @defaultValue [] (off) */
          buckets: z.array(z.string().min(1)).default([]),
          /** Buckets the frames may be read from (the workers' `worker.allowedBuckets`). @defaultValue ['loomwatch-frames'] */
          frameBuckets: z.array(z.string().min(1)).default(['loomwatch-frames']),
          /** Overlays rendered at once (≈ 30 ms of CPU each for a 4096 × 256 frame); past it, 429. @defaultValue 2 */
          maxConcurrentRenders: z.int().positive().max(32).default(2),
        })
        .prefault({}),
    })
    .prefault({}),
  /** Where stream overlays are read and stored (`api.streamOverlays`); unused while that is off. @defaultValue the local S3Proxy */
  s3: S3Config.prefault({}),
  /** Timeouts, the per-client cap and the largest body (the image): past it, 413 before it is buffered. @defaultValue body 64 MiB, 16 requests per client */
  http: httpLimitsConfig({ maxBodyBytes: 64 * 1024 * 1024 }),
  /**
   * The model a request without `?model=` runs: a name (its production version), `name@version`
   * or a version directory (a value with a `/`: `./models/registry/draem-aitex/1.1.0`).
   * @defaultValue the registry's best-validated production model (highest validation image AUROC)
   */
  model: z.string().min(1).optional(),
  inference: InferenceConfig.prefault({}),
  /** `/healthz`, `/readyz`, `/metrics`. @defaultValue port 9467 on 127.0.0.1 */
  ops: opsConfig(9467),
  log: LogConfig,
});
export type ApiConfig = z.infer<typeof ApiConfig>;
