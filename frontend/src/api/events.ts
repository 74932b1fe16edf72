import { apiUrl } from "./client";
import type { PocState, RunPublic } from "./types";

// The server-sent events of GET /api/pocs/{id}/events (backend/events.py). OpenAPI cannot describe an event
// stream's messages, so their payloads are declared here, the only hand-written API types, built on the
// schema's own types where there is one.

/** One point of a run's metrics as the stream carries it. */
export interface MetricPoint {
  step: number;
  elapsed_s: number;
  forward_passes: number;
  values: Record<string, number | null>;
}

/** A metric point with the run it belongs to (what the live merge works on). */
export interface MetricEvent extends MetricPoint {
  run_id: string;
}

/** The data of each event kind. */
export interface LiveEventData {
  /** A run changed (state, progress, results): its whole RunPublic. */
  run: RunPublic;
  /** The PoC's stored state changed (the server derives it from its runs). */
  poc: { id: string; state: PocState };
  /** One stored batch of a run's metric points. */
  metric: { run_id: string; points: MetricPoint[] };
}

export type LiveEventKind = keyof LiveEventData;

/** The data of a received event of `kind` (the server wrote it as JSON of that shape). */
export function parseLiveEvent<K extends LiveEventKind>(_kind: K, message: MessageEvent<string>): LiveEventData[K] {
  // The stream is the server's own, typed by the declarations above; JSON.parse cannot check them.
  return JSON.parse(message.data) as LiveEventData[K];
}

/** The stream's URL, resuming after the event `afterSeq` the page already reflects. */
export function liveEventsUrl(pocId: string, afterSeq: number): string {
  return apiUrl("/api/pocs/{poc_id}/events", { path: { poc_id: pocId }, query: { after: afterSeq } });
}
