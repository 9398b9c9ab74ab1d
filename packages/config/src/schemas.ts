import { z } from 'zod';

/** A list given either as YAML list or as a comma-separated string (handy in the environment). */
export function commaList<T extends z.ZodType>(item: T) {
  return z.preprocess(
    (value) =>
      typeof value === 'string'
        ? value
            .split(',')
            .map((part) => part.trim())
            .filter((part) => part.length > 0)
        : value,
    z.array(item),
  );
}

export const KafkaConfig = z.strictObject({
  /** @defaultValue ['127.0.0.1:19092'] — the local broker started by deploy/local. */
  brokers: commaList(z.string().min(1)).default(['127.0.0.1:19092']),
  /** @defaultValue 'loomwatch' */
  clientId: z.string().min(1).default('loomwatch'),
  /** SASL credentials of this service's principal; absent: no SASL. Never logged. */
  sasl: z
    .strictObject({
      /** @defaultValue 'SCRAM-SHA-512' */
      mechanism: z.enum(['SCRAM-SHA-512', 'SCRAM-SHA-256', 'PLAIN']).default('SCRAM-SHA-512'),
      username: z.string().min(1),
      password: z.string().min(1),
    })
    .optional(),
  /** TLS to the brokers; absent: plaintext. */
  tls: z
    .strictObject({
      /** PEM file of the CA that signed the brokers' certificates. @defaultValue the system's CAs */
      caFile: z.string().min(1).optional(),
      /** @defaultValue true — turn off only in a lab */
      rejectUnauthorized: z.boolean().default(true),
    })
    .optional(),
  /**
   * The consumer group protocol: 'classic' (JoinGroup/SyncGroup; every join or leave pauses the
   * whole group) or 'consumer' (KIP-848, Kafka 4.x: the broker moves only the partitions that change
   * hands, and the session timeout is the broker's). A SIGKILLed static member is refused its id
   * under 'consumer' until that session expires (packages/kafka README). @defaultValue 'classic'
   */
  groupProtocol: z.enum(['classic', 'consumer']).default('classic'),
});
export type KafkaConfig = z.infer<typeof KafkaConfig>;

export const S3Config = z.strictObject({
  /** @defaultValue 'http://127.0.0.1:19000' — the local S3Proxy started by deploy/local. */
  endpoint: z.url().default('http://127.0.0.1:19000'),
  /** @defaultValue 'us-east-1' */
  region: z.string().default('us-east-1'),
  /** @defaultValue 'loomwatch' */
  accessKeyId: z.string().min(1).default('loomwatch'),
  /** @defaultValue 'loomwatch-secret' — change it anywhere but a laptop. */
  secretAccessKey: z.string().min(1).default('loomwatch-secret'),
  /** @defaultValue true — MinIO and S3Proxy need path-style addressing. */
  forcePathStyle: z.boolean().default(true),
});
export type S3Config = z.infer<typeof S3Config>;

/** Standard environment names mapped onto the shared sections. */
export const STANDARD_ENV_ALIASES = {
  KAFKA_BROKERS: 'kafka.brokers',
  KAFKA_SASL_MECHANISM: 'kafka.sasl.mechanism',
  KAFKA_SASL_USERNAME: 'kafka.sasl.username',
  KAFKA_SASL_PASSWORD: 'kafka.sasl.password',
  KAFKA_TLS_CA_FILE: 'kafka.tls.caFile',
  S3_ENDPOINT: 's3.endpoint',
  S3_REGION: 's3.region',
  S3_ACCESS_KEY_ID: 's3.accessKeyId',
  S3_SECRET_ACCESS_KEY: 's3.secretAccessKey',
} as const;

/** The ops server section (`/healthz`, `/readyz`, `/metrics`) of a service on `defaultPort`. */
export function opsConfig(defaultPort: number) {
  return z
    .strictObject({
      /** Port of `/healthz`, `/readyz`, `/metrics`; 0 picks a free one. */
      port: z.int().min(0).max(65_535).default(defaultPort),
      /** @defaultValue '127.0.0.1' */
      host: z.string().default('127.0.0.1'),
    })
    .prefault({});
}

export const LogConfig = z
  .strictObject({
    /** @defaultValue 'info' */
    level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'silent']).default('info'),
  })
  .prefault({});
