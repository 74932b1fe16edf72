import { z } from "zod";
import type {
  DatasetPublic,
  FieldLimit,
  LimitsPublic,
  MethodPublic,
  MethodSettings,
  ModelPublic,
  PocCreate,
  TaskType,
} from "../api/types";

// The launch form's rules, all read from the server: the run settings' defaults and bounds from
// GET /api/limits (budgets already capped by the caller's role), each method's hyperparameters from
// GET /api/methods. Nothing here knows a method by name or a limit by value.

export const CUSTOM_MODEL = "__custom__";

/** Numeric run settings the form offers (besides the budget). */
export const NUMBER_SETTINGS = [
  "batch_size",
  "seed",
  "k_shot",
  "eval_every",
  "eval_size",
  "max_length",
  "max_new_tokens",
  "zo_clip",
] as const;
/** Run settings chosen from the server's list of choices. */
export const CHOICE_SETTINGS = ["dtype", "head_init", "zo_objective"] as const;
export type NumberSetting = (typeof NUMBER_SETTINGS)[number];
export type ChoiceSetting = (typeof CHOICE_SETTINGS)[number];
export type SettingName = NumberSetting | ChoiceSetting;

/** Settings only a classification PoC uses (a generation PoC's runs ignore them: the form hides them). */
export const CLASSIFICATION_SETTINGS: readonly SettingName[] = ["k_shot", "head_init"];
/** Settings only a generation PoC uses (the server refuses a −F1 objective for classification). */
export const GENERATION_SETTINGS: readonly SettingName[] = ["max_new_tokens", "zo_objective"];

/** Whether a PoC of `taskType` uses the setting: the form shows and sends only those. */
export function settingApplies(name: SettingName, taskType: TaskType): boolean {
  return taskType === "generation" ? !CLASSIFICATION_SETTINGS.includes(name) : !GENERATION_SETTINGS.includes(name);
}

/** The model a generation PoC starts with when the chosen one is an encoder (a small built-in decoder). */
export const GENERATION_MODEL = "smollm2-135m";

/** What the form holds: inputs keep their text until validation turns it into numbers. */
export interface LaunchFormValues {
  name: string;
  model: string; // a model id from /api/models, or CUSTOM_MODEL
  customModel: string;
  datasetId: string;
  methods: string[];
  budget: "steps" | "minutes";
  steps: string;
  minutes: string;
  device: "cpu" | "gpu";
  /** What the chosen dataset trains: its kind decides (pairs are written, labelled texts classified). */
  taskType: TaskType;
  settings: Record<SettingName, string>;
  /** Per method, per hyperparameter: the text typed (empty: the registry's default). */
  hyper: Record<string, Record<string, string> | undefined>;
}

// A starting value for the minutes budget when the user switches to it (the server's default is "no
// minutes budget"): short enough for a first try.
const FIRST_MINUTES = 10;

/** The limit of a run setting; the server lists every field of RunSettings. */
export function settingLimit(limits: LimitsPublic, name: SettingName | "steps" | "max_minutes"): FieldLimit {
  const limit = limits.run_settings[name];
  if (!limit) throw new Error(`GET /api/limits lists no limits for ${name}`);
  return limit;
}

const asText = (value: unknown): string =>
  typeof value === "number" || typeof value === "string" ? String(value) : "";

/**
 * The methods a new PoC starts with: the first zeroth-order method in display order (the one the product is
 * about) and the first first-order one (its baseline), as the registry orders them.
 */
export function defaultMethods(methods: readonly MethodPublic[]): string[] {
  const ordered = [...methods].sort((a, b) => a.order - b.order);
  const picks = [ordered.find((m) => m.zeroth_order), ordered.find((m) => !m.zeroth_order)];
  return picks.filter((m): m is MethodPublic => m !== undefined).map((m) => m.method);
}

export function emptyLaunchForm(limits: LimitsPublic, methods: readonly MethodPublic[]): LaunchFormValues {
  const start = (name: SettingName) => asText(settingLimit(limits, name).default);
  const maxMinutes = settingLimit(limits, "max_minutes").maximum;
  return {
    name: "",
    model: "minilm",
    customModel: "",
    datasetId: "",
    methods: defaultMethods(methods),
    budget: "steps",
    steps: asText(settingLimit(limits, "steps").default),
    minutes: String(maxMinutes == null ? FIRST_MINUTES : Math.min(FIRST_MINUTES, maxMinutes)),
    device: "cpu",
    taskType: "classification",
    settings: {
      batch_size: start("batch_size"),
      seed: start("seed"),
      k_shot: start("k_shot"),
      eval_every: start("eval_every"),
      eval_size: start("eval_size"),
      max_length: start("max_length"),
      dtype: start("dtype"),
      head_init: start("head_init"),
      max_new_tokens: start("max_new_tokens"),
      zo_objective: start("zo_objective"),
      zo_clip: start("zo_clip"),
    },
    hyper: {},
  };
}

/** The task a PoC on `dataset` trains: a generation dataset's pairs are written, anything else classified. */
export function taskTypeOfDataset(dataset: Pick<DatasetPublic, "kind"> | undefined): TaskType {
  return dataset?.kind === "generation" ? "generation" : "classification";
}

/**
 * The form with `datasetId` chosen (`dataset`: its entry, when known). A generation dataset needs a decoder:
 * an encoder chosen as the model gives way to the built-in small decoder, when the server offers it.
 */
export function withDataset(
  values: LaunchFormValues,
  datasetId: string,
  dataset: Pick<DatasetPublic, "kind"> | undefined,
  models: readonly ModelPublic[],
  limits?: LimitsPublic,
): LaunchFormValues {
  const taskType = taskTypeOfDataset(dataset);
  const current = models.find((m) => m.id === values.model);
  const toDecoder =
    taskType === "generation" && current?.kind === "encoder" && models.some((m) => m.id === GENERATION_MODEL);
  return {
    ...values,
    datasetId,
    taskType,
    model: toDecoder ? GENERATION_MODEL : values.model,
    settings: limits ? withTaskDefaults(values.settings, values.taskType, taskType, limits) : values.settings,
  };
}

/**
 * Settings whose default differs by task (the server's `generation_default`, e.g. a longer max_length for a
 * prompt in a chat template) follow a change of task, unless the user typed their own value.
 */
function withTaskDefaults(
  settings: Record<SettingName, string>,
  from: TaskType,
  to: TaskType,
  limits: LimitsPublic,
): Record<SettingName, string> {
  if (from === to) return settings;
  const next = { ...settings };
  for (const name of Object.keys(settings) as SettingName[]) {
    const limit = limits.run_settings[name];
    if (limit?.generation_default == null) continue;
    const byTask = { classification: asText(limit.default), generation: asText(limit.generation_default) };
    if (settings[name] === byTask[from]) next[name] = byTask[to];
  }
  return next;
}

/** The hyperparameters a method takes, in the registry's order. */
export function hyperNamesOf(method: MethodPublic | undefined): string[] {
  return method ? Object.keys(method.defaults) : [];
}

const toNumber = (value: unknown): unknown => {
  if (typeof value !== "string") return value;
  const text = value.trim().replace(",", ".");
  return text === "" ? undefined : Number(text);
};

/** Bounds of a number field: from a setting's limits or a hyperparameter's range. */
interface Bounds {
  min: number | null;
  max: number | null;
  exclusiveMin?: boolean;
  exclusiveMax?: boolean;
  integer: boolean;
}

const boundsOf = (limit: FieldLimit): Bounds => ({
  min: limit.minimum,
  max: limit.maximum,
  exclusiveMin: limit.exclusive_minimum,
  exclusiveMax: limit.exclusive_maximum,
  integer: limit.type === "integer",
});

/** A number within bounds; the messages are i18n keys, the bounds travel in `params`. */
function boundedNumber({ min, max, exclusiveMin = false, exclusiveMax = false, integer }: Bounds) {
  const above = (v: number) => min == null || (exclusiveMin ? v > min : v >= min);
  const below = (v: number) => max == null || (exclusiveMax ? v < max : v <= max);
  const key = exclusiveMin ? "validation.rangeAbove" : max == null ? "validation.atLeast" : "validation.range";
  return z
    .number({ error: (issue) => (issue.input === undefined ? "validation.required" : "validation.number") })
    .refine((v) => !integer || Number.isInteger(v), { error: "validation.integer", abort: true })
    .refine((v) => above(v) && below(v), { error: key, params: { min, max } });
}

/** A required number field (text in, number out). */
const requiredNumber = (bounds: Bounds) => z.preprocess(toNumber, boundedNumber(bounds));

/** A number field that may stay empty: empty means null (the server's "none": all rows, all examples). */
const optionalNumber = (bounds: Bounds) =>
  z.preprocess((value) => {
    const number = toNumber(value);
    return number === undefined ? null : number;
  }, boundedNumber(bounds).nullable());

const isChoiceOf =
  <K extends ChoiceSetting>(limits: LimitsPublic, name: K) =>
  // The server lists exactly the values of the setting's Literal type in the schema.
  (value: string): value is NonNullable<PocCreate[K]> =>
    settingLimit(limits, name).choices?.includes(value) ?? false;

/** A choice among the server's `choices` for the setting, typed as the schema's union. */
function choiceSetting<K extends ChoiceSetting>(limits: LimitsPublic, name: K) {
  return z.string().refine(isChoiceOf(limits, name), { error: "validation.choice" });
}

/**
 * Builds the form's schema from the limits and the methods the server offers, and returns a parser whose
 * output is the PocCreate body. Messages are i18n keys so the UI shows them in either language. Only the
 * settings a PoC of `taskType` uses are checked and sent (the others are hidden, so never in the way); a
 * generation PoC says so (`task_type`), a classification one sends no task type (the server's default).
 */
export function buildLaunchSchema(
  methods: readonly MethodPublic[],
  limits: LimitsPublic,
  taskType: TaskType = "classification",
) {
  const byId = new Map(methods.map((m) => [m.method, m]));
  const limit = (name: SettingName) => boundsOf(settingLimit(limits, name));
  const hyperSchema = z.record(z.string(), z.record(z.string(), z.string()).optional());
  const nameMax = limits.poc_name_max_length;
  const modelMax = limits.model_name_max_length;
  const methodsMax = limits.methods_per_poc_max;
  const commonSettings = {
    batch_size: requiredNumber(limit("batch_size")),
    seed: requiredNumber(limit("seed")),
    eval_every: requiredNumber(limit("eval_every")),
    eval_size: optionalNumber(limit("eval_size")),
    max_length: requiredNumber(limit("max_length")),
    dtype: choiceSetting(limits, "dtype"),
    zo_clip: optionalNumber(limit("zo_clip")),
  };
  // z.object leaves out the keys it does not list: the other task type's settings are not sent.
  const settingsSchema =
    taskType === "generation"
      ? z.object({
          ...commonSettings,
          max_new_tokens: requiredNumber(limit("max_new_tokens")),
          zo_objective: choiceSetting(limits, "zo_objective"),
        })
      : z.object({
          ...commonSettings,
          k_shot: optionalNumber(limit("k_shot")),
          head_init: choiceSetting(limits, "head_init"),
        });

  return z
    .object({
      name: z
        .string()
        .trim()
        .min(1, { error: "validation.required" })
        .refine((text) => text.length <= nameMax, { error: "validation.tooLong", params: { max: nameMax } }),
      model: z.string(),
      customModel: z
        .string()
        .trim()
        .refine((text) => text.length <= modelMax, { error: "validation.tooLong", params: { max: modelMax } }),
      datasetId: z.string().min(1, { error: "validation.dataset" }),
      methods: z
        .array(z.string())
        .min(1, { error: "validation.methods" })
        .refine((chosen) => chosen.length <= methodsMax, { error: "validation.tooMany", params: { max: methodsMax } }),
      budget: z.enum(["steps", "minutes"]),
      steps: z.string(),
      minutes: z.string(),
      device: z.enum(["cpu", "gpu"]),
      settings: settingsSchema,
      hyper: hyperSchema,
    })
    .superRefine((form, ctx) => {
      if (form.model === CUSTOM_MODEL && form.customModel === "") {
        ctx.addIssue({ code: "custom", path: ["customModel"], message: "validation.required" });
      }
      // Only the chosen budget is checked: the other field is hidden and ignored.
      const budgetField = form.budget === "steps" ? "steps" : "minutes";
      const budgetLimit = settingLimit(limits, form.budget === "steps" ? "steps" : "max_minutes");
      const budgetCheck = requiredNumber(boundsOf(budgetLimit)).safeParse(form[budgetField]);
      if (!budgetCheck.success) {
        for (const issue of budgetCheck.error.issues) ctx.addIssue({ ...issue, path: [budgetField] });
      }
      for (const methodId of form.methods) {
        const method = byId.get(methodId);
        for (const name of hyperNamesOf(method)) {
          const text = form.hyper[methodId]?.[name] ?? "";
          if (text.trim() === "" || !method) continue; // empty = the registry's default
          const [min = null, max = null] = method.ranges[name] ?? [];
          const check = requiredNumber({ min, max, integer: method.integer_params.includes(name) }).safeParse(text);
          if (!check.success) {
            for (const issue of check.error.issues) {
              ctx.addIssue({ ...issue, path: ["hyper", methodId, name] });
            }
          }
        }
      }
    })
    .transform((form): PocCreate => {
      const methodsOut = form.methods.map((methodId): MethodSettings => {
        const values: Record<string, number> = {};
        for (const name of hyperNamesOf(byId.get(methodId))) {
          const value = toNumber(form.hyper[methodId]?.[name] ?? "");
          if (typeof value === "number") values[name] = value;
        }
        return { ...values, method: methodId };
      });
      return {
        name: form.name,
        model: form.model === CUSTOM_MODEL ? form.customModel : form.model,
        dataset_id: form.datasetId,
        methods: methodsOut,
        steps: form.budget === "steps" ? Number(toNumber(form.steps)) : null,
        max_minutes: form.budget === "minutes" ? Number(toNumber(form.minutes)) : null,
        device: form.device,
        ...(taskType === "generation" ? { task_type: taskType } : {}),
        ...form.settings,
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
  methods: readonly MethodPublic[],
  limits: LimitsPublic,
): { ok: true; body: PocCreate } | { ok: false; errors: Record<string, FieldError> } {
  const result = buildLaunchSchema(methods, limits, values.taskType).safeParse(values);
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
