/** Chart builders shared by the headless report and the app: plain data in, ECharts options out. */
export { fusionCurveOption, fusionSeriesId, FUSION_CURVE_NOTE } from './fusionCurve.ts';
export type { FusionCurveInput, FusionCurveSeries, FusionXAxis } from './fusionCurve.ts';
export { evolutionCurvesOption } from './evolutionCurves.ts';
export type { EvolutionCurvesInput, EvolutionSeries } from './evolutionCurves.ts';
export { layerSharesOption } from './layerShares.ts';
export type { LayerSharesInput, SharePart } from './layerShares.ts';
export {
  ATTENTION_SHARE_LABELS,
  LOGIT_LENS_LABELS,
  attentionShareOption,
  attentionShareTable,
  logitLensOption,
  logitLensTable,
} from './layerReadouts.ts';
export type { LayerMarks, LayerTable } from './layerReadouts.ts';
export {
  QUESTION_CONTRAST_LABELS,
  questionContrastOption,
  questionContrastTable,
} from './questionContrast.ts';
export {
  COLORMAP_NAMES,
  assertColormap,
  checkRange,
  colorFor,
  colormapPosition,
  defaultRange,
  isDiverging,
  rgbToHex,
  sampleColormap,
} from './colormaps.ts';
export type { ColormapName, Rgb, ValueRange } from './colormaps.ts';
export { FIGURE_SIZE, FONT_FAMILY, FONT_SIZE, PALETTE, seriesColor } from './theme.ts';
export {
  OUTLINE,
  colorbarTicks,
  contrastRanges,
  drawnValues,
  evenlySpacedLayers,
  formatTick,
  resolveOverlay,
  sharedRange,
} from './overlay.ts';
export type { ColorbarSpec, OverlayCell, OverlayMapInput, ResolvedOverlay } from './overlay.ts';
export {
  EVOLUTION_METRIC_LABELS,
  EVOLUTION_METRIC_ORDER,
  METHOD_LABELS,
  METHOD_SHORT_LABELS,
  evolutionMetricLabel,
} from './labels.ts';
export { headKnockoutOption, headKnockoutTable } from './headHeatmap.ts';
