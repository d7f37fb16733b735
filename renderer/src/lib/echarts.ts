/**
 * The ECharts parts the app draws with, registered once on the SVG renderer: every chart is vector,
 * so `renderToSVGString()` gives a publication figure and exports stay sharp at any scale.
 * Import `VChart` from here (not from vue-echarts) so registration always happens first.
 */
import { BarChart, HeatmapChart, LineChart, ScatterChart } from 'echarts/charts';
import {
  AxisPointerComponent,
  DataZoomComponent,
  DatasetComponent,
  GraphicComponent,
  GridComponent,
  LegendComponent,
  MarkAreaComponent,
  MarkLineComponent,
  MarkPointComponent,
  TitleComponent,
  TooltipComponent,
  VisualMapComponent,
} from 'echarts/components';
import { use } from 'echarts/core';
import { SVGRenderer } from 'echarts/renderers';
import VChart from 'vue-echarts';

use([
  SVGRenderer,
  LineChart,
  ScatterChart,
  BarChart,
  HeatmapChart,
  AxisPointerComponent,
  DataZoomComponent,
  DatasetComponent,
  GraphicComponent,
  GridComponent,
  LegendComponent,
  MarkAreaComponent,
  MarkLineComponent,
  MarkPointComponent,
  TitleComponent,
  TooltipComponent,
  VisualMapComponent,
]);

/** Passed as `init-options` to every VChart. */
export const INIT_OPTIONS = { renderer: 'svg' } as const;

export { VChart };
