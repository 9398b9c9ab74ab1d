import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

const IMAGE_FILE = /\.(png|jpe?g|tiff?|webp)$/i;

async function walk(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map(async (entry) => {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) return walk(path);
        return entry.isFile() && IMAGE_FILE.test(entry.name) ? [path] : [];
      }),
  );
  return nested.flat();
}

/**
 * Expands the command's arguments: a directory means its image files (by extension,
 * recursively, sorted by name at each level); anything else is taken as given, so a missing
 * or non-image file is reported per image rather than skipped.
 */
export async function expandInputs(args: readonly string[]): Promise<string[]> {
  const lists = await Promise.all(
    args.map(async (arg) => {
      const info = await stat(arg).catch(() => undefined);
      return info?.isDirectory() === true ? walk(arg) : [arg];
    }),
  );
  return lists.flat();
}
