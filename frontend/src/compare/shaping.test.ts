import { describe, expect, it } from "vitest";
import type { MetricEvent } from "../api/events";
import type { MetricsPublic, RunPublic } from "../api/types";
import { UNKNOWN_METHOD_COLOR } from "../methods/catalogue";
import { BUILTIN_METHODS, testCatalogue, ZO_SIGN } from "../test/methods";
import {
  accuracyGapPoints,
  appendEvents,
  chartRuns,
  expandBatch,
  memoryKinds,
  memoryRatio,
  memoryTraces,
  pairingOf,
  peakBars,
  resumptionMarks,
  sharedXRange,
  tracesFor,
} from "./shaping";
import { advanceRuns, applyPocState, mergeRun } from "./useLiveEvents";

const methods = testCatalogue();

function run(id: string, method: RunPublic["method"], patch: Partial<RunPublic> = {}): RunPublic {
  return {
    id,
    poc_id: "p1",
    method,
    hyperparams: {},
    state: "succeeded",
    cancel_requested: false,
    progress: 1,
    step: 10,
    total_steps: 10,
    forward_passes: 10,
    attempt: 1,
    queue: "cpu",
    created_at: "2026-11-28T10:00:00Z",
    started_at: null,
    finished_at: null,
    worker: null,
    device: "cpu",
    peak_memory_mb: null,
    baseline_memory_mb: null,
    memory_kind: null,
    memory_added_mb: null,
    memory_metric: "memory/peak_rss_mb",
    final_metrics: null,
    error: null,
    error_code: null,
    error_params: {},
    ...patch,
  };
}

const metrics: MetricsPublic = {
  x: "step",
  runs: {
    a: { "train/loss": { x: [1, 2, 3], y: [0.9, 0.8, 0.7] } },
    l: { "train/loss": { x: [1, 2], y: [0.7, 0.6] }, "eval/accuracy": { x: [0, 2], y: [0.5, 0.6] } },
    m: { "train/loss": { x: [5, 9], y: [1, 1] } },
  },
};

describe("chart data shaping", () => {
  it("gives one trace per method in the registry's display order, in the registry's colour", () => {
    const runs = [run("a", "adamw"), run("m", "mezo"), run("l", "lozo")];
    const traces = tracesFor(metrics, runs, "train/loss", methods);
    expect(traces.map((t) => t.method)).toEqual(["lozo", "adamw", "mezo"]);
    expect(traces.map((t) => t.color)).toEqual(["#0072B2", "#D55E00", "#009E73"]);
    expect(traces[1]).toMatchObject({ runId: "a", x: [1, 2, 3], y: [0.9, 0.8, 0.7] });
  });

  it("keeps the colours the same for every metric and whatever the run order", () => {
    const a = tracesFor(metrics, [run("a", "adamw"), run("l", "lozo")], "train/loss", methods);
    const b = tracesFor(metrics, [run("l", "lozo"), run("a", "adamw")], "eval/accuracy", methods);
    expect(a.map((t) => [t.method, t.color])).toEqual(b.map((t) => [t.method, t.color]));
  });

  it("draws a method added by a plug-in in its registry colour, where the registry orders it", () => {
    const withPlugin = testCatalogue([...BUILTIN_METHODS, ZO_SIGN]);
    const runs = [run("z", ZO_SIGN.method), run("a", "adamw"), run("m", "mezo")];
    const traces = tracesFor(
      { x: "step", runs: { z: { "train/loss": { x: [1], y: [0.5] } } } },
      runs,
      "train/loss",
      withPlugin,
    );
    expect(traces.map((t) => [t.method, t.color])).toEqual([
      ["adamw", "#D55E00"],
      ["mezo", "#009E73"],
      ["zo_sign", "#123456"],
    ]);
    expect(peakBars([run("z", "zo_sign", { peak_memory_mb: 10 })], withPlugin)[0]!.color).toBe("#123456");
  });

  it("draws a method the registry no longer has in grey, after the known ones", () => {
    const traces = tracesFor(metrics, [run("x", "removed_plugin"), run("l", "lozo")], "train/loss", methods);
    expect(traces.map((t) => [t.method, t.color])).toEqual([
      ["lozo", "#0072B2"],
      ["removed_plugin", UNKNOWN_METHOD_COLOR],
    ]);
    expect(methods.label("removed_plugin")).toBe("removed_plugin");
  });

  it("shows a retried method once, by its newest run", () => {
    const runs = [
      run("old", "lozo", { created_at: "2026-11-28T10:00:00Z", state: "failed" }),
      run("l", "lozo", { created_at: "2026-11-28T11:00:00Z" }),
      run("a", "adamw"),
    ];
    expect(chartRuns(runs, methods).map((r) => r.id)).toEqual(["l", "a"]);
  });

  it("gives a method without points an empty trace (it stays in the legend)", () => {
    const traces = tracesFor(metrics, [run("l", "lozo"), run("a", "adamw")], "eval/accuracy", methods);
    expect(traces.map((t) => t.x.length)).toEqual([2, 0]);
  });

  it("shares one x range across the charts", () => {
    const groups = [tracesFor(metrics, [run("a", "adamw"), run("m", "mezo")], "train/loss", methods), []];
    expect(sharedXRange(groups)).toEqual([1, 9]);
    expect(sharedXRange([[]])).toBeNull();
  });

  it("appends live points on the answer's own x axis and drops repeats", () => {
    const event = (step: number, loss: number): MetricEvent => ({
      run_id: "l",
      step,
      elapsed_s: step * 0.5,
      forward_passes: step * 2,
      values: { "train/loss": loss, "zo/projected_grad": 3 },
    });
    const byStep = appendEvents(metrics, [event(2, 0.1), event(3, 0.5), event(4, 0.4)], ["train/loss"]);
    expect(byStep.runs.l!["train/loss"]).toEqual({ x: [1, 2, 3, 4], y: [0.7, 0.6, 0.5, 0.4] });
    expect(byStep.runs.l!["zo/projected_grad"]).toBeUndefined();
    expect(metrics.runs.l!["train/loss"]!.x).toEqual([1, 2]); // the cached answer is not mutated

    const byPasses = appendEvents({ x: "forward_passes", runs: {} }, [event(3, 0.5)], ["train/loss"]);
    expect(byPasses.runs.l!["train/loss"]).toEqual({ x: [6], y: [0.5] });
    const byTime = appendEvents({ x: "elapsed_s", runs: {} }, [event(3, 0.5)], ["train/loss"]);
    expect(byTime.runs.l!["train/loss"]!.x).toEqual([1.5]);
  });

  it("thins a long live series instead of letting it grow without bound", () => {
    const events = Array.from({ length: 101 }, (_, i) => ({
      run_id: "r",
      step: i + 1,
      elapsed_s: i,
      forward_passes: i,
      values: { "train/loss": i },
    }));
    const out = appendEvents({ x: "step", runs: {} }, events, ["train/loss"], 100);
    const series = out.runs.r!["train/loss"]!;
    expect(series.x.length).toBeLessThanOrEqual(100);
    expect(series.x[0]).toBe(1);
    expect(series.x[series.x.length - 1]).toBe(101);
  });

  it("writes the AdamW/LOZO memory ratio and the accuracy gap from the newest runs", () => {
    const runs = [
      run("l", "lozo", { peak_memory_mb: 400, baseline_memory_mb: 300, final_metrics: { "eval/accuracy": 0.8 } }),
      run("a", "adamw", { peak_memory_mb: 840, baseline_memory_mb: 300, final_metrics: { "eval/accuracy": 0.85 } }),
    ];
    const pairing = pairingOf(runs, methods);
    expect(pairing).toEqual({ method: "lozo", baseline: "adamw" });
    expect(memoryRatio(runs, pairing, methods)).toBeCloseTo(2.1);
    expect(accuracyGapPoints(runs, pairing, methods)).toBeCloseTo(-5);
    expect(peakBars(runs, methods).map((b) => [b.method, b.baselineMb, b.trainingMb])).toEqual([
      ["lozo", 300, 100],
      ["adamw", 300, 540],
    ]);
  });

  it("draws each run's memory in its own kind and never compares two kinds", () => {
    const gpu = {
      memory_kind: "cuda_allocated" as const,
      memory_metric: "memory/cuda_peak_allocated_mb",
      device: "cuda",
    };
    const runs = [
      run("l", "lozo", { ...gpu, peak_memory_mb: 300, baseline_memory_mb: 250 }),
      run("a", "adamw", { memory_kind: "host_rss", peak_memory_mb: 900, baseline_memory_mb: 450 }),
    ];
    const perRun: MetricsPublic = {
      x: "step",
      runs: {
        l: {
          "memory/peak_rss_mb": { x: [1], y: [700] },
          "memory/cuda_peak_allocated_mb": { x: [1, 2], y: [280, 300] },
        },
        a: { "memory/peak_rss_mb": { x: [1], y: [900] } },
      },
    };
    expect(memoryTraces(perRun, runs, methods).map((tr) => [tr.method, tr.y])).toEqual([
      ["lozo", [280, 300]],
      ["adamw", [900]],
    ]);
    expect(memoryKinds(runs, methods)).toEqual(["cuda_allocated", "host_rss"]);
    expect(memoryRatio(runs, pairingOf(runs, methods), methods)).toBeNull();
    expect(peakBars(runs, methods).map((b) => [b.method, b.kind, b.baselineMb, b.trainingMb])).toEqual([
      ["lozo", "cuda_allocated", 250, 50],
      ["adamw", "host_rss", 450, 450],
    ]);
    const bothGpu = [runs[0]!, run("a", "adamw", { ...gpu, peak_memory_mb: 600, baseline_memory_mb: 250 })];
    expect(memoryRatio(bothGpu, pairingOf(bothGpu, methods), methods)).toBeCloseTo(2);
  });

  it("gives no accuracy gap until both runs succeeded, and no ratio without both memories", () => {
    const runs = [
      run("l", "lozo", { state: "cancelled", final_metrics: { "eval/accuracy": 0.8 }, peak_memory_mb: 400 }),
      run("a", "adamw", { final_metrics: { "eval/accuracy": 0.85 } }),
    ];
    const pairing = pairingOf(runs, methods);
    expect(accuracyGapPoints(runs, pairing, methods)).toBeNull();
    expect(memoryRatio(runs, pairing, methods)).toBeNull();
  });

  it("pairs the first zeroth-order method with the first backpropagation one, by the registry's kinds", () => {
    expect(pairingOf([run("m", "mezo"), run("l", "lozo_m")], methods)).toBeNull();
    expect(pairingOf([run("m", "mezo"), run("a", "adamw"), run("l", "lozo_m")], methods)).toEqual({
      method: "lozo_m",
      baseline: "adamw",
    });
  });
});

describe("live run updates", () => {
  const poc = {
    id: "p1",
    name: "p",
    model: "minilm",
    dataset_id: "d",
    dataset_name: "d",
    state: "queued" as const,
    created_at: "2026-11-28T10:00:00Z",
    created_by: "me",
    settings: {},
    last_event_seq: 0,
    runs: [
      run("l", "lozo", { state: "queued", step: 0, progress: 0 }),
      run("a", "adamw", { state: "queued", step: 0, progress: 0 }),
    ],
  };

  it("merges a run event and leaves the PoC's state to the server", () => {
    const next = mergeRun(poc, run("l", "lozo", { state: "running", step: 0, progress: 0 }));
    expect(next.runs[0]!.state).toBe("running");
    expect(next.state).toBe("queued"); // until the server's `poc` event says otherwise
    const retried = mergeRun(next, run("l2", "lozo", { state: "queued" }));
    expect(retried.runs.map((r) => r.id)).toEqual(["l", "a", "l2"]);
  });

  it("takes the PoC's state from the server's poc event, for this PoC only", () => {
    const running = applyPocState(poc, { id: "p1", state: "running" });
    expect(running.state).toBe("running");
    expect(applyPocState(running, { id: "p1", state: "mixed" }).state).toBe("mixed");
    expect(applyPocState(running, { id: "other", state: "failed" })).toBe(running);
  });

  it("moves a running run's step and progress on with its metric points", () => {
    const running = mergeRun(poc, run("l", "lozo", { state: "running", step: 0, progress: 0, total_steps: 10 }));
    const next = advanceRuns(running, [
      { run_id: "l", step: 4, elapsed_s: 1, forward_passes: 8, values: {} },
      { run_id: "l", step: 5, elapsed_s: 1, forward_passes: 10, values: {} },
    ]);
    expect(next.runs[0]).toMatchObject({ step: 5, forward_passes: 10, progress: 0.5 });
    expect(next.runs[1]).toBe(running.runs[1]);
  });
});

describe("expandBatch", () => {
  it("turns one batched metric event into its points, in order, each with the run id", () => {
    const batch = {
      run_id: "r1",
      points: [
        { step: 1, elapsed_s: 0.5, forward_passes: 2, values: { "train/loss": 0.9 } },
        { step: 2, elapsed_s: 1.0, forward_passes: 4, values: { "train/loss": 0.8 } },
      ],
    };
    expect(expandBatch(batch)).toEqual([
      { run_id: "r1", step: 1, elapsed_s: 0.5, forward_passes: 2, values: { "train/loss": 0.9 } },
      { run_id: "r1", step: 2, elapsed_s: 1.0, forward_passes: 4, values: { "train/loss": 0.8 } },
    ]);
    expect(expandBatch({ run_id: "r1", points: [] })).toEqual([]);
  });

  it("feeds appendEvents so a batch lands on the chart like its points would", () => {
    const batch = {
      run_id: "r1",
      points: [2, 3].map((step) => ({
        step,
        elapsed_s: step,
        forward_passes: step,
        values: { "train/loss": step / 10 },
      })),
    };
    const out = appendEvents({ x: "step", runs: {} }, expandBatch(batch), ["train/loss"]);
    expect(out.runs["r1"]!["train/loss"]).toEqual({ x: [2, 3], y: [0.2, 0.3] });
  });

  it("passes a single point (the older per-point shape) through", () => {
    const point: MetricEvent = { run_id: "r1", step: 5, elapsed_s: 1, forward_passes: 10, values: {} };
    expect(expandBatch(point)).toEqual([point]);
  });
});

describe("resumptionMarks", () => {
  const resumed = (method: string, steps: number[]) => run(`r-${method}`, method, { resumed_at_steps: steps });

  it("marks each resumption at its step, in forward passes two a step for ZO, and not on the clock axis", () => {
    const runs = [resumed("lozo", [40, 90]), resumed("adamw", [50])];
    expect(resumptionMarks(runs, methods, "step").map((m) => [m.method, m.x])).toEqual([
      ["lozo", 40],
      ["lozo", 90],
      ["adamw", 50],
    ]);
    expect(resumptionMarks(runs, methods, "forward_passes").map((m) => m.x)).toEqual([80, 180, 50]);
    expect(resumptionMarks(runs, methods, "elapsed_s")).toEqual([]);
    expect(resumptionMarks(runs, methods, "step")[0]?.color).toBe(methods.color("lozo"));
  });
});
