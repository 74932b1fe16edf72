import { render, screen } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import "../i18n";
import { Chart } from "./Chart";

// Plotly itself cannot draw in jsdom; this stand-in fails the way a broken chart would.
vi.mock("./PlotlyChart", () => ({
  default: ({ data }: { data: unknown[] }) => {
    if (data.length === 0) throw new Error("Plotly could not draw");
    return <div data-testid="plot">{data.length} traces</div>;
  },
}));

describe("the chart wrapper", () => {
  it("keeps a broken chart inside its own box", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    render(
      <div>
        <Chart id="bad" title="Broken" data={[]} layout={{}} empty={false} />
        <Chart id="good" title="Fine" data={[{ type: "scatter" }]} layout={{}} empty={false} />
      </div>,
    );
    expect(await screen.findByRole("alert")).toHaveTextContent("This chart could not be drawn.");
    expect(await screen.findByTestId("plot")).toHaveTextContent("1 traces");
    expect(screen.getByRole("figure", { name: "Broken" })).toBeInTheDocument();
  });

  it("says what to expect while there is no data", () => {
    render(<Chart id="loss" title="Training loss" data={[]} layout={{}} empty />);
    expect(screen.getByText("No data yet: the chart fills in as the runs report.")).toBeInTheDocument();
    expect(screen.queryByTestId("plot")).toBeNull();
  });
});
