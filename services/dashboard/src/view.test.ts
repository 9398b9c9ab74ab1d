import { describe, expect, it } from 'vitest';
import { alertFixture, deploymentFixture, driftFixture, retrainFixture, retrainStatusFixture, verdictFixture } from './testing.js';
import {
  applyEvent,
  calibrationOf,
  defectRate,
  describeCalibration,
  emptyView,
  formatRate,
  latestVerdict,
  openAlerts,
  servingOf,
  verdictView,
  type ViewEvent,
  type ViewLimits,
  type ViewState,
} from './view.js';

const LIMITS: ViewLimits = { verdictsPerCamera: 3, cameras: 2, resolvedAlerts: 1, driftEntries: 2 };
const T0 = Date.parse('2026-12-04T10:00:00Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000);

function reduce(events: readonly ViewEvent[], state: ViewState = emptyView()): ViewState {
  return events.reduce((s, e) => applyEvent(s, e, LIMITS), state);
}

const verdict = (seq: number, options: Parameters<typeof verdictFixture>[1] = {}): ViewEvent => ({
  type: 'verdict',
  verdict: verdictView(verdictFixture(seq, { at: at(seq), ...options })),
});

describe('the view reducer', () => {
  it('keeps a camera\'s last verdicts in capture order, whatever order they arrive in, and drops the input histogram', () => {
    const state = reduce([verdict(2), verdict(4), verdict(1), verdict(3, { defect: true })]);
    const camera = state.cameras['line-1:cam-1'];
    expect(camera?.recent.map((v) => v.seq)).toEqual([2, 3, 4]);
    expect(camera === undefined ? undefined : latestVerdict(camera).seq).toBe(4);
    expect(camera === undefined ? 0 : defectRate(camera)).toBeCloseTo(1 / 3);
    expect(camera?.latest).not.toHaveProperty('inputStats');
    expect(camera?.latest.regions).toEqual([]);
    // Older verdicts are kept as points: what the sparkline needs.
    expect(Object.keys(camera?.recent[0] ?? {}).sort()).toEqual(['capturedAt', 'decidedAt', 'frameId', 'normalizedScore', 'score', 'seq', 'threshold', 'verdict']);
  });

  it('ignores a verdict it already holds and one older than a full camera\'s oldest, returning the same state', () => {
    const state = reduce([verdict(2), verdict(3), verdict(4)]);
    expect(applyEvent(state, verdict(3), LIMITS)).toBe(state);
    expect(applyEvent(state, verdict(4), LIMITS)).toBe(state);
    expect(applyEvent(state, verdict(1), LIMITS)).toBe(state);
  });

  it('keeps the latest verdict whole when an older one arrives after it', () => {
    const state = reduce([verdict(5, { defect: true }), verdict(4)]);
    expect(state.cameras['line-1:cam-1']?.latest.seq).toBe(5);
    expect(state.cameras['line-1:cam-1']?.latest.regions).toHaveLength(1);
    expect(state.cameras['line-1:cam-1']?.recent.map((v) => v.seq)).toEqual([4, 5]);
  });

  it('keeps at most `cameras` cameras, dropping the one heard from least recently', () => {
    const state = reduce([verdict(1, { camera: 'a' }), verdict(5, { camera: 'b' }), verdict(3, { camera: 'c' })]);
    expect(Object.keys(state.cameras).sort()).toEqual(['line-1:b', 'line-1:c']);
  });

  it('keeps the highest revision of an alert, so a late older revision does not reopen a resolved alert', () => {
    const open: ViewEvent = { type: 'alert', alert: alertFixture('a1', { revision: 0, at: at(1) }) };
    const resolved: ViewEvent = { type: 'alert', alert: alertFixture('a1', { revision: 1, resolved: true, at: at(2) }) };
    const state = reduce([open, resolved, open]);
    expect(state.alerts.a1?.status).toBe('resolved');
    expect(openAlerts(state)).toEqual([]);
  });

  it('keeps every open alert but only the last `resolvedAlerts` resolved ones, most severe open alert first', () => {
    const state = reduce([
      { type: 'alert', alert: alertFixture('warn', { severity: 'warning', at: at(5) }) },
      { type: 'alert', alert: alertFixture('crit', { severity: 'critical', at: at(1) }) },
      { type: 'alert', alert: alertFixture('old', { resolved: true, revision: 1, at: at(2) }) },
      { type: 'alert', alert: alertFixture('new', { resolved: true, revision: 1, at: at(3) }) },
    ]);
    expect(openAlerts(state).map((a) => a.alertId)).toEqual(['crit', 'warn']);
    expect(Object.keys(state.alerts).sort()).toEqual(['crit', 'new', 'warn']);
  });

  it('counts dead letters per reason code and keeps the latest one\'s message and origin', () => {
    const state = reduce([
      { type: 'dead-letter', code: 'IMAGE_CORRUPT', message: 'second', failedAt: at(2).toISOString(), origin: 'frames.v1/0@2' },
      { type: 'dead-letter', code: 'IMAGE_CORRUPT', message: 'first', failedAt: at(1).toISOString(), origin: 'frames.v1/0@1' },
      { type: 'dead-letter', code: 'IMAGE_NOT_FOUND', message: 'x', failedAt: at(3).toISOString(), origin: 'frames.v1/1@7' },
    ]);
    expect(state.deadLetters.IMAGE_CORRUPT).toMatchObject({ count: 2, lastMessage: 'second', lastOrigin: 'frames.v1/0@2' });
    expect(state.deadLetters.IMAGE_NOT_FOUND?.count).toBe(1);
  });

  it('keeps the latest record of the retrain request in force per key: a new request replaces the old, an older record of the same request or a repeat changes nothing', () => {
    const key = 'retrain:draem-aitex:05';
    const first = retrainFixture(retrainStatusFixture('shadow'), { id: 'r1' });
    const replayed = { ...retrainFixture(retrainStatusFixture('replayed'), { id: 'r1' }), updatedAt: new Date(Date.parse(first.updatedAt) + 1000).toISOString() };
    let state = reduce([
      { type: 'retrain', key, request: first },
      { type: 'retrain', key, request: replayed },
    ]);
    expect(state.retrains[key]?.status.step).toBe('replayed');
    expect(reduce([{ type: 'retrain', key, request: first }], state)).toBe(state);
    expect(reduce([{ type: 'retrain', key, request: replayed }], state)).toBe(state);
    state = reduce([{ type: 'retrain', key, request: retrainFixture(retrainStatusFixture('requested'), { id: 'r2', at: new Date('2026-12-01T00:00:00Z') }) }], state);
    expect(state.retrains[key]).toMatchObject({ id: 'r2', status: { step: 'requested' } });
    state = reduce([{ type: 'retrain', key: 'retrain:draem-aitex:all', request: retrainFixture(retrainStatusFixture('refit'), { id: 'r3' }) }], state);
    expect(Object.keys(state.retrains).sort()).toEqual(['retrain:draem-aitex:05', 'retrain:draem-aitex:all']);
  });

  it('keeps the highest deployment revision per model', () => {
    const state = reduce([
      { type: 'deployment', deployment: deploymentFixture(2, { production: '1.1.0' }) },
      { type: 'deployment', deployment: deploymentFixture(1, { production: '1.0.0' }) },
    ]);
    expect(state.deployments['draem-aitex']?.production).toBe('1.1.0');
  });

  it('says which versions serve a line: production, a canary on its cameras or the whole line, fabrics and a shadow in force', () => {
    const state = reduce([
      {
        type: 'deployment',
        deployment: deploymentFixture(3, { canary: { version: '1.1.0', lines: ['line-2'], cameras: ['line-1:cam-2'] }, fabrics: { '05': '1.0.1' }, shadow: { version: '2.0.0', sample: 0.2 } }),
      },
      { type: 'deployment', deployment: deploymentFixture(1, { model: 'patchcore', shadow: { version: '9', sample: 0 } }) },
    ]);
    const [draem, patchcore] = servingOf(state, 'line-1');
    expect(draem).toMatchObject({ model: 'draem-aitex', production: '1.0.0', canary: { version: '1.1.0', cameras: ['cam-2'], wholeLine: false }, fabrics: { '05': '1.0.1' }, shadow: { version: '2.0.0' } });
    expect(patchcore).not.toHaveProperty('shadow');
    expect(servingOf(state, 'line-2')[0]?.canary).toEqual({ version: '1.1.0', cameras: [], wholeLine: true });
    expect(servingOf(state, 'line-3')[0]).not.toHaveProperty('canary');
  });

  it('keeps the latest drift judgement per line, camera and fabric, and at most `driftEntries` of them', () => {
    const state = reduce([
      { type: 'drift', drift: driftFixture(['input-psi'], { fabric: '05', at: at(10) }) },
      { type: 'drift', drift: driftFixture([], { fabric: '05', at: at(5) }) },
      { type: 'drift', drift: driftFixture([], { fabric: '07', at: at(11) }) },
      { type: 'drift', drift: driftFixture([], { camera: 'cam-2', at: at(12) }) },
    ]);
    expect(Object.keys(state.drift).sort()).toEqual(['line-1:cam-1:07', 'line-1:cam-2:-']);
    const kept = reduce([
      { type: 'drift', drift: driftFixture(['input-psi'], { fabric: '05', at: at(10) }) },
      { type: 'drift', drift: driftFixture([], { fabric: '05', at: at(5) }) },
    ]);
    expect(kept.drift['line-1:cam-1:05']?.status).toBe('drifting');
  });

  it('does not change the state it is given', () => {
    const state = reduce([verdict(1)]);
    const copy = structuredClone(state);
    reduce([verdict(2), { type: 'alert', alert: alertFixture('x') }], state);
    expect(state).toEqual(copy);
  });
});

describe('the calibration a verdict was judged by', () => {
  it("names the fabric whose threshold applied, the threshold and the false-alarm rate in force", () => {
    const calibration = calibrationOf(verdictFixture(1, { calibration: { fabric: '05', threshold: 0.41, falseAlarmRate: 0.02 } }));
    expect(calibration).toEqual({ fabric: '05', threshold: 0.41, falseAlarmRate: 0.02 });
    expect(describeCalibration(calibration)).toBe('fabric 05 · 2 % false alarms');
  });

  it("says pooled, and which fabric the model had no threshold for, when the pooled threshold applied", () => {
    const uncalibrated = calibrationOf(verdictFixture(1, { calibration: { fabric: null, frameFabric: '09', falseAlarmRate: 0.05 } }));
    expect(uncalibrated).toEqual({ fabric: null, uncalibratedFabric: '09', threshold: 0.5, falseAlarmRate: 0.05 });
    expect(describeCalibration(uncalibrated)).toBe('pooled (fabric 09 not calibrated) · 5 % false alarms');
    // A frame without a fabric, judged by a model whose card states no rate.
    expect(describeCalibration(calibrationOf(verdictFixture(1, { calibration: { fabric: null } })))).toBe('pooled');
  });

  it('writes a rate as a percentage people read, without float noise', () => {
    expect([0.05, 0.02, 0.005, 0.001, 0.2, 0.0125].map(formatRate)).toEqual(['5 %', '2 %', '0.5 %', '0.1 %', '20 %', '1.3 %']);
  });

  it("gives each line the deployment's false-alarm rate, a line's own rate over it, and none when the deployment sets none", () => {
    const state = reduce([
      { type: 'deployment', deployment: deploymentFixture(1, { operatingPoint: { falseAlarmRate: 0.02, lines: { 'line-2': 0.01 } } }) },
      { type: 'deployment', deployment: { ...deploymentFixture(1), model: 'patchcore-aitex' } },
    ]);
    expect(servingOf(state, 'line-1').map((s) => [s.model, s.falseAlarmRate])).toEqual([['draem-aitex', 0.02], ['patchcore-aitex', undefined]]);
    expect(servingOf(state, 'line-2')[0]?.falseAlarmRate).toBe(0.01);
    // A line id that is a property of every object is still just a line.
    expect(servingOf(state, 'constructor')[0]?.falseAlarmRate).toBe(0.02);
  });
});
