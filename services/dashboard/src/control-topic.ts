/**
 * What the dashboard publishes on the control topic — deployment revisions (the operating point, a
 * promotion) and retrain requests — with the keys and CloudEvents headers `loomwatch rollout set`
 * and the retrainer give them.
 */
import { Deployment, EVENT_TYPES, RETRAIN_REQUEST_EVENT_TYPE, RetrainRequest, cloudEventHeaders, deploymentKey, encodeMessage } from '@loomwatch/contracts';
import type { KafkaClient } from '@loomwatch/kafka';

/** A record for the control topic: a deployment or a retrain request. */
export type ControlRecord = { deployment: Deployment } | { key: string; request: RetrainRequest };

/** Publishes records on the control topic (which exists: the dashboard follows it) in one send, in order. */
export async function publishControl(kafka: KafkaClient, topic: string, records: readonly ControlRecord[]): Promise<void> {
  const publisher = kafka.publisher();
  await publisher.connect();
  try {
    await publisher.send(
      records.map((r) =>
        'deployment' in r
          ? { topic, key: deploymentKey(r.deployment.model), value: encodeMessage(Deployment, r.deployment), headers: { ...cloudEventHeaders(EVENT_TYPES.deployment, '/loomwatch/dashboard') } }
          : { topic, key: r.key, value: encodeMessage(RetrainRequest, r.request), headers: { ...cloudEventHeaders(RETRAIN_REQUEST_EVENT_TYPE, '/loomwatch/dashboard') } },
      ),
    );
  } finally {
    await publisher.close();
  }
}
