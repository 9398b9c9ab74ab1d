/**
 * The churn benchmark's arithmetic, pure: which frames belong to which event, their wait from
 * capture to verdict, the group's capacity from a backlog's decision times, and when the consumer
 * lag was back to its steady level after an event. Times are ms since the epoch.
 */
import { quantile } from '@loomwatch/observability';

/** A frame's wait: captured (published) at `capturedAt`, decided at `decidedAt`. */
export interface Decision {
  capturedAt: number;
  decidedAt: number;
}

/** The group's lag (frames published and not yet committed, all partitions) at `at`. */
export interface LagSample {
  at: number;
  lag: number;
}

/** An event of the run: when its action began. */
export interface ChurnEvent {
  name: string;
  at: number;
}

/** An event and the time that belongs to it: from its start to the next event's (or the end of the load). */
export interface EventWindow {
  name: string;
  from: number;
  to: number;
}

/** Each event's window: from its start to the next one's; the last one's to `endAt`. Events must be in time order. */
export function eventWindows(events: readonly ChurnEvent[], endAt: number): EventWindow[] {
  return events.map((event, i) => ({ name: event.name, from: event.at, to: events[i + 1]?.at ?? endAt }));
}

export interface WaitStats {
  frames: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** The wait of the frames captured within `[from, to)`: p50, p99 and max (NaN when there are none). */
export function waitsIn(decisions: readonly Decision[], window: { from: number; to: number }): WaitStats {
  const waits = decisions
    .filter((d) => d.capturedAt >= window.from && d.capturedAt < window.to)
    .map((d) => d.decidedAt - d.capturedAt)
    .sort((a, b) => a - b);
  return { frames: waits.length, p50Ms: quantile(waits, 0.5), p99Ms: quantile(waits, 0.99), maxMs: waits.at(-1) ?? Number.NaN };
}

/**
 * Frames decided per second while a backlog was being worked off: between the decisions at the
 * `from` and `to` fractions of the backlog (by decision time), so the workers' start and the
 * last stragglers do not count. NaN with fewer than 10 decisions.
 */
export function capacityFromBacklog(decidedAt: readonly number[], from = 0.2, to = 0.9): number {
  if (decidedAt.length < 10) return Number.NaN;
  const sorted = [...decidedAt].sort((a, b) => a - b);
  const first = Math.floor((sorted.length - 1) * from);
  const last = Math.ceil((sorted.length - 1) * to);
  const seconds = ((sorted[last] ?? 0) - (sorted[first] ?? 0)) / 1000;
  return seconds > 0 ? (last - first) / seconds : Number.NaN;
}

/**
 * The lag the group holds at steady load: the highest lag sampled within `[from, to)` (records
 * fetched and being decided count as lag, so it is not zero), at least 1. A lag above it is a backlog.
 */
export function steadyLag(samples: readonly LagSample[], window: { from: number; to: number }): number {
  const within = samples.filter((s) => s.at >= window.from && s.at < window.to).map((s) => s.lag);
  return Math.max(1, ...within);
}

/**
 * How long after the event began the lag was back at or under `limit` for good (within the
 * window): the time of the first sample after the last one above it. 0 when it never rose above
 * it; undefined when it was still above it at the window's last sample (it never settled).
 */
export function lagSettledMs(samples: readonly LagSample[], window: EventWindow, limit: number): number | undefined {
  const within = samples.filter((s) => s.at >= window.from && s.at < window.to);
  let lastAbove = -1;
  within.forEach((sample, i) => {
    if (sample.lag > limit) lastAbove = i;
  });
  if (lastAbove === -1) return 0;
  const settled = within[lastAbove + 1];
  return settled === undefined ? undefined : settled.at - window.from;
}
