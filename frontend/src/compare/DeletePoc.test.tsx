import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { MemoryRouter, Route, Routes } from "react-router-dom";
import { queryKeys } from "../api/keys";
import i18n from "../i18n";
import { PocListPage } from "../pocs/PocListPage";
import { meAs, poc, run } from "../test/pocs";
import { methodsAnswer } from "../test/methods";
import { fakeApi } from "../test/render";
import { usePermissions } from "../auth/permissions";
import { DeletePoc } from "./DeletePoc";

/** Shows the role the permissions hook has read, so a test knows "who am I" has been answered. */
function RoleShown() {
  const can = usePermissions();
  return <p data-testid="role">{can.role ?? "unknown"}</p>;
}

beforeEach(async () => {
  await i18n.changeLanguage("en");
  document.cookie = "zopoc_csrf=csrf-1; path=/";
});
afterEach(() => {
  vi.unstubAllGlobals();
  window.localStorage.clear();
  document.cookie = "zopoc_csrf=; expires=Thu, 01 Jan 1970 00:00:00 GMT; path=/";
});

const doomed = poc({
  runs: [
    run({ id: "a", method: "lozo" }),
    run({ id: "b", method: "adamw", state: "running", progress: 0.3 }),
    run({ id: "c", method: "adamw", attempt: 2 }),
  ],
});

/** The PoC page's delete action and the list it returns to, over one fake API. */
function deleteApi(role: "owner" | "editor") {
  let gone = false;
  return fakeApi({
    "GET /api/auth/me": () => meAs(role),
    "GET /api/methods": () => methodsAnswer(),
    "GET /api/pocs": () => (gone ? { data: [], count: 0 } : { data: [doomed], count: 1 }),
    "DELETE /api/pocs/p1": () => {
      gone = true;
      return new Response(null, { status: 204 });
    },
  });
}

function renderWithList() {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  client.setQueryData(queryKeys.poc("p1"), doomed);
  const view = render(
    <QueryClientProvider client={client}>
      <MemoryRouter initialEntries={["/pocs/p1"]}>
        <Routes>
          <Route
            path="/pocs/p1"
            element={
              <>
                <RoleShown />
                <DeletePoc poc={doomed} />
              </>
            }
          />
          <Route path="/" element={<PocListPage />} />
        </Routes>
      </MemoryRouter>
    </QueryClientProvider>,
  );
  return { client, view };
}

describe("deleting a PoC", () => {
  it("says what goes, asks first, then returns to the list without it", async () => {
    const api = deleteApi("owner");
    vi.stubGlobal("fetch", api.fetchImpl);
    const user = userEvent.setup();
    const { client } = renderWithList();

    await user.click(await screen.findByRole("button", { name: "Delete the PoC Support tickets" }));
    const question = screen.getByRole("group", { name: "Delete the PoC Support tickets" });
    expect(question).toHaveTextContent(
      "Delete “Support tickets”? Its 3 runs are deleted with all their metrics and charts (runs still going are cancelled first), and its share links stop working. This cannot be undone.",
    );
    await user.click(within(question).getByRole("button", { name: "Keep it" }));
    expect(api.calls.some((c) => c.method === "DELETE")).toBe(false);

    await user.click(screen.getByRole("button", { name: "Delete the PoC Support tickets" }));
    await user.click(screen.getByRole("button", { name: "Yes, delete it" }));
    expect(await screen.findByRole("heading", { name: "Proof-of-concept runs" })).toBeInTheDocument();
    const sent = api.calls.find((c) => c.method === "DELETE")!;
    expect(sent.path).toBe("/api/pocs/p1");
    expect(sent.headers.get("X-CSRF-Token")).toBe("csrf-1");
    expect(screen.getByText("“Support tickets” was deleted.")).toHaveAttribute("role", "status");
    expect(await screen.findByText(/No PoC yet/)).toBeInTheDocument();
    expect(client.getQueryData(queryKeys.poc("p1"))).toBeUndefined();
  });

  it("asks in Japanese", async () => {
    await i18n.changeLanguage("ja");
    vi.stubGlobal("fetch", deleteApi("owner").fetchImpl);
    const user = userEvent.setup();
    renderWithList();
    await user.click(await screen.findByRole("button", { name: "PoC「Support tickets」を削除" }));
    expect(screen.getByText(/3 件の実行が、すべてのメトリクスやグラフとともに削除され/)).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "削除する" }));
    expect(await screen.findByText("「Support tickets」を削除しました。")).toBeInTheDocument();
  });

  it("is not offered to an editor (only owners delete PoCs)", async () => {
    vi.stubGlobal("fetch", deleteApi("editor").fetchImpl);
    renderWithList();
    await waitFor(() => expect(screen.getByTestId("role")).toHaveTextContent("editor"));
    expect(screen.queryByRole("button")).toBeNull();
  });
});
