/**
 * The demo (until the pipeline lands): creates the topics and bucket, puts an AITEX frame into
 * S3, publishes its reference to frames.v1, consumes it back and prints what happened.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { z } from 'zod';
import { KafkaConfig, S3Config, STANDARD_ENV_ALIASES, loadConfig, redactSecrets } from '@loomwatch/config';
import { FrameEvent, TOPICS, decodeMessage } from '@loomwatch/contracts';
import { createKafka, ensureTopics, headersToStrings } from '@loomwatch/kafka';
import { S3BlobStore } from '@loomwatch/storage';
import { FramePublisher } from './frame-publisher.js';

const DemoConfig = z.object({
  kafka: KafkaConfig.prefault({}),
  s3: S3Config.prefault({}),
  bucket: z.string().default('loomwatch-frames'),
  aitexDir: z.string().default(resolve(import.meta.dirname, '../../../../shared/datasets/aitex')),
});

async function main(): Promise<void> {
  const config = loadConfig(DemoConfig, {
    envAliases: { ...STANDARD_ENV_ALIASES, AITEX_DIR: 'aitexDir' },
    overrides: process.argv.slice(2).filter((arg) => arg.includes('=')),
  });
  console.log('config', JSON.stringify(redactSecrets(config)));
  const kafka = createKafka(config.kafka);
  const store = new S3BlobStore(config.s3);

  await ensureTopics(kafka, [
    { topic: TOPICS.frames, numPartitions: 4 },
    { topic: TOPICS.verdicts, numPartitions: 4 },
    { topic: TOPICS.deadLetters, numPartitions: 1 },
    { topic: TOPICS.alerts, numPartitions: 1 },
  ]);
  await store.ensureBucket(config.bucket);
  console.log(`topics ready: ${Object.values(TOPICS).join(', ')}; bucket ready: ${config.bucket}`);

  const path = join(config.aitexDir, 'defect/0001_002_00.png');
  const image = readFileSync(path);
  const { width = 0, height = 0 } = await sharp(image).metadata();

  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const seq = Date.now();
  const publisher = new FramePublisher({ store, producer, bucket: config.bucket, source: '/loomwatch/demo' });
  const event = await publisher.publish({
    lineId: 'line-1',
    cameraId: 'cam-1',
    seq,
    capturedAt: new Date(),
    image,
    width,
    height,
    encoding: 'png',
    product: { fabricCode: '00' },
  });
  await producer.disconnect();
  console.log(`published frame ${event.frameId}: s3://${event.image.bucket}/${event.image.key} (${event.image.bytes} bytes, ${width}×${height})`);

  const consumer = kafka.consumer({ groupId: `demo-${seq}` });
  await consumer.connect();
  await consumer.subscribe({ topic: TOPICS.frames, fromBeginning: true });
  const received = await new Promise<{ event: FrameEvent; headers: Record<string, string>; key: string }>((done) => {
    void consumer.run({
      eachMessage: ({ message }) => {
        const decoded = decodeMessage(FrameEvent, message.value);
        if (decoded.frameId === event.frameId) {
          done({ event: decoded, headers: headersToStrings(message.headers), key: message.key?.toString() ?? '' });
        }
        return Promise.resolve();
      },
    });
  });
  await consumer.disconnect();
  const object = await store.get({ bucket: received.event.image.bucket, key: received.event.image.key });
  store.close();

  console.log(`consumed back, key ${received.key}, ce_type ${received.headers['ce_type']}:`);
  console.log(JSON.stringify(received.event, null, 2));
  const intact = object.equals(image);
  console.log(`object read back from S3: ${object.length} bytes, ${intact ? 'byte-exact' : 'DIFFERENT'}`);
  if (!intact) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
