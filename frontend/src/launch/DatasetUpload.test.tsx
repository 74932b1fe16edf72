import { cleanup, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { DatasetPublic } from "../api/types";
import i18n from "../i18n";
import { fakeApi, renderPage } from "../test/render";
import { DatasetUpload } from "./DatasetUpload";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});
beforeEach(async () => {
  await i18n.changeLanguage("en");
});

const generation: DatasetPublic = {
  id: "d1",
  name: "qa",
  builtin: false,
  kind: "generation",
  layout: "chat",
  n_rows: 2,
  labels: [],
  text_column: null,
  label_column: null,
  size_bytes: 100,
  sha256: null,
  created_at: "2026-12-03T00:00:00Z",
  preview: { rows: [], pairs: [{ prompt: "Capital of France?", completion: "Paris" }] },
};

const rowErrors = (errors: object[]) =>
  new Response(JSON.stringify({ detail: { message: "chat.jsonl: 2 problems found; nothing was stored", errors } }), {
    status: 422,
    headers: { "Content-Type": "application/json" },
  });

async function choose(name: string) {
  const user = userEvent.setup();
  await user.upload(screen.getByLabelText("Choose a file…"), new File(["x"], name));
}

describe("DatasetUpload", () => {
  it("shows a generation dataset's kind, its pairs and the pairs as the chosen model sees them", async () => {
    const api = fakeApi({
      "POST /api/datasets": () => generation,
      "GET /api/datasets/d1/rendered": (_request, url) => ({
        model: url.searchParams.get("model"),
        templated: true,
        pairs: [
          { prompt: "<|user|>\nCapital of France?\n", text: "<|user|>\nCapital of France?\n<|assistant|>\nParis" },
        ],
      }),
    });
    vi.stubGlobal("fetch", api.fetchImpl);
    const uploaded = vi.fn();
    renderPage(<DatasetUpload model="smollm2-135m" onUploaded={uploaded} />);
    await choose("chat.jsonl");

    const preview = await screen.findByTestId("upload-preview");
    expect(within(preview).getByRole("status").textContent).toBe(
      "qa: 2 prompt → completion pairs (chat messages), a dataset for generation. It is selected above.",
    );
    const table = within(preview).getByRole("table", { name: "First pairs of qa" });
    expect(
      within(table)
        .getAllByRole("columnheader")
        .map((h) => h.textContent),
    ).toEqual(["Prompt", "Completion"]);
    expect(within(table).getByText("Paris")).toBeTruthy();
    const rendered = await screen.findByRole("region", { name: "As smollm2-135m will see it" });
    expect(rendered.querySelector("pre")?.textContent).toBe("<|user|>\nCapital of France?\n<|assistant|>\nParis");
    expect(within(rendered).getByText(/chat template/)).toBeTruthy();
    expect(uploaded).toHaveBeenCalledWith(generation);
    expect(api.calls.map((c) => `${c.method} ${c.path}`)).toEqual([
      "POST /api/datasets",
      "GET /api/datasets/d1/rendered",
    ]);
  });

  it("renders nothing for a model not chosen yet", async () => {
    const api = fakeApi({ "POST /api/datasets": () => generation });
    vi.stubGlobal("fetch", api.fetchImpl);
    renderPage(<DatasetUpload onUploaded={() => {}} />);
    await choose("chat.jsonl");
    await screen.findByTestId("upload-preview");
    expect(screen.queryByTestId("rendered-pairs")).toBeNull();
    expect(api.calls).toHaveLength(1);
  });

  it("words coded row problems in Japanese and keeps the server's sentence for the others", async () => {
    await i18n.changeLanguage("ja");
    const api = fakeApi({
      "POST /api/datasets": () =>
        rowErrors([
          {
            row: 2,
            field: "messages",
            problem: "turn 2 is user where assistant was expected",
            code: "chat_role_order",
            params: { turn: 2, role: "user", expected: "assistant" },
          },
          { row: 3, field: "row", problem: "has 3 fields, the header has 2" },
        ]),
    });
    vi.stubGlobal("fetch", api.fetchImpl);
    renderPage(<DatasetUpload onUploaded={() => {}} />);
    const user = userEvent.setup();
    await user.upload(screen.getByLabelText("ファイルを選択…"), new File(["x"], "chat.jsonl"));
    const errors = await screen.findByTestId("upload-errors");
    const cells = within(errors)
      .getAllByRole("row")
      .slice(1)
      .map((row) =>
        within(row)
          .getAllByRole("cell")
          .map((c) => c.textContent),
      );
    expect(cells).toEqual([
      ["2", "messages", "2 番目の発話が user ですが、ここは assistant の番です。"],
      ["3", "row", "has 3 fields, the header has 2"],
    ]);
  });
});
