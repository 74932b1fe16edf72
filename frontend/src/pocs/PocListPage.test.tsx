import userEvent from "@testing-library/user-event";
import { screen, waitFor, within } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import i18n from "../i18n";
import { methodsAnswer } from "../test/methods";
import { meAs, poc, run } from "../test/pocs";
import { fakeApi, renderPage } from "../test/render";
import { PocListPage } from "./PocListPage";

beforeEach(async () => {
  await i18n.changeLanguage("en");
});
afterEach(() => {
  vi.unstubAllGlobals();
  window.localStorage.clear();
});

// Three PoCs as the server answers them (its state derived from the newest attempt of each method).
const PARTIAL = poc({
  id: "partial",
  name: "Partial",
  state: "mixed",
  runs: [
    run({ id: "p-lozo", method: "lozo" }),
    run({ id: "p-adamw", method: "adamw" }),
    run({ id: "p-mezo", method: "mezo", state: "cancelled", progress: 0.05 }),
  ],
});
const RETRIED = poc({
  id: "retried",
  name: "Retried",
  state: "succeeded",
  runs: [
    run({ id: "r-lozo-1", method: "lozo", state: "failed", progress: 0.1, attempt: 1 }),
    run({ id: "r-adamw", method: "adamw" }),
    run({ id: "r-lozo-2", method: "lozo", attempt: 2, created_at: "2026-05-01T11:00:00Z" }),
  ],
});
const TRAINING = poc({
  id: "training",
  name: "Training",
  state: "running",
  runs: [
    run({ id: "t-lozo", method: "lozo", state: "running", progress: 0.5, finished_at: null }),
    run({ id: "t-adamw", method: "adamw", state: "failed", progress: 0.2 }),
    run({ id: "t-mezo", method: "mezo", state: "queued", progress: 0, started_at: null, finished_at: null }),
  ],
});

function listApi() {
  return fakeApi({
    "GET /api/auth/me": () => meAs("viewer"),
    "GET /api/methods": () => methodsAnswer(),
    "GET /api/pocs": () => ({ data: [PARTIAL, RETRIED, TRAINING], count: 3 }),
  });
}

const rowOf = (id: string) => document.querySelector<HTMLElement>(`tr[data-poc-id="${id}"]`)!;
const summaryOf = (id: string) => within(rowOf(id)).getByTestId("runs-summary");

describe("the PoC list", () => {
  it("says how the runs ended instead of a bare percentage", async () => {
    vi.stubGlobal("fetch", listApi().fetchImpl);
    renderPage(<PocListPage />, "/");
    await waitFor(() => expect(rowOf("partial")).toBeTruthy());

    expect(summaryOf("partial")).toHaveTextContent(/^2 of 3 runs finished, 1 cancelled$/);
    expect(within(rowOf("partial")).getByText("Mixed results")).toHaveAttribute("data-state", "mixed");
    // Nothing trains any more: no bar and no percentage that could read as "35% done".
    expect(within(rowOf("partial")).queryByRole("progressbar")).toBeNull();
    expect(summaryOf("partial").closest("td")).not.toHaveTextContent("%");

    // A retry that finished replaces the failed first attempt, as it does for the server's state.
    expect(summaryOf("retried")).toHaveTextContent(/^2 of 2 runs finished$/);

    expect(summaryOf("training")).toHaveTextContent(/^0 of 3 runs finished, 1 failed, 1 running, 1 queued$/);
    // While runs train, the bar counts the ended run as done: (1 + 0.5 + 0) / 3.
    const bar = within(rowOf("training")).getByRole("progressbar", { name: "Training progress of Training" });
    expect(bar).toHaveAttribute("value", String(1.5 / 3));
    expect(rowOf("training")).toHaveTextContent("50%");
  });

  it("says it in Japanese", async () => {
    await i18n.changeLanguage("ja");
    vi.stubGlobal("fetch", listApi().fetchImpl);
    renderPage(<PocListPage />, "/");
    await waitFor(() => expect(rowOf("partial")).toBeTruthy());
    expect(summaryOf("partial")).toHaveTextContent(/^3 件中 2 件が完了、1 件を中止$/);
    expect(within(rowOf("partial")).getByText("結果が混在")).toBeInTheDocument();
    expect(summaryOf("training")).toHaveTextContent(/^3 件中 0 件が完了、1 件が失敗、1 件が実行中、1 件が待機中$/);
    expect(screen.getByRole("progressbar", { name: "Training の学習の進捗" })).toBeInTheDocument();
  });

  it("shows each PoC's key results and opens two picked PoCs side by side", async () => {
    await i18n.changeLanguage("ja");
    const user = userEvent.setup();
    vi.stubGlobal("fetch", listApi().fetchImpl);
    renderPage(<PocListPage />, "/");
    await waitFor(() => expect(rowOf("partial")).toBeTruthy());
    const results = within(rowOf("partial")).getByTestId("key-results");
    expect(results.querySelector('[data-method="lozo"]')).toHaveTextContent("80.0%");
    const open = screen.getByRole("button", { name: "選んだ 2 つの PoC を比較" });
    expect(open).toBeDisabled();
    await user.click(screen.getByRole("checkbox", { name: "Partial を比較に追加" }));
    await user.click(screen.getByRole("checkbox", { name: "Training を比較に追加" }));
    await user.click(open);
    expect(await screen.findByTestId("navigated")).toBeInTheDocument();
  });
});
