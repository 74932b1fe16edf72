import { describe, expect, it } from "vitest";
import { limitsAnswer } from "../test/limits";
import { BUILTIN_METHODS, ZO_SIGN } from "../test/methods";
import type { ModelPublic } from "../api/types";
import {
  CUSTOM_MODEL,
  defaultMethods,
  emptyLaunchForm,
  validateLaunchForm,
  withDataset,
  type LaunchFormValues,
} from "./schema";

const METHODS = BUILTIN_METHODS;
const LIMITS = limitsAnswer();

const valid = (patch: Partial<LaunchFormValues> = {}, limits = LIMITS): LaunchFormValues => ({
  ...emptyLaunchForm(limits, METHODS),
  name: "My PoC",
  datasetId: "demo",
  ...patch,
});

const withSettings = (settings: Partial<LaunchFormValues["settings"]>): Partial<LaunchFormValues> => ({
  settings: { ...valid().settings, ...settings },
});

function errorsOf(values: LaunchFormValues, limits = LIMITS, methods = METHODS) {
  const result = validateLaunchForm(values, methods, limits);
  if (result.ok) throw new Error("expected errors");
  return result.errors;
}

describe("launch form schema", () => {
  it("turns a valid form into the PocCreate body, every setting from the server's defaults", () => {
    const result = validateLaunchForm(valid({ hyper: { lozo: { rank: "4", lr: " " } } }), METHODS, LIMITS);
    expect(result).toEqual({
      ok: true,
      body: {
        name: "My PoC",
        model: "minilm",
        dataset_id: "demo",
        methods: [{ method: "lozo", rank: 4 }, { method: "adamw" }],
        steps: 100,
        max_minutes: null,
        batch_size: 16,
        seed: 0,
        k_shot: 16,
        eval_every: 50,
        eval_size: null,
        max_length: 64,
        dtype: "float32",
        head_init: "prototype",
        zo_clip: null,
        device: "cpu",
      },
    });
  });

  it("sends the zeroth-order step bound when one is typed, and refuses one below 1", () => {
    const bounded = validateLaunchForm(valid(withSettings({ zo_clip: "2" })), METHODS, LIMITS);
    expect(bounded.ok && bounded.body.zo_clip).toBe(2);
    const tooSmall = validateLaunchForm(valid(withSettings({ zo_clip: "0.5" })), METHODS, LIMITS);
    expect(tooSmall.ok).toBe(false);
  });

  it("sends the advanced settings as chosen; empty nullable ones as null", () => {
    const values = valid(
      withSettings({
        k_shot: "",
        eval_every: "10",
        eval_size: "200",
        max_length: "128",
        dtype: "bfloat16",
        head_init: "random",
      }),
    );
    const result = validateLaunchForm(values, METHODS, LIMITS);
    expect(result.ok && result.body).toMatchObject({
      k_shot: null,
      eval_every: 10,
      eval_size: 200,
      max_length: 128,
      dtype: "bfloat16",
      head_init: "random",
    });
  });

  it("checks the advanced settings against the server's limits and choices", () => {
    const errors = errorsOf(valid(withSettings({ max_length: "4", eval_size: "1.5", dtype: "int8", eval_every: "" })));
    expect(errors["settings.max_length"]).toEqual({ key: "validation.range", params: { min: 8, max: 8192 } });
    expect(errors["settings.eval_size"]?.key).toBe("validation.integer");
    expect(errors["settings.dtype"]?.key).toBe("validation.choice");
    expect(errors["settings.eval_every"]?.key).toBe("validation.required");
  });

  it("starts with the registry's first zeroth-order method and its first backpropagation baseline", () => {
    expect(emptyLaunchForm(LIMITS, METHODS).methods).toEqual(["lozo", "adamw"]);
    expect(defaultMethods([...METHODS].reverse())).toEqual(["lozo", "adamw"]);
    expect(defaultMethods([{ ...ZO_SIGN, order: 1 }, ...METHODS])).toEqual(["zo_sign", "adamw"]);
  });

  it("requires a name, a dataset and at least one method; caps their numbers as the server says", () => {
    const errors = errorsOf(valid({ name: "  ", datasetId: "", methods: [] }));
    expect(errors.name).toEqual({ key: "validation.required", params: undefined });
    expect(errors.datasetId?.key).toBe("validation.dataset");
    expect(errors.methods?.key).toBe("validation.methods");
    const few = { ...LIMITS, poc_name_max_length: 5, methods_per_poc_max: 1 };
    const capped = errorsOf(valid({ name: "too long", methods: ["lozo", "adamw"] }, few), few);
    expect(capped.name).toEqual({ key: "validation.tooLong", params: { max: 5 } });
    expect(capped.methods).toEqual({ key: "validation.tooMany", params: { max: 1 } });
  });

  it("reports an out-of-range budget with the caller's own cap", () => {
    expect(errorsOf(valid({ steps: "0" })).steps).toEqual({ key: "validation.range", params: { min: 1, max: 100000 } });
    const owner = limitsAnswer({ stepsMax: 1_000_000, role: "owner" });
    expect(validateLaunchForm(valid({ steps: "500000" }, owner), METHODS, owner).ok).toBe(true);
    expect(errorsOf(valid({ steps: "500000" })).steps?.params).toEqual({ min: 1, max: 100000 });
  });

  it("rejects text and fractions where whole numbers are needed", () => {
    expect(errorsOf(valid({ steps: "ten" })).steps?.key).toBe("validation.number");
    expect(errorsOf(valid(withSettings({ batch_size: "2.5" })))["settings.batch_size"]?.key).toBe("validation.integer");
    expect(errorsOf(valid(withSettings({ seed: "" })))["settings.seed"]?.key).toBe("validation.required");
  });

  it("checks only the chosen budget; minutes must be above zero", () => {
    const result = validateLaunchForm(valid({ budget: "minutes", steps: "nonsense", minutes: "2,5" }), METHODS, LIMITS);
    expect(result.ok && result.body.steps === null && result.body.max_minutes === 2.5).toBe(true);
    expect(errorsOf(valid({ budget: "minutes", minutes: "0" })).minutes).toEqual({
      key: "validation.rangeAbove",
      params: { min: 0, max: 1440 },
    });
  });

  it("checks hyperparameters against the ranges and integer flags the registry gives", () => {
    const errors = errorsOf(valid({ hyper: { lozo: { lr: "0.5", rank: "1.5" }, adamw: { lr: "0.05" } } }));
    expect(errors["hyper.lozo.lr"]).toEqual({ key: "validation.range", params: { min: 1e-9, max: 0.01 } });
    expect(errors["hyper.lozo.rank"]?.key).toBe("validation.integer");
    expect(errors["hyper.adamw.lr"]).toBeUndefined();
  });

  it("checks a plug-in method's hyperparameters against its own ranges in the registry", () => {
    const methods = [...METHODS, ZO_SIGN];
    const wide = { methods: ["zo_sign", "mezo"], hyper: { zo_sign: { zo_eps: "0.2" }, mezo: { zo_eps: "0.2" } } };
    const errors = errorsOf(valid(wide), LIMITS, methods);
    expect(errors["hyper.zo_sign.zo_eps"]).toBeUndefined(); // ZO-Sign takes ε up to 0.5
    expect(errors["hyper.mezo.zo_eps"]).toEqual({ key: "validation.range", params: { min: 1e-6, max: 0.1 } });
    const result = validateLaunchForm(valid({ ...wide, methods: ["zo_sign"] }), methods, LIMITS);
    expect(result.ok && result.body.methods).toEqual([{ method: "zo_sign", zo_eps: 0.2 }]);
  });

  it("ignores hyperparameters of methods that are not chosen", () => {
    const result = validateLaunchForm(valid({ hyper: { lozo_m: { beta: "7" } } }), METHODS, LIMITS);
    expect(result.ok).toBe(true);
  });

  it("uses the custom model id and requires it when chosen", () => {
    expect(errorsOf(valid({ model: CUSTOM_MODEL, customModel: " " })).customModel?.key).toBe("validation.required");
    const result = validateLaunchForm(valid({ model: CUSTOM_MODEL, customModel: " org/my-bert " }), METHODS, LIMITS);
    expect(result.ok && result.body.model).toBe("org/my-bert");
  });
});

describe("a generation PoC's form", () => {
  const MODELS = [
    { id: "minilm", name: "MiniLM", n_params: 1, builtin: true, kind: "encoder" },
    { id: "smollm2-135m", name: "SmolLM2", n_params: 1, builtin: true, kind: "decoder" },
    { id: "qwen", name: "Qwen", n_params: 1, builtin: true, kind: "decoder" },
  ] satisfies ModelPublic[];
  const generation = (patch: Partial<LaunchFormValues> = {}) =>
    valid({ ...withDataset(valid(), "dates", { kind: "generation" }, MODELS), ...patch });

  it("sends task_type generation with its own settings, and none of classification's", () => {
    const result = validateLaunchForm(generation(), METHODS, LIMITS);
    expect(result.ok && result.body).toMatchObject({
      task_type: "generation",
      model: "smollm2-135m",
      dataset_id: "dates",
      max_new_tokens: 24,
      zo_objective: "loss",
      max_length: 64,
    });
    expect(result.ok && result.body).not.toHaveProperty("k_shot");
    expect(result.ok && result.body).not.toHaveProperty("head_init");
  });

  it("checks generation's settings against the server's limits, and not the hidden classification ones", () => {
    const settings = { ...valid().settings, max_new_tokens: "0", zo_objective: "reward", k_shot: "-3" };
    const errors = errorsOf(generation({ settings }));
    expect(errors["settings.max_new_tokens"]).toEqual({ key: "validation.range", params: { min: 1, max: 512 } });
    expect(errors["settings.zo_objective"]?.key).toBe("validation.choice");
    expect(errors["settings.k_shot"]).toBeUndefined();
    // A classification PoC neither checks nor sends generation's settings.
    const classification = validateLaunchForm(valid({ settings }), METHODS, LIMITS);
    expect(classification.ok).toBe(false);
    expect(!classification.ok && Object.keys(classification.errors)).toEqual(["settings.k_shot"]);
  });

  it("switches an encoder to the small decoder for generation data, and leaves a decoder or other data alone", () => {
    expect(withDataset(valid({ model: "minilm" }), "dates", { kind: "generation" }, MODELS).model).toBe("smollm2-135m");
    expect(withDataset(valid({ model: "qwen" }), "dates", { kind: "generation" }, MODELS).model).toBe("qwen");
    expect(withDataset(valid({ model: "minilm" }), "demo", { kind: "classification" }, MODELS)).toMatchObject({
      model: "minilm",
      taskType: "classification",
    });
    expect(withDataset(valid({ model: "minilm" }), "dates", undefined, MODELS).taskType).toBe("classification");
    // Without the small decoder on the server, the choice stays the user's.
    expect(withDataset(valid({ model: "minilm" }), "dates", { kind: "generation" }, MODELS.slice(0, 1)).model).toBe(
      "minilm",
    );
  });

  it("gives a generation PoC its longer default sequence, and keeps a length the user typed", () => {
    const generation = withDataset(valid(), "dates", { kind: "generation" }, MODELS, LIMITS);
    expect(generation.settings.max_length).toBe("128");
    const back = withDataset(generation, "demo", { kind: "classification" }, MODELS, LIMITS);
    expect(back.settings.max_length).toBe("64");
    const typed = valid({ settings: { ...valid().settings, max_length: "80" } });
    expect(withDataset(typed, "dates", { kind: "generation" }, MODELS, LIMITS).settings.max_length).toBe("80");
  });
});
