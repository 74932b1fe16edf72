import type { components } from "./schema.gen";

// Types of the zopoc HTTP API (docs/CONTRACTS.md section 2 and the estimates/reports API).
// Hand-written to mirror the contract until the backend's OpenAPI schema is generated into
// schema.gen.ts (`npm run gen:api`); the names follow the backend's schema families.

export type MethodId = "lozo" | "lozo_m" | "mezo" | "adamw" | "sgd";
export type RunState = "queued" | "running" | "succeeded" | "failed" | "cancelled";
export type PocState = RunState | "mixed";
export type XAxis = "step" | "elapsed_s" | "forward_passes";

export interface ListOf<T> {
  data: T[];
  count: number;
}

// The service's own resources come from its OpenAPI schema (schema.gen.ts, `npm run gen:api`).
// Where the schema is looser than the contract (a method typed as plain string), it is narrowed here.
type Schemas = components["schemas"];

export type ModelPublic = Schemas["ModelPublic"];
export type MethodPublic = Schemas["MethodPublic"];
export type PreviewRow = Schemas["PreviewRow"];
export type DatasetPublic = Schemas["DatasetPublic"];
export type MethodSettings = Schemas["MethodChoice"];
export type PocCreate = Schemas["PocCreate"];
export type RunPublic = Omit<Schemas["RunPublic"], "method"> & { method: MethodId };
export type PocPublic = Omit<Schemas["PocPublic"], "runs"> & { runs: RunPublic[] };
export type Series = Schemas["Series"];
/** GET /api/pocs/{id}/metrics: per run id, per metric name, one downsampled series. */
export type MetricsPublic = Schemas["MetricsPublic"];

/** The `metric` event of the SSE stream (not part of the OpenAPI schema). */
export interface MetricEvent {
  run_id: string;
  step: number;
  elapsed_s: number;
  forward_passes: number;
  values: Record<string, number | null>;
}

// Estimates, ROI and reports (issue 5): hand-written from the contract until their routes are in the schema.
export interface GpuPublic {
  id: string;
  name: string;
  memory_gb: number;
  hourly_price: number | null;
  currency: string;
  kind: "cloud" | "on_prem" | "own";
}

export type Fit = "fits" | "tight" | "wont_fit";

export interface MemoryEstimateRequest {
  model: string;
  methods: MethodId[];
  dtype: "float32" | "float16" | "bfloat16";
  batch_size: number;
  seq_len: number;
  gpu_id: string | null;
  gpu_count: number;
}

export interface MemoryEstimateRow {
  method: MethodId;
  bytes: Record<string, number>;
  total_gb: number;
  calibration: { ratio: number; samples: number; device_kind: string } | null;
  fit: Fit | null;
  headroom_gb: number | null;
}

export interface MemoryEstimate {
  model: { id: string; n_params: number; n_layers: number | null; hidden_size: number | null };
  data: MemoryEstimateRow[];
}

export type RoiTarget = "poc" | "1b" | "7b" | "13b" | "70b";

export interface RoiRow {
  method: MethodId;
  gpu: { id: string; name: string; count: number } | null;
  memory_gb: number | null;
  memory_saved_pct: number | null;
  gpu_hours: number | null;
  cost: number | null;
  currency: string | null;
  accuracy: { value: number; low: number; high: number } | null;
  cost_per_point: number | null;
  steps_to_target: number | null;
}

export interface RoiPublic {
  target: RoiTarget;
  target_params: number | null;
  rows: RoiRow[];
  comparison: {
    method_a: MethodId;
    method_b: MethodId;
    acc_gap: number;
    p_value: number;
    significant: boolean;
    test: string;
  } | null;
  verdict: { code: string; en: string; ja: string };
}

export interface ReportCreate {
  language: "en" | "ja";
  expires_in_days: number;
}

export interface ReportLinks {
  token: string;
  url: string;
  html_url: string;
  pdf_url: string;
  expires_at: string;
}

/** A validation problem as the API reports it (row is null for file-level problems). */
export interface FieldProblem {
  row: number | null;
  field: string;
  problem: string;
}
