import type { FieldLimit, LimitsPublic } from "../api/types";

// GET /api/limits as the server answers it, for component tests only (the numbers are the engine's
// RunSettings fields; the budgets are capped by the caller's role, as the server does).

const number = (
  type: "integer" | "number",
  fallback: number | null,
  minimum: number,
  maximum: number,
  more: Partial<FieldLimit> = {},
): FieldLimit => ({
  type,
  default: fallback,
  nullable: false,
  minimum,
  maximum,
  exclusive_minimum: false,
  exclusive_maximum: false,
  choices: null,
  description: "",
  generation_default: null,
  ...more,
});

const choice = (fallback: string, choices: string[]): FieldLimit => ({
  type: "string",
  default: fallback,
  nullable: false,
  minimum: null,
  maximum: null,
  exclusive_minimum: false,
  exclusive_maximum: false,
  choices,
  description: "",
  generation_default: null,
});

/** The limits for a caller whose role caps the step budget at `stepsMax` (editors: 100,000 by default). */
export function limitsAnswer({ stepsMax = 100_000, minutesMax = 1440, role = "editor" } = {}): LimitsPublic {
  return {
    role,
    run_settings: {
      steps: number("integer", 100, 1, stepsMax, { nullable: true }),
      max_minutes: number("number", null, 0, minutesMax, { nullable: true, exclusive_minimum: true }),
      batch_size: number("integer", 16, 1, 1024),
      seed: number("integer", 0, 0, 2147483647),
      k_shot: number("integer", 16, 1, 1000000, { nullable: true }),
      eval_every: number("integer", 50, 1, 1000000),
      eval_size: number("integer", null, 1, 1000000, { nullable: true }),
      max_length: number("integer", 64, 8, 8192, { generation_default: 128 }),
      dtype: choice("float32", ["float32", "bfloat16", "float16"]),
      head_init: choice("prototype", ["prototype", "label_words", "random"]),
      max_new_tokens: number("integer", 24, 1, 512),
      zo_objective: choice("loss", ["loss", "neg_f1"]),
      zo_clip: number("number", null, 1, 100, { nullable: true }),
    },
    poc_name_max_length: 200,
    model_name_max_length: 500,
    methods_per_poc_max: 8,
    max_upload_mb: 20,
    max_upload_rows: 200000,
    max_active_runs_per_user: 12,
  };
}
