import { z } from 'zod';

/**
 * The limits every HTTP surface enforces: how long a client may take to send its headers and its
 * request, how many requests one client address may have under way, and the largest body.
 * Each service's config embeds it as `http`, with its own body limit default.
 */
export function httpLimitsConfig(defaults: { maxBodyBytes: number; maxRequestsPerClient?: number }) {
  return z
    .strictObject({
      /** Largest request body; a larger one is 413 before it is buffered. */
      maxBodyBytes: z.int().positive().default(defaults.maxBodyBytes),
      /** A client must have sent all its headers within this time, or the connection closes. @defaultValue 10 s */
      headersTimeoutMs: z.int().positive().default(10_000),
      /** …and the whole request (headers and body) within this time: 408. @defaultValue 60 s */
      requestTimeoutMs: z.int().positive().default(60_000),
      /** An idle keep-alive connection closes after this. @defaultValue 5 s */
      keepAliveTimeoutMs: z.int().positive().default(5_000),
      /** Requests one client address may have under way at once; past it, 429. */
      maxRequestsPerClient: z
        .int()
        .positive()
        .default(defaults.maxRequestsPerClient ?? 16),
    })
    .prefault({});
}
export type HttpLimits = z.infer<ReturnType<typeof httpLimitsConfig>>;
