import { describe, expect, it } from 'vitest';
import { Alert } from '@loomwatch/contracts';
import { AlertEngine, alertIdOf, type AlertEvent } from './engine.js';
import { Rules } from './rules.js';
import { review } from '@loomwatch/quality/fixtures';
import { craftDriftEvent, craftVerdict } from './testing/verdicts.js';

const T0 = Date.parse('2026-11-23T08:00:00.000Z'); // a Monday
const S = 1000;

const verdict = craftVerdict;

/** Feeds timed events and returns every alert message, each checked against the contract. */
function run(engine: AlertEngine, events: readonly [number, AlertEvent][]): Alert[] {
  return events.flatMap(([at, event]) =>
    engine.handle(event, at).map((alert) => {
      expect(Alert.safeParse(alert).error).toBeUndefined();
      return alert;
    }),
  );
}

function rules(raw: unknown): Rules {
  return Rules.parse(raw);
}

const v = (at: number, seq: number, defect: boolean, options?: Parameters<typeof verdict>[2]): [number, AlertEvent] => [
  at,
  { type: 'verdict', verdict: verdict(seq, defect, options) },
];
const tick = (at: number): [number, AlertEvent] => [at, { type: 'tick' }];

describe('level rule', () => {
  const config = rules([{ name: 'high-score', kind: 'level', minNormalizedScore: 0.8, minRegionArea: 5000, quietMs: 60 * S, cooldownMs: 30 * S }]);

  it('opens on a defect whose score crosses the level, carrying the frame and its map', () => {
    const alerts = run(new AlertEngine(config), [v(T0, 1, true, { score: 0.6 }), v(T0 + S, 2, false), v(T0 + 2 * S, 3, true, { score: 0.9 })]);
    expect(alerts).toEqual([
      expect.objectContaining({
        status: 'open',
        rule: 'high-score',
        kind: 'level',
        severity: 'warning',
        dedupKey: 'high-score:line-1:cam-1',
        frameIds: ['line-1.cam-1.3'],
        anomalyMaps: [{ bucket: 'loomwatch-results', key: 'maps/draem/1.0.0/line-1/cam-1/line-1.cam-1.3.png' }],
        observation: { value: 0.9, threshold: 0.8 },
        revision: 0,
        openedAt: new Date(T0 + 2 * S).toISOString(),
      }),
    ]);
  });

  it('opens on a large region even when the score is below the level', () => {
    const [alert] = run(new AlertEngine(config), [v(T0, 1, true, { score: 0.6, area: 6000 })]);
    expect(alert?.observation).toEqual({ value: 6000, threshold: 5000 });
  });

  it('de-duplicates further crossings into the open alert and resolves after the quiet period with all frames', () => {
    const engine = new AlertEngine(config);
    const alerts = run(engine, [
      v(T0, 1, true, { score: 0.9 }),
      v(T0 + 10 * S, 2, true, { score: 0.95 }),
      tick(T0 + 69 * S),
      tick(T0 + 70 * S),
    ]);
    expect(alerts.map((alert) => [alert.status, alert.revision])).toEqual([
      ['open', 0],
      ['resolved', 1],
    ]);
    expect(alerts[1]).toMatchObject({
      alertId: alerts[0]?.alertId,
      frameIds: ['line-1.cam-1.1', 'line-1.cam-1.2'],
      resolvedAt: new Date(T0 + 70 * S).toISOString(),
    });
    expect(engine.openAlerts()).toEqual([]);
  });

  it('cools down after resolving: a crossing within the cooldown opens nothing, one after it opens a new alert', () => {
    const engine = new AlertEngine(config);
    const alerts = run(engine, [v(T0, 1, true, { score: 0.9 }), tick(T0 + 60 * S), v(T0 + 80 * S, 2, true, { score: 0.9 }), v(T0 + 91 * S, 3, true, { score: 0.9 })]);
    expect(alerts.map((alert) => [alert.status, alert.frameIds])).toEqual([
      ['open', ['line-1.cam-1.1']],
      ['resolved', ['line-1.cam-1.1']],
      ['open', ['line-1.cam-1.3']],
    ]);
    expect(alerts[2]?.alertId).not.toBe(alerts[0]?.alertId);
    expect(engine.suppressed).toBe(1);
  });

  it('keeps cameras apart and applies only to the lines and cameras it matches', () => {
    const engine = new AlertEngine(rules([{ name: 'cam-2-only', kind: 'level', minNormalizedScore: 0.8, match: { cameras: ['cam-2'] } }]));
    const alerts = run(engine, [v(T0, 1, true, { score: 0.9, camera: 'cam-1' }), v(T0, 1, true, { score: 0.9, camera: 'cam-2' })]);
    expect(alerts.map((alert) => alert.dedupKey)).toEqual(['cam-2-only:line-1:cam-2']);
  });
});

describe('burst rule', () => {
  const config = rules([{ name: 'burst', kind: 'burst', defects: 3, frames: 5, cooldownMs: 0 }]);

  it('escalates when N defects fall within the last M frames of a camera, and not before', () => {
    const alerts = run(new AlertEngine(config), [
      v(T0, 1, true),
      v(T0 + S, 2, false),
      v(T0 + 2 * S, 3, false),
      v(T0 + 3 * S, 4, false),
      v(T0 + 4 * S, 5, false),
      v(T0 + 5 * S, 6, true), // 1 in the last 5
      v(T0 + 6 * S, 7, true),
      v(T0 + 7 * S, 8, true), // 3 in the last 5
    ]);
    expect(alerts).toEqual([
      expect.objectContaining({
        status: 'open',
        severity: 'critical',
        stopLine: true,
        frameIds: ['line-1.cam-1.6', 'line-1.cam-1.7', 'line-1.cam-1.8'],
        observation: { value: 3, threshold: 3, frames: 5 },
      }),
    ]);
    expect(alerts[0]?.anomalyMaps).toHaveLength(3);
  });

  it('does not count defects of another camera of the same line', () => {
    const alerts = run(new AlertEngine(config), [v(T0, 1, true), v(T0, 1, true, { camera: 'cam-2' }), v(T0, 2, true, { camera: 'cam-3' })]);
    expect(alerts).toEqual([]);
  });

  it('stays open while defects continue and resolves when the window holds none', () => {
    const defects = [1, 2, 3, 4].map((seq) => v(T0 + seq * S, seq, true));
    const oks = [5, 6, 7, 8, 9].map((seq) => v(T0 + seq * S, seq, false));
    const alerts = run(new AlertEngine(config), [...defects, ...oks]);
    expect(alerts.map((alert) => [alert.status, alert.updatedAt])).toEqual([
      ['open', new Date(T0 + 3 * S).toISOString()],
      // frames 4..8 still hold the defect of frame 4; frames 5..9 hold none
      ['resolved', new Date(T0 + 9 * S).toISOString()],
    ]);
    expect(alerts[1]?.frameIds).toEqual(['line-1.cam-1.1', 'line-1.cam-1.2', 'line-1.cam-1.3', 'line-1.cam-1.4']);
  });
});

describe('defect-rate rule', () => {
  const config = rules([{ name: 'rate', kind: 'defect-rate', windowMs: 60 * S, maxRate: 0.5, resolveRate: 0.2, minFrames: 4, cooldownMs: 0 }]);

  it('opens when the rate over the window reaches the level, with hysteresis before resolving', () => {
    const engine = new AlertEngine(config);
    const alerts = run(engine, [
      v(T0, 1, true),
      v(T0 + S, 2, true),
      v(T0 + 2 * S, 3, true), // 3 frames: below minFrames, no judgement
      v(T0 + 3 * S, 4, false), // 3/4
      v(T0 + 30 * S, 5, false),
      v(T0 + 31 * S, 6, false), // 3/6 = 0.5 still ≥ 0.5
      v(T0 + 32 * S, 7, false), // 3/7: below maxRate, above resolveRate: held open
      tick(T0 + 61 * S), // frames 2..7 in the window: 2/6
      tick(T0 + 63 * S), // frames 4..7: 0/4
    ]);
    expect(alerts.map((alert) => [alert.status, alert.updatedAt])).toEqual([
      ['open', new Date(T0 + 3 * S).toISOString()],
      ['resolved', new Date(T0 + 63 * S).toISOString()],
    ]);
    expect(alerts[0]?.observation).toEqual({ value: 0.75, threshold: 0.5, frames: 4, windowMs: 60_000 });
  });

  it('line scope pools the cameras of a line', () => {
    const line = rules([{ name: 'rate', kind: 'defect-rate', scope: 'line', windowMs: 60 * S, maxRate: 0.5, minFrames: 4 }]);
    const alerts = run(new AlertEngine(line), [
      v(T0, 1, true, { camera: 'cam-1' }),
      v(T0, 1, true, { camera: 'cam-2' }),
      v(T0, 2, false, { camera: 'cam-1' }),
      v(T0, 2, false, { camera: 'cam-2' }),
    ]);
    expect(alerts).toEqual([expect.objectContaining({ dedupKey: 'rate:line-1:*', status: 'open' })]);
    expect(alerts[0]).not.toHaveProperty('cameraId');
  });
});

describe('line-scoped rules', () => {
  it('pool only the cameras the rule matches', () => {
    const line = rules([{ name: 'rate', kind: 'defect-rate', scope: 'line', windowMs: 60 * S, maxRate: 0.5, minFrames: 2, match: { cameras: ['cam-1', 'cam-2'] } }]);
    const alerts = run(new AlertEngine(line), [v(T0, 1, true, { camera: 'cam-3' }), v(T0, 2, true, { camera: 'cam-3' }), v(T0, 1, false, { camera: 'cam-1' })]);
    expect(alerts).toEqual([]);
  });
});

describe('stale-verdicts rule', () => {
  const config = rules([{ name: 'stale', kind: 'stale-verdicts', afterMs: 30 * S, cooldownMs: 0 }]);
  const frame = (at: number, seq: number): [number, AlertEvent] => [at, { type: 'frame', lineId: 'line-1', cameraId: 'cam-1', frameId: `line-1.cam-1.${seq}`, seq }];

  it('opens when frames keep arriving without verdicts and resolves when verdicts catch up', () => {
    const alerts = run(new AlertEngine(config), [
      frame(T0, 1),
      v(T0 + S, 1, false),
      frame(T0 + 2 * S, 2),
      frame(T0 + 3 * S, 3),
      tick(T0 + 31 * S), // frame 2 has waited 29 s
      tick(T0 + 32 * S),
      v(T0 + 40 * S, 3, false),
    ]);
    expect(alerts.map((alert) => [alert.status, alert.updatedAt])).toEqual([
      ['open', new Date(T0 + 32 * S).toISOString()],
      ['resolved', new Date(T0 + 40 * S).toISOString()],
    ]);
    expect(alerts[0]?.frameIds).toEqual(['line-1.cam-1.2', 'line-1.cam-1.3']);
  });

  it('does not count a frame read after its own verdict as waiting', () => {
    const alerts = run(new AlertEngine(config), [v(T0, 1, false), frame(T0 + S, 1), tick(T0 + 60 * S)]);
    expect(alerts).toEqual([]);
  });
});

describe('no-frames rule', () => {
  const config = rules([
    {
      name: 'silent',
      kind: 'no-frames',
      afterMs: 10 * 60 * S,
      match: { lines: ['line-1'] },
      schedule: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '06:00', end: '22:00' }],
      cooldownMs: 0,
    },
  ]);

  it('opens for a listed line that sends nothing during its shift, even one never seen, and resolves on a frame', () => {
    const engine = new AlertEngine(config);
    const alerts = run(engine, [tick(T0), tick(T0 + 9 * 60 * S), tick(T0 + 10 * 60 * S), v(T0 + 11 * 60 * S, 1, false, { camera: 'cam-4' })]);
    expect(alerts.map((alert) => [alert.status, alert.dedupKey])).toEqual([
      ['open', 'silent:line-1:*'],
      ['resolved', 'silent:line-1:*'],
    ]);
  });

  it('stays quiet outside the schedule and in the first minutes of a shift', () => {
    const saturday = Date.parse('2026-11-28T12:00:00.000Z');
    const mondayMorning = Date.parse('2026-11-23T06:05:00.000Z');
    expect(run(new AlertEngine(config), [tick(saturday), tick(saturday + 60 * 60 * S)])).toEqual([]);
    expect(run(new AlertEngine(config), [tick(mondayMorning - 60 * 60 * S), tick(mondayMorning)])).toEqual([]);
  });

  it('is rejected at load without the lines to watch, naming the path', () => {
    const parsed = Rules.safeParse([{ name: 'silent', kind: 'no-frames', afterMs: 1000, schedule: [{ start: '06:00', end: '22:00' }] }]);
    expect(parsed.error?.issues[0]?.path).toEqual([0, 'match', 'lines']);
  });
});

describe('dead-letter-rate rule', () => {
  const config = rules([{ name: 'dlq', kind: 'dead-letter-rate', windowMs: 60 * S, maxCount: 3, cooldownMs: 0 }]);
  const letter = (at: number, camera: string, frameId?: string): [number, AlertEvent] => [
    at,
    frameId === undefined ? { type: 'dead-letter', lineId: 'line-1', cameraId: camera } : { type: 'dead-letter', lineId: 'line-1', cameraId: camera, frameId },
  ];

  it('opens on a line when dead letters of its cameras reach the count within the window, and resolves as they age out', () => {
    const alerts = run(new AlertEngine(config), [letter(T0, 'cam-1', 'f1'), letter(T0 + S, 'cam-2'), letter(T0 + 2 * S, 'cam-1', 'f3'), tick(T0 + 30 * S), tick(T0 + 60 * S)]);
    expect(alerts).toEqual([
      expect.objectContaining({ status: 'open', dedupKey: 'dlq:line-1:*', frameIds: ['f1', 'f3'], observation: { value: 3, threshold: 3, windowMs: 60_000 } }),
      expect.objectContaining({ status: 'resolved', resolvedAt: new Date(T0 + 60 * S).toISOString() }),
    ]);
  });
});

describe('drift rule', () => {
  const config = rules([{ name: 'drift', kind: 'drift', checks: ['input-psi', 'input-contrast', 'score-psi'], cooldownMs: 0 }]);
  const d = (at: number, event: ReturnType<typeof craftDriftEvent>): [number, AlertEvent] => [at, { type: 'drift', drift: event }];

  it("opens when a fabric's latest judgement trips a watched check, and resolves when none does", () => {
    const alerts = run(new AlertEngine(config), [
      d(T0, craftDriftEvent([], { fabric: '05' })),
      // input-ks alone is not watched by this rule
      d(T0 + S, craftDriftEvent(['input-ks'], { fabric: '05' })),
      d(T0 + 2 * S, craftDriftEvent(['input-psi', 'input-ks'], { fabric: '05', lastSeq: 32 })),
      d(T0 + 3 * S, craftDriftEvent(['input-psi'], { fabric: '05', lastSeq: 48 })),
      // another fabric on the same camera drifting keeps the episode open after fabric 05 recovers
      d(T0 + 4 * S, craftDriftEvent(['input-contrast'], { fabric: '06' })),
      d(T0 + 5 * S, craftDriftEvent([], { fabric: '05' })),
      d(T0 + 6 * S, craftDriftEvent([], { fabric: '06' })),
    ]);
    expect(alerts.map((alert) => [alert.status, alert.kind, alert.dedupKey])).toEqual([
      ['open', 'drift', 'drift:line-1:cam-1'],
      ['resolved', 'drift', 'drift:line-1:cam-1'],
    ]);
    expect(alerts[0]).toMatchObject({
      severity: 'warning',
      frameIds: ['line-1.cam-1.32'],
      observation: { value: 0.5, threshold: 0.1, frames: 16 },
      message: "drift on line-1/cam-1 (fabric 05): input-psi 0.500 beyond 0.100 against draem@1.0.0's reference",
    });
    expect(alerts[1]?.resolvedAt).toBe(new Date(T0 + 6 * S).toISOString());
  });

  it('keeps cameras apart and is refused at load with an unknown check', () => {
    const alerts = run(new AlertEngine(config), [d(T0, craftDriftEvent(['input-psi'], { camera: 'cam-2' })), d(T0 + S, craftDriftEvent([], { camera: 'cam-1' }))]);
    expect(alerts.map((alert) => [alert.status, alert.cameraId])).toEqual([['open', 'cam-2']]);
    expect(Rules.safeParse([{ name: 'drift', kind: 'drift', checks: ['brightness'] }]).success).toBe(false);
  });
});

describe('precision rule', () => {
  const config = rules([{ name: 'low-precision', kind: 'precision', floor: 0.5, minReviews: 10, windowMs: 24 * 3600 * S, cooldownMs: 0 }]);
  const decidedAt = new Date(T0).toISOString();
  const f = (at: number, frameId: string, label: 'defect-confirmed' | 'false-alarm', extra: Parameters<typeof review>[2] = {}): [number, AlertEvent] => [
    at,
    { type: 'feedback', feedback: review(frameId, label, { decidedAt, ...extra }) },
  ];
  const many = (from: number, count: number, label: 'defect-confirmed' | 'false-alarm', extra: Parameters<typeof review>[2] = {}): [number, AlertEvent][] =>
    Array.from({ length: count }, (_, i) => f(T0 + (from + i) * S, `${label}-${from + i}`, label, extra));

  it('opens only once the interval lies below the floor, holds in between, and resolves when the estimate is back at the floor', () => {
    const engine = new AlertEngine(config);
    // 2 of 10 confirmed: 0.20, but the interval reaches 0.56 — not yet evidence; 2 of 11 neither (0.52).
    const first = run(engine, [...many(0, 2, 'defect-confirmed'), ...many(2, 9, 'false-alarm')]);
    expect(first).toEqual([]);
    // the 12th review: 2 of 12, interval up to 0.48 < 0.5
    const opened = run(engine, many(11, 1, 'false-alarm'));
    expect(opened).toEqual([
      expect.objectContaining({
        status: 'open',
        kind: 'precision',
        dedupKey: 'low-precision:line-1:*',
        severity: 'warning',
        observation: { value: 2 / 12, threshold: 0.5, frames: 12, windowMs: 24 * 3600 * S },
        message: 'precision 0.17 (95 % interval 0.02–0.48) over 12 reviewed defect verdicts of patchcore-aitex@1.2.0 on line line-1 in 24 h, below the floor 0.5: 10 false alarms',
      }),
    ]);
    expect(opened[0]?.frameIds).toHaveLength(10);
    expect(opened[0]?.frameIds).toContain('false-alarm-11');
    // A retried record (same feedback id) and another model version's confirmations change nothing.
    expect(run(engine, [f(T0 + 20 * S, 'false-alarm-2', 'false-alarm'), ...many(30, 12, 'defect-confirmed', { version: '1.3.0' })])).toEqual([]);
    // 9 of 19 (0.47): below the floor, but no longer certain — held open; 10 of 20 resolves.
    expect(run(engine, many(50, 7, 'defect-confirmed'))).toEqual([]);
    const resolved = run(engine, many(57, 1, 'defect-confirmed'));
    expect(resolved).toEqual([expect.objectContaining({ status: 'resolved', alertId: opened[0]?.alertId, observation: { value: 0.5, threshold: 0.5, frames: 20, windowMs: 24 * 3600 * S } })]);
  });

  it('counts a second look: false alarms revised to confirmed defects raise the precision', () => {
    const engine = new AlertEngine(config);
    expect(run(engine, many(0, 12, 'false-alarm'))).toHaveLength(1);
    const revised = Array.from({ length: 6 }, (_, i): [number, AlertEvent] => f(T0 + (20 + i) * S, `false-alarm-${i}`, 'defect-confirmed', { revision: 1 }));
    expect(run(engine, revised)).toEqual([expect.objectContaining({ status: 'resolved', observation: expect.objectContaining({ value: 0.5, frames: 12 }) })]);
  });

  it('resolves when the reviewed verdicts leave the window, and judges per fabric with per: [fabric]', () => {
    const engine = new AlertEngine(config);
    expect(run(engine, many(0, 12, 'false-alarm'))).toHaveLength(1);
    expect(run(engine, [tick(T0 + 24 * 3600 * S + S)])).toEqual([expect.objectContaining({ status: 'resolved' })]);

    const perFabric = new AlertEngine(rules([{ name: 'p', kind: 'precision', floor: 0.5, minReviews: 10, per: ['fabric'], scope: 'camera', cooldownMs: 0 }]));
    // fabric 05 all false alarms, fabric 07 all confirmed: pooled 0.5 would hide it
    const alerts = run(perFabric, [...many(0, 12, 'false-alarm'), ...many(20, 12, 'defect-confirmed', { fabric: '07' })]);
    expect(alerts.map((alert) => [alert.status, alert.dedupKey])).toEqual([['open', 'p:line-1:cam-1']]);
    expect(alerts[0]?.message).toContain('of fabric 05 on line-1/cam-1');
  });

  it('is judged on reviews and the clock, not on each verdict, and is refused at load without a floor', () => {
    const engine = new AlertEngine(config);
    expect(run(engine, many(0, 12, 'false-alarm'))).toHaveLength(1);
    // The reviewed verdicts have left the window: a verdict does not judge precision, the next tick does.
    const later = T0 + 25 * 3600 * S;
    expect(run(engine, [v(later, 1, true, { at: new Date(later).toISOString() })])).toEqual([]);
    expect(run(engine, [tick(later + S)])).toEqual([expect.objectContaining({ status: 'resolved', rule: 'low-precision' })]);
    expect(Rules.safeParse([{ name: 'p', kind: 'precision' }]).success).toBe(false);
    expect(Rules.safeParse([{ name: 'p', kind: 'precision', floor: 0 }]).success).toBe(false);
  });
});

describe('quality inputs', () => {
  it('hands over the reviews and verdict counts of the window, coverage counting only what every verdict was counted for', () => {
    const H = 3600 * S;
    const engine = new AlertEngine([], undefined, { qualityWindowMs: 24 * H });
    const at = (ms: number): string => new Date(ms).toISOString();
    // the first verdict is mid-hour: counts are complete from the next hour on
    engine.handle({ type: 'verdict', verdict: craftVerdict(1, true, { at: at(T0 + H / 2) }) }, T0 + H / 2);
    for (let seq = 2; seq <= 5; seq++) engine.handle({ type: 'verdict', verdict: craftVerdict(seq, seq % 2 === 0, { at: at(T0 + H + seq * S) }) }, T0 + H + seq * S);
    engine.handle({ type: 'feedback', feedback: review('early', 'false-alarm', { decidedAt: at(T0 + H / 2) }) }, T0 + 2 * H);
    engine.handle({ type: 'feedback', feedback: review('late', 'defect-confirmed', { decidedAt: at(T0 + H + 2 * S) }) }, T0 + 2 * H);
    const inputs = engine.qualityInputs(T0 + 2 * H, 24 * H);
    expect(inputs.labels.map((label) => label.frameId).sort()).toEqual(['early', 'late']);
    expect(inputs.countedLabels.map((label) => label.frameId)).toEqual(['late']);
    expect(inputs.verdicts.map((count) => [count.verdict, count.count])).toEqual([
      ['ok', 2],
      ['defect', 2],
    ]);
    // a day later everything has left the window, and the tick forgets it
    engine.handle({ type: 'tick' }, T0 + 30 * H);
    expect(engine.qualityInputs(T0 + 30 * H, 24 * H)).toEqual({ labels: [], countedLabels: [], verdicts: [] });
    expect(engine.snapshot().cameras['line-1:cam-1']).toMatchObject({ labels: {}, decided: {} });
  });
});

describe('restart and reload', () => {
  const config = rules([
    { name: 'burst', kind: 'burst', defects: 2, frames: 3 },
    { name: 'high', kind: 'level', minNormalizedScore: 0.8, quietMs: 60 * S },
  ]);
  const stream: [number, AlertEvent][] = [
    v(T0, 1, true, { score: 0.9 }),
    v(T0 + S, 2, false),
    v(T0 + 2 * S, 3, true),
    v(T0 + 3 * S, 4, false),
    v(T0 + 4 * S, 5, false),
    v(T0 + 5 * S, 6, false),
    tick(T0 + 90 * S),
  ];

  it('an engine restored from a JSON snapshot mid-stream sends the same alerts as one that ran through', () => {
    const through = run(new AlertEngine(config), stream);
    for (let cut = 1; cut < stream.length; cut++) {
      const first = new AlertEngine(config);
      const before = run(first, stream.slice(0, cut));
      const restored = new AlertEngine(config, JSON.parse(JSON.stringify(first.snapshot())) as ReturnType<AlertEngine['snapshot']>);
      expect([...before, ...run(restored, stream.slice(cut))]).toEqual(through);
    }
    expect(through.map((alert) => `${alert.rule} ${alert.status}`)).toEqual(['high open', 'burst open', 'burst resolved', 'high resolved']);
  });

  it('an engine rebuilt from the alerts topic and a re-read of the inputs sends no alert twice and forgets none', () => {
    const through = run(new AlertEngine(config), stream);
    for (let cut = 1; cut < stream.length; cut++) {
      const first = new AlertEngine(config);
      const before = run(first, stream.slice(0, cut));
      const rebuilt = new AlertEngine(config);
      const [lastAt = T0] = stream[cut - 1] ?? [];
      rebuilt.restoreEpisodes(before, lastAt);
      for (const [at, event] of stream.slice(0, cut)) rebuilt.observe(event, at);
      expect([...before, ...run(rebuilt, stream.slice(cut))]).toEqual(through);
    }
  });

  it('resolves the open alerts of a rule removed on reload rather than forgetting them', () => {
    const engine = new AlertEngine(config);
    run(engine, stream.slice(0, 3));
    const resolved = engine.setRules(rules([{ name: 'high', kind: 'level', minNormalizedScore: 0.8, quietMs: 60 * S }]), T0 + 10 * S);
    expect(resolved).toEqual([expect.objectContaining({ rule: 'burst', status: 'resolved', revision: 1 })]);
    expect(engine.openAlerts().map((alert) => alert.rule)).toEqual(['high']);
  });

  it('gives an episode an id that depends only on its dedup key and opening time', () => {
    expect(alertIdOf('burst:line-1:cam-1', T0)).toBe(alertIdOf('burst:line-1:cam-1', T0));
    expect(alertIdOf('burst:line-1:cam-1', T0)).not.toBe(alertIdOf('burst:line-1:cam-1', T0 + 1));
  });
});
