import { describe, expect, it } from "vitest";
import type { MethodPublic } from "../api/types";
import { CUSTOM_MODEL, emptyLaunchForm, validateLaunchForm, type LaunchFormValues } from "./schema";

const METHODS: MethodPublic[] = [
  {
    method: "lozo",
    label: "LOZO",
    zeroth_order: true,
    description: "",
    defaults: { lr: null, zo_eps: 0.001, rank: 2, nu: 50 },
    ranges: { lr: [1e-9, 0.01], zo_eps: [1e-6, 0.1], rank: [1, 64], nu: [1, 100000] },
  },
  {
    method: "adamw",
    label: "AdamW",
    zeroth_order: false,
    description: "",
    defaults: { lr: null },
    ranges: { lr: [1e-7, 0.1] },
  },
  {
    method: "lozo_m",
    label: "LOZO-M",
    zeroth_order: true,
    description: "",
    defaults: { lr: null, zo_eps: 0.001, rank: 2, nu: 50, beta: 0.9 },
    ranges: { beta: [0, 0.999] },
  },
];

const valid = (patch: Partial<LaunchFormValues> = {}): LaunchFormValues => ({
  ...emptyLaunchForm(),
  name: "My PoC",
  datasetId: "demo",
  ...patch,
});

function errorsOf(values: LaunchFormValues) {
  const result = validateLaunchForm(values, METHODS);
  if (result.ok) throw new Error("expected errors");
  return result.errors;
}

describe("launch form schema", () => {
  it("turns a valid form into the PocCreate body with defaults left to the server", () => {
    const result = validateLaunchForm(valid({ hyper: { lozo: { rank: "4", lr: " " } } }), METHODS);
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
        eval_every: 20,
        device: "cpu",
      },
    });
  });

  it("defaults to LOZO and the AdamW baseline", () => {
    expect(emptyLaunchForm().methods).toEqual(["lozo", "adamw"]);
  });

  it("requires a name, a dataset and at least one method", () => {
    const errors = errorsOf(valid({ name: "  ", datasetId: "", methods: [] }));
    expect(errors.name).toEqual({ key: "validation.required", params: undefined });
    expect(errors.datasetId?.key).toBe("validation.dataset");
    expect(errors.methods?.key).toBe("validation.methods");
  });

  it("reports an out-of-range budget with its range", () => {
    const errors = errorsOf(valid({ steps: "0" }));
    expect(errors.steps).toEqual({ key: "validation.range", params: { min: 1, max: 100000 } });
  });

  it("rejects text and fractions where whole numbers are needed", () => {
    expect(errorsOf(valid({ steps: "ten" })).steps?.key).toBe("validation.number");
    expect(errorsOf(valid({ batchSize: "2.5" })).batchSize?.key).toBe("validation.integer");
    expect(errorsOf(valid({ seed: "" })).seed?.key).toBe("validation.required");
  });

  it("checks only the chosen budget", () => {
    const result = validateLaunchForm(valid({ budget: "minutes", steps: "nonsense", minutes: "2,5" }), METHODS);
    expect(result.ok && result.body.steps === null && result.body.max_minutes === 2.5).toBe(true);
    expect(errorsOf(valid({ budget: "minutes", minutes: "0" })).minutes?.key).toBe("validation.range");
  });

  it("checks hyperparameters against the ranges the server gives", () => {
    const errors = errorsOf(valid({ hyper: { lozo: { lr: "0.5", rank: "1.5" }, adamw: { lr: "0.05" } } }));
    expect(errors["hyper.lozo.lr"]).toEqual({ key: "validation.range", params: { min: 1e-9, max: 0.01 } });
    expect(errors["hyper.lozo.rank"]?.key).toBe("validation.integer");
    expect(errors["hyper.adamw.lr"]).toBeUndefined();
  });

  it("ignores hyperparameters of methods that are not chosen", () => {
    const result = validateLaunchForm(valid({ hyper: { lozo_m: { beta: "7" } } }), METHODS);
    expect(result.ok).toBe(true);
  });

  it("uses the custom model id and requires it when chosen", () => {
    expect(errorsOf(valid({ model: CUSTOM_MODEL, customModel: " " })).customModel?.key).toBe("validation.required");
    const result = validateLaunchForm(valid({ model: CUSTOM_MODEL, customModel: " org/my-bert " }), METHODS);
    expect(result.ok && result.body.model).toBe("org/my-bert");
  });
});
