import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { z } from 'zod';
import { KafkaConfig, LogConfig, opsConfig, S3Config } from '@loomwatch/config';
import { BucketName, Id, LoomwatchError, TOPICS } from '@loomwatch/contracts';
import { httpLimitsConfig } from '@loomwatch/http';
import { FabricCode, SubfolderName } from './fabric.js';

const REPO_ROOT = resolve(import.meta.dirname, '../../..');

export const GATEWAY_MODES = ['simulate', 'hot-folder', 'http'] as const;
export type GatewayMode = (typeof GATEWAY_MODES)[number];

/** The gateway's own environment variables, beside the standard ones. */
export const GATEWAY_ENV_ALIASES: Readonly<Record<string, string>> = {
  AITEX_DIR: 'simulator.dir',
  LOOMWATCH_CAMERA_CREDENTIALS_FILE: 'http.cameraCredentialsFile',
};

export const GatewayConfig = z.strictObject({
  kafka: KafkaConfig.prefault({}),
  s3: S3Config.prefault({}),
  gateway: z
    .strictObject({
      /** Where frame images are uploaded. @defaultValue 'loomwatch-frames' */
      bucket: BucketName.default('loomwatch-frames'),
      /** CloudEvents `ce_source` of every frame. @defaultValue '/loomwatch/camera-gateway/<hostname>' */
      source: z.string().min(1).max(256).default(`/loomwatch/camera-gateway/${hostname()}`),
      /** Where FrameEvents go; it must exist (`loomwatch topics apply` makes it). @defaultValue 'frames.v1' */
      topic: z.string().min(1).default(TOPICS.frames),
      /** Attempts at an upload that fails transiently. @defaultValue 8 */
      uploadAttempts: z.int().positive().default(8),
      /** First SIGTERM waits this long for frames under way before exiting. @defaultValue 20000 */
      shutdownTimeoutMs: z.int().positive().default(20_000),
    })
    .prefault({}),
  simulator: z
    .strictObject({
      /** Folder of frames to replay (recursively; masks skipped). @defaultValue ../shared/datasets/aitex beside the repo, or AITEX_DIR */
      dir: z.string().min(1).default(resolve(REPO_ROOT, '../shared/datasets/aitex')),
      /** @defaultValue 2 */
      lines: z.int().positive().default(2),
      /** @defaultValue 2 */
      camerasPerLine: z.int().positive().default(2),
      /** Frames per second per camera; 0 = as fast as uploads go. @defaultValue 1 */
      fps: z.number().nonnegative().default(1),
      /** Frames per camera, then the gateway exits; unset = until stopped. */
      framesPerCamera: z.int().positive().optional(),
      /** First sequence number of every camera. @defaultValue the start time in ms */
      firstSeq: z.int().nonnegative().optional(),
    })
    .prefault({}),
  hotFolder: z
    .strictObject({
      /** The folder the camera software writes into; required in hot-folder mode. */
      dir: z.string().min(1).optional(),
      /** @defaultValue 'line-1' */
      lineId: Id.default('line-1'),
      /** @defaultValue 'cam-1' */
      cameraId: Id.default('cam-1'),
      /**
       * The fabric of every frame in the folder (a camera that sees one product), sent as
       * `product.fabricCode` so the model's per-fabric thresholds apply. Wins over a fabric in the
       * file name. @defaultValue unset: the fabric from the file name (AITEX `NNNN_DDD_FF.png` → FF), else none
       */
      fabricCode: FabricCode.optional(),
      /**
       * Subfolders the camera software writes a product's frames into, each with its fabric
       * (`{ denim-blue: '05', twill: '07' }`): they are watched too (one level down), and their
       * frames get that fabric, over `fabricCode` and the file name. @defaultValue {} (only the folder itself)
       */
      fabricBySubfolder: z
        .record(SubfolderName, FabricCode, { error: (issue) => (issue.code === 'invalid_key' ? 'not a subfolder name: one folder below hotFolder.dir, no "/" or "\\", not starting with "."' : undefined) })
        .default({}),
      /** A file is complete once its size and mtime held still this long (and its bytes end like a whole image). @defaultValue 500 */
      settleMs: z.int().nonnegative().default(500),
      /** @defaultValue 200 */
      pollMs: z.int().positive().default(200),
      /** @defaultValue '<dir>/.loomwatch-ledger.jsonl' */
      ledgerPath: z.string().min(1).optional(),
      /** A pending ledger entry without a time is looked up in this many last messages per partition. @defaultValue 500 */
      lookupTailPerPartition: z.int().positive().default(500),
    })
    .prefault({}),
  /** The `http` mode: where it listens, who may publish, and the limits of every request (`@loomwatch/http`). */
  http: httpLimitsConfig({ maxBodyBytes: 64 * 1024 * 1024 })
    .unwrap()
    .extend({
      /** @defaultValue 8080 */
      port: z.int().min(0).max(65_535).default(8080),
      /** @defaultValue '127.0.0.1' */
      host: z.string().default('127.0.0.1'),
      /**
       * `token`: every request presents its camera's token (`Authorization: Bearer …`), and the
       * frame's line and camera are the credential's. `none`: anyone who reaches the port publishes
       * as any camera — for development only. @defaultValue 'token'
       */
      auth: z.enum(['token', 'none']).default('token'),
      /**
       * The cameras' credentials, a JSON file `[{"line", "camera", "tokenSha256"}]` (`gateway token`
       * mints one); required with auth `token`. Env `LOOMWATCH_CAMERA_CREDENTIALS_FILE`. @defaultValue unset
       */
      cameraCredentialsFile: z.string().min(1).optional(),
    })
    .prefault({}),
  /** `/healthz`, `/readyz`, `/metrics`. @defaultValue port 9465 on 127.0.0.1 */
  ops: opsConfig(9465),
  log: LogConfig,
});
export type GatewayConfig = z.infer<typeof GatewayConfig>;

/** The settings a mode cannot start without, checked before anything connects (a mistake is bad usage, exit 2). */
export function checkModeSettings(mode: GatewayMode, config: GatewayConfig): void {
  if (mode === 'hot-folder' && config.hotFolder.dir === undefined) {
    throw new LoomwatchError('CONFIG_INVALID', 'hot-folder mode needs hotFolder.dir, the folder the camera software writes into: --set hotFolder.dir=/path or LOOMWATCH_HOT_FOLDER__DIR');
  }
}
