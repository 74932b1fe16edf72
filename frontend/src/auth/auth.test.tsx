import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { MemoryRouter, Route, Routes, useLocation } from "react-router-dom";
import i18n from "../i18n";
import { api } from "../api/client";
import { fakeApi, jsonOf } from "../test/render";
import { InvitePage } from "./InvitePage";
import { LoginPage, safeNext } from "./LoginPage";
import { RequireSignIn } from "./RequireSignIn";

function Where() {
  const location = useLocation();
  return <p data-testid="where">{location.pathname + location.search}</p>;
}

function app(path: string) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(
    <QueryClientProvider client={client}>
      <MemoryRouter initialEntries={[path]}>
        <Routes>
          <Route
            path="/login"
            element={
              <>
                <LoginPage />
                <Where />
              </>
            }
          />
          <Route
            path="/pocs/:id"
            element={
              <RequireSignIn>
                <p>the comparison</p>
                <Where />
              </RequireSignIn>
            }
          />
          <Route path="/invite" element={<InvitePage />} />
          <Route path="/" element={<Where />} />
        </Routes>
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

const me = { id: "u1", email: "a@b.c", name: "A", is_admin: true, workspaces: [], csrf_token: "x" };

describe("signing in", () => {
  beforeEach(async () => {
    await i18n.changeLanguage("en");
  });
  afterEach(() => vi.unstubAllGlobals());

  it("sends a signed-out visitor to the sign-in page and back where they were going", async () => {
    let signedIn = false;
    const api = fakeApi({
      "GET /api/auth/me": () =>
        signedIn ? me : new Response(JSON.stringify({ detail: "not signed in" }), { status: 401 }),
      "POST /api/auth/login": (init) => {
        const body = jsonOf<{ password: string }>(init);
        if (body.password !== "right")
          return new Response(JSON.stringify({ detail: "wrong e-mail or password" }), { status: 401 });
        signedIn = true;
        return me;
      },
    });
    vi.stubGlobal("fetch", api.fetchImpl);
    const user = userEvent.setup();
    app("/pocs/p1?x=step");
    expect(await screen.findByTestId("where")).toHaveTextContent("/login?next=%2Fpocs%2Fp1%3Fx%3Dstep");

    await user.type(screen.getByLabelText("E-mail address"), "a@b.c");
    await user.type(screen.getByLabelText("Password"), "wrong");
    await user.click(screen.getByRole("button", { name: "Sign in" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("The e-mail address or the password is not right.");

    await user.clear(screen.getByLabelText("Password"));
    await user.type(screen.getByLabelText("Password"), "right");
    await user.click(screen.getByRole("button", { name: "Sign in" }));
    expect(await screen.findByText("the comparison")).toBeInTheDocument();
    expect(screen.getByTestId("where")).toHaveTextContent("/pocs/p1?x=step");
  });

  it("shows everything without sign-in on a server without accounts", async () => {
    vi.stubGlobal("fetch", fakeApi({}).fetchImpl); // /api/auth/me: 404
    app("/pocs/p1");
    expect(await screen.findByText("the comparison")).toBeInTheDocument();
  });

  it("only follows next= to pages of this app", () => {
    expect(safeNext("/pocs/1")).toBe("/pocs/1");
    expect(safeNext("//evil.example")).toBe("/");
    expect(safeNext("https://evil.example")).toBe("/");
    expect(safeNext(null)).toBe("/");
  });
});

describe("state-changing requests", () => {
  afterEach(() => {
    vi.unstubAllGlobals();
    document.cookie = "zopoc_csrf=; expires=Thu, 01 Jan 1970 00:00:00 GMT; path=/";
  });

  it("carry the CSRF cookie's value in X-CSRF-Token, reads do not", async () => {
    const seen: Record<string, string | null> = {};
    vi.stubGlobal("fetch", (request: Request) => {
      seen[request.method] = request.headers.get("X-CSRF-Token");
      return Promise.resolve(new Response("{}", { status: 200, headers: { "Content-Type": "application/json" } }));
    });
    document.cookie = "zopoc_csrf=tok%3D1; path=/";
    await api.POST("/api/runs/{run_id}/cancel", { params: { path: { run_id: "r1" } } });
    await api.GET("/api/pocs");
    expect(seen).toEqual({ POST: "tok=1", GET: null });
  });
});

describe("accepting an invitation", () => {
  beforeEach(async () => {
    await i18n.changeLanguage("en");
  });
  afterEach(() => vi.unstubAllGlobals());

  it("checks the password here, then creates the account and offers sign-in", async () => {
    const api = fakeApi({ "POST /api/auth/invites/accept": () => ({ ...me, email: "new@b.c" }) });
    vi.stubGlobal("fetch", api.fetchImpl);
    const user = userEvent.setup();
    app("/invite#zpi_abcdefghijkl");
    await user.type(screen.getByLabelText("Password"), "short");
    await user.type(screen.getByLabelText("Password again"), "short");
    await user.click(screen.getByRole("button", { name: "Create my account" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("Use at least 10 characters");
    expect(api.calls).toHaveLength(0);

    await user.clear(screen.getByLabelText("Password"));
    await user.type(screen.getByLabelText("Password"), "a long enough secret");
    await user.clear(screen.getByLabelText("Password again"));
    await user.type(screen.getByLabelText("Password again"), "a long enough secret");
    await user.click(screen.getByRole("button", { name: "Create my account" }));
    expect(await screen.findByText("Your account is ready. Sign in with your new password.")).toBeInTheDocument();
    expect(screen.getByLabelText("E-mail address")).toHaveValue("new@b.c");
    expect(api.calls[0]).toMatchObject({ path: "/api/auth/invites/accept", body: { token: "zpi_abcdefghijkl" } });
  });

  it("says why the server refused, wholly in Japanese for a Japanese reader", async () => {
    await i18n.changeLanguage("ja");
    const refused = (detail: string, code: string) => () =>
      new Response(JSON.stringify({ detail, code }), { status: 400 });
    const api = fakeApi({
      "POST /api/auth/invites/accept": refused(
        "this invitation was cancelled; ask the person who invited you for a new one",
        "invite_cancelled",
      ),
    });
    vi.stubGlobal("fetch", api.fetchImpl);
    const user = userEvent.setup();
    app("/invite#zpi_abcdefghijkl");
    await user.type(screen.getByLabelText("パスワード"), "a long enough secret");
    await user.type(screen.getByLabelText("パスワード（確認）"), "a long enough secret");
    await user.click(screen.getByRole("button", { name: "アカウントを作成" }));
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("この招待は取り消されました。招待した人に新しい招待を依頼してください。");
    expect(alert.textContent).not.toMatch(/[A-Za-z]/); // not a word of the server's English
  });

  it("falls back to the server's words for a reason it does not know", async () => {
    const api = fakeApi({
      "POST /api/auth/invites/accept": () =>
        new Response(JSON.stringify({ detail: "the moon is in the wrong phase", code: "invite_moon" }), {
          status: 400,
        }),
    });
    vi.stubGlobal("fetch", api.fetchImpl);
    const user = userEvent.setup();
    app("/invite#zpi_abcdefghijkl");
    await user.type(screen.getByLabelText("Password"), "a long enough secret");
    await user.type(screen.getByLabelText("Password again"), "a long enough secret");
    await user.click(screen.getByRole("button", { name: "Create my account" }));
    expect(await screen.findByRole("alert")).toHaveTextContent(
      "The invitation could not be accepted: the moon is in the wrong phase",
    );
  });

  it("says what to do when the link lost its token", async () => {
    vi.stubGlobal("fetch", fakeApi({}).fetchImpl);
    app("/invite");
    expect(await screen.findByRole("alert")).toHaveTextContent("This invitation link is incomplete.");
  });
});
