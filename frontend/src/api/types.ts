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

export interface ModelPublic {
  id: string;
  name: string;
  n_params: number | null;
  builtin: boolean;
}

export interface MethodPublic {
  method: MethodId;
  label: string;
  zeroth_order: boolean;
  defaults: Record<string, number | string | null>;
  ranges: Record<string, [number, number]>;
}

export interface PreviewRow {
  text: string;
  label: string | number;
}

export interface DatasetPublic {
  id: string;
  name: string;
  builtin: boolean;
  n_rows: number | null;
  labels: Array<string | number> | null;
  text_column: string | null;
  label_column: string | null;
  created_at: string | null;
  preview?: { rows: PreviewRow[] } | null;
}

export interface MethodSettings {
  method: MethodId;
  lr?: number;
  zo_eps?: number;
  rank?: number;
  nu?: number;
  beta?: number;
}

export interface PocCreate {
  name: string;
  model: string;
  dataset_id: string;
  methods: MethodSettings[];
  steps: number | null;
  max_minutes: number | null;
  batch_size: number;
  seed: number;
  k_shot?: number;
  eval_every?: number;
  device: "cpu" | "gpu";
}

export interface RunPublic {
  id: string;
  poc_id: string;
  method: MethodId;
  hyperparams: Record<string, unknown>;
  state: RunState;
  progress: number;
  step: number | null;
  forward_passes: number | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  worker: string | null;
  device: string | null;
  peak_memory_mb: number | null;
  baseline_memory_mb: number | null;
  final_metrics: Record<string, number | null> | null;
  error: string | null;
}

export interface PocPublic {
  id: string;
  name: string;
  model: string;
  dataset_id: string;
  dataset_name: string | null;
  state: PocState;
  created_at: string;
  created_by: string | null;
  settings: Record<string, unknown>;
  runs: RunPublic[];
}

export interface Series {
  x: number[];
  y: number[];
}

/** GET /api/pocs/{id}/metrics: per run id, per metric name, one downsampled series. */
export interface MetricsPublic {
  x: XAxis;
  runs: Record<string, Record<string, Series>>;
}

/** The `metric` event of the SSE stream. */
export interface MetricEvent {
  run_id: string;
  step: number;
  elapsed_s: number;
  forward_passes: number;
  values: Record<string, number | null>;
}

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
