// Pure functions that turn API answers into chart-ready data. Kept free of React and Plotly so
// they can be tested directly and memoised by the view.
import type { MethodId, MetricBatchEvent, MetricEvent, MetricsPublic, RunPublic, Series, XAxis } from "../api/types";
import { methodColor, methodRank } from "./colors";

export interface Trace {
  runId: string;
  method: MethodId;
  color: string;
  x: number[];
  y: (number | null)[]; // null: a non-finite value, drawn as a gap
}

const EMPTY: Series = { x: [], y: [] };

/**
 * The run each chart shows for a method: the newest one (a retry replaces the run it retried),
 * ordered LOZO, AdamW, then the others, so legends and colours read the same everywhere.
 */
export function chartRuns(runs: RunPublic[]): RunPublic[] {
  const newest = new Map<MethodId, RunPublic>();
  for (const run of runs) {
    const seen = newest.get(run.method);
    if (!seen || run.created_at > seen.created_at) newest.set(run.method, run);
  }
  return [...newest.values()].sort((a, b) => methodRank(a.method) - methodRank(b.method));
}

/** One trace per method for one metric; a method without points yet gets an empty trace. */
export function tracesFor(metrics: MetricsPublic | undefined, runs: RunPublic[], metric: string): Trace[] {
  return chartRuns(runs).map((run) => {
    const series = metrics?.runs[run.id]?.[metric] ?? EMPTY;
    return { runId: run.id, method: run.method, color: methodColor(run.method), x: series.x, y: series.y };
  });
}

/** The x range covering every trace of every chart, so the charts line up under each other. */
export function sharedXRange(traceGroups: Trace[][]): [number, number] | null {
  let lo = Infinity;
  let hi = -Infinity;
  for (const group of traceGroups) {
    for (const trace of group) {
      const n = trace.x.length;
      if (n === 0) continue;
      // Series arrive sorted by x, so the ends are the extremes.
      lo = Math.min(lo, trace.x[0]!);
      hi = Math.max(hi, trace.x[n - 1]!);
    }
  }
  if (!Number.isFinite(lo)) return null;
  return lo === hi ? [lo, lo + 1] : [lo, hi];
}

/**
 * The points of one SSE `metric` event (a stored batch: `{run_id, points}`) as single metric events, in
 * order. A single point (the shape the stream sent before batching) passes through as it is.
 */
export function expandBatch(data: MetricBatchEvent | MetricEvent): MetricEvent[] {
  if (!("points" in data)) return [data];
  return (data.points ?? []).map((point) => ({ ...point, run_id: data.run_id }));
}

/** The x value of a live metric event on the chosen axis. */
export function eventX(event: MetricEvent, axis: XAxis): number {
  return axis === "step" ? event.step : axis === "elapsed_s" ? event.elapsed_s : event.forward_passes;
}

/** Keeps every other point (and always the last) once a live series grows past the cap. */
function thin(series: Series, cap: number): Series {
  if (series.x.length <= cap) return series;
  const x: number[] = [];
  const y: number[] = [];
  for (let i = 0; i < series.x.length; i += 2) {
    x.push(series.x[i]!);
    y.push(series.y[i]!);
  }
  const last = series.x.length - 1;
  if (last % 2 === 1) {
    x.push(series.x[last]!);
    y.push(series.y[last]!);
  }
  return { x, y };
}

/**
 * Appends live metric events to a metrics answer without mutating it. Points at or before the last
 * x of their series are dropped: after a reconnect the stream may repeat what the answer holds.
 */
export function appendEvents(
  data: MetricsPublic,
  events: MetricEvent[],
  names: readonly string[],
  cap = 4000,
): MetricsPublic {
  if (events.length === 0) return data;
  const runs: Record<string, Record<string, Series>> = { ...data.runs };
  const copied = new Set<string>();
  for (const event of events) {
    const x = eventX(event, data.x);
    for (const name of names) {
      const value = event.values[name];
      if (value == null || !Number.isFinite(value)) continue;
      const key = `${event.run_id}\u0000${name}`;
      const perRun = (runs[event.run_id] = copied.has(event.run_id) ? runs[event.run_id]! : { ...runs[event.run_id] });
      copied.add(event.run_id);
      let series = perRun[name] ?? { x: [], y: [] };
      const lastX = series.x.length ? series.x[series.x.length - 1]! : -Infinity;
      if (x <= lastX) continue;
      if (!copied.has(key)) {
        series = { x: [...series.x], y: [...series.y] };
        copied.add(key);
      }
      series.x.push(x);
      series.y.push(value);
      perRun[name] = series;
    }
  }
  for (const runId of new Set(events.map((e) => e.run_id))) {
    const perRun = runs[runId];
    if (!perRun) continue;
    for (const [name, series] of Object.entries(perRun)) perRun[name] = thin(series, cap);
  }
  return { ...data, runs };
}

/** Final accuracy of a run in 0..1 (the last evaluation), or null while it has none. */
export function finalAccuracy(run: RunPublic | undefined): number | null {
  const m = run?.final_metrics;
  if (!m) return null;
  const value = m["eval/accuracy"] ?? m["acc_end"];
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

export function startAccuracy(run: RunPublic | undefined): number | null {
  const value = run?.final_metrics?.["acc_start"];
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

/**
 * How many times the memory of LOZO AdamW needs (peak memory of the newest run of each). A cancelled or
 * failed run may have stopped before its peak, so it gives no ratio.
 */
export function memoryRatio(runs: RunPublic[]): number | null {
  const shown = chartRuns(runs).filter((r) => r.state !== "cancelled" && r.state !== "failed");
  const adamw = shown.find((r) => r.method === "adamw")?.peak_memory_mb;
  const lozo = shown.find((r) => r.method === "lozo")?.peak_memory_mb;
  if (adamw == null || lozo == null || lozo <= 0) return null;
  return adamw / lozo;
}

/** LOZO's final accuracy minus AdamW's, in percentage points; null until both have succeeded. */
export function accuracyGapPoints(runs: RunPublic[]): number | null {
  const shown = chartRuns(runs);
  const lozo = shown.find((r) => r.method === "lozo" && r.state === "succeeded");
  const adamw = shown.find((r) => r.method === "adamw" && r.state === "succeeded");
  const a = finalAccuracy(lozo);
  const b = finalAccuracy(adamw);
  if (a == null || b == null) return null;
  return (a - b) * 100;
}

export interface PeakBar {
  method: MethodId;
  color: string;
  baselineMb: number;
  trainingMb: number;
  peakMb: number;
}

/** Peak memory per method, split into what loading the model took and what training added. */
export function peakBars(runs: RunPublic[]): PeakBar[] {
  return chartRuns(runs)
    .filter((run) => run.peak_memory_mb != null)
    .map((run) => {
      const peak = run.peak_memory_mb!;
      const baseline = Math.min(run.baseline_memory_mb ?? 0, peak);
      return {
        method: run.method,
        color: methodColor(run.method),
        baselineMb: baseline,
        trainingMb: peak - baseline,
        peakMb: peak,
      };
    });
}

export const TERMINAL_STATES = new Set(["succeeded", "failed", "cancelled"]);

export function isActive(runs: RunPublic[]): boolean {
  return runs.some((run) => !TERMINAL_STATES.has(run.state));
}
