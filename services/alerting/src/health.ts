/**
 * Whether alerting can serve, and its one way to stop when it cannot. The engine's state lives in
 * memory beside Kafka's: a consumer that crashed for good (or any fault that puts the engine out
 * of step) leaves it behind for good, so readiness follows the consumers and such a fault stops
 * the service, for a restart to rebuild the state.
 */
import type { RecordProcessor } from '@loomwatch/kafka';

type WatchedConsumer = Pick<RecordProcessor, 'running' | 'onFatal'>;

export class ServiceHealth {
  private readonly onFatal: (error: unknown) => void;
  private consumers: readonly WatchedConsumer[] = [];
  private serving = false;
  private fatal = false;

  /** `onFatal` is called once, with the first fault; the process should exit. */
  constructor(onFatal: (error: unknown) => void) {
    this.onFatal = onFatal;
  }

  /** Ready only while every one of these runs; one that crashes for good is a fault. */
  watch(consumers: readonly WatchedConsumer[]): void {
    this.consumers = consumers;
    for (const consumer of consumers) consumer.onFatal((error) => this.fail(error));
  }

  /** Marks the state untrustworthy; later faults follow from the first and are not reported again. */
  fail(error: unknown): void {
    if (this.fatal) return;
    this.fatal = true;
    this.onFatal(error);
  }

  /** True once a fault was reported: nothing more may be committed. */
  get failed(): boolean {
    return this.fatal;
  }

  /** Between start (every consumer started) and stop. */
  setServing(serving: boolean): void {
    this.serving = serving;
  }

  ready(): boolean {
    return this.serving && !this.fatal && this.consumers.every((consumer) => consumer.running);
  }
}
