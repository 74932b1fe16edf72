import { screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import i18n from "../i18n";
import { fakeApi, renderPage } from "../test/render";
import { Detectability } from "./Detectability";

afterEach(() => vi.unstubAllGlobals());

describe("the launch form's guidance on the evaluation size", () => {
  it("says in Japanese which difference the planned rows detect and how many a 5-point one needs", async () => {
    await i18n.changeLanguage("ja");
    const api = fakeApi({
      "GET /api/estimates/detectable": (_request, url) => ({
        accuracy: 0.8,
        eval_rows: Number(url.searchParams.get("eval_rows")),
        detectable_difference: 0.0662,
        difference: 0.05,
        rows_needed: 909,
        alpha: 0.05,
        power: 0.8,
      }),
    });
    vi.stubGlobal("fetch", api.fetchImpl);
    renderPage(<Detectability evalRows={500} />);
    const note = await screen.findByTestId("detectability");
    expect(note).toHaveTextContent(
      "評価データが 500 行あれば、精度の差が約 6.6 ポイント以上ある 2 つの手法を見分けられます。",
    );
    expect(note).toHaveTextContent("5 ポイントの差を見分けるには、約 909 行の評価データを使ってください。");
    expect(screen.getByRole("button", { name: "McNemar 検定" })).toBeInTheDocument();
    expect(api.calls.map((c) => c.path)).toEqual(["/api/estimates/detectable"]);
  });

  it("says when the rows are too few for any difference", async () => {
    await i18n.changeLanguage("en");
    const api = fakeApi({
      "GET /api/estimates/detectable": () => ({
        accuracy: 0.8,
        eval_rows: 5,
        detectable_difference: null,
        difference: 0.05,
        rows_needed: 909,
        alpha: 0.05,
        power: 0.8,
      }),
    });
    vi.stubGlobal("fetch", api.fetchImpl);
    renderPage(<Detectability evalRows={5} />);
    expect(await screen.findByTestId("detectability")).toHaveTextContent("5 evaluation rows are too few");
  });
});
