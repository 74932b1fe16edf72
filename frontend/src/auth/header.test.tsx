import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createMemoryRouter, RouterProvider } from "react-router-dom";
import i18n from "../i18n";
import { routes } from "../routes";
import { fakeApi } from "../test/render";
import type { Me } from "./session";

// The real header (Layout) around the real pages: it stays mounted across navigations, so it must follow
// "who am I" as it changes, without a reload.

const editor: Me = {
  id: "u-eve",
  email: "eve@example.com",
  name: "Eve",
  is_admin: false,
  workspaces: [{ id: "w1", name: "Sales", role: "editor" }],
  csrf_token: "csrf-1",
};

const unauthorized = () => new Response(JSON.stringify({ detail: "not signed in" }), { status: 401 });

function server() {
  const state = { signedIn: false };
  const api = fakeApi({
    "GET /api/auth/me": () => (state.signedIn ? editor : unauthorized()),
    "POST /api/auth/login": () => {
      state.signedIn = true;
      return new Response(JSON.stringify(editor), { status: 200 });
    },
    "POST /api/auth/logout": () => {
      state.signedIn = false;
      return new Response(null, { status: 204 });
    },
    "GET /api/pocs": () => (state.signedIn ? { data: [], count: 0 } : unauthorized()),
    // Accepting creates the account but starts no session (no cookie): the page then offers sign-in.
    "POST /api/auth/invites/accept": () => editor,
  });
  return { api, state };
}

function app(path: string) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  const router = createMemoryRouter(routes, { initialEntries: [path] });
  render(
    <QueryClientProvider client={client}>
      <RouterProvider router={router} />
    </QueryClientProvider>,
  );
  return { client, router };
}

const mainNav = () => screen.getByRole("navigation", { name: "Main navigation" });

describe("the header", () => {
  beforeEach(async () => {
    await i18n.changeLanguage("en");
  });
  afterEach(() => vi.unstubAllGlobals());

  it("shows an editor 'New PoC' and their menu right after signing in, without a reload", async () => {
    const { api } = server();
    vi.stubGlobal("fetch", api.fetchImpl);
    const user = userEvent.setup();
    app("/");
    await user.type(await screen.findByLabelText("E-mail address"), editor.email);
    expect(within(mainNav()).queryByRole("link", { name: "New PoC" })).not.toBeInTheDocument();

    await user.type(screen.getByLabelText("Password"), "the right password");
    await user.click(screen.getByRole("button", { name: "Sign in" }));
    expect(await within(mainNav()).findByRole("link", { name: "New PoC" })).toHaveAttribute("href", "/new");
    expect(screen.getByRole("button", { name: "Account menu of Eve" })).toBeInTheDocument();
  });

  it("hides what the user could do as soon as they sign out", async () => {
    const { api, state } = server();
    state.signedIn = true;
    vi.stubGlobal("fetch", api.fetchImpl);
    const user = userEvent.setup();
    const { router } = app("/");
    expect(await within(mainNav()).findByRole("link", { name: "New PoC" })).toBeInTheDocument();

    await user.click(screen.getByRole("button", { name: "Account menu of Eve" }));
    await user.click(screen.getByRole("button", { name: "Sign out" }));
    await waitFor(() => expect(router.state.location.pathname).toBe("/login"));
    await waitFor(() => expect(within(mainNav()).queryByRole("link", { name: "New PoC" })).not.toBeInTheDocument());
    expect(screen.queryByRole("button", { name: "Account menu of Eve" })).not.toBeInTheDocument();
    expect(api.calls.some((c) => c.method === "POST" && c.path === "/api/auth/logout")).toBe(true);
  });

  it("forgets what was fetched before signing in, except who is signed in", async () => {
    const { api } = server();
    vi.stubGlobal("fetch", api.fetchImpl);
    const user = userEvent.setup();
    const { client } = app("/login");
    client.setQueryData(["pocs", "detail", "p-old"], { id: "p-old" }); // e.g. someone else's, cached
    await user.type(await screen.findByLabelText("E-mail address"), editor.email);
    await user.type(screen.getByLabelText("Password"), "the right password");
    await user.click(screen.getByRole("button", { name: "Sign in" }));
    await within(mainNav()).findByRole("link", { name: "New PoC" });
    expect(client.getQueryData(["pocs", "detail", "p-old"])).toBeUndefined();
    expect(client.getQueryData(["auth", "me"])).toEqual(editor);
  });

  it("after accepting an invitation, signing in shows the new editor's header without a reload", async () => {
    const { api } = server();
    vi.stubGlobal("fetch", api.fetchImpl);
    const user = userEvent.setup();
    app("/invite#zpi_abcdefghijkl");
    await user.type(await screen.findByLabelText("Password"), "a long enough secret");
    await user.type(screen.getByLabelText("Password again"), "a long enough secret");
    await user.click(screen.getByRole("button", { name: "Create my account" }));
    expect(await screen.findByLabelText("E-mail address")).toHaveValue(editor.email);
    expect(within(mainNav()).queryByRole("link", { name: "New PoC" })).not.toBeInTheDocument();

    await user.type(screen.getByLabelText("Password"), "a long enough secret");
    await user.click(screen.getByRole("button", { name: "Sign in" }));
    expect(await within(mainNav()).findByRole("link", { name: "New PoC" })).toBeInTheDocument();
  });
});
