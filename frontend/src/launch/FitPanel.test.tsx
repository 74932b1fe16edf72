import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import i18n from "../i18n";
import { methodsAnswer } from "../test/methods";
import { fakeApi, renderPage } from "../test/render";
import { FitPanel } from "./FitPanel";

afterEach(() => vi.unstubAllGlobals());
beforeEach(async () => {
  await i18n.changeLanguage("ja");
});

/** The estimate service fails until `healthy` is set; every request is counted. */
function flakyEstimates() {
  const state = { healthy: false, requests: 0 };
  const api = fakeApi({
    "GET /api/methods": () => methodsAnswer(),
    "GET /api/gpus": () => ({ data: [], count: 0 }),
    "POST /api/estimates/memory": () => {
      state.requests += 1;
      if (!state.healthy) return new Response(JSON.stringify({ detail: "database is restarting" }), { status: 503 });
      return {
        model: { id: "minilm", n_params: 1, n_layers: 1, hidden_size: 1 },
        data: [{ method: "lozo", bytes: {}, total_gb: 2, calibration: null, fit: null, headroom_gb: null }],
      };
    },
  });
  vi.stubGlobal("fetch", api.fetchImpl);
  return state;
}

function Panel() {
  return (
    <FitPanel
      model="minilm"
      methods={["lozo"]}
      batchSize={8}
      seqLen={64}
      dtype="float32"
      rank={2}
      gpuId=""
      onGpuChange={() => {}}
    />
  );
}

describe("the memory estimate of the launch form", () => {
  it("retries a failing estimate, then says so in the reader's language with a retry button", async () => {
    const service = flakyEstimates();
    const user = userEvent.setup();
    renderPage(<Panel />);
    const alert = await screen.findByRole("alert", {}, { timeout: 5000 });
    expect(service.requests).toBe(3); // the first try and two retries before the reader is told
    expect(alert).toHaveTextContent("現在、メモリの見積もりを取得できません。");
    expect(alert).toHaveTextContent("メモリ見積もりを読み込めませんでした：database is restarting");
    service.healthy = true;
    await user.click(screen.getByRole("button", { name: "再試行" }));
    await waitFor(() => expect(screen.queryByRole("alert")).toBeNull());
    expect(document.querySelector('li[data-method="lozo"]')).toHaveTextContent("2");
  });
});
