/**
 * `replay run --frame-ids <file>`: the frames to decide, by FrameEvent `frameId` (the reviewed
 * frames a retrainer replays a candidate over). The file is a JSON array of ids, or one id a line
 * (blank lines and `#` comments ignored). Read once, on the replay's first run; the ids go into the
 * plan, so a restarted replay continues with the same set.
 */
import { readFileSync } from 'node:fs';
import { Id, LoomwatchError, MAX_REPLAY_FRAME_IDS, toLoomwatchError } from '@loomwatch/contracts';

/**
 * The ids' share of the plan's control message (1 MB at most), counted as their JSON: the rest of
 * the plan (ranges of up to thousands of partitions, the from spec) needs the remainder.
 */
const MAX_FRAME_ID_BYTES = 800_000;

function invalid(message: string): LoomwatchError {
  return new LoomwatchError('REPLAY_INVALID', message);
}

/** The ids as written: a JSON array when the file starts with `[`, else one a line. */
function listedIds(text: string, file: string): { id: unknown; where: string }[] {
  if (text.trimStart().startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw invalid(`--frame-ids ${file} starts with "[" but is not valid JSON (${toLoomwatchError(err).message}): write a JSON array of frame ids, or one id a line`);
    }
    if (!Array.isArray(parsed)) throw invalid(`--frame-ids ${file} is JSON but not an array: write ["frame-1", "frame-2", …], or one id a line`);
    return parsed.map((id: unknown, index) => ({ id, where: `element ${index}` }));
  }
  return text
    .split(/\r?\n/)
    .map((line, index) => ({ id: line.trim(), where: `line ${index + 1}` }))
    .filter(({ id }) => id !== '' && !id.startsWith('#'));
}

/** The distinct ids of a `--frame-ids` file's text, sorted (so the same set always makes the same replay id). */
export function parseFrameIds(text: string, file: string): string[] {
  const ids = new Set<string>();
  for (const { id, where } of listedIds(text, file)) {
    if (typeof id !== 'string' || !Id.safeParse(id).success) {
      throw invalid(
        `--frame-ids ${file}: ${where} (${String(JSON.stringify(id)).slice(0, 80)}) is not a frame id (1 to 128 letters, digits, ".", "_", "-"): ` +
          'write the frameId of each FrameEvent, one a line or as a JSON array',
      );
    }
    ids.add(id);
  }
  if (ids.size === 0) throw invalid(`--frame-ids ${file} names no frame: list the frame ids to decide, one a line or as a JSON array`);
  if (ids.size > MAX_REPLAY_FRAME_IDS) {
    throw invalid(`--frame-ids ${file} names ${ids.size} frames; a replay takes at most ${MAX_REPLAY_FRAME_IDS}: split them into several replays, each with its own --name`);
  }
  const sorted = [...ids].sort();
  const bytes = sorted.reduce((sum, id) => sum + id.length + 3, 0);
  if (bytes > MAX_FRAME_ID_BYTES) {
    throw invalid(
      `--frame-ids ${file}: the ${ids.size} ids take ${bytes} bytes in the plan, more than its ${MAX_FRAME_ID_BYTES}: split them into several replays, each with its own --name`,
    );
  }
  return sorted;
}

/** Reads and parses a `--frame-ids` file; an unreadable file is a REPLAY_INVALID error like a bad one. */
export function readFrameIdsFile(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw invalid(`--frame-ids ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? toLoomwatchError(err).message}): give the path of a file of frame ids`);
  }
  return parseFrameIds(text, file);
}
