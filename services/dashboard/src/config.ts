import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { KafkaConfig, LogConfig, S3Config, opsConfig } from '@loomwatch/config';
import { BucketName, TOPICS } from '@loomwatch/contracts';
import { httpLimitsConfig } from '@loomwatch/http';

/** The built page (Vite's output), beside the compiled server. */
export const DEFAULT_PUBLIC_DIR = fileURLToPath(new URL('./public', import.meta.url));

/** A bucket the proxy may read, and the key prefixes it may read there. */
export const ObjectAllowance = z.strictObject({
  bucket: BucketName,
  /** Keys must start with one of these (each ends in `/`). */
  prefixes: z.array(z.string().min(1).max(256).regex(/^[^/].*\/$/, 'a key prefix ending in "/"')).min(1),
});
export type ObjectAllowance = z.infer<typeof ObjectAllowance>;

/** Whether a URL is on this machine (http is allowed there, and cookies need not be Secure). */
export function isLoopbackUrl(url: string): boolean {
  const { hostname } = new URL(url);
  return hostname === '127.0.0.1' || hostname === 'localhost' || hostname === '[::1]';
}

/** One group value, or several, that grant a role. */
const Groups = z.union([z.string().min(1).transform((group) => [group]), z.array(z.string().min(1)).min(1)]);

const HttpUrl = z.url({ protocol: /^https?$/ });

/**
 * Who may use the dashboard: people signed in through the plant's OpenID Connect provider, in a
 * role (viewer < operator < engineer) granted by the groups in their ID token.
 */
export const AuthConfig = z
  .strictObject({
    /** `oidc`: sign-in required. `none`: open to anyone who reaches the port, as an engineer — for development only (a warning is logged). @defaultValue 'oidc' */
    mode: z.enum(['oidc', 'none']).default('oidc'),
    oidc: z
      .strictObject({
        /** The issuer URL (its `/.well-known/openid-configuration` is read); https unless on loopback. */
        issuer: HttpUrl.optional(),
        clientId: z.string().min(1).optional(),
        /** Env `LOOMWATCH_OIDC_CLIENT_SECRET` (k8s Secret `loomwatch-dashboard-auth`, key `clientSecret`). */
        clientSecret: z.string().min(1).optional(),
        /** The public URL of `/auth/callback`, as registered with the provider; its origin is the one state-changing calls must come from. */
        redirectUrl: HttpUrl.optional(),
        /** @defaultValue 'openid profile groups' */
        scopes: z.string().min(1).default('openid profile groups'),
      })
      .prefault({}),
    /** The ID-token claim that lists the person's groups. @defaultValue 'groups' */
    rolesClaim: z.string().min(1).default('groups'),
    /** The group values that grant each role; a person gets the highest role any of their groups grants. */
    roles: z
      .strictObject({
        /** @defaultValue 'loomwatch-viewers' */
        viewer: Groups.default(['loomwatch-viewers']),
        /** @defaultValue 'loomwatch-operators' */
        operator: Groups.default(['loomwatch-operators']),
        /** @defaultValue 'loomwatch-engineers' */
        engineer: Groups.default(['loomwatch-engineers']),
      })
      .prefault({}),
    /** Signs the session and sign-in cookies; at least 32 characters. Env `LOOMWATCH_SESSION_SECRET` (k8s Secret `loomwatch-dashboard-auth`, key `sessionSecret`). */
    sessionSecret: z.string().min(32, 'at least 32 characters (openssl rand -base64 48)').optional(),
    /** Cookies only over https. @defaultValue true, unless `oidc.redirectUrl` is http on 127.0.0.1 or localhost */
    secureCookies: z.boolean().optional(),
    /** A session ends this long after sign-in. @defaultValue 8 h */
    sessionTtlMs: z.int().positive().max(7 * 24 * 3600 * 1000).default(8 * 3600 * 1000),
    /** Sessions kept at once (server-side, in memory); past it the oldest ends. @defaultValue 10000 */
    maxSessions: z.int().positive().max(1_000_000).default(10_000),
  })
  .prefault({})
  .superRefine((auth, ctx) => {
    if (auth.mode !== 'oidc') return;
    const needed = [
      [['oidc', 'issuer'], auth.oidc.issuer, 'LOOMWATCH_OIDC_ISSUER'],
      [['oidc', 'clientId'], auth.oidc.clientId, 'LOOMWATCH_OIDC_CLIENT_ID'],
      [['oidc', 'clientSecret'], auth.oidc.clientSecret, 'LOOMWATCH_OIDC_CLIENT_SECRET'],
      [['oidc', 'redirectUrl'], auth.oidc.redirectUrl, 'LOOMWATCH_AUTH__OIDC__REDIRECT_URL'],
      [['sessionSecret'], auth.sessionSecret, 'LOOMWATCH_SESSION_SECRET'],
    ] as const;
    for (const [path, value, env] of needed) {
      if (value === undefined) ctx.addIssue({ code: 'custom', path: [...path], message: `required with auth.mode oidc (env ${env}; auth.mode none is for development only)` });
    }
    for (const [key, url] of [
      ['issuer', auth.oidc.issuer],
      ['redirectUrl', auth.oidc.redirectUrl],
    ] as const) {
      if (url !== undefined && url.startsWith('http:') && !isLoopbackUrl(url)) ctx.addIssue({ code: 'custom', path: ['oidc', key], message: 'must be https (http only on 127.0.0.1 or localhost)' });
    }
  })
  .transform((auth) => ({ ...auth, secureCookies: auth.secureCookies ?? !(auth.oidc.redirectUrl !== undefined && auth.oidc.redirectUrl.startsWith('http:') && isLoopbackUrl(auth.oidc.redirectUrl)) }));
export type AuthConfig = z.infer<typeof AuthConfig>;

/** The dashboard's config; unknown keys are refused with their path. */
export const DashboardConfig = z.strictObject({
  kafka: KafkaConfig.prefault({}),
  s3: S3Config.prefault({}),
  dashboard: z
    .strictObject({
      /** Port of the page and `/api/*`; 0 picks a free one. @defaultValue 8095 */
      port: z.int().min(0).max(65_535).default(8095),
      /** @defaultValue '127.0.0.1' */
      host: z.string().default('127.0.0.1'),
      /** Where the built page is. @defaultValue dist/public beside the compiled server */
      publicDir: z.string().min(1).default(DEFAULT_PUBLIC_DIR),
      /** Browsers streaming `/api/events` at once; more get 503. @defaultValue 64 */
      maxClients: z.int().positive().max(10_000).default(64),
      /** A browser whose unsent stream passes this many bytes is dropped (it reconnects and gets a snapshot). @defaultValue 4 MiB */
      maxClientBufferBytes: z.int().positive().default(4 * 1024 * 1024),
      /** Seconds between SSE keep-alive comments. @defaultValue 15 */
      heartbeatSeconds: z.number().positive().max(300).default(15),
    })
    .prefault({}),
  /** Timeouts, body limit and per-client cap of the page and `/api/*`. @defaultValue 16 KiB bodies, 32 requests under way per client */
  http: httpLimitsConfig({ maxBodyBytes: 16 * 1024, maxRequestsPerClient: 32 }),
  auth: AuthConfig,
  /** The topics read (a test points them at its own). @defaultValue the Loomwatch topics */
  topics: z
    .strictObject({
      verdicts: z.string().min(1).default(TOPICS.verdicts),
      alerts: z.string().min(1).default(TOPICS.alerts),
      deadLetters: z.string().min(1).default(TOPICS.deadLetters),
      control: z.string().min(1).default(TOPICS.control),
      drift: z.string().min(1).default(TOPICS.drift),
      frames: z.string().min(1).default(TOPICS.frames),
      /** The operators' reviews: followed from the beginning, and where `POST /api/feedback` publishes. */
      feedback: z.string().min(1).default(TOPICS.feedback),
    })
    .prefault({}),
  /** The review queue (`GET /api/review/next`). */
  review: z
    .strictObject({
      /** An ok verdict whose score is at least this fraction of its threshold is in the near-threshold part of the queue. @defaultValue 0.8 */
      nearThreshold: z.number().positive().max(1).default(0.8),
      /** 1 in this many ok verdicts is in the sample the miss rate is estimated from (drawn by a hash of the frame id). @defaultValue 20 */
      sampleOneIn: z.int().positive().max(1_000_000).default(20),
      /** Seeds the sample's draw; the same on every replica. @defaultValue 'loomwatch' */
      sampleSeed: z.string().min(1).max(128).default('loomwatch'),
    })
    .prefault({}),
  view: z
    .strictObject({
      /** Verdicts kept per camera: the sparkline's length. @defaultValue 60 */
      verdictsPerCamera: z.int().positive().max(1000).default(60),
      /** @defaultValue 256 */
      cameras: z.int().positive().max(10_000).default(256),
      /** Resolved alerts kept beside the open ones. @defaultValue 20 */
      resolvedAlerts: z.int().nonnegative().max(1000).default(20),
      /** @defaultValue 1024 */
      driftEntries: z.int().positive().max(100_000).default(1024),
      /** At start, the last verdicts read back per partition of the verdicts topic (alerts, dead letters, deployments and drift are read whole). @defaultValue 500 */
      seedVerdictsPerPartition: z.int().nonnegative().max(100_000).default(500),
    })
    .prefault({}),
  history: z
    .strictObject({
      /** Records one `/api/verdicts` page may read from the topic before it answers with what it found. @defaultValue 5000 */
      maxScan: z.int().positive().max(1_000_000).default(5000),
      /** Largest `limit` of a page. @defaultValue 200 */
      maxLimit: z.int().positive().max(1000).default(200),
      /** History pages and frame lookups reading the topics at once; more wait their turn. @defaultValue 4 */
      maxConcurrentReads: z.int().positive().max(64).default(4),
      /** How far past a verdict's capture time `/api/frames` looks for its frame event on the frames topic, in seconds. @defaultValue 600 */
      frameLookupSeconds: z.int().positive().max(86_400).default(600),
    })
    .prefault({}),
  lag: z
    .strictObject({
      /** The inference workers' consumer group on the frames topic. @defaultValue 'loomwatch-inference' */
      groupId: z.string().min(1).default('loomwatch-inference'),
      /** Seconds between measurements. @defaultValue 5 */
      intervalSeconds: z.number().positive().max(3600).default(5),
    })
    .prefault({}),
  objects: z
    .strictObject({
      /**
       * What `/api/objects/<bucket>/<key>` may read: the frames the gateway stores, the anomaly maps
       * and overlays the workers store. Everything else is refused.
       * @defaultValue loomwatch-frames: frames/; loomwatch-results: maps/, overlays/
       */
      allow: z.array(ObjectAllowance).min(1).default([
        { bucket: 'loomwatch-frames', prefixes: ['frames/'] },
        { bucket: 'loomwatch-results', prefixes: ['maps/', 'overlays/'] },
      ]),
      /**
       * Where the retrainer uploads each retrain request's replay report
       * (`s3://<bucket>/<prefix><request id>/report/index.html`, its images beside it): the proxy
       * serves it too, so the model panel's "replay report" link opens on the dashboard.
       * @defaultValue { bucket: loomwatch-datasets, prefix: retrain/ }
       */
      retrainReports: z
        .strictObject({
          /** @defaultValue 'loomwatch-datasets' */
          bucket: BucketName.default('loomwatch-datasets'),
          /** @defaultValue 'retrain/' */
          prefix: z.string().min(1).max(256).regex(/^[^/].*\/$/, 'a key prefix ending in "/"').default('retrain/'),
        })
        .prefault({}),
      /** Larger objects are refused (413) rather than read into memory. @defaultValue 32 MiB */
      maxBytes: z.int().positive().default(32 * 1024 * 1024),
      /**
       * An overlay key (`overlays/…jpg|png`) S3 does not have is rendered from its anomaly map and
       * frame, stored at that key and served: the workers' `worker.overlays: on-request` leaves
       * overlays to whoever asks first. Needs the dashboard's S3 user to write `overlays/` in the
       * results bucket; false: such a key is a 404. @defaultValue true
       */
      renderOverlays: z.boolean().default(true),
      /** Overlays rendered at once (each ≈ 30 ms of CPU for a 4096 × 256 frame); more wait their turn. @defaultValue 2 */
      maxConcurrentRenders: z.int().positive().max(32).default(2),
    })
    .prefault({}),
  /** `/healthz`, `/readyz`, `/metrics`. @defaultValue port 9470 on 127.0.0.1 */
  ops: opsConfig(9470),
  log: LogConfig,
});
export type DashboardConfig = z.infer<typeof DashboardConfig>;

/** What the proxy may read: `objects.allow` and the retrain reports' bucket and prefix. */
export function objectAllowances(objects: Pick<DashboardConfig['objects'], 'allow' | 'retrainReports'>): ObjectAllowance[] {
  const { bucket, prefix } = objects.retrainReports;
  const listed = objects.allow.find((entry) => entry.bucket === bucket);
  if (listed === undefined) return [...objects.allow, { bucket, prefixes: [prefix] }];
  if (listed.prefixes.includes(prefix)) return [...objects.allow];
  return objects.allow.map((entry) => (entry === listed ? { bucket, prefixes: [...entry.prefixes, prefix] } : entry));
}
