import { z } from "zod";
import type { MethodId, MethodPublic, MethodSettings, PocCreate } from "../api/types";

export const HYPER_NAMES = ["lr", "zo_eps", "rank", "nu", "beta"] as const;
export type HyperName = (typeof HYPER_NAMES)[number];
const INTEGER_HYPERS: ReadonlySet<HyperName> = new Set(["rank", "nu"]);

export const CUSTOM_MODEL = "__custom__";
export const DEFAULT_METHODS: MethodId[] = ["lozo", "adamw"];

/** What the form holds: inputs keep their text until validation turns it into numbers. */
export interface LaunchFormValues {
  name: string;
  model: string; // a model id from /api/models, or CUSTOM_MODEL
  customModel: string;
  datasetId: string;
  methods: MethodId[];
  budget: "steps" | "minutes";
  steps: string;
  minutes: string;
  device: "cpu" | "gpu";
  batchSize: string;
  seed: string;
  hyper: Partial<Record<MethodId, Partial<Record<HyperName, string>>>>;
}

export const LIMITS = {
  name: 120,
  steps: [1, 100_000] as [number, number],
  minutes: [0.1, 1440] as [number, number],
  batchSize: [1, 1024] as [number, number],
  seed: [0, 2_147_483_647] as [number, number],
};

// Used when /api/methods gives no range for a hyperparameter: wide, but it still catches typos
// such as a negative learning rate.
const FALLBACK_RANGES: Record<HyperName, [number, number]> = {
  lr: [1e-10, 1],
  zo_eps: [1e-8, 1],
  rank: [1, 4096],
  nu: [1, 100_000],
  beta: [0, 0.9999],
};

export function emptyLaunchForm(): LaunchFormValues {
  return {
    name: "",
    model: "minilm",
    customModel: "",
    datasetId: "",
    methods: [...DEFAULT_METHODS],
    budget: "steps",
    steps: "100",
    minutes: "10",
    device: "cpu",
    batchSize: "16",
    seed: "0",
    hyper: {},
  };
}

/** The hyperparameters a method takes, in display order (those its defaults name). */
export function hyperNamesOf(method: MethodPublic | undefined): HyperName[] {
  if (!method) return [];
  return HYPER_NAMES.filter((name) => name in method.defaults);
}

const toNumber = (value: unknown): unknown => {
  if (typeof value !== "string") return value;
  const text = value.trim().replace(",", ".");
  return text === "" ? undefined : Number(text);
};

/** A number field with a range; the messages are i18n keys, the range travels in `params`. */
function numberField([min, max]: [number, number], integer: boolean) {
  return z.preprocess(
    toNumber,
    z
      .number({ error: (issue) => (issue.input === undefined ? "validation.required" : "validation.number") })
      .refine((v) => !integer || Number.isInteger(v), { error: "validation.integer", abort: true })
      .refine((v) => v >= min && v <= max, { error: "validation.range", params: { min, max } }),
  );
}

/**
 * Builds the form's schema from the methods the server offers (their ranges) and returns a parser
 * whose output is the PocCreate body. Messages are i18n keys so the UI shows them in either language.
 */
export function buildLaunchSchema(methods: MethodPublic[]) {
  const byId = new Map(methods.map((m) => [m.method, m]));
  const hyperSchema = z.record(z.string(), z.record(z.string(), z.string()).optional());

  return z
    .object({
      name: z
        .string()
        .trim()
        .min(1, { error: "validation.required" })
        .max(LIMITS.name, { error: "validation.tooLong", params: { max: LIMITS.name } } as never),
      model: z.string(),
      customModel: z.string().trim(),
      datasetId: z.string().min(1, { error: "validation.dataset" }),
      methods: z.array(z.string()).min(1, { error: "validation.methods" }),
      budget: z.enum(["steps", "minutes"]),
      steps: z.string(),
      minutes: z.string(),
      device: z.enum(["cpu", "gpu"]),
      batchSize: numberField(LIMITS.batchSize, true),
      seed: numberField(LIMITS.seed, true),
      hyper: hyperSchema,
    })
    .superRefine((form, ctx) => {
      if (form.model === CUSTOM_MODEL && form.customModel === "") {
        ctx.addIssue({ code: "custom", path: ["customModel"], message: "validation.required" });
      }
      // Only the chosen budget is checked: the other field is hidden and ignored.
      const budgetField = form.budget === "steps" ? "steps" : "minutes";
      const budgetCheck = numberField(LIMITS[budgetField], form.budget === "steps").safeParse(form[budgetField]);
      if (!budgetCheck.success) {
        for (const issue of budgetCheck.error.issues) ctx.addIssue({ ...issue, path: [budgetField] } as never);
      }
      for (const methodId of form.methods) {
        const method = byId.get(methodId as MethodId);
        for (const name of hyperNamesOf(method)) {
          const text = form.hyper[methodId]?.[name] ?? "";
          if (text.trim() === "") continue; // empty = the paper's default
          const range = method?.ranges[name] ?? FALLBACK_RANGES[name];
          const check = numberField(range, INTEGER_HYPERS.has(name)).safeParse(text);
          if (!check.success) {
            for (const issue of check.error.issues) {
              ctx.addIssue({ ...issue, path: ["hyper", methodId, name] } as never);
            }
          }
        }
      }
    })
    .transform((form): PocCreate => {
      const methodsOut = (form.methods as MethodId[]).map((methodId) => {
        const settings: MethodSettings = { method: methodId };
        for (const name of hyperNamesOf(byId.get(methodId))) {
          const value = toNumber(form.hyper[methodId]?.[name] ?? "");
          if (typeof value === "number") settings[name] = value;
        }
        return settings;
      });
      const steps = form.budget === "steps" ? Number(toNumber(form.steps)) : null;
      return {
        name: form.name,
        model: form.model === CUSTOM_MODEL ? form.customModel : form.model,
        dataset_id: form.datasetId,
        methods: methodsOut,
        steps,
        max_minutes: form.budget === "minutes" ? Number(toNumber(form.minutes)) : null,
        batch_size: form.batchSize as number,
        seed: form.seed as number,
        k_shot: 16,
        // About five evaluations per run, so the accuracy chart shows a curve even for short PoCs.
        eval_every: steps == null ? 50 : Math.max(1, Math.ceil(steps / 5)),
        device: form.device,
      };
    });
}

export interface FieldError {
  key: string;
  params?: Record<string, unknown>;
}

/** Validates the form: either the request body, or the errors by dotted field path. */
export function validateLaunchForm(
  values: LaunchFormValues,
  methods: MethodPublic[],
): { ok: true; body: PocCreate } | { ok: false; errors: Record<string, FieldError> } {
  const result = buildLaunchSchema(methods).safeParse(values);
  if (result.success) return { ok: true, body: result.data };
  const errors: Record<string, FieldError> = {};
  for (const issue of result.error.issues) {
    const path = issue.path.join(".");
    if (errors[path]) continue; // the first problem of a field is the one to fix first
    const params = "params" in issue ? (issue.params as Record<string, unknown> | undefined) : undefined;
    errors[path] = { key: issue.message, params };
  }
  return { ok: false, errors };
}
