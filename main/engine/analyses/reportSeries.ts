/** Per-layer statistics as the mean and interval series the report's charts take. */
import type { LayerStat } from '../../common/analysis.ts';

export const intervalSeries = (stats: readonly LayerStat[]) => ({
  mean: stats.map((s) => s.mean),
  lower: stats.map((s) => s.lower),
  upper: stats.map((s) => s.upper),
});
