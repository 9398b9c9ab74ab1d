import { z } from 'zod';
import { Alert } from './alert.js';

/** Published on the webhook dead-letter topic when an endpoint's last try failed. */
export const WebhookDeadLetter = z.strictObject({
  endpoint: z.string().min(1).max(64),
  idempotencyKey: z.string().min(1).max(256),
  alert: Alert,
  attempts: z.int().positive(),
  lastError: z.string().max(4096),
  status: z.int().optional(),
  failedAt: z.iso.datetime({ offset: true }),
});
export type WebhookDeadLetter = z.infer<typeof WebhookDeadLetter>;
