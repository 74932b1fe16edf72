// Pure functions that turn API answers into chart-ready data. Kept free of React and Plotly so
// they can be tested directly and memoised by the view.
import type { LiveEventData, MetricEvent } from "../api/events";
import type { MetricsPublic, PocPublic, PocState, RunPublic, RunState, Series, TaskType, XAxis } from "../api/types";
import type { MethodCatalogue } from "../methods/catalogue";

export interface Trace {
  runId: string;
  method: string;
  color: string;
  x: number[];
  y: (number | null)[]; // null: a non-finite value, drawn as a gap
}

const EMPTY: Series = { x: [], y: [] };

/**
 * The run each chart shows for a method: the newest one (a retry replaces the run it retried), in the
 * registry's display order, so legends and colours read the same everywhere.
 */
export function chartRuns(runs: RunPublic[], methods: MethodCatalogue): RunPublic[] {
  const newest = new Map<string, RunPublic>();
  for (const run of runs) {
    const seen = newest.get(run.method);
    if (!seen || run.created_at > seen.created_at) newest.set(run.method, run);
  }
  return methods.sortBy([...newest.values()], (run) => run.method);
}

/** One trace per method for one metric, in the method's colour; a method without points gets an empty trace. */
export function tracesFor(
  metrics: MetricsPublic | undefined,
  runs: RunPublic[],
  metric: string,
  methods: MethodCatalogue,
): Trace[] {
  return chartRuns(runs, methods).map((run) => {
    const series = metrics?.runs[run.id]?.[metric] ?? EMPTY;
    return { runId: run.id, method: run.method, color: methods.color(run.method), x: series.x, y: series.y };
  });
}

/** Where a chart marks that a run was resumed after losing its worker: one vertical line per resumption. */
export interface ResumptionMark {
  x: number;
  method: string;
  color: string;
}

/**
 * The resumption marks of the runs shown, on the chart's x axis: the step a resumed run continued from (in
 * forward passes: two a step for zeroth-order methods, one for backprop). On the wall-clock axis a resumed
 * run's next point simply follows its last: the gap in time is the time it waited, so no mark is drawn.
 */
export function resumptionMarks(runs: RunPublic[], methods: MethodCatalogue, axis: XAxis): ResumptionMark[] {
  if (axis === "elapsed_s") return [];
  return chartRuns(runs, methods).flatMap((run) =>
    (run.resumed_at_steps ?? []).map((step) => ({
      x: axis === "forward_passes" ? step * (methods.isZerothOrder(run.method) ? 2 : 1) : step,
      method: run.method,
      color: methods.color(run.method),
    })),
  );
}

/** One memory trace per method, each of its run's own memory kind (the metric the API names for the run). */
export function memoryTraces(metrics: MetricsPublic | undefined, runs: RunPublic[], methods: MethodCatalogue): Trace[] {
  return chartRuns(runs, methods).map((run) => {
    const series = metrics?.runs[run.id]?.[run.memory_metric] ?? EMPTY;
    return { runId: run.id, method: run.method, color: methods.color(run.method), x: series.x, y: series.y };
  });
}

export type MemoryKind = NonNullable<RunPublic["memory_kind"]>;

/** The memory kinds of the runs shown, in display order, each once. */
export function memoryKinds(runs: RunPublic[], methods: MethodCatalogue): MemoryKind[] {
  const kinds: MemoryKind[] = [];
  for (const run of chartRuns(runs, methods)) {
    if (run.memory_kind && !kinds.includes(run.memory_kind)) kinds.push(run.memory_kind);
  }
  return kinds;
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
export function expandBatch(data: LiveEventData["metric"] | MetricEvent): MetricEvent[] {
  if (!("points" in data)) return [data];
  return data.points.map((point) => ({ ...point, run_id: data.run_id }));
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

/** What a PoC trains, from its settings: a PoC from before generation PoCs has none and classifies. */
export function taskTypeOf(poc: Pick<PocPublic, "settings">): TaskType {
  return poc.settings.task_type === "generation" ? "generation" : "classification";
}

/**
 * Final headline score of a run in 0..1 (the last evaluation), or null while it has none: accuracy, or a
 * generation run's exact match (its `acc_end` is the exact match too).
 */
export function finalAccuracy(run: RunPublic | undefined): number | null {
  const m = run?.final_metrics;
  if (!m) return null;
  const value = m["eval/accuracy"] ?? m["eval/exact_match"] ?? m["acc_end"];
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

export function startAccuracy(run: RunPublic | undefined): number | null {
  const value = run?.final_metrics?.["acc_start"];
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

/** What the summary compares: the PoC's method the product is about and the baseline it is measured against. */
export interface Pairing {
  method: string; // the first zeroth-order method of the PoC, in display order
  baseline: string; // the first first-order (backpropagation) method of the PoC, in display order
}

/** The pairing of the PoC's methods, from their kinds in the registry; null without one of each. */
export function pairingOf(runs: RunPublic[], methods: MethodCatalogue): Pairing | null {
  const shown = chartRuns(runs, methods).map((run) => run.method);
  const method = shown.find((id) => methods.isZerothOrder(id) === true);
  const baseline = shown.find((id) => methods.isZerothOrder(id) === false);
  return method && baseline ? { method, baseline } : null;
}

/**
 * How many times the memory of the method the baseline needs (peak memory of the newest run of each). A
 * cancelled or failed run may have stopped before its peak, so it gives no ratio.
 */
export function memoryRatio(runs: RunPublic[], pairing: Pairing | null, methods: MethodCatalogue): number | null {
  if (!pairing) return null;
  const shown = chartRuns(runs, methods).filter((r) => r.state !== "cancelled" && r.state !== "failed");
  const baselineRun = shown.find((r) => r.method === pairing.baseline);
  const methodRun = shown.find((r) => r.method === pairing.method);
  if (!sameMemoryKind(baselineRun, methodRun)) return null;
  const baseline = baselineRun?.peak_memory_mb;
  const method = methodRun?.peak_memory_mb;
  if (baseline == null || method == null || method <= 0) return null;
  return baseline / method;
}

/** Whether two runs' memory figures can be compared: of one kind (runs that name none are taken as alike). */
export function sameMemoryKind(a: RunPublic | undefined, b: RunPublic | undefined): boolean {
  return !a?.memory_kind || !b?.memory_kind || a.memory_kind === b.memory_kind;
}

/** The method's final accuracy minus the baseline's, in percentage points; null until both have succeeded. */
export function accuracyGapPoints(runs: RunPublic[], pairing: Pairing | null, methods: MethodCatalogue): number | null {
  if (!pairing) return null;
  const shown = chartRuns(runs, methods);
  const method = shown.find((r) => r.method === pairing.method && r.state === "succeeded");
  const baseline = shown.find((r) => r.method === pairing.baseline && r.state === "succeeded");
  const a = finalAccuracy(method);
  const b = finalAccuracy(baseline);
  if (a == null || b == null) return null;
  return (a - b) * 100;
}

export interface PeakBar {
  method: string;
  color: string;
  baselineMb: number;
  trainingMb: number;
  peakMb: number;
  kind: MemoryKind | null;
}

/** Peak memory per method, split into what loading the model took and what training added (one kind each). */
export function peakBars(runs: RunPublic[], methods: MethodCatalogue): PeakBar[] {
  return chartRuns(runs, methods)
    .filter((run) => run.peak_memory_mb != null)
    .map((run) => {
      const peak = run.peak_memory_mb!;
      const baseline = Math.min(run.baseline_memory_mb ?? 0, peak);
      return {
        method: run.method,
        color: methods.color(run.method),
        baselineMb: baseline,
        trainingMb: peak - baseline,
        peakMb: peak,
        kind: run.memory_kind ?? null,
      };
    });
}

export const TERMINAL_STATES: ReadonlySet<RunState> = new Set(["succeeded", "failed", "cancelled"]);

/** Whether the PoC still has work queued or running, from the state the server keeps for it. */
export function isActive(state: PocState): boolean {
  return state === "queued" || state === "running";
}
