import { cleanup, screen, within } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { RoiPublic } from "../api/types";
import i18n from "../i18n";
import { methodsAnswer } from "../test/methods";
import { fakeApi, renderPage } from "../test/render";
import { RoiPanel } from "./RoiPanel";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

/** A 7B projection: LOZO did not reach AdamW's loss (the papers' budget), AdamW did. */
function projection(): RoiPublic {
  const row = {
    gpu: { id: "a100-40gb", name: "NVIDIA A100 40GB", count: 1 },
    memory_saved_pct: null,
    steps_run: 300,
    steps_to_target: null,
    reached_target: false,
    currency: "USD",
    accuracy: null,
    accuracy_gain_points: null,
    gain_p_value: null,
    gain_significant: null,
    cost_per_point: null,
  };
  return {
    target: "7b",
    target_model: "7B",
    target_params: 6_738_415_616,
    dtype: "bfloat16",
    recipe: "mixed",
    target_loss: 0.1,
    assumptions: {
      gpu_utilisation: 0.35,
      gpu_utilisation_range: [0.25, 0.5],
      step_cost_in_forwards: { lozo: 2.2, adamw: 3 },
      batch_size: 16,
      seq_len: 64,
    },
    rows: [
      {
        ...row,
        method: "lozo",
        memory_bytes: 15e9,
        memory_gb: 15,
        steps: 20000,
        steps_source: "published",
        gpu_hours: 3.5,
        gpu_hours_range: [2.45, 4.9],
        cost: 12.85,
        cost_range: [9, 18],
      },
      {
        ...row,
        method: "adamw",
        memory_bytes: 112e9,
        memory_gb: 112,
        steps: 100,
        steps_source: "measured",
        steps_to_target: 100,
        reached_target: true,
        gpu_hours: 0.5,
        gpu_hours_range: [0.35, 0.7],
        cost: 5.3,
        cost_range: [3.7, 7.42],
      },
    ],
    comparison: null,
    verdict: { code: "no_comparison", en: "LOZO needs less memory.", ja: "LOZO はメモリが少なくて済みます。" },
    guidance: [],
    calibration: null,
  } as unknown as RoiPublic;
}

describe("RoiPanel", () => {
  beforeEach(async () => {
    await i18n.changeLanguage("en");
  });

  it("says where each step count comes from, gives time and cost as ranges and states its assumptions", async () => {
    const api = fakeApi({ "GET /api/methods": () => methodsAnswer(), "GET /api/pocs/p1/roi": () => projection() });
    vi.stubGlobal("fetch", api.fetchImpl);
    renderPage(<RoiPanel pocId="p1" finished />, "/p/p1");
    const lozo = (await screen.findByText("20,000")).closest("tr") as HTMLElement;
    expect(within(lozo).getByText("the papers' budget (not reached in this PoC)")).toBeTruthy();
    expect(within(lozo).getByText("2.45–4.9")).toBeTruthy();
    expect(within(lozo).getByText("$9.00–$18.00")).toBeTruthy();
    const adamw = screen.getByText("100").closest("tr") as HTMLElement;
    expect(within(adamw).getByText("reached the target loss in this PoC")).toBeTruthy();
    expect(screen.getByTestId("roi-assumptions").textContent).toBe(
      "Projected in bfloat16, optimizer in mixed precision (fp32 master weights and moments); time at 25%–50% of the GPU's peak throughput (central value 35%), batch 16 × 64 tokens.",
    );
  });

  it("speaks Japanese and asks for the Japanese reader's currency", async () => {
    await i18n.changeLanguage("ja");
    const asked: (string | null)[] = [];
    const api = fakeApi({
      "GET /api/methods": () => methodsAnswer(),
      "GET /api/pocs/p1/roi": (_request, url) => {
        asked.push(url.searchParams.get("language"));
        return projection();
      },
    });
    vi.stubGlobal("fetch", api.fetchImpl);
    renderPage(<RoiPanel pocId="p1" finished />, "/p/p1");
    expect(await screen.findByText("論文で使われたステップ数（この PoC では未到達）")).toBeTruthy();
    expect(screen.getByTestId("roi-assumptions").textContent).toContain("混合精度");
    expect(asked).toEqual(["ja"]); // the server answers in its currency for ja (yen by default)
  });

  it("lists what would make an inconclusive PoC conclusive, in the reader's language, and nothing otherwise", async () => {
    const inconclusive = {
      ...projection(),
      guidance: [
        {
          code: "add_evaluation_data",
          params: { n: 40, needed_n: 103 },
          en: "Add about 63 rows.",
          ja: "約63件追加してください。",
        },
        {
          code: "more_training_steps",
          params: { method: "lozo" },
          en: "Raise the step budget.",
          ja: "ステップ数の上限を上げてください。",
        },
      ],
    } as unknown as RoiPublic;
    const api = fakeApi({ "GET /api/methods": () => methodsAnswer(), "GET /api/pocs/p1/roi": () => inconclusive });
    vi.stubGlobal("fetch", api.fetchImpl);
    renderPage(<RoiPanel pocId="p1" finished />, "/p/p1");
    const list = await screen.findByTestId("roi-guidance");
    expect(within(list).getByRole("heading").textContent).toBe("What would make it conclusive");
    expect(
      within(list)
        .getAllByRole("listitem")
        .map((li) => li.textContent),
    ).toEqual(["Add about 63 rows.", "Raise the step budget."]);
    cleanup();
    await i18n.changeLanguage("ja");
    renderPage(<RoiPanel pocId="p1" finished />, "/p/p1");
    const ja = await screen.findByTestId("roi-guidance");
    expect(within(ja).getByRole("heading").textContent).toBe("結論を出すには");
    expect(within(ja).getAllByRole("listitem")[0]?.textContent).toBe("約63件追加してください。");
  });

  it("shows no guidance when the comparison is decided", async () => {
    const api = fakeApi({ "GET /api/methods": () => methodsAnswer(), "GET /api/pocs/p1/roi": () => projection() });
    vi.stubGlobal("fetch", api.fetchImpl);
    renderPage(<RoiPanel pocId="p1" finished />, "/p/p1");
    await screen.findByText("20,000");
    expect(screen.queryByTestId("roi-guidance")).toBeNull();
  });

  it("names exact match, not accuracy, for a generation PoC", async () => {
    const comparison = {
      method_a: "lozo",
      method_b: "adamw",
      acc_gap: -0.1,
      p_value: 0.2,
      significant: false,
      test: "mcnemar",
      variant: "mid-p",
      n: 50,
      only_a: 2,
      only_b: 7,
      needed_n: null,
    };
    const generation = { ...projection(), comparison: { ...comparison, score: "exact_match" } } as RoiPublic;
    const api = fakeApi({ "GET /api/methods": () => methodsAnswer(), "GET /api/pocs/p1/roi": () => generation });
    vi.stubGlobal("fetch", api.fetchImpl);
    renderPage(<RoiPanel pocId="p1" finished />, "/p/p1");
    expect(await screen.findByText("Exact match (95% range)")).toBeTruthy();
    expect(
      screen.getByText("No statistically significant exact-match difference (McNemar test, p = 0.2)."),
    ).toBeTruthy();
    expect(screen.queryByText(/accuracy/i)).toBeNull();
    cleanup();
    const classification = { ...projection(), comparison } as unknown as RoiPublic;
    const again = fakeApi({ "GET /api/methods": () => methodsAnswer(), "GET /api/pocs/p1/roi": () => classification });
    vi.stubGlobal("fetch", again.fetchImpl);
    renderPage(<RoiPanel pocId="p1" finished />, "/p/p1");
    expect(await screen.findByText("Accuracy (95% range)")).toBeTruthy();
  });
});
