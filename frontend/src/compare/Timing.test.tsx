import { screen, within } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { PocPublic } from "../api/types";
import i18n from "../i18n";
import { methodsAnswer } from "../test/methods";
import { meAs, poc, run } from "../test/pocs";
import { fakeApi, renderPage } from "../test/render";
import { RunsTable } from "./RunsTable";
import { PocTimingNote } from "./Timing";

afterEach(() => vi.unstubAllGlobals());
beforeEach(() => {
  vi.stubGlobal(
    "fetch",
    fakeApi({ "GET /api/auth/me": () => meAs("viewer"), "GET /api/methods": () => methodsAnswer() }).fetchImpl,
  );
});

/** A PoC whose LOZO run trains at 2 s a step while its AdamW run waits, third in the queue. */
function sequentialPoc(): PocPublic {
  return poc({
    state: "running",
    runs: [
      run({
        id: "r-lozo",
        method: "lozo",
        state: "running",
        progress: 0.1,
        step: 10,
        total_steps: 100,
        finished_at: null,
      }),
      run({
        id: "r-adamw",
        method: "adamw",
        state: "queued",
        progress: 0,
        step: 0,
        total_steps: 100,
        finished_at: null,
      }),
    ],
    timing: {
      runs: {
        "r-lozo": { s_per_step: 2, eta_s: 180, queue_position: null },
        "r-adamw": { s_per_step: 2, eta_s: 4000, queue_position: 3 },
      },
      remaining_s: 4180,
      sequential: true,
    },
  });
}

const rowOf = (id: string) => document.querySelector<HTMLElement>(`tr[data-run-id="${id}"]`)!;

describe("the time a PoC still needs", () => {
  it("shows each running run's ETA and each queued run's place in the queue", async () => {
    await i18n.changeLanguage("en");
    renderPage(<RunsTable poc={sequentialPoc()} />, "/pocs/p1");
    await screen.findAllByText("LOZO"); // the runs table (and the downloads panel) are drawn
    expect(within(rowOf("r-lozo")).getByTestId("run-timing")).toHaveTextContent("about 3 min left · 2 s per step");
    expect(within(rowOf("r-adamw")).getByTestId("run-timing")).toHaveTextContent(
      "#3 in the queue · expected to take 1 h 7 min",
    );
  });

  it("says in Japanese how long the PoC needs and that its runs go one after another", async () => {
    await i18n.changeLanguage("ja");
    renderPage(<PocTimingNote poc={sequentialPoc()} />, "/pocs/p1");
    const note = screen.getByTestId("poc-timing");
    expect(note).toHaveTextContent("この PoC の完了まで残り約 1 時間 10 分です。");
    expect(note).toHaveTextContent("この PoC の実行は順番に進みます。");
  });

  it("says so when no pace is measured yet, and nothing once the PoC has ended", async () => {
    await i18n.changeLanguage("en");
    const waiting = sequentialPoc();
    waiting.timing = { runs: {}, remaining_s: null, sequential: false };
    const { unmount } = renderPage(<PocTimingNote poc={waiting} />, "/pocs/p1");
    expect(screen.getByTestId("poc-timing")).toHaveTextContent("The time left is known once the runs");
    expect(screen.getByTestId("poc-timing")).not.toHaveTextContent("one after another");
    unmount();
    renderPage(<PocTimingNote poc={poc({ runs: [], timing: null })} />, "/pocs/p1");
    expect(screen.queryByTestId("poc-timing")).toBeNull();
  });
});
