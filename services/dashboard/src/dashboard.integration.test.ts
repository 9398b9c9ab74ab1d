/**
 * The dashboard against the real broker, S3, the local OpenID provider (deploy/local/infra.sh) and
 * Chromium: the browser is sent to the provider's sign-in page and signs in as a demo user; messages
 * published through the Kafka ports show on the page (a verdict within seconds of its commit, an
 * alert opening then resolving, a drift judgement), the frame view loads its images through the
 * object proxy, and the API refuses what it must with problem+json — without a session 401, in a
 * role too low 403, without the CSRF token 403. Screenshots go to services/dashboard/test-results/.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { connect, createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import sharp from 'sharp';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Alert, DeadLetter, Deployment, DriftEvent, Feedback, FrameEvent, RetrainRequest, Verdict, decodeMessage, encodeMessage, messageKey, type ObjectRef } from '@loomwatch/contracts';
import { EngineDecider } from '@loomwatch/inference';
import { overlayRecipe, withOverlayRecipe } from '@loomwatch/overlay';
import { useTestKafka } from '@loomwatch/kafka/testing';
import { createLogger } from '@loomwatch/observability';
import { aitexFrames, testInfra } from '@loomwatch/testkit';
import { useTestS3 } from '@loomwatch/storage/testing';
import { DashboardConfig } from './config.js';
import { objectPath } from './object-path.js';
import type { Problem } from './problem.js';
import { startDashboardService, type DashboardService } from './service.js';
import { DEFECT_REGION, alertFixture, deadLetterFixture, deploymentFixture, driftFixture, frameFixture, replayCheckFixture, retrainFixture, retrainStatusFixture, verdictFixture } from './testing.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));
const PUBLIC_DIR = `${PACKAGE_DIR}dist/public`;
const ARTEFACTS = `${PACKAGE_DIR}test-results`;
/** How long the page may take to show what was committed. */
const SHOWN_WITHIN_MS = 5_000;
/** The local development provider of the run's infra (deploy/local/README.md) and its dashboard client. */
const ISSUER = process.env.LOOMWATCH_OIDC_ISSUER ?? testInfra().oidc?.issuer ?? 'http://127.0.0.1:19080';
const CLIENT = { clientId: 'loomwatch-dashboard', clientSecret: 'loomwatch-dashboard-dev-secret' };
const PASSWORDS = { viola: 'viola-demo', otto: 'otto-demo', erin: 'erin-demo' } as const;
type DemoUser = keyof typeof PASSWORDS;

const kafka = useTestKafka();
const s3 = useTestS3();

let topics: { verdicts: string; alerts: string; deadLetters: string; control: string; drift: string; frames: string; feedback: string };
let resultsBucket: string;
let framesBucket: string;
/** Where the retrainer uploads replay reports (`objects.retrainReports`). */
let datasetsBucket: string;
let groupId: string;
let service: DashboardService;
let browser: Browser;
let page: Page;
/** The session cookie (`lw_session=…`) of viola, a viewer: what the API tests send. */
let viewerCookie: string;
/** Records on the workers' topic, one of them committed by their group. */
let framesPublished = 0;

async function publish(topic: string, key: string, value: Buffer): Promise<void> {
  await kafka.publish(topic, [{ key, value }]);
}

/** Verdicts go out as the workers send them: in a transaction, seen by read_committed readers at its commit. */
async function publishVerdicts(verdicts: readonly Verdict[]): Promise<void> {
  const publisher = kafka.client.transactionalPublisher(`dashboard-test-${Date.now()}`);
  await publisher.connect();
  try {
    const transaction = await publisher.transaction();
    await transaction.send(verdicts.map((v) => ({ topic: topics.verdicts, key: messageKey(v.lineId, v.cameraId), value: encodeMessage(Verdict, v), headers: {} })));
    await transaction.commit();
  } finally {
    await publisher.close();
  }
}

/** A real AITEX frame of each kind, with an anomaly map and an overlay drawn from the defect fixture's region. */
const images = new Map<boolean, Promise<{ frame: Buffer; map: Buffer; overlay: Buffer }>>();
function imagesOf(defect: boolean): Promise<{ frame: Buffer; map: Buffer; overlay: Buffer }> {
  const made =
    images.get(defect) ??
    (async () => {
      const frames = aitexFrames();
      const source = defect ? frames.find((f) => f.defectCode !== '000') : frames.find((f) => f.defectCode === '000');
      if (source === undefined) throw new Error('no AITEX frames: set AITEX_DIR');
      const frame = await sharp(readFileSync(source.path)).resize(4096, 256, { fit: 'fill' }).png().toBuffer();
      const { x, y, width, height } = DEFECT_REGION;
      const blob = (fill: string) =>
        Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="4096" height="256">${defect ? `<ellipse cx="${x + width / 2}" cy="${y + height / 2}" rx="${width / 2}" ry="${height / 2}" fill="${fill}"/>` : ''}</svg>`);
      const map = await sharp({ create: { width: 4096, height: 256, channels: 3, background: { r: 12, g: 12, b: 12 } } })
        .composite([{ input: blob('#f0f0f0') }])
        .blur(6)
        .png()
        .toBuffer();
      const overlay = await sharp(frame)
        .composite([{ input: blob('rgba(255,60,40,0.55)') }])
        .jpeg({ quality: 80 })
        .toBuffer();
      return { frame, map, overlay };
    })();
  images.set(defect, made);
  return made;
}

/** Stores the frame, anomaly map and overlay of a verdict as the gateway and the worker would. */
async function storeImages(verdict: Verdict, defect: boolean): Promise<FrameEvent> {
  const { frame, map, overlay } = await imagesOf(defect);
  const event = frameFixture(verdict, framesBucket, frame.length);
  await Promise.all([
    s3.store.put({ bucket: framesBucket, key: event.image.key }, frame, 'image/png'),
    s3.store.put(verdict.anomalyMap, map, 'image/png'),
    s3.store.put(verdict.overlay, overlay, 'image/jpeg'),
  ]);
  return event;
}

/** An image's natural width once it has loaded (0 before, or when it failed). */
function naturalWidth(image: Locator): Promise<number> {
  return image.evaluate((element) => {
    const img = element as unknown as { complete: boolean; naturalWidth: number };
    return img.complete ? img.naturalWidth : 0;
  });
}

async function problemOf(res: Response): Promise<Problem> {
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json(;|$)/);
  const problem = (await res.json()) as Problem;
  expect(problem.status).toBe(res.status);
  expect(problem.detail.length).toBeGreaterThan(0);
  return problem;
}

async function screenshot(name: string): Promise<void> {
  await page.screenshot({ path: `${ARTEFACTS}/${name}.png`, fullPage: true });
}

/** A port free now, so the redirect URL registered with the provider can name it before the dashboard listens. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Fills the provider's sign-in form on `on` (which must be showing it). */
async function signInOnProvider(on: Page, user: DemoUser): Promise<void> {
  await on.getByRole('heading', { name: 'Sign in to Loomwatch' }).waitFor({ timeout: 10_000 });
  expect(on.url().startsWith(ISSUER)).toBe(true);
  await on.locator('#username').fill(user);
  await on.locator('#password').fill(PASSWORDS[user]);
  await on.getByRole('button', { name: 'Sign in' }).click();
}

/** Signs `user` in through the provider in a browser of its own; the session cookie and CSRF token it got. */
async function sessionOf(user: DemoUser): Promise<{ cookie: string; csrfToken: string; context: BrowserContext }> {
  const context = await browser.newContext();
  const tab = await context.newPage();
  await tab.goto(service.url);
  await signInOnProvider(tab, user);
  await tab.getByTestId('signed-in').waitFor({ timeout: 10_000 });
  const session = (await context.cookies(service.url)).find((c) => c.name === 'lw_session');
  if (session === undefined) throw new Error(`${user} signed in, but the browser holds no lw_session cookie`);
  const cookie = `lw_session=${session.value}`;
  const me = (await (await fetch(`${service.url}api/me`, { headers: { cookie } })).json()) as { csrfToken: string };
  return { cookie, csrfToken: me.csrfToken, context };
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM}: run \`make install-browser\` (Debian's chromium), or set CHROMIUM_PATH`);
  const discovery = await fetch(`${ISSUER}/.well-known/openid-configuration`).catch(() => undefined);
  if (discovery?.ok !== true) throw new Error(`no OpenID provider at ${ISSUER}: run \`bash deploy/local/infra.sh start\` (it starts the development provider), or set LOOMWATCH_OIDC_ISSUER`);
  // What the server serves: the page as `pnpm build` bundles it.
  await build({ configFile: `${PACKAGE_DIR}vite.config.ts`, logLevel: 'error' });
  mkdirSync(ARTEFACTS, { recursive: true });
  const [verdicts, alerts, deadLetters, control, drift, frames, feedback] = await Promise.all([
    kafka.topic({ prefix: 'verdicts', partitions: 2 }),
    kafka.topic({ prefix: 'alerts' }),
    kafka.topic({ prefix: 'dlq' }),
    kafka.topic({ prefix: 'control' }),
    kafka.topic({ prefix: 'drift' }),
    kafka.topic({ prefix: 'frames', partitions: 2 }),
    kafka.topic({ prefix: 'feedback', partitions: 2 }),
  ]);
  topics = { verdicts, alerts, deadLetters, control, drift, frames, feedback };
  [resultsBucket, framesBucket, datasetsBucket] = await Promise.all([s3.bucket('results'), s3.bucket('frames'), s3.bucket('datasets')]);
  groupId = kafka.group('workers');

  // Already on the topics when the dashboard starts: it reads them from their beginning.
  await publish(control, 'deployment:draem-aitex', encodeMessage(Deployment, deploymentFixture(1)));
  await publish(
    control,
    'deployment:draem-aitex',
    encodeMessage(
      Deployment,
      deploymentFixture(2, {
        canary: { version: '1.1.0', lines: [], cameras: ['line-2:cam-1'] },
        shadow: { version: '1.2.0-rc1', sample: 0.1 },
        fabrics: { '07': '1.0.1' },
        operatingPoint: { lines: { 'line-2': 0.02 } },
      }),
    ),
  );
  await publish(deadLetters, 'line-1:cam-2', encodeMessage(DeadLetter, deadLetterFixture('IMAGE_CORRUPT', 17)));
  await publish(deadLetters, 'line-1:cam-2', encodeMessage(DeadLetter, deadLetterFixture('IMAGE_CORRUPT', 18)));
  await publish(deadLetters, 'line-2:cam-1', encodeMessage(DeadLetter, deadLetterFixture('IMAGE_NOT_FOUND', 4)));
  // Two frames on the workers' topic, one committed by their group: a lag of one.
  await publish(frames, 'line-1:cam-1', Buffer.from('{}'));
  await publish(frames, 'line-1:cam-1', Buffer.from('{}'));
  framesPublished = 2;
  const offsets = kafka.client.offsets();
  const framesPartitions = await offsets.watermarks(frames);
  await offsets.setCommitted(groupId, frames, new Map(framesPartitions.map((w) => [w.partition, Math.max(0, w.high - 1)])));
  await offsets.close();

  const port = await freePort();
  const config = DashboardConfig.parse({
    kafka: { brokers: kafka.infra.kafkaBrokers, clientId: 'dashboard-test' },
    s3: kafka.infra.s3,
    dashboard: { port, publicDir: PUBLIC_DIR, heartbeatSeconds: 5 },
    auth: { oidc: { issuer: ISSUER, ...CLIENT, redirectUrl: `http://127.0.0.1:${port}/auth/callback` }, sessionSecret: randomBytes(32).toString('base64') },
    topics,
    lag: { groupId, intervalSeconds: 1 },
    objects: {
      allow: [
        { bucket: framesBucket, prefixes: ['frames/'] },
        { bucket: resultsBucket, prefixes: ['maps/', 'overlays/'] },
      ],
      retrainReports: { bucket: datasetsBucket, prefix: 'retrain/' },
    },
    ops: { port: 0 },
  });
  service = await startDashboardService(config, createLogger({ service: 'dashboard-test', level: 'warn' }));
  // Ready once every topic is followed (from its beginning, the verdicts from their last records).
  const deadline = Date.now() + 60_000;
  while ((await fetch(`http://127.0.0.1:${service.opsPort}/readyz`)).status !== 200) {
    if (Date.now() > deadline) throw new Error('the dashboard did not become ready in 60 s');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
});

afterAll(async () => {
  await browser?.close();
  await service?.stop();
});

describe('the dashboard in a browser', () => {
  const started = Date.now();
  const verdicts: Verdict[] = [];
  const frames: FrameEvent[] = [];

  it('sends a browser without a session to the provider\'s sign-in page, and shows the dashboard once signed in', async () => {
    await page.goto(service.url);
    await page.getByRole('heading', { name: 'Sign in to Loomwatch' }).waitFor({ timeout: 10_000 });
    await screenshot('sign-in');
    await signInOnProvider(page, 'viola');
    await page.getByTestId('connection').getByText('live').waitFor({ timeout: 10_000 });
    expect(page.url()).toBe(service.url);
    expect(await page.getByTestId('signed-in').textContent()).toMatch(/Viola Viewer\s+viewer/);
    // A viewer is not offered the engineers' form.
    expect(await page.getByTestId('operating-point-form').count()).toBe(0);
    const session = (await page.context().cookies(service.url)).find((c) => c.name === 'lw_session');
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/' });
    viewerCookie = `lw_session=${session?.value ?? ''}`;
  });

  it('shows a verdict within seconds of its commit, with the deployments, dead letters and lag already on the topics', async () => {
    await page.goto(service.url);
    await page.getByTestId('connection').getByText('live').waitFor({ timeout: 10_000 });
    // Every control has its label.
    for (const name of ['line', 'camera', 'latest verdict']) expect(await page.getByRole('combobox', { name }).count()).toBe(1);
    // Read from the beginning at start: deployments (the latest revision), dead letters per reason; and the lag.
    await page.getByTestId('serving').getByText('1.1.0 on line-2:cam-1').waitFor({ timeout: SHOWN_WITHIN_MS });
    expect(await page.getByTestId('serving').textContent()).toContain('1.2.0-rc1 (10 %)');
    const deadLetters = page.getByTestId('dead-letters');
    await deadLetters.waitFor({ timeout: SHOWN_WITHIN_MS });
    expect(await deadLetters.locator('tr', { hasText: 'IMAGE_CORRUPT' }).locator('td.num').textContent()).toBe('2');
    expect(await deadLetters.locator('tr', { hasText: 'IMAGE_NOT_FOUND' }).locator('td.num').textContent()).toBe('1');
    await page.getByTestId('lag-total').locator('strong').getByText('1', { exact: true }).waitFor({ timeout: SHOWN_WITHIN_MS });

    // 2 lines × 2 cameras, 8 frames each, a defect now and then; line-1/cam-1's last one a defect.
    // Line 1 is judged at the card's 5 % false alarms by fabric 05's threshold; line 2 at the 2 % its
    // deployment asks for, camera 1 by fabric 07's threshold, camera 2's fabric 09 by the pooled one.
    const calibrations = {
      'line-2:cam-1': { fabric: '07', threshold: 0.61, falseAlarmRate: 0.02 },
      'line-2:cam-2': { fabric: null, frameFabric: '09', threshold: 0.7, falseAlarmRate: 0.02 },
    } as const;
    for (let seq = 1; seq <= 8; seq++) {
      for (const [line, camera] of [['line-1', 'cam-1'], ['line-1', 'cam-2'], ['line-2', 'cam-1'], ['line-2', 'cam-2']] as const) {
        const defect = (line === 'line-1' && camera === 'cam-1' && seq === 8) || (seq * 7 + line.length + camera.length) % 9 === 0;
        const calibration = line === 'line-2' ? calibrations[`${line}:${camera}`] : undefined;
        verdicts.push(
          verdictFixture(seq, {
            line,
            camera,
            defect,
            bucket: resultsBucket,
            at: new Date(started - (8 - seq) * 2000),
            modelVersion: line === 'line-2' && camera === 'cam-1' ? '1.1.0' : '1.0.0',
            ...(calibration === undefined ? {} : { calibration }),
          }),
        );
      }
    }
    for (const verdict of verdicts) frames.push(await storeImages(verdict, verdict.verdict === 'defect'));
    await kafka.publish(topics.frames, frames.map((f) => ({ key: messageKey(f.lineId, f.cameraId), value: encodeMessage(FrameEvent, f) })));
    framesPublished += frames.length;

    await publishVerdicts(verdicts);
    const last = verdicts.find((v) => v.lineId === 'line-1' && v.cameraId === 'cam-1' && v.seq === 8);
    const tile = page.locator('[data-camera="line-1:cam-1"]');
    await tile.getByTestId('frame-id').getByText(last?.frameId ?? '', { exact: true }).waitFor({ timeout: SHOWN_WITHIN_MS });
    expect(await tile.getByTestId('verdict').textContent()).toBe('DEFECT');
    // Each line names the versions deciding its frames: line-2's camera 1 is on the canary.
    expect(await page.locator('[data-line="line-2"]').getByTestId('line-serving').textContent()).toContain('canary 1.1.0');
    expect(await page.locator('[data-line="line-1"]').getByTestId('line-serving').textContent()).not.toContain('canary');
    // Every camera's tile, each with its last frame.
    for (const v of verdicts.filter((x) => x.seq === 8)) {
      await page.locator(`[data-camera="${v.lineId}:${v.cameraId}"]`).getByTestId('frame-id').getByText(v.frameId, { exact: true }).waitFor({ timeout: SHOWN_WITHIN_MS });
    }
    // The thumbnail comes through the proxy.
    await expect.poll(() => naturalWidth(tile.locator('img')), { timeout: SHOWN_WITHIN_MS }).toBe(4096);
    // Each tile says whose threshold judged its latest frame, the threshold and the false-alarm rate in force.
    const calibrationOn = (camera: string) => page.locator(`[data-camera="${camera}"]`).getByTestId('calibration').textContent();
    expect(await calibrationOn('line-1:cam-1')).toMatch(/^0\.500\s+fabric 05 · 5 % false alarms$/);
    expect(await calibrationOn('line-2:cam-1')).toMatch(/^0\.610\s+fabric 07 · 2 % false alarms$/);
    expect(await calibrationOn('line-2:cam-2')).toMatch(/^0\.700\s+pooled \(fabric 09 not calibrated\) · 2 % false alarms$/);
    // …and each line the rate its deployment asks for: line 2's own; line 1 none (the card's default).
    expect(await page.locator('[data-line="line-2"]').getByTestId('line-serving').textContent()).toContain('· 2 % false alarms');
    expect(await page.locator('[data-line="line-1"]').getByTestId('line-serving').textContent()).not.toContain('false alarms');
    expect(await page.getByTestId('operating-point').textContent()).toBe('false alarms card default · line-2 2 %');

    await screenshot('dashboard-1920');
  });

  it('shows an alert when it opens and moves it to resolved when its next revision resolves it, leaving another open', async () => {
    const alertId = `burst-${Date.now()}`;
    const other = `rate-${Date.now()}`;
    await publish(topics.alerts, 'line-2:cam-2', encodeMessage(Alert, { ...alertFixture(other, { line: 'line-2', camera: 'cam-2', severity: 'warning' }), rule: 'defect-rate', kind: 'defect-rate', message: 'defect rate 25 % over the last 8 frames of line-2/cam-2 (limit 20 %)' }));
    await publish(topics.alerts, 'line-1:cam-1', encodeMessage(Alert, alertFixture(alertId, { camera: 'cam-1', stopLine: true })));
    const open = page.getByTestId('open-alerts').locator(`[data-alert-id="${alertId}"]`);
    await open.waitFor({ timeout: SHOWN_WITHIN_MS });
    expect(await open.textContent()).toContain('STOP LINE');
    expect(await open.textContent()).toContain('critical');
    // …and on its camera's tile.
    await page.locator('[data-camera="line-1:cam-1"]').getByTestId('tile-alerts').getByText('STOP LINE').waitFor({ timeout: SHOWN_WITHIN_MS });
    await screenshot('alert-open');

    await publish(topics.alerts, 'line-1:cam-1', encodeMessage(Alert, alertFixture(alertId, { camera: 'cam-1', revision: 1, resolved: true })));
    await page.getByTestId('resolved-alerts').locator(`[data-alert-id="${alertId}"]`).waitFor({ timeout: SHOWN_WITHIN_MS });
    expect(await page.getByTestId('open-alerts').locator(`[data-alert-id="${alertId}"]`).count()).toBe(0);
    expect(await page.getByTestId('open-alerts').locator(`[data-alert-id="${other}"]`).count()).toBe(1);
    expect(await page.locator('[data-camera="line-1:cam-1"]').getByTestId('tile-alerts').count()).toBe(0);
    // An older revision arriving late does not reopen it: once an alert published after it (same key,
    // same partition) is in the view, the late one has been applied too.
    await publish(topics.alerts, 'line-1:cam-1', encodeMessage(Alert, alertFixture(alertId, { camera: 'cam-1', revision: 0 })));
    const marker = `after-${Date.now()}`;
    await publish(topics.alerts, 'line-1:cam-1', encodeMessage(Alert, alertFixture(marker, { camera: 'cam-1', severity: 'info' })));
    const alerts = async () => ((await (await fetch(`${service.url}api/snapshot`, { headers: { cookie: viewerCookie } })).json()) as { state: { alerts: Record<string, Alert> } }).state.alerts;
    await expect.poll(async () => (await alerts())[marker]?.status, { timeout: SHOWN_WITHIN_MS }).toBe('open');
    expect((await alerts())[alertId]?.status).toBe('resolved');
  });

  it('shows a drift judgement: its status, the tripped checks and every measure', async () => {
    await publish(topics.drift, 'line-2:cam-2', encodeMessage(DriftEvent, driftFixture(['input-psi', 'score-psi'], { line: 'line-2', camera: 'cam-2', fabric: '05' })));
    const entry = page.getByTestId('drift').locator('[data-drift="line-2:cam-2:05"]');
    await entry.waitFor({ timeout: SHOWN_WITHIN_MS });
    expect(await entry.getAttribute('data-status')).toBe('drifting');
    expect(await entry.textContent()).toContain('input-psi, score-psi');
    expect(await entry.locator('tbody tr').count()).toBe(4);
    expect(await page.locator('[data-camera="line-2:cam-2"]').getByTestId('drift').textContent()).toContain('drifting');
    // The overview with everything on it: the README's screenshot (docs/images/dashboard.png) is this one.
    await page.screenshot({ path: `${ARTEFACTS}/dashboard-overview.png` });
  });

  it('opens a frame from the keyboard and loads the frame, its anomaly map and its overlay through the proxy', async () => {
    const last = verdicts.find((v) => v.lineId === 'line-1' && v.cameraId === 'cam-1' && v.seq === 8);
    // From the keyboard: Tab moves from the filters to the first camera's link, Enter opens it.
    await page.getByRole('combobox', { name: 'latest verdict' }).focus();
    await page.keyboard.press('Tab');
    const link = page.locator('[data-camera="line-1:cam-1"] a.frame');
    expect(await link.evaluate((element) => (element as unknown as { matches(selector: string): boolean }).matches(':focus'))).toBe(true);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: `Frame ${last?.frameId ?? ''}` }).waitFor({ timeout: SHOWN_WITHIN_MS });
    for (const testId of ['overlay', 'anomaly-map', 'frame-image']) {
      const image = page.getByTestId(testId);
      await image.waitFor({ timeout: SHOWN_WITHIN_MS });
      await expect.poll(() => naturalWidth(image), { timeout: SHOWN_WITHIN_MS }).toBeGreaterThan(0);
      expect(await image.getAttribute('src')).toMatch(/^\/api\/objects\//);
    }
    expect(await page.getByTestId('regions').locator('tbody tr').count()).toBe(1);
    expect(await page.getByTestId('model').textContent()).toBe('draem-aitex@1.0.0');
    expect(await page.getByTestId('score').textContent()).toContain('0.5000');
    expect(await page.getByTestId('calibration').textContent()).toBe('threshold: fabric 05 · 5 % false alarms');
    await screenshot('frame-view');

    // An older frame (a bar of the sparkline links to it) opens after a reload too: its verdict is found on the topic.
    const older = verdicts.find((v) => v.lineId === 'line-1' && v.cameraId === 'cam-1' && v.seq === 3);
    if (older === undefined) throw new Error('no verdict 3');
    const bar = page.locator('[data-camera="line-1:cam-1"]').locator(`a[data-frame="${older.frameId}"]`);
    await page.goto(service.url);
    expect(await bar.getAttribute('href')).toBe(`#/frame/line-1/cam-1/${older.frameId}/${Date.parse(older.decidedAt)}`);
    await page.goto(`${service.url}#/frame/line-1/cam-1/${older.frameId}/${Date.parse(older.decidedAt)}`);
    await page.reload();
    await page.getByRole('heading', { name: `Frame ${older.frameId}` }).waitFor({ timeout: SHOWN_WITHIN_MS });
    await expect.poll(() => naturalWidth(page.getByTestId('overlay')), { timeout: SHOWN_WITHIN_MS }).toBeGreaterThan(0);
  });

  it('pages back through past verdicts of a time range without repeating or skipping one', async () => {
    await page.goto(`${service.url}#/history`);
    await page.getByRole('button', { name: 'Search' }).click();
    const rows = page.getByTestId('history').locator('tbody tr');
    await rows.first().waitFor({ timeout: SHOWN_WITHIN_MS });
    expect(await rows.count()).toBe(verdicts.length);
    await screenshot('history');

    // The API a page at a time, for one camera: 8 verdicts in pages of 3.
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let pages = 0; pages < 5; pages++) {
      const params = new URLSearchParams({ line: 'line-2', camera: 'cam-1', limit: '3', from: new Date(started - 60_000).toISOString() });
      if (cursor !== undefined) params.set('cursor', cursor);
      const res = await fetch(`${service.url}api/verdicts?${params.toString()}`, { headers: { cookie: viewerCookie } });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { items: Verdict[]; cursor?: string };
      seen.push(...body.items.map((v) => v.frameId));
      cursor = body.cursor;
      if (cursor === undefined) break;
    }
    const expected = verdicts.filter((v) => v.lineId === 'line-2' && v.cameraId === 'cam-1').map((v) => v.frameId).reverse();
    expect(seen).toEqual(expected);
  });

  it('fits a tablet: nothing wider than the screen', async () => {
    await page.setViewportSize({ width: 820, height: 1180 });
    await page.goto(service.url);
    await page.locator('[data-camera="line-1:cam-1"]').waitFor({ timeout: SHOWN_WITHIN_MS });
    expect(await page.evaluate(() => (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document.documentElement.scrollWidth)).toBeLessThanOrEqual(820);
    await screenshot('dashboard-tablet');
  });
});

describe('the dashboard API', () => {
  const get = (path: string, init?: RequestInit) => fetch(`${service.url}${path.replace(/^\//, '')}`, { ...init, headers: { cookie: viewerCookie } });
  const proxied = (ref: ObjectRef) => get(objectPath(ref));

  it('serves an allowed object and refuses other buckets, other prefixes and escapes with a 403 and its code', async () => {
    const verdict = verdictFixture(99, { bucket: resultsBucket });
    await storeImages(verdict, false);
    const ok = await proxied(verdict.overlay);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toBe('image/jpeg');
    expect((await ok.arrayBuffer()).byteLength).toBeGreaterThan(0);

    expect((await problemOf(await proxied({ bucket: 'some-other-bucket', key: 'overlays/a.jpg' }))).code).toBe('BUCKET_NOT_ALLOWED');
    expect((await problemOf(await proxied({ bucket: resultsBucket, key: 'secrets/a.jpg' }))).code).toBe('OBJECT_NOT_ALLOWED');
    expect((await problemOf(await get(`/api/objects/${resultsBucket}/overlays/..%2F..%2Fsecrets/a.jpg`))).code).toBe('OBJECT_NOT_ALLOWED');
    // A path that is not valid percent-encoding does not reach a route: the HTTP layer refuses it.
    const malformed = await get(`/api/objects/${resultsBucket}/overlays/%E0%A4%A`);
    expect(malformed.status).toBe(400);
    expect((await problemOf(malformed)).code).toBe('BAD_REQUEST');
    // An overlay key S3 does not have is rendered from its map, and there is none.
    const missing = await proxied({ bucket: resultsBucket, key: 'overlays/none/missing.jpg' });
    expect(missing.status).toBe(404);
    expect((await problemOf(missing)).code).toBe('OVERLAY_MAP_MISSING');
    const missingMap = await proxied({ bucket: resultsBucket, key: 'maps/none/missing.png' });
    expect(missingMap.status).toBe(404);
    expect((await problemOf(missingMap)).code).toBe('OBJECT_NOT_FOUND');
  });

  it('renders an overlay left for on request from its stored map and frame, stores it, and serves the per-frame image', async () => {
    const verdict = verdictFixture(96, { bucket: resultsBucket });
    // An 8-bit grey frame, as cameras send them.
    const frame = await sharp((await imagesOf(true)).frame).toColourspace('b-w').png().toBuffer();
    const event = frameFixture(verdict, framesBucket, frame.length);
    const frameRef = { bucket: framesBucket, key: event.image.key };
    // The same frame decided by a per-frame decider: its overlay is what the proxy must serve.
    const decider = await EngineDecider.load({ model: 'draem-random@0.0.1', overlays: 'per-frame', intraOpNumThreads: 1 });
    const decision = await decider.decide(frame).finally(() => decider.close());
    const recipe = overlayRecipe(decision.overlayStyle, { ...frameRef, sha256: createHash('sha256').update(frame).digest('hex') }, decision.regions);
    await s3.store.put(frameRef, frame, 'image/png');
    await s3.store.put(verdict.anomalyMap, withOverlayRecipe(decision.anomalyMapPng, recipe), 'image/png');
    await s3.store.delete(verdict.overlay);
    expect(await s3.store.head(verdict.overlay)).toBeUndefined();

    const first = await proxied(verdict.overlay);
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toBe('image/jpeg');
    const served = Buffer.from(await first.arrayBuffer());
    expect(served.equals(decision.overlay?.body ?? Buffer.alloc(0))).toBe(true);
    expect((await s3.store.get(verdict.overlay)).equals(served)).toBe(true);
    const again = await proxied(verdict.overlay);
    expect(Buffer.from(await again.arrayBuffer()).equals(served)).toBe(true);

    // A map written before on-request overlays (no recipe) cannot be rendered: 404 with its code, nothing stored.
    const old = verdictFixture(95, { bucket: resultsBucket });
    await s3.store.put(old.anomalyMap, decision.anomalyMapPng, 'image/png');
    const refused = await proxied(old.overlay);
    expect(refused.status).toBe(404);
    expect((await problemOf(refused)).code).toBe('OVERLAY_RECIPE_MISSING');
    expect(await s3.store.head(old.overlay)).toBeUndefined();
  });

  it('answers every bad request with problem+json and goes on serving', async () => {
    const cases: [string, RequestInit | undefined, number, string][] = [
      ['/api/verdicts?limit=0', undefined, 400, 'QUERY_INVALID'],
      ['/api/verdicts?from=yesterday', undefined, 400, 'QUERY_INVALID'],
      ['/api/verdicts?cursor=%00', undefined, 400, 'QUERY_INVALID'],
      ['/api/verdicts?line=a&line=b', undefined, 400, 'QUERY_INVALID'],
      ['/api/verdicts?bogus=1', undefined, 400, 'QUERY_INVALID'],
      ['/api/frames/line-1/cam-1/nope?capturedAt=2020-01-01T00:00:00Z', undefined, 404, 'FRAME_NOT_FOUND'],
      ['/api/frames/line-1/cam-1/x', undefined, 400, 'QUERY_INVALID'],
      ['/api/frames/line%3A1/cam-1/x?capturedAt=2020-01-01T00:00:00Z', undefined, 400, 'QUERY_INVALID'],
      ['/api/nothing', undefined, 404, 'NOT_FOUND'],
      ['/../../etc/passwd', undefined, 404, 'NOT_FOUND'],
      ['/api/snapshot', { method: 'POST', body: 'x' }, 405, 'METHOD_NOT_ALLOWED'],
    ];
    for (const [path, init, status, code] of cases) {
      const res = await get(path, init);
      expect(res.status, path).toBe(status);
      expect((await problemOf(res)).code, path).toBe(code);
    }
    // Not HTTP at all, and a request line past what node reads: the connection is refused, the server goes on.
    const { port } = new URL(service.url);
    for (const garbage of ['\u0000\u0001 GARBAGE\r\n\r\n', `GET /${'a'.repeat(100_000)} HTTP/1.1\r\nHost: x\r\n\r\n`]) {
      await new Promise<void>((resolve) => {
        const socket = connect(Number(port), '127.0.0.1', () => socket.end(garbage));
        socket.on('data', () => undefined);
        socket.on('close', () => resolve());
        socket.on('error', () => resolve());
      });
    }
    expect((await get('/api/snapshot')).status).toBe(200);
  });

  it('streams a snapshot first, then a delta for each change', async () => {
    const abort = new AbortController();
    const res = await get('/api/events', { signal: abort.signal });
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const reader = res.body?.getReader();
    if (reader === undefined) throw new Error('no body');
    const decoder = new TextDecoder();
    let text = '';
    /** Reads the stream until it holds `wanted`. */
    const until = async (wanted: string): Promise<void> => {
      while (!text.includes(wanted)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`the stream ended before ${wanted}`);
        text += decoder.decode(value as Uint8Array, { stream: true });
      }
    };
    await until('event: snapshot\ndata: ');
    await until('\n\n');
    const first = /event: (\w+)\ndata: (.*)\n\n/.exec(text);
    expect(first?.[1]).toBe('snapshot');
    const snapshot = JSON.parse(first?.[2] ?? '{}') as { state: { cameras: Record<string, unknown> } };
    expect(Object.keys(snapshot.state.cameras).sort()).toEqual(['line-1:cam-1', 'line-1:cam-2', 'line-2:cam-1', 'line-2:cam-2']);

    const alertId = `sse-${Date.now()}`;
    await publish(topics.alerts, 'line-1:*', encodeMessage(Alert, alertFixture(alertId, { severity: 'info' })));
    await until(alertId);
    const delta = text.split('\n\n').find((event) => event.includes(alertId)) ?? '';
    expect(delta.startsWith('event: delta\ndata: ')).toBe(true);
    expect(JSON.parse(delta.slice('event: delta\ndata: '.length))).toMatchObject({ type: 'alert', alert: { alertId, status: 'open' } });
    abort.abort();
  });

  it('counts what it read and answers health on its ops port', async () => {
    const ops = `http://127.0.0.1:${service.opsPort}`;
    expect((await fetch(`${ops}/healthz`)).status).toBe(200);
    const metrics = await (await fetch(`${ops}/metrics`)).text();
    const count = (topic: string) => Number(new RegExp(`loomwatch_dashboard_records_total\\{topic="${topic}"[^}]*\\} (\\d+)`).exec(metrics)?.[1] ?? 0);
    expect(count(topics.verdicts)).toBeGreaterThanOrEqual(32);
    expect(count(topics.deadLetters)).toBe(3);
    expect(metrics).toMatch(/loomwatch_dashboard_requests_total\{route="object",status="403"/);
  });

  it('never hands the S3 credentials to a browser', async () => {
    const bodies = await Promise.all(['/', '/api/snapshot', '/api/lag'].map(async (path) => (await get(path)).text()));
    for (const body of bodies) expect(body).not.toContain(s3.infra.s3.secretAccessKey);
  });

  it('measures the workers\' lag: the high watermark minus what their group committed', async () => {
    const res = await get('/api/lag');
    expect(res.status).toBe(200);
    const lag = (await res.json()) as { total: number; groupId: string };
    expect(lag.groupId).toBe(groupId);
    expect(lag.total).toBe(framesPublished - 1);
  });
});

describe('sign-in and roles', () => {
  const url = (path: string) => `${service.url}${path.replace(/^\//, '')}`;
  const setPoint = (body: unknown, headers: Record<string, string>) =>
    fetch(url('/api/rollouts/operating-point'), { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const origin = () => new URL(service.url).origin;

  it('answers every API, the event stream and the object proxy with 401 without a session, and sends the page to sign-in', async () => {
    const verdict = verdictFixture(98, { bucket: resultsBucket });
    await storeImages(verdict, false);
    for (const path of ['/api/snapshot', '/api/events', '/api/verdicts', '/api/lag', '/api/me', objectPath(verdict.overlay), '/api/frames/line-1/cam-1/x?capturedAt=2020-01-01T00:00:00Z']) {
      const res = await fetch(url(path));
      expect(res.status, path).toBe(401);
      expect((await problemOf(res)).code, path).toBe('UNAUTHORIZED');
    }
    // A forged or unsigned session cookie is no session.
    expect((await fetch(url('/api/snapshot'), { headers: { cookie: 'lw_session=forged.value' } })).status).toBe(401);
    expect((await fetch(url('/api/snapshot'), { headers: { cookie: `${viewerCookie.split('.')[0] ?? ''}` } })).status).toBe(401);
    const post = await setPoint({ falseAlarmRate: 0.02 }, {});
    expect(post.status).toBe(401);
    const page = await fetch(url('/'), { redirect: 'manual' });
    expect(page.status).toBe(302);
    expect(page.headers.get('location')).toBe('/auth/login?returnTo=%2F');
    const login = await fetch(url('/auth/login?returnTo=%2F'), { redirect: 'manual' });
    const toProvider = new URL(login.headers.get('location') ?? '');
    expect(`${toProvider.origin}`).toBe(new URL(ISSUER).origin);
    expect(Object.fromEntries(toProvider.searchParams)).toMatchObject({ client_id: CLIENT.clientId, response_type: 'code', code_challenge_method: 'S256', redirect_uri: url('/auth/callback') });
    for (const param of ['state', 'nonce', 'code_challenge']) expect(toProvider.searchParams.get(param)?.length ?? 0, param).toBeGreaterThanOrEqual(22);
    // A callback this browser did not start is refused.
    const stray = await fetch(url('/auth/callback?code=abc&state=xyz'));
    expect(stray.status).toBe(400);
    expect((await problemOf(stray)).code).toBe('LOGIN_EXPIRED');
  });

  it('lets an operator read but not change the operating point (403)', async () => {
    const otto = await sessionOf('otto');
    try {
      const me = (await (await fetch(url('/api/me'), { headers: { cookie: otto.cookie } })).json()) as { name: string; role: string; roles: string[] };
      expect(me).toMatchObject({ name: 'Otto Operator', role: 'operator', roles: ['viewer', 'operator'] });
      const res = await setPoint({ falseAlarmRate: 0.02 }, { cookie: otto.cookie, 'x-csrf-token': otto.csrfToken, origin: origin() });
      expect(res.status).toBe(403);
      const problem = await problemOf(res);
      expect(problem.code).toBe('FORBIDDEN');
      expect(problem.detail).toContain('loomwatch-engineers');
    } finally {
      await otto.context.close();
    }
  });

  it('lets an engineer change the operating point: the next deployment revision is on the control topic; without the CSRF token or from another origin 403', async () => {
    const erin = await sessionOf('erin');
    try {
      const before = (await (await fetch(url('/api/snapshot'), { headers: { cookie: erin.cookie } })).json()) as { state: { deployments: Record<string, Deployment> } };
      const current = before.state.deployments['draem-aitex'];
      if (current === undefined) throw new Error('no deployment in the view');
      // The page offers engineers the form.
      const tab = erin.context.pages()[0];
      await tab?.getByTestId('operating-point-form').waitFor({ timeout: SHOWN_WITHIN_MS });
      expect(await tab?.getByTestId('signed-in').textContent()).toMatch(/Erin Engineer\s+engineer/);

      const refusals = [
        { cookie: erin.cookie, origin: origin() },
        { cookie: erin.cookie, 'x-csrf-token': 'not-the-token', origin: origin() },
        { cookie: erin.cookie, 'x-csrf-token': erin.csrfToken, origin: 'http://evil.example' },
      ];
      for (const headers of refusals) {
        const res = await setPoint({ falseAlarmRate: 0.02, line: 'line-1' }, headers);
        expect(res.status).toBe(403);
        expect((await problemOf(res)).code).toBe('CSRF_REFUSED');
      }
      const bad = await setPoint({ falseAlarmRate: 0.9 }, { cookie: erin.cookie, 'x-csrf-token': erin.csrfToken, origin: origin() });
      expect(bad.status).toBe(400);
      expect((await problemOf(bad)).code).toBe('BODY_INVALID');

      const res = await setPoint({ falseAlarmRate: 0.02, line: 'line-1' }, { cookie: erin.cookie, 'x-csrf-token': erin.csrfToken, origin: origin() });
      expect(res.status).toBe(200);
      const published: Deployment[] = [];
      await kafka.client.reader.readToEnd([topics.control], (record) => {
        if (record.key === 'deployment:draem-aitex' && record.value !== null) published.push(decodeMessage(Deployment, record.value));
      });
      expect(published.at(-1)).toEqual({
        ...current,
        revision: current.revision + 1,
        operatingPoint: { lines: { 'line-1': 0.02, 'line-2': 0.02 } },
        updatedAt: expect.any(String) as unknown,
        reason: 'false-alarm rate of line-1 set to 0.02 by Erin Engineer on the dashboard',
      });
      // The page follows the control topic: the rate shows in the serving panel.
      await expect
        .poll(async () => ((await (await fetch(url('/api/snapshot'), { headers: { cookie: erin.cookie } })).json()) as { state: { deployments: Record<string, Deployment> } }).state.deployments['draem-aitex']?.revision, {
          timeout: SHOWN_WITHIN_MS,
        })
        .toBe(current.revision + 1);

      // Sign-out: CSRF-checked, ends the session, and hands the provider's end-session URL to the page.
      expect((await fetch(url('/auth/logout'), { method: 'POST', headers: { cookie: erin.cookie } })).status).toBe(403);
      const out = await fetch(url('/auth/logout'), { method: 'POST', headers: { cookie: erin.cookie, 'x-csrf-token': erin.csrfToken, origin: origin() } });
      expect(out.status).toBe(200);
      expect(((await out.json()) as { redirectTo: string }).redirectTo.startsWith(`${ISSUER}/session/end`)).toBe(true);
      expect((await fetch(url('/api/me'), { headers: { cookie: erin.cookie } })).status).toBe(401);
    } finally {
      await erin.context.close();
    }
  });
});

describe('reviews', () => {
  const url = (path: string) => `${service.url}${path.replace(/^\//, '')}`;
  const origin = () => new URL(service.url).origin;
  /** line-3/cam-1: frames 1 and 2 ok, 3 and 4 flagged. */
  const reviewed: Verdict[] = [];
  const answerOf = (verdict: Verdict, feedbackId: string, label: Feedback['label'], more: Record<string, unknown> = {}) => ({
    feedbackId,
    frameId: verdict.frameId,
    lineId: verdict.lineId,
    cameraId: verdict.cameraId,
    capturedAt: verdict.capturedAt,
    label,
    ...more,
  });
  const send = (body: unknown, headers: Record<string, string>) => fetch(url('/api/feedback'), { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  /** Every record on the feedback topic now. */
  const records = async (): Promise<Feedback[]> => {
    const found: Feedback[] = [];
    await kafka.client.reader.readToEnd([topics.feedback], (record) => {
      found.push(decodeMessage(Feedback, record.value));
    });
    return found;
  };

  beforeAll(async () => {
    const at = Date.now();
    for (let seq = 1; seq <= 4; seq++) reviewed.push(verdictFixture(seq, { line: 'line-3', camera: 'cam-1', defect: seq >= 3, bucket: resultsBucket, at: new Date(at - (4 - seq) * 1000) }));
    const events = await Promise.all(reviewed.map((v) => storeImages(v, v.verdict === 'defect')));
    await kafka.publish(topics.frames, events.map((f) => ({ key: messageKey(f.lineId, f.cameraId), value: encodeMessage(FrameEvent, f) })));
    framesPublished += events.length;
    await publishVerdicts(reviewed);
    await vi.waitFor(
      async () => {
        const { state } = (await (await fetch(url('/api/snapshot'), { headers: { cookie: viewerCookie } })).json()) as { state: { cameras: Record<string, { recent: unknown[] }> } };
        expect(state.cameras['line-3:cam-1']?.recent.length).toBe(4);
      },
      { timeout: SHOWN_WITHIN_MS, interval: 100 },
    );
  });

  it('turns an operator\'s answer into exactly one feedback.v1 record; the same feedbackId again publishes nothing; a second review is the next revision', async () => {
    const otto = await sessionOf('otto');
    try {
      const flagged = reviewed[2];
      if (flagged === undefined) throw new Error('no frame 3');
      const headers = { cookie: otto.cookie, 'x-csrf-token': otto.csrfToken, origin: origin() };
      const before = (await records()).length;
      const first = await send(answerOf(flagged, 'api-1', 'defect-confirmed', { defectCode: '002', note: 'a broken pick', queue: 'flagged' }), headers);
      expect(first.status).toBe(201);
      const record = Feedback.parse(await first.json());
      expect(record).toMatchObject({
        feedbackId: 'api-1',
        frameId: flagged.frameId,
        lineId: 'line-3',
        cameraId: 'cam-1',
        fabricCode: '05',
        image: { bucket: framesBucket, key: `frames/line-3/cam-1/${flagged.frameId}.png` },
        verdict: { verdict: 'defect', score: flagged.score, threshold: flagged.threshold, model: flagged.model, decidedAt: flagged.decidedAt },
        label: 'defect-confirmed',
        defectCode: '002',
        reviewer: { name: 'Otto Operator' },
        revision: 0,
        queue: 'flagged',
      });
      // A double click: the same id answers the stored record (200) and publishes nothing.
      const repeat = await send(answerOf(flagged, 'api-1', 'defect-confirmed', { defectCode: '002', note: 'a broken pick', queue: 'flagged' }), headers);
      expect(repeat.status).toBe(200);
      expect(await repeat.json()).toEqual(record);
      const second = await send(answerOf(flagged, 'api-2', 'false-alarm'), headers);
      expect(second.status).toBe(201);
      expect(((await second.json()) as Feedback).revision).toBe(1);
      const published = (await records()).slice(before);
      expect(published.map((r) => [r.feedbackId, r.revision])).toEqual([
        ['api-1', 0],
        ['api-2', 1],
      ]);
      expect(published[0]).toEqual(record);
      // Keyed by the camera, like the verdicts: MES reads a camera's reviews in order.
      const keys: (string | undefined)[] = [];
      await kafka.client.reader.readToEnd([topics.feedback], (r) => void keys.push(r.key ?? undefined));
      expect(new Set(keys)).toEqual(new Set(['line-3:cam-1']));

      // The frame view shows who said what, and when, each revision.
      const view = (await (await fetch(url(`/api/frames/line-3/cam-1/${flagged.frameId}?capturedAt=${encodeURIComponent(flagged.capturedAt)}`), { headers: { cookie: viewerCookie } })).json()) as { reviews: Feedback[] };
      expect(view.reviews.map((r) => [r.revision, r.label, r.reviewer.name])).toEqual([
        [0, 'defect-confirmed', 'Otto Operator'],
        [1, 'false-alarm', 'Otto Operator'],
      ]);

      // A label that does not answer the verdict, an unknown frame, a bad body: refused, nothing published.
      const wrong = await send(answerOf(flagged, 'api-3', 'missed-defect'), headers);
      expect((await problemOf(wrong)).code).toBe('LABEL_INVALID');
      const unknown = await send({ ...answerOf(flagged, 'api-4', 'false-alarm'), frameId: 'line-3.cam-1.999' }, headers);
      expect((await problemOf(unknown)).code).toBe('VERDICT_NOT_FOUND');
      expect((await problemOf(await send({ label: 'false-alarm' }, headers))).code).toBe('BODY_INVALID');
      const reused = await send(answerOf(reviewed[3] ?? flagged, 'api-1', 'false-alarm'), headers);
      expect(reused.status).toBe(409);
      expect((await problemOf(reused)).code).toBe('FEEDBACK_ID_REUSED');
      expect((await records()).length).toBe(before + 2);
    } finally {
      await otto.context.close();
    }
  });

  it('refuses a viewer (403) and a call without the CSRF token (403), publishing nothing', async () => {
    const flagged = reviewed[3];
    if (flagged === undefined) throw new Error('no frame 4');
    const before = (await records()).length;
    // With the viewer's own CSRF token: the role is what is refused.
    const { csrfToken } = (await (await fetch(url('/api/me'), { headers: { cookie: viewerCookie } })).json()) as { csrfToken: string };
    const viewer = await send(answerOf(flagged, 'viewer-1', 'false-alarm'), { cookie: viewerCookie, 'x-csrf-token': csrfToken, origin: origin() });
    expect(viewer.status).toBe(403);
    const refusal = await problemOf(viewer);
    expect(refusal.code).toBe('FORBIDDEN');
    expect(refusal.detail).toContain('operator');
    expect((await problemOf(await fetch(url('/api/review/next'), { headers: { cookie: viewerCookie } }))).code).toBe('FORBIDDEN');
    const otto = await sessionOf('otto');
    try {
      const noToken = await send(answerOf(flagged, 'otto-1', 'false-alarm'), { cookie: otto.cookie, origin: origin() });
      expect(noToken.status).toBe(403);
      expect((await problemOf(noToken)).code).toBe('CSRF_REFUSED');
      const elsewhere = await send(answerOf(flagged, 'otto-1', 'false-alarm'), { cookie: otto.cookie, 'x-csrf-token': otto.csrfToken, origin: 'http://evil.example' });
      expect((await problemOf(elsewhere)).code).toBe('CSRF_REFUSED');
    } finally {
      await otto.context.close();
    }
    expect((await records()).length).toBe(before);
  });

  it('lets otto review in the browser: the queue opens the flagged frame, f records a false alarm on the topic, the frame shows the review, and the quality panel and badge move', async () => {
    const flagged = reviewed[3];
    if (flagged === undefined) throw new Error('no frame 4');
    const otto = await sessionOf('otto');
    try {
      const tab = otto.context.pages()[0];
      if (tab === undefined) throw new Error('no tab');
      await tab.setViewportSize({ width: 1600, height: 1000 });
      // The queue: the flagged frame not yet reviewed (frame 3 was, through the API) comes first.
      const next = (await (await fetch(url('/api/review/next?line=line-3'), { headers: { cookie: otto.cookie } })).json()) as { next?: { frameId: string; queue: string } };
      expect(next.next).toMatchObject({ frameId: flagged.frameId, queue: 'flagged' });
      await tab.getByTestId('start-review').click();
      await tab.getByRole('heading', { name: `Frame ${flagged.frameId}` }).waitFor({ timeout: SHOWN_WITHIN_MS });
      await tab.getByTestId('review-keys').waitFor({ timeout: SHOWN_WITHIN_MS });
      expect(await tab.getByTestId('review').textContent()).toContain('review mode (flagged)');
      await tab.getByTestId('no-reviews').waitFor({ timeout: SHOWN_WITHIN_MS });
      await tab.screenshot({ path: `${ARTEFACTS}/review-mode.png` });
      const before = (await records()).length;
      await tab.keyboard.press('f');
      // One record, then the page moves on to the next frame of the queue.
      await expect.poll(async () => (await records()).slice(before).map((r) => [r.frameId, r.label, r.reviewer.name, r.queue]), { timeout: SHOWN_WITHIN_MS }).toEqual([[flagged.frameId, 'false-alarm', 'Otto Operator', 'flagged']]);
      await tab.getByRole('heading', { name: `Frame ${flagged.frameId}` }).waitFor({ state: 'detached', timeout: SHOWN_WITHIN_MS });
      await tab.goBack();
      await tab.getByRole('heading', { name: `Frame ${flagged.frameId}` }).waitFor({ timeout: SHOWN_WITHIN_MS });
      const row = tab.getByTestId('reviews').locator('tbody tr');
      await row.first().waitFor({ timeout: SHOWN_WITHIN_MS });
      expect(await row.count()).toBe(1);
      expect(await row.getByTestId('review-label').textContent()).toBe('false alarm');
      expect(await row.getByTestId('reviewer').textContent()).toBe('Otto Operator');
      await tab.screenshot({ path: `${ARTEFACTS}/review-done.png` });

      // The quality panel and the camera's badge move: both flagged frames of line-3/cam-1 are now false alarms.
      const quality = (await (await fetch(url('/api/quality'), { headers: { cookie: otto.cookie } })).json()) as { cameras: { key: string; precision?: { successes: number; trials: number } }[] };
      expect(quality.cameras.find((c) => c.key === 'line=line-3|camera=cam-1')?.precision).toMatchObject({ successes: 0, trials: 2 });
      await tab.goto(service.url);
      await tab.locator('[data-camera="line-3:cam-1"]').getByTestId('quality-badge').getByText(/^precision 0 % \(2\)/).waitFor({ timeout: 15_000 });
      expect(await tab.getByTestId('quality').locator('[data-group^="line=line-3|camera=cam-1|"]').textContent()).toContain('0 % [0 %–84.2 %] of 2');
      await tab.screenshot({ path: `${ARTEFACTS}/quality.png`, fullPage: true });
    } finally {
      await otto.context.close();
    }
    // A viewer sees who said what, but no review mode.
    await page.goto(`${service.url}#/frame/line-3/cam-1/${flagged.frameId}/${Date.parse(flagged.decidedAt)}`);
    await page.getByTestId('reviews').getByText('Otto Operator').waitFor({ timeout: SHOWN_WITHIN_MS });
    expect(await page.getByTestId('review-keys').count()).toBe(0);
    expect(await page.getByTestId('start-review').count()).toBe(0);
  });
});

describe('model updates', () => {
  const url = (path: string) => `${service.url}${path.replace(/^\//, '')}`;
  const origin = () => new URL(service.url).origin;
  const post = (path: string, body: unknown, headers: Record<string, string>) =>
    fetch(url(path), { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  /** Where a record that is no retrain request goes: the dashboard skips it. */
  const UNDECODABLE_KEY = 'retrain:draem-aitex:11';
  /** Every deployment of draem-aitex and every retrain record (but the undecodable one) on the control topic now, in order. */
  const control = async (): Promise<{ deployments: Deployment[]; retrains: Array<{ key: string; request: RetrainRequest }> }> => {
    const found: { deployments: Deployment[]; retrains: Array<{ key: string; request: RetrainRequest }> } = { deployments: [], retrains: [] };
    await kafka.client.reader.readToEnd([topics.control], (record) => {
      if (record.value === null || record.key === undefined) return;
      if (record.key === 'deployment:draem-aitex') found.deployments.push(decodeMessage(Deployment, record.value));
      if (record.key.startsWith('retrain:') && record.key !== UNDECODABLE_KEY) found.retrains.push({ key: record.key, request: decodeMessage(RetrainRequest, record.value) });
    });
    return found;
  };
  const at = new Date(Date.now() - 3_600_000);
  const REPLAYED_ID = 'draem-aitex.05.replayed';
  /** Fabric 05's request, replayed: its report (and the chart beside it) in the datasets bucket. */
  let replayed: RetrainRequest;
  let check: ReturnType<typeof replayCheckFixture>;
  /** The deployment revision the retrainer put the candidate in shadow at. */
  let shadowRevision = 0;

  beforeAll(async () => {
    check = replayCheckFixture(datasetsBucket, REPLAYED_ID);
    replayed = retrainFixture(retrainStatusFixture('replayed', check), { id: REPLAYED_ID, at });
    const chart = await sharp({ create: { width: 320, height: 120, channels: 3, background: { r: 40, g: 90, b: 160 } } }).png().toBuffer();
    // The report as `replay report --format html` writes it: inline styles, a chart beside it; and a script, which must not run.
    const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Replay report</title><style>body{font-family:sans-serif}</style></head><body><h1>Replay report</h1><img alt="score chart" src="chart.png"><script>document.title = 'a script ran'</script></body></html>`;
    await Promise.all([
      s3.store.put(check.report, Buffer.from(html), 'text/html'),
      s3.store.put({ bucket: datasetsBucket, key: `retrain/${REPLAYED_ID}/report/chart.png` }, chart, 'image/png'),
    ]);
    // The retrainer's shadow revision of the candidate, then its requests at several steps.
    const { state } = (await (await fetch(url('/api/snapshot'), { headers: { cookie: viewerCookie } })).json()) as { state: { deployments: Record<string, Deployment> } };
    const current = state.deployments['draem-aitex'];
    if (current === undefined) throw new Error('no deployment in the view');
    shadowRevision = current.revision + 1;
    await publish(topics.control, 'deployment:draem-aitex', encodeMessage(Deployment, { ...current, revision: shadowRevision, shadow: { version: '1.3.0', sample: 0.1 }, updatedAt: new Date().toISOString(), reason: 'retrain shadow' }));
    const requests: Array<[string, RetrainRequest]> = [
      ['retrain:draem-aitex:05', replayed],
      ['retrain:draem-aitex:07', retrainFixture(retrainStatusFixture('refit'), { fabric: '07', at })],
      ['retrain:draem-aitex:09', retrainFixture(retrainStatusFixture('refused'), { fabric: '09', at })],
      ['retrain:draem-aitex:all', retrainFixture(retrainStatusFixture('failed'), { fabric: null, at })],
    ];
    for (const [key, request] of requests) await publish(topics.control, key, encodeMessage(RetrainRequest, request));
    // A record that does not decode is skipped, the others shown.
    await publish(topics.control, UNDECODABLE_KEY, Buffer.from('{"kind":"retrain-request"}'));
  });

  it('shows each request\'s step line, why, candidate and, once replayed, the counts and a report link that opens through the proxy', async () => {
    await page.goto(service.url);
    const panel = page.getByTestId('model-updates');
    const item = (key: string) => panel.locator(`[data-retrain="${key}"]`);
    await item('retrain:draem-aitex:05').waitFor({ timeout: SHOWN_WITHIN_MS });
    await item('retrain:draem-aitex:all').waitFor({ timeout: SHOWN_WITHIN_MS });
    expect(await panel.locator('[data-retrain]').count()).toBe(4);
    const reached = (key: string) => item(key).getByTestId('retrain-steps').locator('[aria-current="step"]').textContent();
    expect(await reached('retrain:draem-aitex:05')).toBe('replayed');
    expect(await reached('retrain:draem-aitex:07')).toBe('refit');
    expect(await item('retrain:draem-aitex:05').getByTestId('retrain-steps').textContent()).toMatch(/requested ✓\s*snapshot ✓\s*refit ✓\s*candidate ✓\s*shadow ✓\s*replayed\s*promoted/);
    expect(await item('retrain:draem-aitex:09').getByTestId('retrain-end').textContent()).toMatch(/refused[\s\S]*AUROC 0\.81 < parent 0\.86/);
    expect(await item('retrain:draem-aitex:all').getByTestId('retrain-end').textContent()).toMatch(/failed\s+REFIT_FAILED: the refit exited 2/);
    expect(await item('retrain:draem-aitex:05').getByTestId('retrain-why').textContent()).toBe('12 false alarms reviewed');
    expect(await item('retrain:draem-aitex:05').getByTestId('retrain-candidate').textContent()).toBe('1.3.0');
    const replay = await item('retrain:draem-aitex:05').getByTestId('retrain-replay').textContent();
    expect(replay).toContain('normals flagged, parent → candidate: 12 → 3 of 40 reviewed');
    expect(replay).toContain('defects caught, parent → candidate: 7 → 7 of 8 reviewed');
    // A viewer may not act.
    expect(await panel.getByTestId('promote').count()).toBe(0);
    expect(await panel.getByTestId('ask-refit').count()).toBe(0);

    // The report opens in a tab of its own, through the proxy, its chart beside it; its script does not run.
    const link = item('retrain:draem-aitex:05').getByTestId('replay-report');
    expect(await link.getAttribute('href')).toBe(objectPath(check.report));
    const [tab] = await Promise.all([page.context().waitForEvent('page'), link.click()]);
    await tab.waitForLoadState('load');
    expect(tab.url()).toBe(url(objectPath(check.report)));
    // The report itself, not a refusal's problem+json.
    await tab.getByRole('heading', { name: 'Replay report' }).waitFor({ timeout: SHOWN_WITHIN_MS });
    await expect.poll(() => naturalWidth(tab.locator('img')), { timeout: SHOWN_WITHIN_MS }).toBe(320);
    expect(await tab.title()).toBe('Replay report');
    await tab.close();
    const direct = await fetch(url(objectPath(check.report)), { headers: { cookie: viewerCookie } });
    expect(direct.status).toBe(200);
    expect(direct.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(direct.headers.get('content-security-policy')).not.toContain('script');
  });

  it('refuses an operator (403) promoting or asking for a refit, and publishes nothing', async () => {
    const before = await control();
    const otto = await sessionOf('otto');
    try {
      const headers = { cookie: otto.cookie, 'x-csrf-token': otto.csrfToken, origin: origin() };
      for (const [path, body] of [
        ['/api/retrain/promote', { key: 'retrain:draem-aitex:05', stage: 'production' }],
        ['/api/retrain/request', { model: 'draem-aitex', fabric: '12' }],
      ] as const) {
        const res = await post(path, body, headers);
        expect(res.status, path).toBe(403);
        expect((await problemOf(res)).code, path).toBe('FORBIDDEN');
      }
    } finally {
      await otto.context.close();
    }
    const after = await control();
    expect([after.deployments.length, after.retrains.length]).toEqual([before.deployments.length, before.retrains.length]);
  });

  it('lets erin promote the replayed candidate to production from the panel: the next deployment revision, then the promoted record; other steps 409; a refit asked for once', async () => {
    const erin = await sessionOf('erin');
    try {
      const tab = erin.context.pages()[0];
      if (tab === undefined) throw new Error('no tab');
      await tab.setViewportSize({ width: 1600, height: 1200 });
      const panel = tab.getByTestId('model-updates');
      const promote = panel.locator('[data-retrain="retrain:draem-aitex:05"]').getByTestId('promote');
      await promote.waitFor({ timeout: SHOWN_WITHIN_MS });
      // Only the replayed request offers promotion.
      expect(await panel.getByTestId('promote').count()).toBe(1);
      await panel.screenshot({ path: `${ARTEFACTS}/model-panel.png` });

      const headers = { cookie: erin.cookie, 'x-csrf-token': erin.csrfToken, origin: origin() };
      const early = await post('/api/retrain/promote', { key: 'retrain:draem-aitex:07', stage: 'production' }, headers);
      expect(early.status).toBe(409);
      expect((await problemOf(early)).code).toBe('RETRAIN_NOT_PROMOTABLE');
      const unknown = await post('/api/retrain/promote', { id: 'no-such-request', stage: 'production' }, headers);
      expect(unknown.status).toBe(404);
      expect((await problemOf(unknown)).code).toBe('RETRAIN_NOT_FOUND');
      const noCsrf = await post('/api/retrain/promote', { key: 'retrain:draem-aitex:05', stage: 'production' }, { cookie: erin.cookie, origin: origin() });
      expect((await problemOf(noCsrf)).code).toBe('CSRF_REFUSED');

      await promote.getByRole('button', { name: 'Promote to production' }).click();
      await panel.getByTestId('model-updates-status').getByText(`promoted to production: draem-aitex revision ${shadowRevision + 1}`).waitFor({ timeout: SHOWN_WITHIN_MS });
      const { deployments, retrains } = await control();
      const deployment = deployments.at(-1);
      expect(deployment).toMatchObject({ revision: shadowRevision + 1, production: '1.3.0', reason: `retrain ${REPLAYED_ID}: 1.3.0 promoted to production by Erin Engineer on the dashboard` });
      expect(deployment?.shadow).toBeUndefined();
      expect(retrains.at(-1)).toEqual({
        key: 'retrain:draem-aitex:05',
        request: { ...replayed, status: { step: 'promoted', snapshot: 'snap-1', version: '1.3.0', revision: shadowRevision + 1, check, stage: 'production', by: 'Erin Engineer' }, updatedAt: expect.any(String) as unknown },
      });
      // The panel follows: promoted, reached; the serving panel names the new production version.
      await panel.locator('[data-retrain="retrain:draem-aitex:05"][data-step="promoted"]').getByTestId('retrain-promoted').getByText(/in production from revision \d+, by Erin Engineer/).waitFor({ timeout: SHOWN_WITHIN_MS });
      expect(await panel.getByTestId('promote').count()).toBe(0);
      // Promoting again: it is in production already.
      const again = await post('/api/retrain/promote', { key: 'retrain:draem-aitex:05', stage: 'production' }, headers);
      expect(again.status).toBe(409);
      expect((await problemOf(again)).code).toBe('RETRAIN_NOT_PROMOTABLE');

      // A refit: refused while fabric 07's request runs; asked for fabric 12 from the panel, once.
      const pending = await post('/api/retrain/request', { model: 'draem-aitex', fabric: '07' }, headers);
      expect(pending.status).toBe(409);
      expect((await problemOf(pending)).code).toBe('RETRAIN_PENDING');
      const ask = panel.getByTestId('ask-refit');
      await ask.getByRole('textbox', { name: 'fabric (empty: all)' }).fill('12');
      await ask.getByRole('button', { name: 'Ask for a refit' }).click();
      await panel.locator('[data-retrain="retrain:draem-aitex:12"][data-step="requested"]').waitFor({ timeout: SHOWN_WITHIN_MS });
      expect(await panel.locator('[data-retrain="retrain:draem-aitex:12"]').getByTestId('retrain-why').textContent()).toBe('asked by Erin Engineer');
      const asked = (await control()).retrains.filter((r) => r.key === 'retrain:draem-aitex:12');
      expect(asked.map((r) => [r.request.status.step, r.request.reason.kind, r.request.requestedBy])).toEqual([['requested', 'manual', 'Erin Engineer']]);
      const twice = await post('/api/retrain/request', { model: 'draem-aitex', fabric: '12' }, headers);
      expect((await problemOf(twice)).code).toBe('RETRAIN_PENDING');
      // Two at once (a double click): one request, the other refused — the dashboard makes them one at a time.
      const both = await Promise.all([1, 2].map(() => post('/api/retrain/request', { model: 'draem-aitex', fabric: '13' }, headers)));
      expect(both.map((res) => res.status).sort()).toEqual([201, 409]);
      expect((await control()).retrains.filter((r) => r.key === 'retrain:draem-aitex:13').length).toBe(1);
    } finally {
      await erin.context.close();
    }
  });
});
