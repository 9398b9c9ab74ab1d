export { betaCdf, betaQuantile, clopperPearson, type Proportion } from './interval.js';
export { applyFeedback, currentLabels, type FrameLabel } from './labels.js';
export {
  DIMENSIONS,
  countLabel,
  figuresOf,
  groupKey,
  qualityByGroup,
  type Attributes,
  type Dimension,
  type Group,
  type GroupQuality,
  type QualityCounts,
  type QualityOptions,
  type VerdictCount,
} from './figures.js';
