import { screen, within } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { MetricsPublic } from "../api/types";
import i18n from "../i18n";
import { methodsAnswer } from "../test/methods";
import { run } from "../test/pocs";
import { fakeApi, renderPage } from "../test/render";
import { ComparisonCharts } from "./ComparisonCharts";

// Plotly cannot draw in jsdom: the stand-in lists the traces it is given (name and points).
vi.mock("./PlotlyChart", () => ({
  default: ({ data }: { data: { name?: string; y?: unknown[] }[] }) => (
    <ul data-testid="plot">
      {data.map((trace, i) => (
        <li key={i} data-name={trace.name}>
          {JSON.stringify(trace.y)}
        </li>
      ))}
    </ul>
  ),
}));

const runs = [run({ id: "l", method: "lozo" }), run({ id: "a", method: "adamw" })];
const series = (y: number[]) => ({ x: y.map((_, i) => i * 20), y });

const generationMetrics: MetricsPublic = {
  x: "step",
  runs: {
    l: {
      "train/loss": series([2, 1.5, 1]),
      "eval/exact_match": series([0, 0.25, 0.5]),
      "eval/f1": series([0.1, 0.4, 0.7]),
      "eval/loss": series([3, 2, 1.2]),
    },
    a: {
      "train/loss": series([2, 1, 0.5]),
      "eval/exact_match": series([0, 0.5, 0.75]),
      "eval/f1": series([0.1, 0.6, 0.9]),
      "eval/loss": series([3, 1.5, 0.9]),
    },
  },
};

const classificationMetrics: MetricsPublic = {
  x: "step",
  runs: {
    l: { "train/loss": series([0.7, 0.6]), "eval/accuracy": series([0.5, 0.7]) },
    a: { "train/loss": series([0.7, 0.4]), "eval/accuracy": series([0.5, 0.8]) },
  },
};

const chartIds = () => [...document.querySelectorAll("[data-chart]")].map((c) => c.getAttribute("data-chart"));

beforeEach(async () => {
  await i18n.changeLanguage("en");
  vi.stubGlobal("fetch", fakeApi({ "GET /api/methods": () => methodsAnswer() }).fetchImpl);
});
afterEach(() => vi.unstubAllGlobals());

describe("the comparison charts", () => {
  it("chart a generation PoC's exact match, token F1 and evaluation loss instead of accuracy", async () => {
    renderPage(
      <ComparisonCharts metrics={generationMetrics} runs={runs} axis="step" active={false} taskType="generation" />,
      "/",
    );
    const exact = screen.getByRole("figure", { name: "Exact match" });
    const f1 = screen.getByRole("figure", { name: "Token F1" });
    const evalLoss = screen.getByRole("figure", { name: "Evaluation loss (completion tokens)" });
    expect(chartIds()).toEqual(["loss", "exact_match", "f1", "eval_loss", "memory", "peak"]);
    expect(screen.queryByRole("figure", { name: "Evaluation accuracy" })).toBeNull();

    // Each plots its own metric, one trace per method.
    const traces = async (figure: HTMLElement) =>
      [...(await within(figure).findByTestId("plot")).querySelectorAll("li")].map((li) => li.textContent);
    expect(await traces(exact)).toEqual(["[0,0.25,0.5]", "[0,0.5,0.75]"]);
    expect(await traces(f1)).toEqual(["[0.1,0.4,0.7]", "[0.1,0.6,0.9]"]);
    expect(await traces(evalLoss)).toEqual(["[3,2,1.2]", "[3,1.5,0.9]"]);
  });

  it("still chart a classification PoC's accuracy, and nothing of generation", async () => {
    renderPage(<ComparisonCharts metrics={classificationMetrics} runs={runs} axis="step" active={false} />, "/");
    const accuracy = screen.getByRole("figure", { name: "Evaluation accuracy" });
    expect(chartIds()).toEqual(["loss", "accuracy", "memory", "peak"]);
    expect(screen.queryByRole("figure", { name: "Token F1" })).toBeNull();
    expect(screen.queryByRole("figure", { name: "Exact match" })).toBeNull();
    const plotted = [...(await within(accuracy).findByTestId("plot")).querySelectorAll("li")];
    expect(plotted.map((li) => li.textContent)).toEqual(["[0.5,0.7]", "[0.5,0.8]"]);
  });

  it("name the generation charts in Japanese", async () => {
    await i18n.changeLanguage("ja");
    renderPage(
      <ComparisonCharts metrics={generationMetrics} runs={runs} axis="step" active={false} taskType="generation" />,
      "/",
    );
    expect(screen.getByRole("figure", { name: "完全一致率" })).toBeInTheDocument();
    expect(screen.getByRole("figure", { name: "トークン F1" })).toBeInTheDocument();
  });
});
