import { cleanup, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { GpuPublic } from "../api/types";
import i18n from "../i18n";
import { fakeApi, jsonOf, renderPage } from "../test/render";
import { GpuPrices } from "./GpuPrices";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});
beforeEach(async () => {
  await i18n.changeLanguage("en");
});

const gpu = (patch: Partial<GpuPublic>): GpuPublic => ({
  id: "a100-80gb",
  name: "NVIDIA A100 80GB",
  memory_gb: 80,
  hourly_price: 4.1,
  currency: "USD",
  kind: "cloud",
  tflops: 312,
  price_source: "catalogue",
  placeholder: false,
  ...patch,
});

describe("GpuPrices", () => {
  it("lets an administrator set a GPU's price in yen, then go back to the catalogue's", async () => {
    let current = gpu({});
    const sent: unknown[] = [];
    const api = fakeApi({
      "GET /api/gpus": () => ({ data: [current], count: 1 }),
      "PUT /api/gpus/a100-80gb/price": (request) => {
        const body = jsonOf<{ hourly_price: number; currency: string }>(request);
        sent.push(body);
        current = gpu({ ...body, price_source: "administrator" });
        return new Response(JSON.stringify(current), { status: 200, headers: { "Content-Type": "application/json" } });
      },
      "DELETE /api/gpus/a100-80gb/price": () => {
        current = gpu({});
        return current;
      },
    });
    vi.stubGlobal("fetch", api.fetchImpl);
    renderPage(<GpuPrices />, "/admin");
    const row = (await screen.findByText("NVIDIA A100 80GB")).closest("tr") as HTMLElement;
    expect(within(row).getByText("the server's catalogue")).toBeTruthy();
    expect(within(row).queryByRole("button", { name: "Use the catalogue's price" })).toBeNull();

    const user = userEvent.setup();
    const input = within(row).getByLabelText("New hourly price of NVIDIA A100 80GB");
    await user.clear(input);
    await user.type(input, "480");
    await user.selectOptions(within(row).getByLabelText("Currency of the price of NVIDIA A100 80GB"), "JPY");
    await user.click(within(row).getByRole("button", { name: "Save" }));
    await waitFor(() => expect(sent).toEqual([{ hourly_price: 480, currency: "JPY" }]));
    expect(await within(row).findByText("an administrator")).toBeTruthy();
    expect(within(row).getByText(/¥480/)).toBeTruthy();

    await user.click(within(row).getByRole("button", { name: "Use the catalogue's price" }));
    expect(await within(row).findByText("the server's catalogue")).toBeTruthy();
    expect(within(row).getByText(/\$4\.10/)).toBeTruthy();
  });
});
