import { screen } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { RunPublic } from "../api/types";
import { Summary } from "../compare/Summary";
import { MethodBadge } from "../components/MethodBadge";
import i18n from "../i18n";
import { BUILTIN_METHODS, methodsAnswer, ZO_SIGN } from "../test/methods";
import { fakeApi, renderPage } from "../test/render";
import { UNKNOWN_METHOD_COLOR } from "./catalogue";

// Component tests: GET /api/methods is a fake answer (fetch is stubbed) with a method only a plug-in adds;
// the browser test does the same against the real server with a real plug-in.

function run(id: string, method: string, patch: Partial<RunPublic> = {}): RunPublic {
  return {
    id,
    poc_id: "p1",
    method,
    hyperparams: {},
    state: "succeeded",
    cancel_requested: false,
    progress: 1,
    step: 10,
    total_steps: 10,
    forward_passes: 10,
    attempt: 1,
    queue: "cpu",
    created_at: "2026-11-28T10:00:00Z",
    started_at: null,
    finished_at: null,
    worker: null,
    device: "cpu",
    peak_memory_mb: null,
    baseline_memory_mb: null,
    memory_kind: null,
    memory_added_mb: null,
    memory_metric: "memory/peak_rss_mb",
    final_metrics: null,
    error: null,
    error_code: null,
    error_params: {},
    ...patch,
  };
}

describe("methods from the registry", () => {
  beforeEach(async () => {
    vi.stubGlobal(
      "fetch",
      fakeApi({ "GET /api/methods": () => methodsAnswer([...BUILTIN_METHODS, ZO_SIGN]) }).fetchImpl,
    );
    await i18n.changeLanguage("en");
  });
  afterEach(() => vi.unstubAllGlobals());

  it("badges a plug-in's method with its registry label and colour", async () => {
    renderPage(<MethodBadge method="zo_sign" />, "/");
    const badge = await screen.findByText("ZO-Sign");
    expect(badge).toHaveStyle({ borderColor: "#123456" });
    expect(badge.querySelector(".swatch")).toHaveStyle({ background: "#123456" });
  });

  it("badges a method the registry no longer has by its id, in grey", async () => {
    renderPage(
      <>
        <MethodBadge method="zo_sign" />
        <MethodBadge method="removed_plugin" />
      </>,
      "/",
    );
    await screen.findByText("ZO-Sign"); // the registry has answered
    expect(screen.getByText("removed_plugin")).toHaveStyle({ borderColor: UNKNOWN_METHOD_COLOR });
  });

  it("compares a plug-in's zeroth-order method with the baseline in the summary, by the registry's kinds", async () => {
    const runs = [
      run("z", "zo_sign", { peak_memory_mb: 400, final_metrics: { "eval/accuracy": 0.8 } }),
      run("a", "adamw", { peak_memory_mb: 840, final_metrics: { "eval/accuracy": 0.835 } }),
    ];
    renderPage(<Summary runs={runs} />, "/");
    expect(await screen.findByText("AdamW needs 2.1× the memory of ZO-Sign")).toBeInTheDocument();
    expect(screen.getByTestId("accuracy-gap")).toHaveTextContent("ZO-Sign scores 3.5 points below AdamW");
    // Listed in the registry's display order (AdamW 20, ZO-Sign 45), whatever the run order.
    const badges = screen.getByTestId("accuracy-summary").querySelectorAll(".method-badge");
    expect([...badges].map((badge) => badge.textContent)).toEqual(["AdamW", "ZO-Sign"]);
  });
});
