import { describe, expect, it } from 'vitest';
import { headline, reportDocument } from './report-document.js';
import { buildReport } from './report-figures.js';
import { isJoined, pairByFrame } from './report-join.js';
import { renderHtml, renderMarkdown } from './report-render.js';
import { renderChart, scatterPanel, thinOut } from './report-svg.js';
import { craftedInputs, craftedReviews, point } from './report-test-fixtures.js';

const inputs = craftedInputs();
const report = buildReport(inputs);
const joined = pairByFrame(inputs.candidate.verdicts.byFrame, inputs.baseline.verdicts.byFrame).filter(isJoined);

describe('headline', () => {
  it('says frames, agreement, flips, score deltas, model versions and false-alarm rates in six lines', () => {
    expect(headline(report)).toEqual([
      'frames: 5 candidate, 5 baseline, 4 joined, 1 only candidate, 1 only baseline',
      'agreement: 50.0 % (2 of 4)',
      'flips: 1 ok→defect, 1 defect→ok',
      'score delta (candidate − baseline): mean +0.0375, median +0.0750, p5 -0.3325, p95 +0.3550',
      'models: candidate draem-aitex@1.2.0 (5); baseline draem-aitex@1.0.0 (5)',
      'false-alarm rates: candidate none stated (5); baseline 0.02 (5)',
    ]);
  });
});

describe('the reviewed-frames section', () => {
  const reviewed = buildReport({ ...craftedInputs(), feedback: craftedReviews() });

  it('adds a headline line with the counts, and is absent without reviews', () => {
    expect(headline(reviewed).at(-1)).toBe('reviewed: 4 frames decided by both; normals 3 (flagged: baseline 1, candidate 1); defects 1 (flagged: baseline 1, candidate 1)');
    expect(renderMarkdown(reportDocument(report, 'report.svg'))).not.toContain('## Reviewed frames');
  });

  it('shows the counts by label kind and the changed frames with both verdicts, in Markdown and HTML', () => {
    const markdown = renderMarkdown(reportDocument(reviewed, 'report.svg'));
    expect(markdown).toContain('## Reviewed frames');
    expect(markdown).toContain('Frames people labelled on feedback.v1 (7 frames from 9 reviews');
    expect(markdown).toContain('2 labelled frame(s) have no candidate verdict and 2 no baseline verdict');
    expect(markdown).toContain('| normals | 3 | 1 | 33.3 % | 1 | 33.3 % |');
    expect(markdown).toContain('| defects | 1 | 1 | 100.0 % | 1 | 100.0 % |');
    expect(markdown).toContain('1 fixed (the candidate now agrees with the label), 1 broken');
    expect(markdown).toContain('| f2 | line-1:cam-1 | false-alarm | broken | ok | 0.3000 | defect | 0.7000 |');
    expect(markdown).toContain('| f3 | line-1:cam-2 | false-alarm | fixed | defect | 0.8000 | ok | 0.4000 |');
    const html = renderHtml(reportDocument(reviewed, 'report.svg'));
    expect(html).toContain('<h2>Reviewed frames</h2>');
    expect(html).toContain('<td>f2</td><td>line-1:cam-1</td><td>false-alarm</td><td>broken</td>');
  });

  it("links each changed frame to the candidate's overlay under the object URL", () => {
    const inputs = { ...craftedInputs(), feedback: craftedReviews() };
    inputs.candidate.verdicts.add(point('f2', 'defect', 0.7, { model: 'draem-aitex@1.2.0', decidedAt: '2026-11-24T00:00:00.000Z', overlay: { bucket: 'results', key: 'overlays/line 1/f2.jpg' } }));
    const blocks = reportDocument(buildReport(inputs), 'report.svg', { objectUrl: 'https://dash.example/api/objects/' });
    const markdown = renderMarkdown(blocks);
    expect(markdown).toContain('| [f2](<https://dash.example/api/objects/results/overlays/line%201/f2.jpg>) | line-1:cam-1 | false-alarm | broken |');
    expect(markdown).toContain('| f3 | line-1:cam-2 |');
    expect(markdown).toContain("Each frame links to the candidate's overlay under https://dash.example/api/objects/.");
    expect(renderHtml(blocks)).toContain('<td><a href="https://dash.example/api/objects/results/overlays/line%201/f2.jpg">f2</a></td><td>line-1:cam-1</td>');
  });
});

describe('renderMarkdown', () => {
  const markdown = renderMarkdown(reportDocument(report, 'report.svg'));

  it('references the chart and lists the flipped frames', () => {
    expect(markdown).toContain('![Score-delta histogram and baseline vs candidate scatter](report.svg)');
    expect(markdown).toContain('- ok→defect (1): f2');
    expect(markdown).toContain('- defect→ok (1): f3');
  });

  it('counts a frame\'s earlier verdicts as superseded, not as duplicates, and says what that and the one-sided counts mean', () => {
    expect(markdown).toContain('| stream | topic | messages | frames | superseded | invalid | models (frames) |');
    expect(markdown).not.toMatch(/duplicate/i);
    expect(markdown).toContain('Superseded: messages of a frame that has a later one on the same topic');
    expect(markdown).toContain('Only baseline: frames the candidate did not decide');
  });

  it('has a table row per defect code with its agreement and defect rates', () => {
    expect(markdown).toContain('| defect code | joined | only candidate | only baseline | agreement |');
    expect(markdown).toContain('| 002 | 2 | 0 | 0 | 0.0 % | 1 | 1 | 50.0 % | 50.0 % | +0.0000 | +0.0000 |');
    expect(markdown).toContain('| unknown | 0 | 1 | 0 | – | 0 | 0 | – | – | – | – |');
  });

  it('right-aligns columns of numbers and left-aligns names', () => {
    const blocks = [{ kind: 'table' as const, header: ['name', 'rate', 'delta'], rows: [['a', '12.5 %', '-0.1000'], ['b', '–', '+0.2000']] }];
    expect(renderMarkdown(blocks).split('\n')[1]).toBe('| --- | ---: | ---: |');
  });

  it('escapes a pipe inside a table cell', () => {
    const blocks = [{ kind: 'table' as const, header: ['a'], rows: [['x|y']] }];
    expect(renderMarkdown(blocks)).toBe('| a |\n| --- |\n| x\\|y |\n');
  });
});

describe('renderHtml', () => {
  it('inlines the chart and escapes text', () => {
    const html = renderHtml([{ kind: 'paragraph', text: '<b>&' }, { kind: 'image', alt: 'chart', src: 'report.svg' }], '<svg id="c"></svg>');
    expect(html).toContain('<p>&#60;b&#62;&#38;</p>');
    expect(html).toContain('<svg id="c"></svg>');
  });
});

describe('renderChart', () => {
  it('draws a bar per histogram bin and a point per joined frame', () => {
    const svg = renderChart(report.overall.scoreDeltaHistogram, joined);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.match(/class="bar"/g)).toHaveLength(report.overall.scoreDeltaHistogram.length);
    expect(svg.match(/class="point"/g)).toHaveLength(4);
    // flips coloured apart from agreements: f2 ok→defect red, f3 defect→ok blue
    expect(svg.match(/class="point"[^>]*fill="#dc2626"/g)).toHaveLength(1);
    expect(svg.match(/class="point"[^>]*fill="#2563eb"/g)).toHaveLength(1);
  });

  it('says so when there is nothing to draw', () => {
    expect(renderChart([], [])).toContain('no joined frames');
  });

  it('thins a large scatter to the limit, evenly, and says how many it shows', () => {
    expect(thinOut([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 5)).toEqual([0, 2, 4, 6, 8]);
    const many = Array.from({ length: 10 }, (_, i) => ({ frameId: `f${i}`, baseline: point(`f${i}`, 'ok', 0.1), candidate: point(`f${i}`, 'ok', 0.2) }));
    const panel = scatterPanel(many, 0, 3).join('\n');
    expect(panel.match(/class="point"/g)).toHaveLength(3);
    expect(panel).toContain('(3 of 10)');
  });
});
