import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import i18n from "../i18n";
import { fakeApi, renderPage } from "../test/render";
import { LaunchPage } from "./LaunchPage";

const routes = {
  "GET /api/models": () => ({
    data: [
      { id: "tiny-bert", name: "Tiny BERT", n_params: null, builtin: true },
      { id: "minilm", name: "MiniLM-L6 (embedded)", n_params: 22713216, builtin: true },
    ],
    count: 2,
  }),
  "GET /api/methods": () => ({
    data: [
      {
        method: "adamw",
        label: "AdamW",
        zeroth_order: false,
        description: "",
        defaults: { lr: null },
        ranges: { lr: [1e-7, 0.1] },
      },
      {
        method: "mezo",
        label: "MeZO",
        zeroth_order: true,
        description: "",
        defaults: { lr: null, zo_eps: 0.001 },
        ranges: {},
      },
      {
        method: "lozo",
        label: "LOZO",
        zeroth_order: true,
        description: "",
        defaults: { lr: null, zo_eps: 0.001, rank: 2, nu: 50 },
        ranges: { rank: [1, 64] },
      },
    ],
    count: 3,
  }),
  "GET /api/datasets": () => ({
    data: [
      { id: "sst", name: "sst2", builtin: true, n_rows: 67349, labels: ["0", "1"] },
      { id: "demo", name: "demo-sentiment", builtin: true, n_rows: 552, labels: ["0", "1"] },
    ],
    count: 2,
  }),
  "GET /api/gpus": () => ({
    data: [{ id: "a10g-24gb", name: "NVIDIA A10G", memory_gb: 24, hourly_price: 1, currency: "USD", kind: "cloud" }],
    count: 1,
  }),
  "POST /api/estimates/memory": (init?: RequestInit) => {
    const body = JSON.parse(String(init?.body));
    return {
      model: { id: body.model, n_params: 1, n_layers: 1, hidden_size: 1 },
      data: body.methods.map((method: string) => ({
        method,
        bytes: {},
        total_gb: method === "adamw" ? 30 : 2,
        calibration: null,
        fit: body.gpu_id ? (method === "adamw" ? "wont_fit" : "fits") : null,
        headroom_gb: body.gpu_id ? (method === "adamw" ? -6 : 22) : null,
      })),
    };
  },
  "POST /api/pocs": () => ({ id: "new-poc", name: "x", runs: [] }),
};

describe("the launch form", () => {
  let api: ReturnType<typeof fakeApi>;
  beforeEach(async () => {
    api = fakeApi(routes);
    vi.stubGlobal("fetch", api.fetchImpl);
    await i18n.changeLanguage("en");
  });
  afterEach(() => vi.unstubAllGlobals());

  it("starts with the embedded model, the demo data, LOZO and AdamW", async () => {
    renderPage(<LaunchPage />);
    const model = await screen.findByLabelText("Model");
    expect((model as HTMLSelectElement).value).toBe("minilm");
    expect(within(model).getAllByRole("option")[0]).toHaveTextContent("MiniLM-L6 (embedded)");
    expect((screen.getByLabelText("Dataset") as HTMLSelectElement).value).toBe("demo");
    expect(screen.getByRole("checkbox", { name: "LOZO" })).toBeChecked();
    expect(screen.getByRole("checkbox", { name: "AdamW" })).toBeChecked();
    expect(screen.getByRole("checkbox", { name: "MeZO" })).not.toBeChecked();
  });

  it("shows the problems next to their fields and does not launch", async () => {
    const user = userEvent.setup();
    renderPage(<LaunchPage />);
    await user.clear(await screen.findByLabelText("PoC name"));
    await user.clear(screen.getByLabelText("Number of training steps"));
    await user.type(screen.getByLabelText("Number of training steps"), "0");
    await user.click(screen.getByRole("checkbox", { name: "LOZO" }));
    await user.click(screen.getByRole("checkbox", { name: "AdamW" }));
    await user.click(screen.getByRole("button", { name: "Launch PoC" }));

    expect(await screen.findByText("Some fields need attention; they are marked below.")).toBeInTheDocument();
    const name = screen.getByLabelText("PoC name");
    expect(name).toHaveAttribute("aria-invalid", "true");
    expect(name).toHaveAccessibleDescription(/Required\./);
    expect(screen.getByLabelText("Number of training steps")).toHaveAccessibleDescription(
      "Enter a value from 1 to 100000.",
    );
    expect(screen.getByText("Choose at least one method.")).toBeInTheDocument();
    expect(name).toHaveFocus();
    expect(api.calls.some((c) => c.method === "POST" && c.path === "/api/pocs")).toBe(false);

    // Fixing a field takes its message away at once.
    await user.type(screen.getByLabelText("Number of training steps"), "5");
    expect(screen.queryByText("Enter a value from 1 to 100000.")).toBeNull();
    expect(screen.getByLabelText("Number of training steps")).not.toHaveAttribute("aria-invalid");
    expect(screen.getByText("Choose at least one method.")).toBeInTheDocument();
  });

  it("shows the messages in Japanese", async () => {
    await i18n.changeLanguage("ja");
    const user = userEvent.setup();
    renderPage(<LaunchPage />);
    await user.clear(await screen.findByLabelText("学習ステップ数"));
    await user.type(screen.getByLabelText("学習ステップ数"), "abc");
    await user.click(screen.getByRole("button", { name: "PoC を開始" }));
    expect(await screen.findByText("数値を入力してください。")).toBeInTheDocument();
  });

  it("checks a hyperparameter against the server's range", async () => {
    const user = userEvent.setup();
    renderPage(<LaunchPage />);
    await user.click(await screen.findByText("Advanced settings"));
    const rank = screen.getByLabelText("LOZO Rank r");
    expect(rank).toHaveAttribute("placeholder", "2");
    await user.type(rank, "100");
    await user.click(screen.getByRole("button", { name: "Launch PoC" }));
    expect(await screen.findByText("Enter a value from 1 to 64.")).toBeInTheDocument();
  });

  it("shows per method whether it fits the chosen GPU", async () => {
    const user = userEvent.setup();
    renderPage(<LaunchPage />);
    await screen.findByRole("option", { name: /NVIDIA A10G/ });
    await user.selectOptions(screen.getByLabelText("GPU to check against"), "a10g-24gb");
    await waitFor(() =>
      expect(document.querySelector('li[data-method="adamw"]')).toHaveAttribute("data-fit", "wont_fit"),
    );
    expect(document.querySelector('li[data-method="lozo"]')).toHaveAttribute("data-fit", "fits");
    expect(screen.getByText("Won't fit")).toBeInTheDocument();
    expect(screen.getByText("6 GB short", { exact: false })).toBeInTheDocument();
  });

  it("launches with the chosen settings and opens the PoC", async () => {
    const user = userEvent.setup();
    renderPage(<LaunchPage />);
    await user.clear(await screen.findByLabelText("PoC name"));
    await user.type(screen.getByLabelText("PoC name"), "Quarterly check");
    await user.click(screen.getByRole("checkbox", { name: "MeZO" }));
    await user.click(screen.getByRole("button", { name: "Launch PoC" }));
    await screen.findByTestId("navigated");
    const post = api.calls.find((c) => c.method === "POST" && c.path === "/api/pocs");
    expect(post?.body).toMatchObject({
      name: "Quarterly check",
      model: "minilm",
      dataset_id: "demo",
      methods: [{ method: "lozo" }, { method: "adamw" }, { method: "mezo" }],
      steps: 100,
    });
  });
});
