import { screen, waitFor, within } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { GenerationExample, RunPublic } from "../api/types";
import i18n from "../i18n";
import { methodsAnswer } from "../test/methods";
import { run } from "../test/pocs";
import { fakeApi, renderPage } from "../test/render";
import { exampleRows, GenerationExamples } from "./GenerationExamples";

const example = (prompt: string, reference: string, generated: string, f1: number): GenerationExample => ({
  prompt,
  reference,
  generated,
  exact_match: generated === reference,
  f1,
});

const LONG_PROMPT = `Convert to ISO: ${"the fourteenth of March in the year two thousand and twenty-six, ".repeat(4)}`;

/** A finished generation PoC: LOZO learned the format (its end answers match), AdamW got one of two. */
function generationRuns(): RunPublic[] {
  return [
    run({
      id: "a",
      method: "adamw",
      final_metrics: { em_start: 0, em_end: 0.5, acc_end: 0.5 },
      examples: {
        start: {
          step: 0,
          examples: [
            example(LONG_PROMPT, "2026-03-14", "March 14", 0),
            example("Convert: 1 May 2025", "2025-05-01", "", 0),
          ],
        },
        end: {
          step: 40,
          examples: [
            example(LONG_PROMPT, "2026-03-14", "2026-03-14", 1),
            example("Convert: 1 May 2025", "2025-05-01", "2025-01-05", 0.5),
          ],
        },
      },
    }),
    run({
      id: "l",
      method: "lozo",
      final_metrics: { em_start: 0, em_end: 1, acc_end: 1 },
      examples: {
        start: {
          step: 0,
          examples: [
            example(LONG_PROMPT, "2026-03-14", "14/03", 0),
            example("Convert: 1 May 2025", "2025-05-01", "May", 0),
          ],
        },
        end: {
          step: 40,
          examples: [
            example(LONG_PROMPT, "2026-03-14", "2026-03-14", 1),
            example("Convert: 1 May 2025", "2025-05-01", "2025-05-01", 1),
          ],
        },
      },
    }),
  ];
}

beforeEach(async () => {
  await i18n.changeLanguage("en");
  vi.stubGlobal("fetch", fakeApi({ "GET /api/methods": () => methodsAnswer() }).fetchImpl);
});
afterEach(() => vi.unstubAllGlobals());

describe("a generation PoC's example answers", () => {
  it("shows one row per prompt with every method's answer at the start and the end, marked and scored", async () => {
    renderPage(<GenerationExamples runs={generationRuns()} />, "/");
    const table = await screen.findByTestId("generation-examples");
    // The method's label from the registry, in display order (LOZO before AdamW).
    await waitFor(() => expect(within(table).getByRole("columnheader", { name: "LOZO" })).toBeInTheDocument());
    const groups = within(table)
      .getAllByRole("columnheader")
      .filter((th) => th.getAttribute("scope") === "colgroup");
    expect(groups.map((th) => th.textContent)).toEqual(["LOZO", "AdamW"]);
    expect(within(table).getAllByRole("columnheader", { name: "Start (step 0)" })).toHaveLength(2);
    expect(within(table).getAllByRole("columnheader", { name: "End (step 40)" })).toHaveLength(2);

    const rows = within(table).getAllByRole("row").slice(2); // under the two header rows
    expect(rows).toHaveLength(2);
    const first = rows[0]!;
    // Long text is cut by CSS; the whole of it is in the tooltip.
    const prompt = within(first).getByRole("rowheader");
    expect(prompt.querySelector(".clip")).toHaveAttribute("title", LONG_PROMPT);

    const cell = (row: HTMLElement, method: string, at: "start" | "end") =>
      row.querySelector<HTMLElement>(`td[data-method="${method}"][data-at="${at}"]`)!;
    const lozoStart = cell(first, "lozo", "start");
    expect(lozoStart).toHaveTextContent("14/03");
    expect(within(lozoStart).getByRole("img", { name: "Not an exact match" })).toHaveTextContent("✗");
    expect(lozoStart).toHaveTextContent(/F1 0$/);
    const lozoEnd = cell(first, "lozo", "end");
    expect(lozoEnd).toHaveTextContent("2026-03-14");
    expect(within(lozoEnd).getByRole("img", { name: "Exact match" })).toHaveTextContent("✓");
    expect(lozoEnd).toHaveTextContent(/F1 1$/);

    const second = rows[1]!;
    expect(within(second).getByRole("rowheader")).toHaveTextContent("Convert: 1 May 2025");
    expect(second).toHaveTextContent("2025-05-01"); // the reference
    expect(cell(second, "adamw", "start")).toHaveTextContent("(empty answer)");
    const adamwEnd = cell(second, "adamw", "end");
    expect(adamwEnd).toHaveTextContent("2025-01-05");
    expect(within(adamwEnd).getByRole("img", { name: "Not an exact match" })).toBeInTheDocument();
    expect(adamwEnd).toHaveTextContent(/F1 0.5$/);
  });

  it("says the examples come after the first evaluation while no run has any", async () => {
    const running = [
      run({ id: "l", method: "lozo", state: "running", examples: null }),
      run({ id: "a", method: "adamw", state: "queued", examples: null }),
    ];
    renderPage(<GenerationExamples runs={running} />, "/");
    expect(await screen.findByText("Example answers appear after the first evaluation.")).toBeInTheDocument();
    expect(screen.queryByTestId("generation-examples")).toBeNull();
  });

  it("shows a running run's start answers, its latest evaluation, and nothing yet for a run still queued", async () => {
    const [adamw, lozo] = generationRuns();
    const runs = [
      { ...lozo!, state: "running" as const, examples: { start: lozo!.examples!.start, end: null } },
      { ...adamw!, state: "running" as const },
      run({ id: "m", method: "mezo", state: "queued", examples: null }),
    ];
    renderPage(<GenerationExamples runs={runs} />, "/");
    const table = await screen.findByTestId("generation-examples");
    expect(within(table).getAllByRole("columnheader", { name: "Latest (step 40)" })).toHaveLength(1);
    const row = within(table).getAllByRole("row")[2]!;
    expect(row.querySelector('td[data-method="lozo"][data-at="end"]')).toHaveTextContent("not yet");
    expect(row.querySelector('td[data-method="mezo"][data-at="start"]')).toHaveTextContent("not yet");
  });

  it("takes at most five prompts", () => {
    const many = Array.from({ length: 8 }, (_, i) => example(`p${i}`, `r${i}`, `r${i}`, 1));
    const rows = exampleRows([run({ id: "l", method: "lozo", examples: { start: { step: 0, examples: many } } })]);
    expect(rows.map((r) => r.prompt)).toEqual(["p0", "p1", "p2", "p3", "p4"]);
    expect(rows[0]!.answers[0]).toMatchObject({ method: "lozo", end: null, start: { generated: "r0" } });
  });

  it("is in Japanese for a Japanese reader", async () => {
    await i18n.changeLanguage("ja");
    renderPage(<GenerationExamples runs={generationRuns()} />, "/");
    const table = await screen.findByTestId("generation-examples");
    expect(within(table).getAllByRole("img", { name: "完全一致" }).length).toBeGreaterThan(0);
    expect(within(table).getAllByRole("columnheader", { name: "終了時（ステップ 40）" })).toHaveLength(2);
  });
});
