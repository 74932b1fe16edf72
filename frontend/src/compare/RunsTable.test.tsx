import { useQuery } from "@tanstack/react-query";
import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { pocQuery } from "../api/queries";
import type { RunPublic } from "../api/types";
import i18n from "../i18n";
import { methodsAnswer } from "../test/methods";
import { meAs, poc, run } from "../test/pocs";
import { fakeApi, renderPage } from "../test/render";
import { RunsTable } from "./RunsTable";

beforeEach(async () => {
  await i18n.changeLanguage("en");
  document.cookie = "zopoc_csrf=csrf-1; path=/";
});
afterEach(() => {
  vi.unstubAllGlobals();
  window.localStorage.clear();
  document.cookie = "zopoc_csrf=; expires=Thu, 01 Jan 1970 00:00:00 GMT; path=/";
});

/** The runs table as the PoC page shows it: fed by the PoC query, which polls like the page does. */
function RunsOfPoc() {
  const current = useQuery({ ...pocQuery("p1"), refetchInterval: 50 });
  return current.data ? <RunsTable poc={current.data} /> : null;
}

/** A PoC whose AdamW run is training and whose LOZO run failed once and was retried (attempt 2, finished). */
function runsApi(role: "editor" | "viewer" = "editor") {
  const runs: RunPublic[] = [
    run({ id: "lozo-1", method: "lozo", state: "failed", progress: 0.4, error: "diverged", attempt: 1 }),
    run({
      id: "adamw-1",
      method: "adamw",
      state: "running",
      progress: 0.5,
      created_at: "2026-05-01T10:00:01Z",
      finished_at: null,
    }),
    run({ id: "lozo-2", method: "lozo", attempt: 2, created_at: "2026-05-01T10:05:00Z" }),
  ];
  const adamw = runs[1]!;
  const api = fakeApi({
    "GET /api/auth/me": () => meAs(role),
    "GET /api/methods": () => methodsAnswer(),
    "GET /api/pocs/p1": () => poc({ state: "running", runs }),
    "POST /api/runs/adamw-1/cancel": () => {
      adamw.cancel_requested = true; // running: the worker ends it after its current step
      return adamw;
    },
  });
  /** What the worker does some time later: the run ends as cancelled. */
  const workerEndsIt = () => Object.assign(adamw, { state: "cancelled", finished_at: "2026-05-01T10:06:00Z" });
  return { ...api, workerEndsIt };
}

const rowOf = (id: string) => document.querySelector<HTMLElement>(`tr[data-run-id="${id}"]`)!;

describe("the runs of a PoC", () => {
  it("numbers the attempts of a retried method, and only of that one", async () => {
    vi.stubGlobal("fetch", runsApi().fetchImpl);
    renderPage(<RunsOfPoc />, "/pocs/p1");
    await waitFor(() => expect(rowOf("lozo-2")).toBeTruthy());
    expect(rowOf("lozo-1")).toHaveTextContent("attempt 1");
    expect(rowOf("lozo-1")).toHaveTextContent("Failed");
    expect(rowOf("lozo-2")).toHaveTextContent("attempt 2");
    expect(rowOf("lozo-2")).toHaveTextContent("Finished");
    expect(rowOf("adamw-1")).not.toHaveTextContent("attempt");
  });

  it("asks before cancelling, then shows the run stopping until its worker ends it", async () => {
    const api = runsApi();
    vi.stubGlobal("fetch", api.fetchImpl);
    const user = userEvent.setup();
    renderPage(<RunsOfPoc />, "/pocs/p1");
    await screen.findByRole("button", { name: "Cancel the AdamW run" });

    await user.click(screen.getByRole("button", { name: "Cancel the AdamW run" }));
    const question = screen.getByRole("group", { name: "Cancel the AdamW run" });
    expect(question).toHaveTextContent("It stops after its current step; what it recorded so far is kept.");
    await user.click(within(question).getByRole("button", { name: "Keep it running" }));
    expect(api.calls.some((c) => c.method === "POST")).toBe(false);
    expect(rowOf("adamw-1")).toHaveTextContent("Running");

    await user.click(screen.getByRole("button", { name: "Cancel the AdamW run" }));
    await user.click(screen.getByRole("button", { name: "Yes, cancel it" }));
    const badge = await within(rowOf("adamw-1")).findByText("Stopping…", { selector: ".badge" });
    expect(badge).toHaveAttribute("data-state", "stopping");
    expect(api.calls.filter((c) => c.method === "POST").map((c) => c.path)).toEqual(["/api/runs/adamw-1/cancel"]);
    // Nothing to press while it stops, and it stays so while the server still says "running".
    expect(within(rowOf("adamw-1")).getByRole("button", { name: "Stopping…" })).toBeDisabled();
    expect(within(rowOf("adamw-1")).queryByRole("button", { name: /Cancel|Run AdamW again/ })).toBeNull();
    const polls = api.calls.filter((c) => c.path === "/api/pocs/p1").length;
    await waitFor(() => expect(api.calls.filter((c) => c.path === "/api/pocs/p1").length).toBeGreaterThan(polls + 2));
    expect(rowOf("adamw-1")).toHaveTextContent("Stopping…");

    api.workerEndsIt();
    await waitFor(() => expect(rowOf("adamw-1")).toHaveAttribute("data-state", "cancelled"));
    expect(within(rowOf("adamw-1")).getByText("Cancelled")).toHaveAttribute("data-state", "cancelled");
    expect(rowOf("adamw-1")).not.toHaveTextContent("Stopping");
    expect(screen.getByRole("button", { name: "Run AdamW again" })).toBeEnabled();
  });

  it("says attempts, the question and stopping in Japanese", async () => {
    await i18n.changeLanguage("ja");
    const api = runsApi();
    vi.stubGlobal("fetch", api.fetchImpl);
    const user = userEvent.setup();
    renderPage(<RunsOfPoc />, "/pocs/p1");
    await user.click(await screen.findByRole("button", { name: "AdamW の実行を中止" }));
    expect(screen.getByText(/AdamW の実行を中止しますか？/)).toBeInTheDocument();
    expect(rowOf("lozo-2")).toHaveTextContent("2 回目");
    await user.click(screen.getByRole("button", { name: "中止する" }));
    expect(await within(rowOf("adamw-1")).findByText("停止処理中…", { selector: ".badge" })).toBeInTheDocument();
  });

  it("offers no cancel to a viewer", async () => {
    const api = runsApi("viewer");
    vi.stubGlobal("fetch", api.fetchImpl);
    renderPage(<RunsOfPoc />, "/pocs/p1");
    await waitFor(() => expect(rowOf("adamw-1")).toBeTruthy());
    // answered and read (the table re-renders on every poll) before looking for buttons
    const polls = api.calls.filter((c) => c.path === "/api/pocs/p1").length;
    await waitFor(() => expect(api.calls.filter((c) => c.path === "/api/pocs/p1").length).toBeGreaterThan(polls + 1));
    expect(api.calls.some((c) => c.path === "/api/auth/me")).toBe(true);
    // Only the glossary's explanations remain buttons (they change nothing).
    expect(screen.queryAllByRole("button").filter((b) => !b.dataset.term)).toEqual([]);
  });
});
