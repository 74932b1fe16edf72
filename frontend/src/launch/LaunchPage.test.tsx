import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import i18n from "../i18n";
import type { DatasetPublic, ModelPublic } from "../api/types";
import { limitsAnswer } from "../test/limits";
import { BUILTIN_METHODS, methodsAnswer, ZO_SIGN } from "../test/methods";
import { fakeApi, jsonOf, renderPage, type FakeRequest } from "../test/render";
import { LaunchPage } from "./LaunchPage";

// Component tests of rendering and validation: the HTTP API is a fake here (fetch is stubbed); the browser
// tests drive the same form against the real server.

const MODELS: Partial<ModelPublic>[] = [
  { id: "tiny-bert", name: "Tiny BERT", n_params: null, builtin: true },
  { id: "minilm", name: "MiniLM-L6 (embedded)", n_params: 22713216, builtin: true },
];
const DATASETS: Partial<DatasetPublic>[] = [
  { id: "sst", name: "sst2", builtin: true, n_rows: 67349, labels: ["0", "1"] },
  { id: "demo", name: "demo-sentiment", builtin: true, n_rows: 552, labels: ["0", "1"] },
];

function routes({
  methods = BUILTIN_METHODS,
  limits = limitsAnswer(),
  served = { cpu: 1, gpu: 1 },
  launch = (): unknown => ({ id: "new-poc", name: "x", runs: [] }),
  models = MODELS,
  firstPoc = "minilm",
  datasets = DATASETS,
} = {}) {
  return {
    "GET /api/workers": () => ({ served, data: [] }),
    "GET /api/models": () => ({ data: models, count: models.length, first_poc: firstPoc }),
    "GET /api/methods": () => methodsAnswer(methods),
    "GET /api/limits": () => limits,
    "GET /api/datasets": () => ({ data: datasets, count: datasets.length }),
    "GET /api/gpus": () => ({
      data: [{ id: "a10g-24gb", name: "NVIDIA A10G", memory_gb: 24, hourly_price: 1, currency: "USD", kind: "cloud" }],
      count: 1,
    }),
    "POST /api/estimates/memory": (request: FakeRequest) => {
      const body = jsonOf<{ model: string; methods: string[]; gpu_id: string | null }>(request);
      return {
        model: { id: body.model, n_params: 1, n_layers: 1, hidden_size: 1 },
        data: body.methods.map((method) => ({
          method,
          bytes: {},
          total_gb: method === "adamw" ? 30 : 2,
          calibration: null,
          fit: body.gpu_id ? (method === "adamw" ? "wont_fit" : "fits") : null,
          headroom_gb: body.gpu_id ? (method === "adamw" ? -6 : 22) : null,
        })),
      };
    },
    "POST /api/pocs": launch,
  };
}

describe("the launch form", () => {
  let api: ReturnType<typeof fakeApi>;
  const serve = (options?: Parameters<typeof routes>[0]) => {
    api = fakeApi(routes(options));
    vi.stubGlobal("fetch", api.fetchImpl);
  };
  beforeEach(async () => {
    serve();
    await i18n.changeLanguage("en");
  });
  afterEach(() => vi.unstubAllGlobals());

  const posted = () => api.calls.find((c) => c.method === "POST" && c.path === "/api/pocs");

  it("starts with the embedded model, the demo data, LOZO and AdamW", async () => {
    renderPage(<LaunchPage />);
    const model = await screen.findByLabelText("Model");
    expect((model as HTMLSelectElement).value).toBe("minilm");
    expect(within(model).getAllByRole("option")[0]).toHaveTextContent("MiniLM-L6 (embedded)");
    // Built-in models are named in the reader's language; others keep the server's name.
    await i18n.changeLanguage("ja");
    await waitFor(() =>
      expect(within(model).getAllByRole("option")[0]).toHaveTextContent("MiniLM-L6（内蔵の文埋め込みモデル）"),
    );
    await i18n.changeLanguage("en");
    expect(screen.getByLabelText<HTMLSelectElement>("Dataset").value).toBe("demo");
    expect(screen.getByRole("checkbox", { name: "LOZO" })).toBeChecked();
    expect(screen.getByRole("checkbox", { name: "AdamW" })).toBeChecked();
    expect(screen.getByRole("checkbox", { name: "MeZO" })).not.toBeChecked();
  });

  it("proposes the model the server names for a first PoC, at the top of the list", async () => {
    const decoder = { id: "smollm2-135m", name: "SmolLM2-135M-Instruct (embedded decoder)", builtin: true };
    serve({ models: [...MODELS, decoder], firstPoc: "smollm2-135m" });
    renderPage(<LaunchPage />);
    const model = await screen.findByLabelText<HTMLSelectElement>("Model");
    expect(model.value).toBe("smollm2-135m");
    expect(within(model).getAllByRole("option")[0]).toHaveTextContent(/SmolLM2/);
  });

  it("offers a method the registry adds, in its colour and place, with its hyperparameters", async () => {
    serve({ methods: [...BUILTIN_METHODS, ZO_SIGN] });
    const user = userEvent.setup();
    renderPage(<LaunchPage />);
    const choice = await screen.findByRole("checkbox", { name: "ZO-Sign" });
    expect(choice).not.toBeChecked();
    expect(choice.closest("label")).toHaveStyle({ borderColor: "#123456" });
    expect(screen.getByText(ZO_SIGN.description)).toBeInTheDocument(); // no translation: the server's words
    const order = screen.getAllByRole("checkbox").map((box) => box.getAttribute("value"));
    expect(order).toEqual(["lozo", "adamw", "lozo_m", "mezo", "zo_sign"]);

    await user.click(choice);
    await user.click(screen.getByText("Advanced settings"));
    const eps = screen.getByLabelText("ZO-Sign Perturbation ε");
    expect(eps).toHaveAttribute("placeholder", "0.01");
    await user.type(eps, "0.2");
    await user.click(screen.getByRole("button", { name: "Launch PoC" }));
    await screen.findByTestId("navigated");
    expect(posted()?.body).toMatchObject({
      methods: [{ method: "lozo" }, { method: "adamw" }, { method: "zo_sign", zo_eps: 0.2 }],
    });
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
      /Enter a value from 1 to 100000\./,
    );
    expect(screen.getByText("Choose at least one method.")).toBeInTheDocument();
    expect(name).toHaveFocus();
    expect(posted()).toBeUndefined();

    // Fixing a field takes its message away at once.
    await user.type(screen.getByLabelText("Number of training steps"), "5");
    expect(screen.queryByText("Enter a value from 1 to 100000.")).toBeNull();
    expect(screen.getByLabelText("Number of training steps")).not.toHaveAttribute("aria-invalid");
    expect(screen.getByText("Choose at least one method.")).toBeInTheDocument();
  });

  it("bounds the step budget by the caller's role, as /api/limits says", async () => {
    const user = userEvent.setup();
    const tryBudget = async (steps: string) => {
      const input = await screen.findByLabelText("Number of training steps");
      await user.clear(input);
      await user.type(input, steps);
      await user.click(screen.getByRole("button", { name: "Launch PoC" }));
    };

    // An editor: 100,000 steps at most.
    const editor = renderPage(<LaunchPage />);
    expect(await screen.findByText("At most 100,000 for your role.")).toBeInTheDocument();
    await tryBudget("500000");
    expect(await screen.findByText("Enter a value from 1 to 100000.")).toBeInTheDocument();
    expect(posted()).toBeUndefined();
    editor.unmount();

    // An owner: up to 1,000,000, and 500,000 is launched.
    serve({ limits: limitsAnswer({ stepsMax: 1_000_000, role: "owner" }) });
    renderPage(<LaunchPage />);
    expect(await screen.findByText("At most 1,000,000 for your role.")).toBeInTheDocument();
    await tryBudget("500000");
    await screen.findByTestId("navigated");
    expect(posted()?.body).toMatchObject({ steps: 500000 });
  });

  it("takes every default from /api/limits and sends the advanced settings", async () => {
    const limits = limitsAnswer();
    limits.run_settings.eval_every = { ...limits.run_settings.eval_every!, default: 25 };
    serve({ limits });
    const user = userEvent.setup();
    renderPage(<LaunchPage />);
    await user.click(await screen.findByText("Advanced settings"));
    expect(screen.getByLabelText("Evaluate every (steps)")).toHaveValue("25");
    expect(screen.getByLabelText("Training examples per class")).toHaveValue("16");
    expect(screen.getByLabelText("Batch size")).toHaveValue("16");
    expect(screen.getByLabelText("Evaluation examples")).toHaveAttribute("placeholder", "all");

    await user.type(screen.getByLabelText("Evaluation examples"), "300");
    await user.clear(screen.getByLabelText("Tokens per example"));
    await user.type(screen.getByLabelText("Tokens per example"), "128");
    await user.selectOptions(screen.getByLabelText("Precision of the weights"), "bfloat16");
    await user.selectOptions(screen.getByLabelText("Start of the classifier head"), "label_words");
    await user.clear(screen.getByLabelText("Training examples per class"));
    await user.click(screen.getByRole("button", { name: "Launch PoC" }));
    await screen.findByTestId("navigated");
    expect(posted()?.body).toMatchObject({
      steps: 100,
      batch_size: 16,
      seed: 0,
      k_shot: null,
      eval_every: 25,
      eval_size: 300,
      max_length: 128,
      dtype: "bfloat16",
      head_init: "label_words",
    });
  });

  it("checks the advanced settings against their limits", async () => {
    const user = userEvent.setup();
    renderPage(<LaunchPage />);
    await user.click(await screen.findByText("Advanced settings"));
    await user.clear(screen.getByLabelText("Tokens per example"));
    await user.type(screen.getByLabelText("Tokens per example"), "9000");
    await user.click(screen.getByRole("button", { name: "Launch PoC" }));
    expect(screen.getByLabelText("Tokens per example")).toHaveAccessibleDescription(/Enter a value from 8 to 8192\./);
    expect(posted()).toBeUndefined();
  });

  it("shows the messages and the advanced settings in Japanese", async () => {
    await i18n.changeLanguage("ja");
    const user = userEvent.setup();
    renderPage(<LaunchPage />);
    await user.clear(await screen.findByLabelText("学習ステップ数"));
    await user.type(screen.getByLabelText("学習ステップ数"), "abc");
    await user.click(screen.getByRole("button", { name: "PoC を開始" }));
    expect(await screen.findByText("数値を入力してください。")).toBeInTheDocument();
    await user.click(screen.getByText("詳細設定"));
    expect(screen.getByLabelText("評価データ数")).toHaveAttribute("placeholder", "すべて");
    expect(screen.getByLabelText("重みの精度")).toBeInTheDocument();
    expect(screen.getByRole("option", { name: "ランダム" })).toBeInTheDocument();
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

  it("shows per method whether it fits the chosen GPU, estimated with the form's settings", async () => {
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
    const estimate = api.calls.filter((c) => c.path === "/api/estimates/memory").at(-1);
    expect(estimate?.body).toMatchObject({ methods: ["lozo", "adamw"], dtype: "float32", seq_len: 64, rank: 2 });
  });

  it("launches with the chosen settings and opens the PoC", async () => {
    const user = userEvent.setup();
    renderPage(<LaunchPage />);
    await user.clear(await screen.findByLabelText("PoC name"));
    await user.type(screen.getByLabelText("PoC name"), "Quarterly check");
    await user.click(screen.getByRole("checkbox", { name: "MeZO" }));
    await user.click(screen.getByRole("button", { name: "Launch PoC" }));
    await screen.findByTestId("navigated");
    expect(posted()?.body).toMatchObject({
      name: "Quarterly check",
      model: "minilm",
      dataset_id: "demo",
      methods: [{ method: "lozo" }, { method: "adamw" }, { method: "mezo" }],
      steps: 100,
      k_shot: 16,
      eval_every: 50,
    });
    // A classification PoC: no task type (the server's default) and none of generation's settings.
    expect(posted()?.body).not.toHaveProperty("task_type");
    expect(posted()?.body).not.toHaveProperty("max_new_tokens");
    expect(posted()?.body).not.toHaveProperty("zo_objective");
  });

  it("launches a generation PoC on a generation dataset: a decoder, its own settings, no classification ones", async () => {
    serve({
      models: [
        { id: "minilm", name: "MiniLM-L6 (embedded)", n_params: 22713216, builtin: true, kind: "encoder" },
        { id: "tiny-bert", name: "Tiny BERT", n_params: null, builtin: true, kind: "encoder" },
        { id: "smollm2-135m", name: "SmolLM2 135M", n_params: 134515008, builtin: true, kind: "decoder" },
      ],
      datasets: [
        ...DATASETS,
        {
          id: "dates",
          name: "demo-dates",
          kind: "generation",
          layout: "prompt_completion",
          builtin: true,
          n_rows: 300,
        },
      ],
    });
    const user = userEvent.setup();
    renderPage(<LaunchPage />);
    const model = await screen.findByLabelText<HTMLSelectElement>("Model");
    expect(model.value).toBe("minilm");
    expect(screen.queryByTestId("generation-settings")).toBeNull();

    await user.selectOptions(screen.getByLabelText("Dataset"), "dates");
    // The encoder gives way to the small decoder; generation's settings appear with the server's defaults.
    expect(model.value).toBe("smollm2-135m");
    const settings = screen.getByTestId("generation-settings");
    const tokens = within(settings).getByLabelText("Tokens per answer (at most)");
    expect(tokens).toHaveValue("24");
    const objective = within(settings).getByLabelText("What the zeroth-order methods minimise");
    expect(objective).toHaveValue("loss");
    expect(within(objective).getByRole("option", { name: "Completion loss" })).toBeInTheDocument();
    expect(
      within(objective).getByRole("option", { name: "−F1 of greedy generations (ZO methods only)" }),
    ).toBeInTheDocument();
    // Classification-only settings are hidden.
    await user.click(screen.getByText("Advanced settings"));
    expect(screen.queryByLabelText("Training examples per class")).toBeNull();
    expect(screen.queryByLabelText("Start of the classifier head")).toBeNull();
    expect(screen.getByLabelText("Batch size")).toBeInTheDocument();

    // Out of bounds is refused next to the field, as any setting.
    await user.clear(tokens);
    await user.type(tokens, "600");
    await user.click(screen.getByRole("button", { name: "Launch PoC" }));
    expect(tokens).toHaveAccessibleDescription(/Enter a value from 1 to 512\./);
    expect(posted()).toBeUndefined();

    await user.clear(tokens);
    await user.type(tokens, "32");
    await user.selectOptions(objective, "neg_f1");
    await user.click(screen.getByRole("button", { name: "Launch PoC" }));
    await screen.findByTestId("navigated");
    const body = posted()?.body;
    expect(body).toMatchObject({
      task_type: "generation",
      model: "smollm2-135m",
      dataset_id: "dates",
      max_new_tokens: 32,
      zo_objective: "neg_f1",
      batch_size: 16,
    });
    expect(body).not.toHaveProperty("k_shot");
    expect(body).not.toHaveProperty("head_init");
  });

  it("says a generation PoC needs a decoder when an encoder is chosen by hand", async () => {
    serve({
      models: [
        { id: "minilm", name: "MiniLM-L6 (embedded)", n_params: 22713216, builtin: true, kind: "encoder" },
        { id: "smollm2-135m", name: "SmolLM2 135M", n_params: 134515008, builtin: true, kind: "decoder" },
      ],
      datasets: [{ id: "dates", name: "demo-dates", kind: "generation", builtin: true, n_rows: 300 }],
    });
    const user = userEvent.setup();
    renderPage(<LaunchPage />);
    // The only dataset is a generation one: the form starts as a generation PoC, with a decoder.
    const model = await screen.findByLabelText<HTMLSelectElement>("Model");
    expect(model.value).toBe("smollm2-135m");
    expect(screen.getByTestId("generation-settings")).toBeInTheDocument();
    expect(screen.queryByTestId("needs-decoder")).toBeNull();
    await user.selectOptions(model, "minilm");
    expect(screen.getByTestId("needs-decoder")).toHaveTextContent("needs a decoder model");
  });

  it("says before launch that a GPU PoC cannot start while no GPU worker is online", async () => {
    serve({ served: { cpu: 1, gpu: 0 } });
    const user = userEvent.setup();
    renderPage(<LaunchPage />);
    const launch = await screen.findByRole("button", { name: "Launch PoC" });
    expect(launch).toBeEnabled();
    await user.click(screen.getByRole("radio", { name: "GPU" }));
    expect(await screen.findByText(/No GPU worker is online/)).toBeInTheDocument();
    expect(launch).toBeDisabled();
    await user.click(screen.getByRole("radio", { name: "CPU" }));
    expect(screen.queryByText(/No GPU worker is online/)).not.toBeInTheDocument();
    expect(launch).toBeEnabled();
  });

  it("words a refusal the server gives a code to in the reader's language", async () => {
    serve({
      launch: () =>
        new Response(
          JSON.stringify({
            detail: "no GPU worker is online",
            code: "no_worker_for_device",
            params: { device: "gpu" },
          }),
          { status: 409, headers: { "Content-Type": "application/json" } },
        ),
    });
    await i18n.changeLanguage("ja");
    const user = userEvent.setup();
    renderPage(<LaunchPage />);
    await user.click(await screen.findByRole("button", { name: "PoC を開始" }));
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("このデバイス（gpu）のワーカーが稼働していないため");
    expect(alert).not.toHaveTextContent("no GPU worker is online");
  });
});
