import type { Consumer } from 'kafkajs';
import type { Logger } from '@loomwatch/observability';

/**
 * A processor's kafkajs consumer and its life: running from `started()` until `stopped()`; a
 * crash the client restarts from is a pause (running again once it rejoins the group); a crash it
 * does not restart from ends it and tells the `onFatal` listeners.
 */
export abstract class WatchedConsumer {
  protected readonly consumer: Consumer;
  private state: 'idle' | 'running' | 'restarting' | 'dead' = 'idle';
  private readonly listeners: ((error: Error) => void)[] = [];

  protected constructor(consumer: Consumer, logger: Logger, groupId: string) {
    this.consumer = consumer;
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (this.state === 'idle' || this.state === 'dead') return;
      logger.error({ err: payload.error, groupId, restart: payload.restart }, payload.restart ? 'consumer crashed; the client restarts it' : 'consumer crashed for good');
      if (payload.restart) {
        this.state = 'restarting';
        return;
      }
      this.state = 'dead';
      for (const listener of this.listeners) listener(payload.error);
    });
    consumer.on(consumer.events.GROUP_JOIN, () => {
      if (this.state === 'restarting') this.state = 'running';
    });
  }

  get running(): boolean {
    return this.state === 'running';
  }

  protected started(): void {
    if (this.state === 'idle') this.state = 'running';
  }

  protected stopped(): void {
    this.state = 'idle';
  }

  onFatal(listener: (error: Error) => void): void {
    this.listeners.push(listener);
  }
}
