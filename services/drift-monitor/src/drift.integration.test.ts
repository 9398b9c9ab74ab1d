import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import sharp, { type Sharp } from 'sharp';
import { describe, expect, it } from 'vitest';
import { DriftEvent, decodeMessage, type DriftCheck } from '@loomwatch/contracts';
import { publishTestFrames } from '@loomwatch/frame-pipeline/testing';
import { useTestKafka } from '@loomwatch/kafka/testing';
import { createLogger } from '@loomwatch/observability';
import { useTestS3 } from '@loomwatch/storage/testing';
import { REPO_ROOT, aitexDir, readCommittedWithKcat, spawnNodeProcess, stopProcess } from '@loomwatch/testkit';
import { DriftConfig } from './config.js';
import { startDriftMonitor } from './service.js';

const kafka = useTestKafka();
const s3 = useTestS3();
// DRIFT_TEST_LOG=info shows the monitor's logs when a run fails.
const logger = createLogger({ service: 'drift-test', level: process.env['DRIFT_TEST_LOG'] ?? 'silent' });
const MODEL = 'patchcore-aitex@1.1.0';
const FABRIC = '05';

/** The held-out normal frames of one fabric: the split's validation normals, which no model trained on. */
function validationNormals(fabric: string): Buffer[] {
  const split = JSON.parse(readFileSync(join(REPO_ROOT, 'models/splits/aitex-split-v1.json'), 'utf8')) as {
    validation: { file: string; label: number; fabric: string }[];
  };
  return split.validation.filter((entry) => entry.label === 0 && entry.fabric === fabric).map((entry) => readFileSync(join(aitexDir(), 'normal', entry.file)));
}

const gray = (image: Sharp): Promise<Buffer> => image.toColourspace('b-w').png().toBuffer();

/** The shifts a camera's image can take on a line, applied to real frames. */
const SHIFTS = {
  // the lighting 15 % brighter
  brightness: (frame) => gray(sharp(frame).linear(1.15, 0)),
  // contrast × 0.7 around mid-grey
  contrast: (frame) => gray(sharp(frame).linear(0.7, 0.3 * 128)),
  // out of focus: Gaussian blur, sigma 2 px
  blur: (frame) => gray(sharp(frame).blur(2)),
  // the camera gone dark: 5 % of the light
  dark: (frame) => gray(sharp(frame).linear(0.05, 0)),
  // a weave the model never saw: each 256 × 256 block turned 90° (the same pixels, so the same histogram)
  unseen: async (frame) => {
    const out = Buffer.alloc(4096 * 256);
    for (let block = 0; block < 16; block++) {
      const pixels = await sharp(frame).extract({ left: block * 256, top: 0, width: 256, height: 256 }).rotate(90).toColourspace('b-w').raw().toBuffer();
      for (let y = 0; y < 256; y++) pixels.copy(out, y * 4096 + block * 256, y * 256, y * 256 + 256);
    }
    return gray(sharp(out, { raw: { width: 4096, height: 256, channels: 1 } }));
  },
} satisfies Record<string, (frame: Buffer) => Promise<Buffer>>;

function schemaValidator(file: string) {
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormatsModule.default(ajv);
  return ajv.compile(JSON.parse(readFileSync(join(REPO_ROOT, 'docs/schemas', file), 'utf8')) as object);
}

describe('drift monitor on the real broker, behind a real worker', () => {
  it('trips on brightness, contrast, blur, a dark camera and an unseen weave, and not on held-out normal frames', async () => {
    const [frameTopic, verdictTopic, deadLetterTopic, driftTopic] = await Promise.all([
      kafka.topic({ partitions: 2, prefix: 'frames' }),
      kafka.topic({ partitions: 2, prefix: 'verdicts' }),
      kafka.topic({ prefix: 'dlq' }),
      kafka.topic({ partitions: 2, prefix: 'drift' }),
    ]);
    const frameBucket = await s3.bucket('frames');
    const outputBucket = await s3.bucket('results');

    // Each stream is one camera of one line, all of fabric 05; the normal and unseen streams run long
    // enough for the score-based checks (16 frames), the others for one input window (4 frames).
    const normals = validationNormals(FABRIC);
    expect(normals).toHaveLength(4);
    const streams: Record<string, { frames: number; shift?: (frame: Buffer) => Promise<Buffer> }> = {
      normal: { frames: 16 },
      brightness: { frames: 4, shift: SHIFTS.brightness },
      contrast: { frames: 4, shift: SHIFTS.contrast },
      blur: { frames: 4, shift: SHIFTS.blur },
      dark: { frames: 4, shift: SHIFTS.dark },
      unseen: { frames: 16, shift: SHIFTS.unseen },
    };
    const shifted = new Map<string, Buffer[]>();
    for (const [camera, stream] of Object.entries(streams)) {
      shifted.set(camera, await Promise.all(normals.map((frame) => (stream.shift === undefined ? Promise.resolve(frame) : stream.shift(frame)))));
    }
    const frames = Object.entries(streams).flatMap(([camera, stream]) =>
      Array.from({ length: stream.frames }, (_, seq) => ({ lineId: 'line-d', cameraId: camera, seq, fabricCode: FABRIC, image: shifted.get(camera)?.[seq % normals.length] ?? Buffer.alloc(0) })),
    );
    await publishTestFrames({ client: kafka.client, store: s3.store, bucket: frameBucket, topic: frameTopic }, frames);

    const monitor = await startDriftMonitor(
      DriftConfig.parse({
        kafka: { brokers: kafka.infra.kafkaBrokers },
        drift: { id: 'test', groupId: kafka.group('drift'), verdictTopic, driftTopic, fromBeginning: true },
        window: { inputFrames: 4, everyFrames: 4, scoreFrames: 16, minScoreFrames: 16 },
        ops: { port: 0 },
      }),
      logger,
    );
    const worker = spawnNodeProcess({
      entry: 'services/inference-worker/dist/main.js',
      infra: kafka.infra,
      settings: {
        WORKER_ID: 'drift-test-worker',
        LOOMWATCH_MODEL: MODEL,
        LOOMWATCH_WORKER__GROUP_ID: kafka.group('worker'),
        LOOMWATCH_WORKER__INPUT_TOPIC: frameTopic,
        LOOMWATCH_WORKER__VERDICT_TOPIC: verdictTopic,
        LOOMWATCH_WORKER__DEAD_LETTER_TOPIC: deadLetterTopic,
        LOOMWATCH_WORKER__ALLOWED_BUCKETS: frameBucket,
        LOOMWATCH_WORKER__OUTPUT_BUCKET: outputBucket,
        LOOMWATCH_INFERENCE__INTRA_OP_NUM_THREADS: 2,
        LOOMWATCH_OPS__PORT: 0,
        LOOMWATCH_LOG__LEVEL: 'warn',
      },
    });
    let metrics: string;
    const expectedEvents = Object.values(streams).reduce((sum, stream) => sum + stream.frames / 4, 0);
    let events: DriftEvent[];
    try {
      events = (await kafka.readCommitted(driftTopic, expectedEvents, 240_000)).map((message) => decodeMessage(DriftEvent, message.value));
      metrics = await (await fetch(`http://127.0.0.1:${monitor.opsPort}/metrics`)).text();
    } finally {
      await stopProcess(worker);
      await monitor.stop();
    }

    expect(events).toHaveLength(expectedEvents);
    const of = (camera: string): DriftEvent[] => events.filter((event) => event.cameraId === camera);
    const tripped = (camera: string): DriftCheck[][] => of(camera).map((event) => event.tripped);
    for (const event of events) {
      expect(event.reference).toEqual({ model: 'patchcore-aitex', version: '1.1.0', split: 'aitex-split-v1', scope: 'fabric' });
      expect(event.fabricCode).toBe(FABRIC);
      expect(event.status).toBe(event.tripped.length > 0 ? 'drifting' : 'ok');
    }

    // Held-out normal frames: never drifting, and the score-based checks did judge the last window.
    expect(of('normal').map((event) => event.status)).toEqual(['ok', 'ok', 'ok', 'ok']);
    expect(of('normal')[3]?.measures.map((measure) => measure.check)).toEqual(['input-psi', 'input-ks', 'input-contrast', 'defect-rate']);

    expect(tripped('brightness')).toEqual([['input-psi', 'input-ks']]);
    expect(tripped('contrast')[0]).toEqual(expect.arrayContaining(['input-psi', 'input-contrast']));
    expect(tripped('blur')[0]).toContain('input-psi');
    expect(tripped('dark')).toEqual([['input-psi', 'input-ks', 'input-contrast']]);
    // The unseen weave has the normal frames' pixels: only what the model makes of it shows.
    expect(tripped('unseen')).toEqual([[], [], [], ['defect-rate']]);

    expect(metrics).toMatch(/loomwatch_drift_drifting\{[^}]*camera="dark"[^}]*\} 1/);
    expect(metrics).toMatch(/loomwatch_drift_drifting\{[^}]*camera="normal"[^}]*\} 0/);

    // An independent client reads the same events read_committed, each valid against the published schema.
    const validate = schemaValidator('drift.v1.json');
    const payloads = readCommittedWithKcat(kafka.infra, driftTopic).map((record) => JSON.parse(record.payload) as unknown);
    expect(payloads).toHaveLength(expectedEvents);
    for (const payload of payloads) expect(validate(payload), JSON.stringify(validate.errors)).toBe(true);
  });
});
