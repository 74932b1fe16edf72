import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState } from "react";
import { liveEventsUrl, parseLiveEvent, type LiveEventData, type MetricEvent } from "../api/events";
import { queryKeys } from "../api/keys";
import { LIVE_METRICS } from "../api/queries";
import type { MetricsPublic, PocPublic, RunPublic } from "../api/types";
import { appendEvents, expandBatch, TERMINAL_STATES } from "./shaping";

export type LiveStatus = "connecting" | "live" | "reconnecting" | "off";

// Metric events (one per stored batch of points) come every few training steps; React renders and Plotly redraws at most this often.
const FLUSH_MS = 500;
// If the browser gives up on the stream (it closes it on a non-2xx answer), open a new one after this.
const REOPEN_MS = 3000;

/**
 * Puts a run from the stream into the cached PoC, adding it when it is new (a retry). The PoC's own state
 * is the server's and arrives in its own `poc` event (applyPocState).
 */
export function mergeRun(poc: PocPublic, run: RunPublic): PocPublic {
  const known = poc.runs.some((r) => r.id === run.id);
  const runs = known ? poc.runs.map((r) => (r.id === run.id ? { ...r, ...run } : r)) : [...poc.runs, run];
  return { ...poc, runs };
}

/** The PoC with the state the server stored for it (a `poc` event). */
export function applyPocState(poc: PocPublic, event: LiveEventData["poc"]): PocPublic {
  return event.id === poc.id && event.state !== poc.state ? { ...poc, state: event.state } : poc;
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
 * Follows the PoC's server-sent events while `active`: run changes and the PoC's state go into the PoC
 * query, the points of each metric batch are appended to every cached metrics answer of the PoC (one per x
 * axis). EventSource resumes by itself after a dropped connection and sends Last-Event-ID, so nothing is lost.
 */
export function useLiveEvents(pocId: string, active: boolean, afterSeq: number): LiveStatus {
  const queryClient = useQueryClient();
  const [status, setStatus] = useState<LiveStatus>("off");
  // Where the stream starts: after what the loaded PoC already reflects. Read when the stream opens;
  // later answers move it on without reopening the stream.
  const latestAfter = useRef(afterSeq);
  useEffect(() => {
    latestAfter.current = afterSeq;
  }, [afterSeq]);

  useEffect(() => {
    if (!active || typeof EventSource === "undefined") return;
    let source: EventSource | null = null;
    let reopenTimer: ReturnType<typeof setTimeout> | undefined;
    let pending: MetricEvent[] = [];
    const after = latestAfter.current;
    const updatePoc = (change: (poc: PocPublic) => PocPublic) =>
      queryClient.setQueryData<PocPublic>(queryKeys.poc(pocId), (old) => (old ? change(old) : old));

    const flush = () => {
      if (pending.length === 0) return;
      const events = pending;
      pending = [];
      queryClient.setQueriesData<MetricsPublic>({ queryKey: queryKeys.metricsOf(pocId) }, (old) =>
        old ? appendEvents(old, events, LIVE_METRICS) : old,
      );
      updatePoc((poc) => advanceRuns(poc, events));
    };
    const flushTimer = setInterval(flush, FLUSH_MS);

    const onRun = (message: MessageEvent<string>) => {
      const run = parseLiveEvent("run", message);
      updatePoc((poc) => mergeRun(poc, run));
      if (TERMINAL_STATES.has(run.state)) {
        // A finished run: replace the live points by the server's complete, evenly downsampled series,
        // and refresh what depends on final results.
        flush();
        void queryClient.invalidateQueries({ queryKey: queryKeys.metricsOf(pocId) });
        void queryClient.invalidateQueries({ queryKey: queryKeys.roiOf(pocId) });
        void queryClient.invalidateQueries({ queryKey: queryKeys.poc(pocId) });
      }
    };
    const onPoc = (message: MessageEvent<string>) => {
      const event = parseLiveEvent("poc", message);
      updatePoc((poc) => applyPocState(poc, event));
    };
    const onMetric = (message: MessageEvent<string>) => {
      // One event = one stored batch of a run's points.
      pending.push(...expandBatch(parseLiveEvent("metric", message)));
    };

    const open = () => {
      setStatus((s) => (s === "live" ? "reconnecting" : "connecting"));
      source = new EventSource(liveEventsUrl(pocId, after));
      source.addEventListener("run", onRun);
      source.addEventListener("poc", onPoc);
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
      setStatus("off");
    };
  }, [pocId, active, queryClient]);

  return active ? status : "off";
}
