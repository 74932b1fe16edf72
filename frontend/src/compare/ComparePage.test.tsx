import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, screen, within } from "@testing-library/react";
import { MemoryRouter, Route, Routes } from "react-router-dom";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import i18n from "../i18n";
import { methodsAnswer } from "../test/methods";
import { meAs, poc, run } from "../test/pocs";
import { fakeApi } from "../test/render";
import { ComparePage } from "./ComparePage";

// Plotly cannot draw in jsdom; the charts' titles and metrics are what this page test is about.
vi.mock("./PlotlyChart", () => ({ default: () => <div data-testid="plot" /> }));

const answer = (generated: string, exact: boolean) => ({
  prompt: "Convert: 1 May 2025",
  reference: "2025-05-01",
  generated,
  exact_match: exact,
  f1: exact ? 1 : 0,
});

/** A finished generation PoC: exact match is its headline score, and its runs kept their example answers. */
const generationPoc = poc({
  settings: { steps: 40, task_type: "generation" },
  dataset_name: "demo-dates",
  runs: [
    run({
      id: "l",
      method: "lozo",
      final_metrics: { acc_start: 0, acc_end: 0.5, em_start: 0, em_end: 0.5, f1_end: 0.7 },
      examples: {
        start: { step: 0, examples: [answer("May", false)] },
        end: { step: 40, examples: [answer("2025-05-01", true)] },
      },
    }),
    run({
      id: "a",
      method: "adamw",
      final_metrics: { acc_start: 0, acc_end: 0.75, em_start: 0, em_end: 0.75, f1_end: 0.9 },
      examples: {
        start: { step: 0, examples: [answer("", false)] },
        end: { step: 40, examples: [answer("2025-05-01", true)] },
      },
    }),
  ],
});

function serve(body = generationPoc) {
  const asked: string[][] = []; // the metric names of each metrics request
  const api = fakeApi({
    "GET /api/auth/me": () => meAs("viewer"),
    "GET /api/methods": () => methodsAnswer(),
    "GET /api/pocs/p1": () => body,
    "GET /api/pocs/p1/metrics": (_request, url) => {
      const names = url.searchParams.get("names")?.split(",") ?? [];
      asked.push(names);
      const point = { x: [0, 40], y: [0, 0.5] };
      return { x: "step", runs: { l: Object.fromEntries(names.map((n) => [n, point])) } };
    },
    "GET /api/pocs/p1/roi": () => new Response(JSON.stringify({ detail: "not here" }), { status: 404 }),
  });
  vi.stubGlobal("fetch", api.fetchImpl);
  return { ...api, asked };
}

/** The PoC page at /pocs/p1, as the app routes it (the id from the path). */
function renderPocPage() {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(
    <QueryClientProvider client={client}>
      <MemoryRouter initialEntries={["/pocs/p1"]}>
        <Routes>
          <Route path="/pocs/:pocId" element={<ComparePage />} />
        </Routes>
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

beforeEach(async () => {
  await i18n.changeLanguage("en");
});
afterEach(() => vi.unstubAllGlobals());

describe("the PoC page of a generation PoC", () => {
  it("charts the generation metrics, says exact match, and shows the example answers", async () => {
    const api = serve();
    renderPocPage();
    expect(await screen.findByRole("figure", { name: "Token F1" })).toBeInTheDocument();
    expect(screen.getByRole("figure", { name: "Exact match" })).toBeInTheDocument();
    expect(screen.getByRole("figure", { name: "Evaluation loss (completion tokens)" })).toBeInTheDocument();
    expect(screen.queryByRole("figure", { name: "Evaluation accuracy" })).toBeNull();
    expect(api.asked[0]).toEqual(expect.arrayContaining(["train/loss", "eval/exact_match", "eval/f1", "eval/loss"]));
    expect(api.asked[0]).not.toContain("eval/accuracy");

    const summary = screen.getByTestId("accuracy-summary");
    expect(within(summary).getByRole("heading", { name: "Final exact match" })).toBeInTheDocument();
    expect(within(summary).getByText("75.0%")).toBeInTheDocument();
    expect(screen.getByRole("columnheader", { name: "Exact match" })).toBeInTheDocument();

    const examples = await screen.findByTestId("generation-examples");
    expect(within(examples).getAllByRole("img", { name: "Exact match" })).toHaveLength(2);
  });

  it("stays a classification page for a PoC without a task type (one from before generation PoCs)", async () => {
    const api = serve(poc({ runs: [run({ id: "l", method: "lozo" }), run({ id: "a", method: "adamw" })] }));
    renderPocPage();
    expect(await screen.findByRole("figure", { name: "Evaluation accuracy" })).toBeInTheDocument();
    expect(screen.queryByRole("figure", { name: "Token F1" })).toBeNull();
    expect(api.asked[0]).toContain("eval/accuracy");
    expect(api.asked[0]).not.toContain("eval/f1");
    expect(screen.getByRole("heading", { name: "Final accuracy" })).toBeInTheDocument();
    expect(screen.queryByRole("heading", { name: "Example answers" })).toBeNull();
    expect(screen.queryByTestId("generation-examples")).toBeNull();
  });
});
