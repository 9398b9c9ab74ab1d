import { LoomwatchError, ReplayPlan, decodeMessage, encodeMessage, replayPlanKey, toLoomwatchError } from '@loomwatch/contracts';
import { publishControlMessage } from '@loomwatch/frame-pipeline';
import { requireTopics, type KafkaClient } from '@loomwatch/kafka';

/** Where replay plans are kept, so a rerun continues the plan of the first run. */
export interface PlanStore {
  load(id: string): Promise<ReplayPlan | undefined>;
  save(plan: ReplayPlan): Promise<void>;
}

/** Plans on the compacted control topic under `replay:<id>`; the latest message of a key is the plan. */
export function controlTopicPlanStore(client: KafkaClient, topic: string): PlanStore {
  let ensured: Promise<void> | undefined;
  const ensure = (): Promise<void> => (ensured ??= requireTopics(client.topics, [topic]));
  return {
    async load(id) {
      await ensure();
      const key = replayPlanKey(id);
      let latest: { value: Buffer | null; offset: string } | undefined;
      await client.reader.readToEnd([topic], (record) => {
        if (record.key === key) latest = { value: record.value, offset: record.offset };
      });
      if (latest === undefined || latest.value === null) return undefined;
      try {
        return decodeMessage(ReplayPlan, latest.value);
      } catch (err) {
        throw new LoomwatchError(
          'REPLAY_INVALID',
          `the plan of replay ${id} on ${topic} (offset ${latest.offset}) is unreadable: ${toLoomwatchError(err).message}. ` +
            'Start the replay under another --name',
          { cause: err },
        );
      }
    },
    save(plan) {
      return publishControlMessage(client, topic, { key: replayPlanKey(plan.id), value: encodeMessage(ReplayPlan, plan) });
    },
  };
}
