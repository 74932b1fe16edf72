import type { Data, Layout } from "plotly.js";
import { useCallback, useMemo, useRef } from "react";
import { useTranslation } from "react-i18next";
import type { MetricsPublic, RunPublic, TaskType, XAxis } from "../api/types";
import { useMethods } from "../methods/useMethods";
import { Chart } from "./Chart";
import { memoryKinds, memoryTraces, peakBars, resumptionMarks, sharedXRange, tracesFor, type Trace } from "./shaping";

// SVG lines, not WebGL (scattergl): with at most 2,000 points per series (4,000 while live) SVG draws
// fast enough, looks crisp on a projector, and needs no GPU in the browser.
function lineData(traces: Trace[], methodName: (m: string) => string, yScale = 1): Data[] {
  return traces.map((trace) => ({
    type: "scatter",
    mode: trace.x.length === 1 ? "markers" : "lines",
    name: methodName(trace.method),
    legendgroup: trace.method,
    x: trace.x,
    y: yScale === 1 ? trace.y : trace.y.map((v) => (v == null ? null : v * yScale)),
    line: { color: trace.color, width: 2.5 },
    marker: { color: trace.color, size: 7 },
    meta: { method: trace.method, runId: trace.runId },
  }));
}

interface Props {
  metrics: MetricsPublic | undefined;
  runs: RunPublic[];
  axis: XAxis;
  /** Whether runs are still going: an empty chart then means "not yet", otherwise "never". */
  active: boolean;
  /** What the PoC trains: a generation PoC charts exact match, token F1 and the evaluation loss instead of accuracy. */
  taskType?: TaskType;
}

interface ChartSpec {
  id: string;
  title: string;
  data: Data[];
  layout: Partial<Layout>;
  empty: boolean;
}

/**
 * The three line charts (loss, memory, accuracy) on one shared x range, plus peak memory as bars. A generation
 * PoC's evaluation charts are exact match, token F1 and the loss on the completion tokens instead of accuracy.
 * Records `zopoc:charts-drawn` (performance.measure from `zopoc:metrics-arrived`) once all charts
 * have drawn the newest data, which is how the render time is measured.
 */
export function ComparisonCharts({ metrics, runs, axis, active, taskType = "classification" }: Props) {
  const { t } = useTranslation();
  const methods = useMethods();
  const methodName = methods.label;

  const shaped = useMemo(() => {
    const loss = tracesFor(metrics, runs, "train/loss", methods);
    const memory = memoryTraces(metrics, runs, methods);
    const generation = taskType === "generation";
    // A generation run's headline score is its exact match: it takes the accuracy chart's place.
    const accuracy = tracesFor(metrics, runs, generation ? "eval/exact_match" : "eval/accuracy", methods);
    const f1 = generation ? tracesFor(metrics, runs, "eval/f1", methods) : [];
    const evalLoss = generation ? tracesFor(metrics, runs, "eval/loss", methods) : [];
    return {
      loss,
      memory,
      accuracy,
      f1,
      evalLoss,
      range: sharedXRange([loss, memory, accuracy, f1, evalLoss]),
      bars: peakBars(runs, methods),
      kinds: memoryKinds(runs, methods),
      marks: resumptionMarks(runs, methods, axis),
    };
  }, [metrics, runs, methods, axis, taskType]);

  // A run that lost its worker and continued is marked where it resumed (a dotted line in its colour), so
  // the continuation reads as one run, not as a gap or a second attempt.
  const resumedText = t("compare.chart.resumed");
  const marks = useMemo<Partial<Layout>>(
    () => ({
      shapes: shaped.marks.map((m) => ({
        type: "line",
        xref: "x",
        yref: "paper",
        x0: m.x,
        x1: m.x,
        y0: 0,
        y1: 1,
        line: { color: m.color, width: 1.5, dash: "dot" },
      })),
      annotations: shaped.marks.map((m) => ({
        x: m.x,
        xref: "x",
        y: 1,
        yref: "paper",
        yanchor: "bottom",
        text: resumedText,
        showarrow: false,
        font: { size: 11, color: m.color },
      })),
    }),
    [shaped.marks, resumedText],
  );

  const xTitle = t(`compare.x.${axis}`);
  const xaxis = useMemo<Partial<Layout["xaxis"]>>(
    () => ({
      title: { text: xTitle },
      range: shaped.range ?? undefined,
      autorange: shaped.range ? false : true,
      gridcolor: "#e3e3e3",
      zeroline: false,
    }),
    [xTitle, shaped.range],
  );

  // Which kind of memory the figures are (host RSS on CPU, tensor allocation on a GPU), in every title.
  const kindText = shaped.kinds.map((kind) => t(`compare.memoryKind.${kind}`)).join(", ");
  const withKind = useCallback((title: string) => (kindText ? `${title} — ${kindText}` : title), [kindText]);

  const charts = useMemo((): ChartSpec[] => {
    // A score in 0..1 on a percent axis from zero (accuracy, exact match, token F1).
    const scoreChart = (id: string, title: string, axisTitle: string, traces: Trace[]): ChartSpec => ({
      id,
      title,
      data: lineData(traces, methodName),
      layout: {
        ...marks,
        xaxis,
        yaxis: { title: { text: axisTitle }, tickformat: ".0%", rangemode: "tozero", gridcolor: "#e3e3e3" },
      },
      empty: traces.every((tr) => tr.x.length === 0),
    });
    const evaluation: ChartSpec[] =
      taskType === "generation"
        ? [
            scoreChart(
              "exact_match",
              t("compare.chart.exactMatch"),
              t("compare.chart.exactMatchAxis"),
              shaped.accuracy,
            ),
            scoreChart("f1", t("compare.chart.f1"), t("compare.chart.f1Axis"), shaped.f1),
            {
              id: "eval_loss",
              title: t("compare.chart.evalLoss"),
              data: lineData(shaped.evalLoss, methodName),
              layout: {
                ...marks,
                xaxis,
                yaxis: { title: { text: t("compare.chart.lossAxis") }, gridcolor: "#e3e3e3" },
              },
              empty: shaped.evalLoss.every((tr) => tr.x.length === 0),
            },
          ]
        : [scoreChart("accuracy", t("compare.chart.accuracy"), t("compare.chart.accuracyAxis"), shaped.accuracy)];
    return [
      {
        id: "loss",
        title: t("compare.chart.loss"),
        data: lineData(shaped.loss, methodName),
        layout: { ...marks, xaxis, yaxis: { title: { text: t("compare.chart.lossAxis") }, gridcolor: "#e3e3e3" } },
        empty: shaped.loss.every((tr) => tr.x.length === 0),
      },
      ...evaluation,
      {
        id: "memory",
        title: withKind(t("compare.chart.memory")),
        data: lineData(shaped.memory, methodName),
        layout: {
          ...marks,
          xaxis,
          yaxis: { title: { text: t("compare.chart.memoryAxis") }, rangemode: "tozero", gridcolor: "#e3e3e3" },
        },
        empty: shaped.memory.every((tr) => tr.x.length === 0),
      },
      {
        id: "peak",
        title: withKind(t("compare.chart.peak")),
        data: [
          {
            type: "bar",
            name: t("compare.chart.baseline"),
            x: shaped.bars.map((b) => methodName(b.method)),
            y: shaped.bars.map((b) => b.baselineMb),
            marker: { color: shaped.bars.map((b) => b.color), opacity: 0.45 },
            customdata: shaped.bars.map((b) => (b.kind ? t(`compare.memoryKind.${b.kind}`) : "")),
            hovertemplate: "%{y:.0f} MB %{customdata}<extra>%{fullData.name}</extra>",
          },
          {
            type: "bar",
            name: t("compare.chart.training"),
            x: shaped.bars.map((b) => methodName(b.method)),
            y: shaped.bars.map((b) => b.trainingMb),
            marker: { color: shaped.bars.map((b) => b.color) },
            text: shaped.bars.map((b) => `${Math.round(b.peakMb)} MB`),
            textposition: "outside",
            customdata: shaped.bars.map((b) => (b.kind ? t(`compare.memoryKind.${b.kind}`) : "")),
            hovertemplate: "%{y:.0f} MB %{customdata}<extra>%{fullData.name}</extra>",
          },
        ],
        layout: {
          barmode: "stack",
          showlegend: false, // per-method colours: the note under the chart explains pale vs solid
          hovermode: "closest",
          yaxis: { title: { text: t("compare.chart.memoryAxis") }, rangemode: "tozero", gridcolor: "#e3e3e3" },
        },
        empty: shaped.bars.length === 0,
      },
    ];
  }, [shaped, xaxis, marks, methodName, t, withKind, taskType]);

  // Render-time measurement: once per page, from the first metrics answer to the moment every chart
  // with data has been drawn by Plotly ("zopoc:compare-render", read by the browser test).
  const drawn = useRef(new Set<string>());
  const expectedKey = charts
    .filter((c) => !c.empty)
    .map((c) => c.id)
    .join();
  const onRendered = useCallback(
    (id: string) => {
      if (performance.getEntriesByName("zopoc:compare-render").length) return;
      const arrived = performance.getEntriesByName("zopoc:metrics-arrived")[0];
      if (!arrived) return;
      drawn.current.add(id);
      performance.mark(`zopoc:chart-drawn:${id}`);
      if (expectedKey.split(",").every((e) => drawn.current.has(e))) {
        performance.measure("zopoc:compare-render", { start: arrived.startTime, end: performance.now() });
      }
    },
    [expectedKey],
  );

  return (
    <div className="charts-grid">
      {charts.map((c) => (
        <Chart
          key={c.id}
          id={c.id}
          title={c.title}
          data={c.data}
          layout={c.layout}
          empty={c.empty}
          emptyText={active ? undefined : t("compare.chart.noPoints")}
          note={c.id === "peak" ? t("compare.chart.peakNote") : undefined}
          onRendered={onRendered}
        />
      ))}
    </div>
  );
}
