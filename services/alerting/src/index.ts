export { AlertEngine, alertIdOf, dedupKeyOf, type AlertEvent, type EngineState } from './engine.js';
export { Rule, Rules, Shift, inSchedule, inShift, ruleMatches, type RuleOf } from './rules.js';
export { DeliveryInterrupted, WebhookEndpoint, deliverWebhook, endpointWants, idempotencyKey, type DeliveryOutcome } from './webhook.js';
export { DEFAULT_TOLERANCE_S, IDEMPOTENCY_HEADER, SIGNATURE_HEADER, signatureHeader, verifySignature, type VerifyResult } from './webhook-signing.js';
