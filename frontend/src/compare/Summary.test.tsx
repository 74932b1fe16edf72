import { screen, waitFor } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import i18n from "../i18n";
import { methodsAnswer } from "../test/methods";
import { run } from "../test/pocs";
import { fakeApi, renderPage } from "../test/render";
import { Summary } from "./Summary";

// The server words the accuracy conclusion by McNemar's test (backend/estimates/headline.py); the summary
// shows that sentence once the runs have finished, never a bare gap beside an insignificant p-value.
const HEADLINE = {
  code: "no_significant_difference",
  accuracy: {
    en: "No detectable difference in accuracy between LOZO and AdamW (p = 0.13, 40 evaluation examples).",
    ja: "LOZOとAdamWの正解率に検出できる差はありません（p = 0.13、評価例40件）。",
  },
  memory_measured: null,
  memory_projected: null,
};

function api() {
  return fakeApi({
    "GET /api/methods": () => methodsAnswer(),
    "GET /api/pocs/p1/roi": () => ({ headline: HEADLINE, verdict: {}, rows: [] }),
  });
}

const runs = (state: "succeeded" | "running") => [
  run({ id: "l", method: "lozo", state, final_metrics: { "eval/accuracy": 0.5 } }),
  run({ id: "a", method: "adamw", state, final_metrics: { "eval/accuracy": 0.575 } }),
];

describe("the summary's accuracy sentence", () => {
  beforeEach(async () => {
    await i18n.changeLanguage("en");
  });
  afterEach(() => vi.unstubAllGlobals());

  it("is the server's significance-worded headline once the runs have finished", async () => {
    const fake = api();
    vi.stubGlobal("fetch", fake.fetchImpl);
    renderPage(<Summary runs={runs("succeeded")} />, "/");
    await waitFor(() => expect(screen.getByTestId("accuracy-gap")).toHaveTextContent(HEADLINE.accuracy.en));
    expect(screen.getByTestId("accuracy-gap")).not.toHaveTextContent("points below");
    expect(screen.getByTestId("accuracy-gap")).toHaveAttribute("data-code", "no_significant_difference");
    expect(fake.calls.some((c) => c.path === "/api/pocs/p1/roi")).toBe(true);
  });

  it("is the Japanese headline in Japanese", async () => {
    await i18n.changeLanguage("ja");
    vi.stubGlobal("fetch", api().fetchImpl);
    renderPage(<Summary runs={runs("succeeded")} />, "/");
    await waitFor(() => expect(screen.getByTestId("accuracy-gap")).toHaveTextContent(HEADLINE.accuracy.ja));
  });

  it("asks for no conclusion while runs are still going", async () => {
    const fake = api();
    vi.stubGlobal("fetch", fake.fetchImpl);
    renderPage(<Summary runs={runs("running")} />, "/");
    await screen.findByTestId("accuracy-gap");
    expect(fake.calls.some((c) => c.path === "/api/pocs/p1/roi")).toBe(false);
    expect(screen.getByTestId("accuracy-gap")).not.toHaveTextContent("No detectable difference");
  });

  it("words a generation PoC's headline score as exact match", async () => {
    vi.stubGlobal("fetch", api().fetchImpl);
    const generation = [
      run({ id: "l", method: "lozo", state: "running", final_metrics: { acc_start: 0.1, em_start: 0.1 } }),
      run({ id: "a", method: "adamw", state: "running", final_metrics: null }),
    ];
    renderPage(<Summary runs={generation} taskType="generation" />, "/");
    expect(await screen.findByRole("heading", { name: "Final exact match" })).toBeInTheDocument();
    await waitFor(() =>
      expect(screen.getByTestId("accuracy-gap")).toHaveTextContent(
        "The exact-match gap appears when both LOZO and AdamW have finished.",
      ),
    );
    expect(screen.getByText("(from 10.0% before training)")).toBeInTheDocument();
  });

  it("says a gap the statistics could not test is untested, never as a bold conclusion", async () => {
    const untested = { ...HEADLINE, code: "incomplete" };
    const fake = fakeApi({
      "GET /api/methods": () => methodsAnswer(),
      "GET /api/pocs/p1/roi": () => ({ headline: untested, verdict: {}, rows: [] }),
    });
    vi.stubGlobal("fetch", fake.fetchImpl);
    renderPage(<Summary runs={runs("succeeded")} />, "/");
    await waitFor(() =>
      expect(screen.getByTestId("accuracy-gap")).toHaveTextContent(
        "So far LOZO scores 7.5 points below AdamW: not yet tested against chance",
      ),
    );
    expect(screen.getByTestId("accuracy-gap")).toHaveClass("summary-pending");
  });
});
