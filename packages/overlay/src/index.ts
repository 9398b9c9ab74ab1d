/**
 * `@loomwatch/overlay`: the overlay picture (the frame in grey, the anomaly map as heat colour,
 * the regions outlined), its recipe in the stored anomaly map, and the renderer that draws an
 * overlay on request from the stored map and frame. sharp and zod only, no model runtime and no
 * client: the worker's decider draws per-frame overlays with it, the dashboard and the inference
 * API render stored ones on request.
 */
export {
  MAPS_PREFIX,
  OVERLAYS_PREFIX,
  OverlayRenderer,
  OverlayUnavailableError,
  decodeFrameOf,
  mapLevels,
  mapOfOverlay,
  recipeOf,
  renderOverlayFromMap,
  resultKeys,
  type OverlayObjects,
  type OverlayProblem,
  type OverlayRenderOptions,
  type RenderedOverlay,
} from './overlay-on-request.js';
export {
  OverlayRecipe,
  RECIPE_KEYWORD,
  overlayLook,
  overlayRecipe,
  readOverlayRecipe,
  recipeRegions,
  withOverlayRecipe,
  type OverlayLook,
  type OverlayStyleRecipe,
  type RecipeProblem,
} from './overlay-recipe.js';
export {
  encodeOverlay,
  encodeOverlayFromGray8,
  encodeOverlayPixels,
  jetLut,
  overlayPixels,
  overlayPixelsFromGray8,
  type OverlayOptions,
  type OverlayStyle,
  type RegionBox,
} from './render.js';
export { decodeGray, type DecodeOptions, type GrayImage } from './decode.js';
export { normalizeScore, type Normalization } from './heat-scale.js';
