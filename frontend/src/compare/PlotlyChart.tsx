// The only module that imports Plotly. It is loaded through React.lazy by Chart.tsx, so Plotly is
// fetched only when a chart is on screen. The "basic" dist bundle (scatter, bar, pie) is all these charts
// use: a quarter of plotly.js-dist-min's size, so it also parses four times faster on a slow laptop.
import type { Config, Data, Layout } from "plotly.js";
import Plotly from "plotly.js-basic-dist-min";
import createPlotlyComponent from "react-plotly.js/factory";

const Plot = createPlotlyComponent(Plotly);
// Lets the render-time measurement tell loading Plotly apart from drawing with it.
performance.mark("zopoc:plotly-ready");

export interface PlotlyChartProps {
  data: Data[];
  layout: Partial<Layout>;
  config: Partial<Config>;
  onRendered?: () => void;
  onError?: (error: Error) => void;
}

export default function PlotlyChart({ data, layout, config, onRendered, onError }: PlotlyChartProps) {
  return (
    <Plot
      data={data}
      layout={layout}
      config={config}
      useResizeHandler
      style={{ width: "100%", height: "100%" }}
      onInitialized={onRendered}
      onUpdate={onRendered}
      onError={onError}
    />
  );
}
