/** Renders the report's blocks as Markdown or as a self-contained HTML page. */
import type { Block } from './report-document.js';
import { escapeXml } from './report-svg.js';

export type ReportFormat = 'md' | 'html';

/** Numbers, percentages and the "no value" dash line up on the right; names on the left. */
const NUMERIC = /^(?:[+-]?\d[\d.]*(?: %)?|–)$/;

/** Table cells may hold anything; a bare `|` or newline would break the Markdown table. */
function markdownCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function markdownBlock(block: Block): string {
  switch (block.kind) {
    case 'heading':
      return `${'#'.repeat(block.level)} ${block.text}`;
    case 'paragraph':
      return block.text;
    case 'list':
      return block.items.map((item) => `- ${item}`).join('\n');
    case 'image':
      return `![${block.alt}](${encodeURI(block.src)})`;
    case 'table': {
      const row = (cells: readonly string[]): string => `| ${cells.map(markdownCell).join(' | ')} |`;
      const align = block.header.map((_, i) => (block.rows.every((cells) => NUMERIC.test(cells[i] ?? '')) ? '---:' : '---'));
      const linked = block.rows.map((cells, r) => {
        const href = block.links?.[r];
        const [first = '', ...rest] = cells;
        return href === undefined ? cells : [`[${first.replace(/[[\]]/g, '\\$&')}](<${href}>)`, ...rest];
      });
      return [row(block.header), row(align), ...linked.map(row)].join('\n');
    }
  }
}

export function renderMarkdown(blocks: readonly Block[]): string {
  return `${blocks.map(markdownBlock).join('\n\n')}\n`;
}

function htmlBlock(block: Block, inlineSvg: string | undefined): string {
  switch (block.kind) {
    case 'heading':
      return `<h${block.level}>${escapeXml(block.text)}</h${block.level}>`;
    case 'paragraph':
      return `<p>${escapeXml(block.text)}</p>`;
    case 'list':
      return `<ul>${block.items.map((item) => `<li>${escapeXml(item)}</li>`).join('')}</ul>`;
    case 'image':
      return inlineSvg ?? `<img alt="${escapeXml(block.alt)}" src="${escapeXml(encodeURI(block.src))}">`;
    case 'table': {
      const head = `<tr>${block.header.map((cell) => `<th>${escapeXml(cell)}</th>`).join('')}</tr>`;
      const cell = (text: string, href: string | undefined): string =>
        href === undefined ? `<td>${escapeXml(text)}</td>` : `<td><a href="${escapeXml(href)}">${escapeXml(text)}</a></td>`;
      const rows = block.rows.map((cells, r) => `<tr>${cells.map((text, i) => cell(text, i === 0 ? block.links?.[r] : undefined)).join('')}</tr>`);
      return `<table>\n${head}\n${rows.join('\n')}\n</table>`;
    }
  }
}

const STYLE =
  'body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#111827}' +
  'table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #d1d5db;padding:3px 8px}td{text-align:right}td:first-child{text-align:left}';

/** One HTML file; the chart is inlined when given, so the page opens anywhere on its own. */
export function renderHtml(blocks: readonly Block[], inlineSvg?: string): string {
  const title = blocks.find((block) => block.kind === 'heading');
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>${escapeXml(title?.kind === 'heading' ? title.text : 'Replay report')}</title>`,
    `<style>${STYLE}</style></head><body>`,
    ...blocks.map((block) => htmlBlock(block, inlineSvg)),
    '</body></html>',
    '',
  ].join('\n');
}
