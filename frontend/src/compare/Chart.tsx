import type { Config, Data, Layout } from "plotly.js";
import { Component, lazy, Suspense, type ReactNode } from "react";
import { useTranslation } from "react-i18next";

const PlotlyChart = lazy(() => import("./PlotlyChart"));

/** Starts downloading Plotly early (e.g. as soon as a PoC is opened), before the data arrives. */
export function preloadPlotly(): void {
  void import("./PlotlyChart");
}

interface BoundaryProps {
  fallback: ReactNode;
  children: ReactNode;
}

/** Keeps a failing chart (bad data, Plotly error, chunk that failed to load) inside its own box. */
class ChartErrorBoundary extends Component<BoundaryProps, { failed: boolean }> {
  state = { failed: false };

  static getDerivedStateFromError() {
    return { failed: true };
  }

  componentDidCatch(error: unknown) {
    console.error("chart failed", error);
  }

  render() {
    return this.state.failed ? this.props.fallback : this.props.children;
  }
}

export interface ChartProps {
  id: string;
  title: string;
  data: Data[];
  layout: Partial<Layout>;
  empty: boolean;
  /** The text shown instead of an empty chart (default: "no data yet"). */
  emptyText?: string;
  note?: string;
  onRendered?: (id: string) => void;
}

const CONFIG: Partial<Config> = {
  displaylogo: false,
  responsive: true,
  modeBarButtonsToRemove: ["lasso2d", "select2d", "autoScale2d"],
};

const BASE_LAYOUT: Partial<Layout> = {
  autosize: true,
  height: 340,
  margin: { l: 70, r: 20, t: 36, b: 56 },
  font: { family: "system-ui, 'Noto Sans CJK JP', 'Noto Sans JP', sans-serif", size: 15, color: "#1a1a1a" },
  // Above the plot: below it the legend would collide with the x-axis title in narrow columns.
  legend: { orientation: "h", x: 0, y: 1.02, yanchor: "bottom", font: { size: 15 } },
  hovermode: "x unified",
  paper_bgcolor: "#ffffff",
  plot_bgcolor: "#ffffff",
};

/** A titled chart figure; shows a message instead of the plot when empty or broken. */
export function Chart({ id, title, data, layout, empty, emptyText, note, onRendered }: ChartProps) {
  const { t } = useTranslation();
  const headingId = `chart-${id}-title`;
  const failed = (
    <p role="alert" className="chart-message">
      {t("compare.chart.failed")}
    </p>
  );
  return (
    <figure className="chart" data-chart={id} aria-labelledby={headingId}>
      <figcaption id={headingId}>{title}</figcaption>
      {empty ? (
        <p className="chart-message">{emptyText ?? t("compare.chart.empty")}</p>
      ) : (
        <ChartErrorBoundary fallback={failed}>
          <Suspense fallback={<p className="chart-message">{t("compare.chart.loading")}</p>}>
            <div className="chart-plot">
              <PlotlyChart
                data={data}
                layout={{ ...BASE_LAYOUT, ...layout }}
                config={CONFIG}
                onRendered={onRendered ? () => onRendered(id) : undefined}
              />
            </div>
          </Suspense>
        </ChartErrorBoundary>
      )}
      {note && !empty && <p className="chart-note">{note}</p>}
    </figure>
  );
}
