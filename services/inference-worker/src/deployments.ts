import { Deployment, LoomwatchError, deploymentKey, decodeMessage, toLoomwatchError } from '@loomwatch/contracts';
import type { KafkaClient } from '@loomwatch/kafka';
import type { Logger } from '@loomwatch/observability';

export interface DeploymentWatch {
  /** The newest deployment of the model on the topic when the watch started, if any. */
  initial: Deployment | undefined;
  stop(): Promise<void>;
}

/**
 * Follows `deployment:<model>` on the control topic: returns the latest one once the topic has
 * been read to its end, then hands every later one to `onChange`. A message that is not a valid
 * deployment is logged with its code and skipped — the deployment in force stays.
 */
export async function watchDeployments(options: {
  client: KafkaClient;
  topic: string;
  model: string;
  logger: Logger;
  onChange: (deployment: Deployment) => Promise<void>;
}): Promise<DeploymentWatch> {
  const { logger, model } = options;
  const key = deploymentKey(model);
  let latest: Deployment | undefined;
  let live = false;
  const subscription = await options.client.reader.follow(options.topic, async (record) => {
    if (record.key !== key || record.value === null) return;
    let deployment: Deployment;
    try {
      deployment = decodeMessage(Deployment, record.value);
      if (deployment.model !== model) throw new LoomwatchError('DEPLOYMENT_INVALID', `the message under key ${key} names model ${deployment.model}`);
    } catch (err) {
      const error = toLoomwatchError(err);
      logger.error({ code: error.code, offset: record.offset }, `ignoring an invalid deployment on ${options.topic}: ${error.message}`);
      return;
    }
    latest = deployment;
    if (live) await options.onChange(deployment);
  });
  live = true;
  return { initial: latest, stop: () => subscription.stop() };
}
