import { useQuery } from "@tanstack/react-query";
import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { pocQuery } from "../api/queries";
import type { RunPublic } from "../api/types";
import i18n from "../i18n";
import { methodsAnswer } from "../test/methods";
import { meAs, poc, run } from "../test/pocs";
import { fakeApi, renderPage } from "../test/render";
import { formatBytes } from "./DownloadsPanel";
import { RunsTable } from "./RunsTable";

beforeEach(async () => {
  await i18n.changeLanguage("en");
  document.cookie = "zopoc_csrf=csrf-1; path=/";
});
afterEach(async () => {
  vi.unstubAllGlobals();
  window.localStorage.clear();
  document.cookie = "zopoc_csrf=; expires=Thu, 01 Jan 1970 00:00:00 GMT; path=/";
  await i18n.changeLanguage("en");
});

function RunsOfPoc() {
  const current = useQuery({ ...pocQuery("p1"), refetchInterval: 50 });
  return current.data ? <RunsTable poc={current.data} /> : null;
}

/** A LOZO run resumed twice that finished, and an AdamW run that hit the resume limit. */
function downloadsApi() {
  const lozo = run({ id: "lozo-1", method: "lozo", resumes: 2, export_state: null, export_bytes: null });
  const adamw = run({
    id: "adamw-1",
    method: "adamw",
    state: "failed",
    resumes: 2,
    checkpoint_bytes: 3 * 1024 * 1024,
    error: "the run lost its training process 3 times ...",
    error_code: "run_resume_limit",
    error_params: { cause: "killed", resumes: 2, max_resumes: 2 },
  });
  const runs: RunPublic[] = [lozo, adamw];
  return fakeApi({
    "GET /api/auth/me": () => meAs("editor"),
    "GET /api/methods": () => methodsAnswer(),
    "GET /api/pocs/p1": () => poc({ state: "succeeded", runs }),
    "GET /api/runs/lozo-1/steplog/info": () => ({
      run_id: "lozo-1",
      steps: 40,
      bytes: 1532,
      filename: "poc-lozo-lozo-1.zolog",
      rebuild_command: "python -m worker.train replay --log poc-lozo-lozo-1.zolog --out poc-lozo-lozo-1",
    }),
    "POST /api/runs/lozo-1/export": () => {
      lozo.export_state = "queued";
      return new Response(JSON.stringify({ run_id: "lozo-1", state: "queued", bytes: null, error: null }), {
        status: 202,
        headers: { "Content-Type": "application/json" },
      });
    },
  });
}

const runRow = (id: string) => document.querySelector<HTMLElement>(`tr[data-run-id="${id}"]`)!;
const downloadRow = (id: string) => document.querySelector<HTMLElement>(`tr[data-download-run-id="${id}"]`)!;

describe("runs that outlived their worker, and their downloads", () => {
  it("badges a resumed run and words the resume limit in the reader's language", async () => {
    vi.stubGlobal("fetch", downloadsApi().fetchImpl);
    renderPage(<RunsOfPoc />, "/pocs/p1");
    await waitFor(() => expect(runRow("adamw-1")).toBeTruthy());
    expect(runRow("lozo-1")).toHaveTextContent("resumed ×2");
    expect(runRow("adamw-1")).toHaveTextContent(
      "it lost its training process again after being resumed 2 of at most 2 times",
    );
    await i18n.changeLanguage("ja");
    await waitFor(() => expect(runRow("adamw-1")).toHaveTextContent("学習プロセスを失いました"));
    expect(runRow("lozo-1")).toHaveTextContent("再開 ×2");
  });

  it("offers the step log with its size and rebuild command, and prepares a model folder", async () => {
    const api = downloadsApi();
    vi.stubGlobal("fetch", api.fetchImpl);
    renderPage(<RunsOfPoc />, "/pocs/p1");
    const link = await screen.findByRole("link", { name: "Step log (40 steps, 1.5 KB)" });
    expect(link).toHaveAttribute("href", "/api/runs/lozo-1/steplog");
    expect(downloadRow("lozo-1")).toHaveTextContent("python -m worker.train replay --log poc-lozo-lozo-1.zolog");
    expect(downloadRow("adamw-1")).toHaveTextContent("3 MB");
    expect(downloadRow("adamw-1")).not.toHaveTextContent("Step log");

    const buttons = screen.getAllByRole("button", { name: "Prepare model folder" });
    expect(buttons).toHaveLength(1); // the failed AdamW run: refused by the API, no button offered either
    await userEvent.click(buttons[0]!);
    await waitFor(() => expect(downloadRow("lozo-1")).toHaveTextContent("Model folder queued…"));
    expect(api.calls.some((c) => c.method === "POST" && c.path === "/api/runs/lozo-1/export")).toBe(true);
  });

  it("formats sizes in powers of 1024", () => {
    expect(formatBytes("en", 999)).toBe("999 B");
    expect(formatBytes("en", 1536)).toBe("1.5 KB");
    expect(formatBytes("en", 5 * 1024 ** 3)).toBe("5 GB");
    expect(formatBytes("en", null)).toBe("—");
  });
});
