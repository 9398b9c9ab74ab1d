import { z } from 'zod';
import { aitexProduct } from './image-files.js';

/**
 * A fabric code as `FrameEvent.product.fabricCode` carries it and a model card's per-fabric
 * calibration is keyed by: 1–32 letters, digits, `.`, `_` or `-`. Text, never a number: in YAML a
 * code of digits must be quoted (`'05'`), or it would lose its leading zero.
 */
export const FabricCode = z
  .string({ error: 'a fabric code is text: quote one of digits in YAML (\'05\')' })
  .min(1)
  .max(32)
  .regex(/^[A-Za-z0-9._-]+$/, 'use letters, digits, ".", "_" or "-"');

/** One folder below the hot folder, by its name: no `/` or `\`, not hidden (`.`), no control characters. */
export const SubfolderName = z
  .string()
  .max(128)
  .regex(/^[^./\\\p{Cc}][^/\\\p{Cc}]*$/u, 'one folder name below hotFolder.dir: no "/" or "\\", not starting with "."');

/** What the hot-folder config says about fabrics. */
export interface FabricSettings {
  /** The fabric of every frame in the folder (`hotFolder.fabricCode`). */
  fabricCode?: string | undefined;
  /** Subfolder name → the fabric of the frames in it (`hotFolder.fabricBySubfolder`). */
  fabricBySubfolder?: Readonly<Record<string, string>> | undefined;
}

/** Where a frame's fabric came from, most explicit first. */
export type FabricSource = 'subfolder' | 'folder' | 'file name';

export interface FabricChoice {
  fabricCode: string;
  from: FabricSource;
  /** The fabric the file's name gave, when the config overrode a different one. */
  overriddenName?: string;
}

/**
 * The fabric of a file in the hot folder (`file` relative to it: `name.png` or `sub/name.png`).
 * The most explicit source wins: its subfolder's fabric in `fabricBySubfolder`, then the folder's
 * `fabricCode`, then the file name where the camera software writes one (the AITEX pattern
 * `NNNN_DDD_FF.png` → `FF`); undefined when none names it (the frame goes out without a fabric
 * and is judged by the model's pooled threshold).
 *
 * Config wins over the name because the config is what someone set for this camera on purpose,
 * while a name is only read by its pattern, and other camera software writes names of the same
 * shape that mean something else.
 */
export function fabricOfFile(file: string, settings: FabricSettings): FabricChoice | undefined {
  const slash = file.indexOf('/');
  const subfolder = slash < 0 ? undefined : file.slice(0, slash);
  const named = aitexProduct(file).fabricCode;
  const configured: Omit<FabricChoice, 'overriddenName'> | undefined =
    subfolder !== undefined && settings.fabricBySubfolder?.[subfolder] !== undefined
      ? { fabricCode: settings.fabricBySubfolder[subfolder], from: 'subfolder' }
      : settings.fabricCode !== undefined
        ? { fabricCode: settings.fabricCode, from: 'folder' }
        : undefined;
  if (configured === undefined) return named === undefined ? undefined : { fabricCode: named, from: 'file name' };
  return named === undefined || named === configured.fabricCode ? configured : { ...configured, overriddenName: named };
}
