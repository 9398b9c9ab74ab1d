/**
 * The settings a service's `--help` lists: every key of its config schema with its default, read
 * from the schema itself (the one the config is validated with), so the list cannot drift from it.
 */
import { z } from 'zod';

interface JsonSchemaNode {
  type?: string | string[];
  properties?: Record<string, JsonSchemaNode>;
  default?: unknown;
}

/** A default as a person would type it after `--set key=`: strings bare, lists comma-separated. */
function shown(value: unknown): string {
  if (value === undefined) return '(unset)';
  if (typeof value === 'string') return value === '' ? "''" : value;
  if (Array.isArray(value) && value.every((item) => typeof item !== 'object')) return value.length === 0 ? '(empty)' : value.join(',');
  return JSON.stringify(value);
}

/** `[key, default]` for every leaf setting of `schema`, in the schema's order. */
export function settingsOf(schema: z.ZodType): [string, string][] {
  // 'output': a default sits on the parsed side of a preprocessed value (kafka.brokers' comma list).
  const root = z.toJSONSchema(schema, { io: 'output', unrepresentable: 'any' }) as JsonSchemaNode;
  const settings: [string, string][] = [];
  const walk = (node: JsonSchemaNode, path: string): void => {
    const keys = Object.entries(node.properties ?? {});
    if (keys.length === 0) settings.push([path, shown(node.default)]);
    for (const [key, child] of keys) walk(child, path === '' ? key : `${path}.${key}`);
  };
  walk(root, '');
  return settings;
}

/** The help's settings section: one `key  default` line per setting. */
export function settingsHelp(schema: z.ZodType): string[] {
  const settings = settingsOf(schema);
  const width = Math.max(...settings.map(([key]) => key.length)) + 2;
  return ['settings (--set key=value) and their defaults:', ...settings.map(([key, value]) => `  ${key.padEnd(width)}${value}`)];
}
