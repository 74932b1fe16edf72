import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState } from "react";
import { queryKeys } from "../api/keys";
import { CHART_METRICS } from "../api/queries";
import type { MetricBatchEvent, MetricEvent, MetricsPublic, PocPublic, PocState, RunPublic } from "../api/types";
import { appendEvents, chartRuns, expandBatch, TERMINAL_STATES } from "./shaping";

export type LiveStatus = "connecting" | "live" | "reconnecting" | "off";

// Metric events (one per stored batch of points) come every few training steps; React renders and Plotly redraws at most this often.
const FLUSH_MS = 500;
// If the browser gives up on the stream (it closes it on a non-2xx answer), open a new one after this.
const REOPEN_MS = 3000;

/**
 * The PoC's state from the newest run of each method, as the service derives it: one shared state is
 * the PoC's; otherwise "running" while any is queued or running, else "mixed".
 */
export function pocStateOf(runs: RunPublic[]): PocState {
  const states = new Set(chartRuns(runs).map((r) => r.state));
  if (states.size === 0) return "queued";
  if (states.size === 1) return [...states][0]!;
  if (states.has("running") || states.has("queued")) return "running";
  return "mixed";
}

/** Puts a run from the stream into the cached PoC, adding it when it is new (a retry). */
export function mergeRun(poc: PocPublic, run: RunPublic): PocPublic {
  const known = poc.runs.some((r) => r.id === run.id);
  const runs = known ? poc.runs.map((r) => (r.id === run.id ? { ...r, ...run } : r)) : [...poc.runs, run];
  return { ...poc, runs, state: pocStateOf(runs) };
}

/** Moves each run's step, forward passes and progress on to its newest live metric point. */
export function advanceRuns(poc: PocPublic, events: MetricEvent[]): PocPublic {
  const newest = new Map<string, MetricEvent>();
  for (const event of events) {
    const seen = newest.get(event.run_id);
    if (!seen || event.step > seen.step) newest.set(event.run_id, event);
  }
  const runs = poc.runs.map((run) => {
    const event = newest.get(run.id);
    if (!event || event.step <= run.step || run.state !== "running") return run;
    const progress = run.total_steps ? Math.min(1, event.step / run.total_steps) : run.progress;
    return {
      ...run,
      step: event.step,
      forward_passes: event.forward_passes,
      progress: Math.max(progress, run.progress),
    };
  });
  return { ...poc, runs };
}

/**
 * Follows the PoC's server-sent events while `active`: run changes go into the PoC query, the points
 * of each metric batch are appended to every cached metrics answer of the PoC (one per x axis). EventSource
 * resumes by itself after a dropped connection and sends Last-Event-ID, so nothing is lost.
 */
export function useLiveEvents(pocId: string, active: boolean, afterSeq: number): LiveStatus {
  const queryClient = useQueryClient();
  const [status, setStatus] = useState<LiveStatus>("off");
  // Where the stream starts: after what the loaded PoC already reflects. Read when the stream opens;
  // later answers move it on without reopening the stream.
  const latestAfter = useRef(afterSeq);
  latestAfter.current = afterSeq;

  useEffect(() => {
    if (!active || typeof EventSource === "undefined") {
      setStatus("off");
      return;
    }
    let source: EventSource | null = null;
    let reopenTimer: ReturnType<typeof setTimeout> | undefined;
    let pending: MetricEvent[] = [];
    const after = latestAfter.current;

    const flush = () => {
      if (pending.length === 0) return;
      const events = pending;
      pending = [];
      queryClient.setQueriesData<MetricsPublic>({ queryKey: queryKeys.metricsOf(pocId) }, (old) =>
        old ? appendEvents(old, events, CHART_METRICS) : old,
      );
      queryClient.setQueryData<PocPublic>(queryKeys.poc(pocId), (old) => (old ? advanceRuns(old, events) : old));
    };
    const flushTimer = setInterval(flush, FLUSH_MS);

    const onRun = (message: MessageEvent<string>) => {
      const run = JSON.parse(message.data) as RunPublic;
      queryClient.setQueryData<PocPublic>(queryKeys.poc(pocId), (old) => (old ? mergeRun(old, run) : old));
      if (TERMINAL_STATES.has(run.state)) {
        // A finished run: replace the live points by the server's complete, evenly downsampled series,
        // and refresh what depends on final results.
        flush();
        void queryClient.invalidateQueries({ queryKey: queryKeys.metricsOf(pocId) });
        void queryClient.invalidateQueries({ queryKey: ["pocs", "roi", pocId] });
        void queryClient.invalidateQueries({ queryKey: queryKeys.poc(pocId) });
      }
    };
    const onMetric = (message: MessageEvent<string>) => {
      // One event = one stored batch of a run's points.
      pending.push(...expandBatch(JSON.parse(message.data) as MetricBatchEvent));
    };

    const open = () => {
      setStatus((s) => (s === "live" ? "reconnecting" : "connecting"));
      source = new EventSource(`/api/pocs/${encodeURIComponent(pocId)}/events?after=${after}`);
      source.addEventListener("run", onRun);
      source.addEventListener("metric", onMetric);
      source.onopen = () => setStatus("live");
      source.onerror = () => {
        setStatus("reconnecting");
        if (source?.readyState === EventSource.CLOSED) {
          source.close();
          reopenTimer = setTimeout(open, REOPEN_MS);
        }
      };
    };
    open();

    return () => {
      clearInterval(flushTimer);
      clearTimeout(reopenTimer);
      source?.close();
      flush();
    };
  }, [pocId, active, queryClient]);

  return status;
}
