import { cleanup, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import type { ReportListItem } from "../api/types";
import i18n from "../i18n";
import { fakeApi, jsonOf, renderPage } from "../test/render";
import { SharePanel } from "./SharePanel";

// The reader is in Tokyo: every date of the panel must be shown in their time zone, naming it.
const TOKEN = "tok_NEWLINKabcdefghijklmnop";

beforeAll(() => {
  process.env.TZ = "Asia/Tokyo";
});
beforeEach(async () => {
  await i18n.changeLanguage("en");
  document.cookie = "zopoc_csrf=csrf-1; path=/";
});
afterEach(() => {
  vi.unstubAllGlobals();
  window.localStorage.clear();
  document.cookie = "zopoc_csrf=; expires=Thu, 01 Jan 1970 00:00:00 GMT; path=/";
});

const noContent = () => new Response(null, { status: 204 });

/** The reports API of one PoC: an older link made in another browser, a revoked and an expired one. */
function reportsApi() {
  const reports: ReportListItem[] = [
    {
      id: "r-elsewhere",
      token_prefix: "OLDLINK1",
      language: "en",
      expires_at: "2026-05-20T03:00:00Z",
      state: "live",
      created_at: "2026-05-06T03:00:00Z",
    },
    {
      id: "r-revoked",
      token_prefix: "GONELINK",
      language: "ja",
      expires_at: null,
      state: "revoked",
      created_at: "2026-05-02T03:00:00Z",
    },
    {
      id: "r-expired",
      token_prefix: "OLDEXPIR",
      language: "en",
      expires_at: "2026-05-03T03:00:00Z",
      state: "expired",
      created_at: "2026-05-01T03:00:00Z",
    },
  ];
  const api = fakeApi({
    "GET /api/pocs/p1/reports": () => ({ data: reports, count: reports.length }),
    "POST /api/pocs/p1/reports": (request) => {
      const body = jsonOf<{ language: "en" | "ja" }>(request);
      reports.unshift({
        id: "r-new",
        token_prefix: TOKEN.slice(0, 8),
        language: body.language,
        expires_at: "2026-05-15T10:00:00Z",
        state: "live",
        created_at: "2026-05-01T10:00:00Z",
      });
      return {
        id: "r-new",
        token: TOKEN,
        url: `/r/${TOKEN}`,
        html_url: `/api/reports/${TOKEN}.html`,
        pdf_url: `/api/reports/${TOKEN}.pdf`,
        png_url: `/api/reports/${TOKEN}.png`,
        expires_at: "2026-05-15T10:00:00Z",
        language: body.language,
      };
    },
    "DELETE /api/pocs/p1/reports/r-new": () => {
      reports[0]!.state = "revoked";
      return noContent();
    },
    "DELETE /api/pocs/p1/reports/r-elsewhere": () => {
      reports.find((r) => r.id === "r-elsewhere")!.state = "revoked";
      return noContent();
    },
  });
  return { ...api, reports };
}

const rowOf = (id: string) => document.querySelector<HTMLElement>(`tr[data-report-id="${id}"]`)!;
const reportGets = (calls: { method: string; path: string }[]) =>
  calls.filter((c) => c.method === "GET" && c.path === "/api/pocs/p1/reports").length;

describe("the share links of a PoC", () => {
  it("lists every link with its language, dates in the reader's time zone and state", async () => {
    const api = reportsApi();
    vi.stubGlobal("fetch", api.fetchImpl);
    renderPage(<SharePanel pocId="p1" />, "/pocs/p1");

    const table = await screen.findByTestId("share-links");
    expect(within(table).getAllByRole("row")).toHaveLength(4); // header + 3 links
    const elsewhere = rowOf("r-elsewhere");
    expect(elsewhere).toHaveTextContent("starts with OLDLINK1…");
    expect(elsewhere).toHaveTextContent("English");
    // 03:00 UTC is noon in Tokyo
    expect(elsewhere).toHaveTextContent("May 6, 2026, 12:00 PM GMT+9");
    expect(elsewhere).toHaveTextContent("May 20, 2026, 12:00 PM GMT+9");
    expect(elsewhere).toHaveTextContent("Active");
    // Its address was shown only in the browser that made it: no copy or download, but it can be revoked.
    expect(elsewhere).toHaveTextContent("shown only in the browser that created it");
    expect(within(elsewhere).queryByRole("button", { name: /^Copy/ })).toBeNull();
    expect(within(elsewhere).getByRole("button", { name: "Revoke the link starting with OLDLINK1" })).toBeEnabled();

    const revoked = rowOf("r-revoked");
    expect(revoked).toHaveTextContent("Japanese");
    expect(revoked).toHaveTextContent("no expiry");
    expect(revoked).toHaveTextContent("Revoked");
    expect(within(revoked).queryByRole("button")).toBeNull();
    expect(rowOf("r-expired")).toHaveTextContent("Expired");
    expect(within(rowOf("r-expired")).queryByRole("button")).toBeNull();
  });

  it("adds a new link to the list, which keeps its copy and downloads after a reload", async () => {
    const api = reportsApi();
    vi.stubGlobal("fetch", api.fetchImpl);
    const user = userEvent.setup();
    renderPage(<SharePanel pocId="p1" />, "/pocs/p1");
    await screen.findByTestId("share-links");
    const before = reportGets(api.calls);

    await user.click(screen.getByRole("button", { name: "Create share report" }));
    await waitFor(() => expect(rowOf("r-new")).toBeTruthy());
    expect(reportGets(api.calls)).toBe(before + 1);
    // the browser's time zone goes with the request: the report shows its times in it
    expect(api.calls.find((c) => c.method === "POST")?.body).toEqual({
      language: "en",
      expires_in_days: 14,
      time_zone: "Asia/Tokyo",
    });
    expect(screen.getByTestId("share-result")).toHaveTextContent("valid until May 15, 2026, 7:00 PM GMT+9");

    // A reload: a new page with nothing cached, the link found again in the list with all its actions.
    cleanup();
    renderPage(<SharePanel pocId="p1" />, "/pocs/p1");
    await screen.findByTestId("share-links");
    expect(screen.queryByTestId("share-result")).toBeNull();
    const row = rowOf("r-new");
    expect(within(row).getByLabelText("Link")).toHaveValue(`http://localhost:3000/r/${TOKEN}`);
    expect(within(row).getByRole("link", { name: /as HTML$/ })).toHaveAttribute("href", `/api/reports/${TOKEN}.html`);
    expect(within(row).getByRole("link", { name: /as PDF$/ })).toHaveAttribute("href", `/api/reports/${TOKEN}.pdf`);
    expect(within(row).getByRole("link", { name: /as a PNG image$/ })).toHaveAttribute(
      "href",
      `/api/reports/${TOKEN}.png`,
    );
    await user.click(within(row).getByRole("button", { name: `Copy the link starting with ${TOKEN.slice(0, 8)}` }));
    expect(await navigator.clipboard.readText()).toBe(`http://localhost:3000/r/${TOKEN}`);
    expect(within(row).getByRole("button", { name: /Copy the link/ })).toHaveTextContent("Link copied");
  });

  it("revokes a link only after asking, then shows it revoked without its address", async () => {
    const api = reportsApi();
    vi.stubGlobal("fetch", api.fetchImpl);
    const user = userEvent.setup();
    renderPage(<SharePanel pocId="p1" />, "/pocs/p1");
    await screen.findByTestId("share-links");
    await user.click(screen.getByRole("button", { name: "Create share report" }));
    await waitFor(() => expect(rowOf("r-new")).toBeTruthy());
    const prefix = TOKEN.slice(0, 8);

    await user.click(screen.getByRole("button", { name: `Revoke the link starting with ${prefix}` }));
    const question = screen.getByRole("group", { name: `Revoke the link starting with ${prefix}` });
    expect(question).toHaveTextContent("Anyone who opens it from now on is told that it no longer exists.");
    await user.click(within(question).getByRole("button", { name: "Keep it" }));
    expect(api.calls.some((c) => c.method === "DELETE")).toBe(false);

    await user.click(screen.getByRole("button", { name: `Revoke the link starting with ${prefix}` }));
    const gets = reportGets(api.calls);
    await user.click(screen.getByRole("button", { name: "Yes, revoke" }));
    await waitFor(() => expect(rowOf("r-new")).toHaveAttribute("data-state", "revoked"));
    const revoke = api.calls.find((c) => c.method === "DELETE")!;
    expect(revoke.path).toBe("/api/pocs/p1/reports/r-new");
    expect(revoke.headers.get("X-CSRF-Token")).toBe("csrf-1");
    expect(reportGets(api.calls)).toBe(gets + 1);
    const row = rowOf("r-new");
    expect(row).toHaveTextContent("Revoked");
    expect(within(row).queryByRole("button")).toBeNull();
    expect(within(row).queryByRole("link")).toBeNull();
    expect(screen.queryByTestId("share-result")).toBeNull();
    expect(window.localStorage.getItem("zopoc.shareLinks")).toBeNull();
  });

  it("says it all in Japanese, with Japanese dates in the reader's time zone", async () => {
    await i18n.changeLanguage("ja");
    const api = reportsApi();
    vi.stubGlobal("fetch", api.fetchImpl);
    const user = userEvent.setup();
    renderPage(<SharePanel pocId="p1" />, "/pocs/p1");
    expect(await screen.findByRole("table", { name: "この PoC の共有リンク" })).toBeInTheDocument();
    const elsewhere = rowOf("r-elsewhere");
    expect(elsewhere).toHaveTextContent("英語");
    expect(elsewhere).toHaveTextContent("2026年5月20日 12:00 JST");
    expect(elsewhere).toHaveTextContent("有効");
    expect(rowOf("r-revoked")).toHaveTextContent("日本語");
    expect(rowOf("r-revoked")).toHaveTextContent("無効化済み");
    expect(rowOf("r-expired")).toHaveTextContent("期限切れ");

    await user.click(screen.getByRole("button", { name: "OLDLINK1… で始まるリンクを無効にする" }));
    expect(screen.getByText(/このリンクを無効にしますか？/)).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "無効にする" }));
    await waitFor(() => expect(rowOf("r-elsewhere")).toHaveAttribute("data-state", "revoked"));
    expect(api.calls.find((c) => c.method === "DELETE")?.path).toBe("/api/pocs/p1/reports/r-elsewhere");
  });
});
