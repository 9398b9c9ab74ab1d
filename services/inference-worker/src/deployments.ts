import { Deployment, LoomwatchError, deploymentKey, decodeMessage, toLoomwatchError } from '@loomwatch/contracts';
import { backoffDelay, sleep, type BackoffOptions } from '@loomwatch/concurrency';
import type { KafkaClient, Subscription } from '@loomwatch/kafka';
import type { Logger } from '@loomwatch/observability';

export interface DeploymentWatch {
  /** The newest deployment of the model on the topic when the watch started, if any. */
  initial: Deployment | undefined;
  /**
   * Whether the control topic is followed now: false from a failed follow until it follows again
   * (the worker is not ready meanwhile: a new deployment would not reach it).
   */
  readonly following: boolean;
  stop(): Promise<void>;
}

/**
 * Follows `deployment:<model>` on the control topic: returns the latest one once the topic has
 * been read to its end, then hands every later one to `onChange`. A message that is not a valid
 * deployment is logged with its code and skipped — the deployment in force stays. A follow that
 * fails is logged in one line and followed again with backoff; a deployment published meanwhile
 * is handed on once the topic has been read to its end again.
 */
export async function watchDeployments(options: {
  client: KafkaClient;
  topic: string;
  model: string;
  logger: Logger;
  onChange: (deployment: Deployment) => Promise<void>;
  /** Between attempts to follow again. @defaultValue from 1 s up to 30 s */
  retry?: BackoffOptions;
}): Promise<DeploymentWatch> {
  const { logger, model, topic } = options;
  const key = deploymentKey(model);
  let latest: Deployment | undefined;
  /** The revision last in force here: the initial one, then each handed to `onChange`. */
  let inForce: number | undefined;
  let caughtUpOnce = false;
  let live = false;
  let stopped = false;
  let subscription: Subscription | undefined;

  const visit = async (record: { key: string | undefined; value: Buffer | null; offset: string }): Promise<void> => {
    if (record.key !== key || record.value === null) return;
    let deployment: Deployment;
    try {
      deployment = decodeMessage(Deployment, record.value);
      if (deployment.model !== model) throw new LoomwatchError('DEPLOYMENT_INVALID', `the message under key ${key} names model ${deployment.model}`);
    } catch (err) {
      const error = toLoomwatchError(err);
      logger.error({ code: error.code, offset: record.offset }, `ignoring an invalid deployment on ${topic}: ${error.message}`);
      return;
    }
    latest = deployment;
    if (live) {
      inForce = deployment.revision;
      await options.onChange(deployment);
    }
  };

  const follow = async (): Promise<void> => {
    live = false;
    const following = await options.client.reader.follow(topic, visit);
    if (stopped) {
      await following.stop();
      return;
    }
    subscription = following;
    // Read to its end again after a failure: what was published meanwhile is in force now.
    if (caughtUpOnce && latest !== undefined && latest.revision !== inForce) {
      inForce = latest.revision;
      await options.onChange(latest);
    }
    caughtUpOnce = true;
    live = true;
    following.onFatal((error) => {
      if (stopped) return;
      logger.error({ topic, code: toLoomwatchError(error).code }, `deployments on ${topic} are no longer followed (${error.message}): not ready until followed again`);
      void followAgain();
    });
  };

  const followAgain = async (): Promise<void> => {
    for (let attempt = 1; !stopped; attempt++) {
      await sleep(backoffDelay(attempt, { initialMs: options.retry?.initialMs ?? 1000, maxMs: options.retry?.maxMs ?? 30_000 }));
      if (stopped) return;
      try {
        await follow();
        logger.info({ topic, attempt }, `following deployments on ${topic} again`);
        return;
      } catch (err) {
        const error = toLoomwatchError(err);
        logger.warn({ topic, code: error.code, attempt }, `could not follow ${topic} again, will retry: ${error.message}`);
      }
    }
  };

  await follow();
  inForce = latest?.revision;
  return {
    initial: latest,
    get following() {
      return subscription?.running === true;
    },
    async stop() {
      stopped = true;
      await subscription?.stop();
    },
  };
}
