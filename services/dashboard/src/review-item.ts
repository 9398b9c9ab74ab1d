/**
 * What `GET /api/review/next` answers: the server builds it (`reviews.ts`), the page reads it
 * (`page/src/app.ts`). Shared with the page, so it imports types only.
 */
import type { ReviewQueue, Verdict } from '@loomwatch/contracts';

/** A frame for the reviewer: where it is, what it was judged, why it is in the queue. */
export interface QueueItem {
  queue: Exclude<ReviewQueue, 'browsing'>;
  lineId: string;
  cameraId: string;
  frameId: string;
  capturedAt: string;
  decidedAt: string;
  verdict: Verdict['verdict'];
  score: number;
  threshold: number;
}

/** The next frame to review, and how many are waiting in each part of the queue (the next one included). */
export interface QueueAnswer {
  next?: QueueItem;
  waiting: Record<QueueItem['queue'], number>;
}
