import { screen, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import i18n from "../i18n";
import { methodsAnswer } from "../test/methods";
import { meAs, poc, run } from "../test/pocs";
import { fakeApi, renderPage } from "../test/render";
import { TwoPocsPage } from "./TwoPocsPage";

afterEach(() => vi.unstubAllGlobals());

const noPoints = { x: "step", runs: {} };

describe("two PoCs side by side", () => {
  it("shows each PoC's name, budget and key results in its own column, in Japanese", async () => {
    await i18n.changeLanguage("ja");
    const small = poc({
      id: "p1",
      name: "小さな予算",
      settings: { steps: 40 },
      runs: [
        run({ id: "a1", method: "lozo", final_metrics: { "eval/accuracy": 0.7 } }),
        run({ id: "a2", method: "adamw", final_metrics: { "eval/accuracy": 0.75 }, peak_memory_mb: 1200 }),
      ],
    });
    const large = poc({
      id: "p2",
      name: "大きな予算",
      settings: { steps: 400 },
      runs: [
        run({ id: "b1", method: "lozo", poc_id: "p2", final_metrics: { "eval/accuracy": 0.82 } }),
        run({ id: "b2", method: "adamw", poc_id: "p2", final_metrics: { "eval/accuracy": 0.84 } }),
      ],
    });
    const api = fakeApi({
      "GET /api/auth/me": () => meAs("viewer"),
      "GET /api/methods": () => methodsAnswer(),
      "GET /api/pocs/p1": () => small,
      "GET /api/pocs/p2": () => large,
      "GET /api/pocs/p1/metrics": () => noPoints,
      "GET /api/pocs/p2/metrics": () => noPoints,
    });
    vi.stubGlobal("fetch", api.fetchImpl);
    renderPage(<TwoPocsPage />, "/compare?a=p1&b=p2");
    expect(await screen.findByRole("heading", { name: "2 つの PoC の比較" })).toBeInTheDocument();
    const left = (await screen.findByRole("link", { name: "小さな予算" })).closest("section")!;
    const right = (await screen.findByRole("link", { name: "大きな予算" })).closest("section")!;
    expect(left).toHaveAttribute("data-side", "a");
    expect(right).toHaveAttribute("data-side", "b");
    expect(left).toHaveTextContent("40 ステップ");
    expect(right).toHaveTextContent("400 ステップ");
    expect(within(left).getByTestId("key-results").querySelector('[data-method="adamw"]')).toHaveTextContent("75.0%");
    expect(within(right).getByTestId("key-results").querySelector('[data-method="lozo"]')).toHaveTextContent("82.0%");
    expect(within(left).getByTestId("memory-saving")).toHaveTextContent("AdamW は LOZO の 3 倍のメモリが必要");
  });

  it("asks for two PoCs when the address names fewer", async () => {
    await i18n.changeLanguage("en");
    vi.stubGlobal("fetch", fakeApi({}).fetchImpl);
    renderPage(<TwoPocsPage />, "/compare?a=p1");
    expect(screen.getByText("Choose two PoCs in the list to compare them.")).toBeInTheDocument();
  });
});
