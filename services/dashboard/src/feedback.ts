/**
 * `POST /api/feedback`: an operator's answer becomes one `feedback.v1` record, once per feedback id.
 *
 * Within one dashboard process the check of the id, the revision and the publish run one answer at
 * a time, and the record joins the book before the next starts: a double click, a retried request
 * or two tabs sending the same id publish once, and two reviews of a frame get revisions n and n+1.
 * Across replicas nothing is locked: two replicas that receive the same id within the moment
 * before each reads the other's record may both publish it, and two reviews of one frame may share
 * a revision. The contract covers that: consumers keep the first record of an id, and order a
 * frame's reviews by revision, then time.
 */
import type { FrameEvent, Verdict} from '@loomwatch/contracts';
import { EVENT_TYPES, Feedback, LoomwatchError, cloudEventHeaders, encodeMessage, messageKey } from '@loomwatch/contracts';
import { Semaphore } from '@loomwatch/concurrency';
import type { KafkaClient } from '@loomwatch/kafka';
import { HttpProblem } from './problem.js';
import { feedbackRecord, type FeedbackAnswer, type ReviewBook } from './reviews.js';

/** What an answer was checked against: its verdict and its frame event, found on the topics. */
export interface Judged {
  verdict: Verdict;
  frame: FrameEvent;
}

export interface FeedbackDeskOptions {
  book: ReviewBook;
  /** Whether the book has read `feedback.v1` to its end: before, a repeated id could not be recognised. */
  ready: () => boolean;
  publish: (record: Feedback) => Promise<void>;
  now?: () => Date;
}

/** The outcome of an answer: the record, and whether this call published it (false: a repeat of a known id). */
export interface Submitted {
  record: Feedback;
  created: boolean;
}

export class FeedbackDesk {
  /** One answer at a time: check, revision, publish and book are one step. */
  private readonly turn = new Semaphore(1);

  constructor(private readonly options: FeedbackDeskOptions) {}

  /** A record known under the answer's id, or undefined; 409 when the id was used for another frame. */
  private known(answer: FeedbackAnswer): Feedback | undefined {
    const stored = this.options.book.get(answer.feedbackId);
    if (stored !== undefined && stored.frameId !== answer.frameId) {
      throw new HttpProblem('FEEDBACK_ID_REUSED', 409, `feedbackId ${answer.feedbackId} is the id of a review of frame ${stored.frameId}: make a new id for each answer`);
    }
    return stored;
  }

  /**
   * Publishes the answer's record unless its id is known (then answers the stored record).
   * `judge` finds the verdict and frame; it is called only for a new id, outside the one-at-a-time step.
   */
  async submit(answer: FeedbackAnswer, reviewer: { subject: string; name: string }, judge: () => Promise<Judged>): Promise<Submitted> {
    if (!this.options.ready()) {
      throw new HttpProblem('FEEDBACK_NOT_READY', 503, 'the dashboard is still reading the reviews on feedback.v1 (it checks each answer against them): retry in a few seconds', { 'retry-after': '5' });
    }
    const stored = this.known(answer);
    if (stored !== undefined) return { record: stored, created: false };
    const { verdict, frame } = await judge();
    return this.turn.run(async () => {
      const again = this.known(answer);
      if (again !== undefined) return { record: again, created: false };
      const record = feedbackRecord(answer, verdict, frame, reviewer, this.options.book.nextRevision(answer.frameId), (this.options.now ?? (() => new Date()))());
      await this.options.publish(record);
      this.options.book.add(record);
      return { record, created: true };
    });
  }
}

/** Publishes a review on `feedback.v1`, keyed by its camera like the verdicts. */
export async function publishFeedback(kafka: KafkaClient, topic: string, record: Feedback): Promise<void> {
  const publisher = kafka.publisher();
  await publisher.connect();
  try {
    await publisher.send([{ topic, key: messageKey(record.lineId, record.cameraId), value: encodeMessage(Feedback, record), headers: { ...cloudEventHeaders(EVENT_TYPES.feedback, '/loomwatch/dashboard') } }]);
  } catch (err) {
    if (err instanceof LoomwatchError) throw err;
    throw new LoomwatchError('BROKER_UNAVAILABLE', `publishing the review failed: ${err instanceof Error ? err.message : String(err)} — check that the brokers in kafka.brokers are up, then send the answer again (the same feedbackId is one record)`, { cause: err, retryable: true });
  } finally {
    await publisher.close();
  }
}
