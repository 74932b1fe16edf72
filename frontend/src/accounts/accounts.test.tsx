import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { WORKSPACE_STORAGE_KEY } from "../api/client";
import type { UserPublic } from "../api/types";
import { UserMenu } from "../auth/UserMenu";
import type { Me, Role } from "../auth/session";
import i18n from "../i18n";
import { fakeApi, jsonOf, renderPage } from "../test/render";
import { AdminPage } from "./AdminPage";
import { MembersPage } from "./MembersPage";
import { TokensPage } from "./TokensPage";

const NOW = "2026-05-01T10:00:00Z";
const SECRET = "zpt_s3cr3t-t0ken-value-only-shown-once";

function meAs(role: Role, isAdmin = false): Me {
  return {
    id: "u-ann",
    email: "ann@example.com",
    name: "Ann",
    is_admin: isAdmin,
    workspaces: [{ id: "w1", name: "Sales", role }],
    csrf_token: "csrf-1",
  };
}

const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status });
const noContent = () => new Response(null, { status: 204 });

beforeEach(async () => {
  await i18n.changeLanguage("en");
  document.cookie = "zopoc_csrf=csrf-1; path=/";
});
afterEach(() => {
  vi.unstubAllGlobals();
  window.localStorage.clear();
  document.cookie = "zopoc_csrf=; expires=Thu, 01 Jan 1970 00:00:00 GMT; path=/";
});

describe("my API tokens", () => {
  function tokenApi() {
    const tokens: Record<string, unknown>[] = [];
    return fakeApi({
      "GET /api/auth/me": () => meAs("viewer"),
      "GET /api/auth/tokens": () => ({ data: tokens, count: tokens.length }),
      "POST /api/auth/tokens": (init) => {
        const row = {
          id: "t1",
          name: jsonOf<{ name: string }>(init).name,
          prefix: SECRET.slice(0, 8),
          created_at: NOW,
          last_used_at: null,
          revoked_at: null,
        };
        tokens.unshift(row);
        return { ...row, token: SECRET };
      },
      "DELETE /api/auth/tokens/t1": () => {
        tokens[0]!.revoked_at = NOW;
        return noContent();
      },
    });
  }

  it("shows a new token once, with a copy button, then never again", async () => {
    const api = tokenApi();
    vi.stubGlobal("fetch", api.fetchImpl);
    const user = userEvent.setup(); // also gives jsdom a clipboard to read back
    renderPage(<TokensPage />, "/account/tokens");
    expect(await screen.findByText(/You have no API tokens yet/)).toBeInTheDocument();

    await user.type(screen.getByLabelText("Token name"), "nightly eval");
    await user.click(screen.getByRole("button", { name: "Create token" }));
    const shown = await screen.findByTestId("new-token");
    expect(within(shown).getByLabelText("API token")).toHaveValue(SECRET);
    expect(shown).toHaveTextContent("you will not see it again");
    await user.click(within(shown).getByRole("button", { name: "Copy" }));
    expect(await navigator.clipboard.readText()).toBe(SECRET);
    expect(within(shown).getByRole("button", { name: "Copied" })).toBeInTheDocument();

    // The list shows the new token by name and prefix only.
    const row = (await screen.findByRole("rowheader", { name: "nightly eval" })).closest("tr")!;
    expect(row).toHaveTextContent("zpt_s3cr…");
    expect(screen.getByText("1 token")).toBeInTheDocument();
    expect(row).not.toHaveTextContent(SECRET);
    expect(api.calls.find((c) => c.method === "POST")).toMatchObject({ body: { name: "nightly eval" } });
    expect(api.calls.find((c) => c.method === "POST")!.headers.get("X-CSRF-Token")).toBe("csrf-1");

    await user.click(screen.getByRole("button", { name: "I have copied it" }));
    expect(screen.queryByTestId("new-token")).not.toBeInTheDocument();
    expect(screen.queryByDisplayValue(SECRET)).not.toBeInTheDocument();
    expect(document.body).not.toHaveTextContent(SECRET);
  });

  it("revokes a token only after a confirmation", async () => {
    const api = tokenApi();
    vi.stubGlobal("fetch", api.fetchImpl);
    const user = userEvent.setup();
    renderPage(<TokensPage />, "/account/tokens");
    await user.type(await screen.findByLabelText("Token name"), "ci");
    await user.click(screen.getByRole("button", { name: "Create token" }));
    await user.click(await screen.findByRole("button", { name: "I have copied it" }));

    await user.click(await screen.findByRole("button", { name: "Revoke the token ci" }));
    expect(screen.getByText("Revoke “ci”? Scripts that use it stop working at once.")).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Keep it" }));
    expect(api.calls.some((c) => c.method === "DELETE")).toBe(false);

    await user.click(screen.getByRole("button", { name: "Revoke the token ci" }));
    await user.click(screen.getByRole("button", { name: "Yes, revoke" }));
    expect(await screen.findByText(/^Revoked /)).toBeInTheDocument();
    const revoke = api.calls.find((c) => c.method === "DELETE")!;
    expect(revoke.path).toBe("/api/auth/tokens/t1");
    expect(revoke.headers.get("X-CSRF-Token")).toBe("csrf-1");
    expect(screen.queryByRole("button", { name: "Revoke the token ci" })).not.toBeInTheDocument();
  });
});

describe("workspace members", () => {
  function memberApi(role: Role, overrides: Record<string, Parameters<typeof fakeApi>[0][string]> = {}) {
    return fakeApi({
      "GET /api/auth/me": () => meAs(role),
      "GET /api/workspaces": () => ({ data: meAs(role).workspaces, count: 1 }),
      "GET /api/workspaces/w1/members": () => ({
        data: [
          { user_id: "u-ann", email: "ann@example.com", name: "Ann", role },
          { user_id: "u-bo", email: "bo@example.com", name: "Bo", role: "editor" },
        ],
        count: 2,
      }),
      "GET /api/workspaces/w1/invites": () => ({ data: [], count: 0 }),
      ...overrides,
    });
  }

  it("lets an owner change roles, remove members and invite; nobody can remove themselves", async () => {
    vi.stubGlobal("fetch", memberApi("owner").fetchImpl);
    renderPage(<MembersPage />, "/workspace/members");
    expect(await screen.findByRole("heading", { name: "Members of Sales" })).toBeInTheDocument();
    expect(await screen.findByRole("combobox", { name: "Role of Bo" })).toHaveValue("editor");
    expect(screen.getByRole("combobox", { name: "Role of Ann" })).toHaveValue("owner");
    expect(screen.getByRole("button", { name: "Remove Bo from the workspace" })).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Remove Ann from the workspace" })).not.toBeInTheDocument();
    expect(screen.getByText("2 members")).toBeInTheDocument();
    expect(screen.getByRole("heading", { name: "Invite a person" })).toBeInTheDocument();
  });

  it("shows a viewer the list without any control", async () => {
    vi.stubGlobal("fetch", memberApi("viewer").fetchImpl);
    renderPage(<MembersPage />, "/workspace/members");
    const bo = (await screen.findByRole("rowheader", { name: "Bo" })).closest("tr")!;
    expect(bo).toHaveTextContent("bo@example.com");
    expect(bo).toHaveTextContent("editor");
    expect(screen.getByText("Only the owners of this workspace can change roles and invite people.")).toBeVisible();
    expect(screen.queryByRole("combobox")).not.toBeInTheDocument();
    expect(screen.queryByRole("button", { name: /Remove/ })).not.toBeInTheDocument();
    expect(screen.queryByRole("heading", { name: "Invite a person" })).not.toBeInTheDocument();
  });

  it("says in words that the last owner must stay, and keeps the role as it was", async () => {
    const api = memberApi("owner", {
      "PUT /api/workspaces/w1/members/u-ann": () => json(409, { detail: "a workspace keeps at least one owner" }),
    });
    vi.stubGlobal("fetch", api.fetchImpl);
    const user = userEvent.setup();
    renderPage(<MembersPage />, "/workspace/members");
    await user.selectOptions(await screen.findByRole("combobox", { name: "Role of Ann" }), "editor");
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("A workspace needs at least one owner. Make someone else an owner first.");
    expect(alert).not.toHaveTextContent("keeps at least");
    expect(api.calls.find((c) => c.method === "PUT")).toMatchObject({ body: { role: "editor" } });
    await waitFor(() => expect(screen.getByRole("combobox", { name: "Role of Ann" })).toHaveValue("owner"));
  });

  it("shows an invitation link once, and offers to add a person who already has an account", async () => {
    const api = memberApi("owner", {
      "POST /api/workspaces/w1/invites": (init) => {
        const { email } = jsonOf<{ email: string }>(init);
        if (email === "taken@example.com")
          return json(409, {
            detail: {
              message: "email: taken@example.com already has an account; add them to the workspace instead",
              errors: [{ row: null, field: "email", problem: "already has an account" }],
            },
          });
        return json(201, {
          email,
          role: "editor",
          workspace_id: "w1",
          expires_at: NOW,
          token: "zpi_invite123",
          url: "/invite#zpi_invite123",
        });
      },
    });
    vi.stubGlobal("fetch", api.fetchImpl);
    const user = userEvent.setup();
    renderPage(<MembersPage />, "/workspace/members");
    const email = await screen.findByLabelText("Their e-mail address");

    await user.type(email, "not an address");
    await user.click(screen.getByRole("button", { name: "Create invitation link" }));
    expect(screen.getByText("Enter an e-mail address such as name@example.com.")).toBeInTheDocument();
    expect(api.calls.some((c) => c.method === "POST")).toBe(false);

    await user.clear(email);
    await user.type(email, "taken@example.com");
    await user.click(screen.getByRole("button", { name: "Create invitation link" }));
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent(
      "taken@example.com already has a zopoc account, so no invitation is needed: add them to this workspace as viewer instead.",
    );
    expect(alert).not.toHaveTextContent("{");
    expect(within(alert).getByRole("button", { name: "Add them to the workspace" })).toBeInTheDocument();

    await user.clear(email);
    await user.type(email, "cy@example.com");
    await user.selectOptions(screen.getByLabelText("Role"), "editor");
    await user.click(screen.getByRole("button", { name: "Create invitation link" }));
    const link = await screen.findByTestId("invite-link");
    expect(within(link).getByLabelText("Invitation link")).toHaveValue(
      `${window.location.origin}/invite#zpi_invite123`,
    );
    expect(link).toHaveTextContent("it is shown only this once");
    expect(screen.queryByRole("alert")).not.toBeInTheDocument();
    const sent = api.calls.filter((c) => c.method === "POST").at(-1)!;
    expect(sent).toMatchObject({ body: { email: "cy@example.com", role: "editor" } });
    expect(sent.body).not.toHaveProperty("workspace_id");
    await user.click(within(link).getByRole("button", { name: "I have copied it" }));
    expect(screen.queryByDisplayValue(/zpi_invite123/)).not.toBeInTheDocument();
  });

  describe("a person who already has an account", () => {
    const taken = () =>
      json(409, {
        detail: {
          message: "email: taken@example.com already has an account; add them to the workspace instead",
          errors: [{ row: null, field: "email", problem: "already has an account" }],
        },
      });

    it("is added to the workspace with the role asked for, instead of invited", async () => {
      const cy = { user_id: "u-cy", email: "taken@example.com", name: "Cy", role: "editor" };
      let added = false;
      const api = memberApi("owner", {
        "POST /api/workspaces/w1/invites": taken,
        "POST /api/workspaces/w1/members": () => {
          added = true;
          return json(201, {
            data: [{ user_id: "u-ann", email: "ann@example.com", name: "Ann", role: "owner" }, cy],
            count: 2,
          });
        },
        "GET /api/workspaces/w1/members": () => ({
          data: [{ user_id: "u-ann", email: "ann@example.com", name: "Ann", role: "owner" }, ...(added ? [cy] : [])],
          count: added ? 2 : 1,
        }),
      });
      vi.stubGlobal("fetch", api.fetchImpl);
      const user = userEvent.setup();
      renderPage(<MembersPage />, "/workspace/members");
      await user.type(await screen.findByLabelText("Their e-mail address"), "taken@example.com");
      await user.selectOptions(screen.getByLabelText("Role"), "editor");
      await user.click(screen.getByRole("button", { name: "Create invitation link" }));
      const offer = await screen.findByRole("alert");
      expect(offer).toHaveTextContent("add them to this workspace as editor instead");
      expect(api.calls.some((c) => c.path === "/api/workspaces/w1/members" && c.method === "POST")).toBe(false);

      await user.click(within(offer).getByRole("button", { name: "Add them to the workspace" }));
      expect(await screen.findByRole("status")).toHaveTextContent(
        "taken@example.com is now a member of this workspace (editor).",
      );
      expect(screen.queryByRole("alert")).not.toBeInTheDocument();
      expect(await screen.findByRole("combobox", { name: "Role of Cy" })).toHaveValue("editor");
      const post = api.calls.find((c) => c.method === "POST" && c.path === "/api/workspaces/w1/members")!;
      expect(post.body).toEqual({ email: "taken@example.com", role: "editor" });
      expect(post.headers.get("X-CSRF-Token")).toBe("csrf-1");
      expect(screen.queryByTestId("invite-link")).not.toBeInTheDocument();
    });

    it("is not offered again once the server says they are already a member", async () => {
      const api = memberApi("owner", {
        "POST /api/workspaces/w1/invites": taken,
        "POST /api/workspaces/w1/members": () =>
          json(409, {
            detail: {
              message: "email: taken@example.com is already a member of this workspace; change their role instead",
              errors: [{ row: null, field: "email", problem: "already a member" }],
            },
          }),
      });
      vi.stubGlobal("fetch", api.fetchImpl);
      const user = userEvent.setup();
      renderPage(<MembersPage />, "/workspace/members");
      await user.type(await screen.findByLabelText("Their e-mail address"), "taken@example.com");
      await user.click(screen.getByRole("button", { name: "Create invitation link" }));
      await user.click(await screen.findByRole("button", { name: "Add them to the workspace" }));
      const alert = await screen.findByText(/is already a member of this workspace\. Change their role/);
      expect(alert).toHaveTextContent(
        "taken@example.com is already a member of this workspace. Change their role in the list of members instead.",
      );
      expect(screen.queryByRole("button", { name: "Add them to the workspace" })).not.toBeInTheDocument();
    });
  });

  describe("pending invitations", () => {
    const pending = (email: string, id: string) => ({
      id,
      email,
      role: "editor",
      workspace_id: "w1",
      workspace_name: "Sales",
      is_admin: false,
      invited_by: "ann@example.com",
      created_at: NOW,
      expires_at: "2026-05-08T10:00:00Z",
    });

    it("are listed for owners with e-mail, role and expiry, and cancelled only after a confirmation", async () => {
      const invites = [pending("dee@example.com", "i1")];
      const api = memberApi("owner", {
        "GET /api/workspaces/w1/invites": () => ({ data: invites, count: invites.length }),
        "DELETE /api/workspaces/w1/invites/i1": () => {
          invites.splice(0, 1);
          return noContent();
        },
        "POST /api/workspaces/w1/invites": () => {
          invites.unshift(pending("eve@example.com", "i2"));
          return json(201, {
            email: "eve@example.com",
            role: "viewer",
            workspace_id: "w1",
            expires_at: NOW,
            token: "zpi_e",
            url: "/invite#zpi_e",
          });
        },
      });
      vi.stubGlobal("fetch", api.fetchImpl);
      const user = userEvent.setup();
      renderPage(<MembersPage />, "/workspace/members");
      expect(await screen.findByRole("heading", { name: "Pending invitations" })).toBeInTheDocument();
      const row = (await screen.findByRole("rowheader", { name: "dee@example.com" })).closest("tr")!;
      expect(row).toHaveTextContent("editor");
      expect(row).toHaveTextContent(/2026/); // valid until (formatted in the reader's language)
      expect(screen.getByText("1 invitation")).toBeInTheDocument();
      expect(screen.queryByRole("columnheader", { name: "Workspace" })).not.toBeInTheDocument();

      await user.click(within(row).getByRole("button", { name: "Cancel the invitation of dee@example.com" }));
      expect(
        screen.getByText("Cancel the invitation of dee@example.com? Its link stops working at once."),
      ).toBeVisible();
      await user.click(screen.getByRole("button", { name: "Keep it" }));
      expect(api.calls.some((c) => c.method === "DELETE")).toBe(false);

      await user.click(screen.getByRole("button", { name: "Cancel the invitation of dee@example.com" }));
      await user.click(screen.getByRole("button", { name: "Yes, cancel it" }));
      expect(await screen.findByText("No invitation is waiting to be accepted.")).toBeInTheDocument();
      const cancel = api.calls.find((c) => c.method === "DELETE")!;
      expect(cancel.path).toBe("/api/workspaces/w1/invites/i1");
      expect(cancel.headers.get("X-CSRF-Token")).toBe("csrf-1");

      // A new invitation shows up in the list at once.
      await user.type(screen.getByLabelText("Their e-mail address"), "eve@example.com");
      await user.click(screen.getByRole("button", { name: "Create invitation link" }));
      expect(await screen.findByRole("rowheader", { name: "eve@example.com" })).toBeInTheDocument();
    });

    it("say in words that an invitation was accepted meanwhile", async () => {
      const api = memberApi("owner", {
        "GET /api/workspaces/w1/invites": () => ({ data: [pending("dee@example.com", "i1")], count: 1 }),
        "DELETE /api/workspaces/w1/invites/i1": () =>
          json(409, { detail: "dee@example.com already accepted this invitation and has an account" }),
      });
      vi.stubGlobal("fetch", api.fetchImpl);
      const user = userEvent.setup();
      renderPage(<MembersPage />, "/workspace/members");
      await user.click(await screen.findByRole("button", { name: "Cancel the invitation of dee@example.com" }));
      await user.click(screen.getByRole("button", { name: "Yes, cancel it" }));
      expect(await screen.findByRole("alert")).toHaveTextContent(
        "This invitation was accepted meanwhile: the person has an account now.",
      );
    });

    it("are neither shown to nor asked for by viewers", async () => {
      const api = memberApi("viewer");
      vi.stubGlobal("fetch", api.fetchImpl);
      renderPage(<MembersPage />, "/workspace/members");
      await screen.findByRole("rowheader", { name: "Bo" });
      expect(screen.queryByRole("heading", { name: "Pending invitations" })).not.toBeInTheDocument();
      expect(api.calls.some((c) => c.path.endsWith("/invites"))).toBe(false);
    });
  });
});

describe("administration", () => {
  const users = (): UserPublic[] => [
    { id: "u-ann", email: "ann@example.com", name: "Ann", is_admin: true, created_at: NOW, disabled_at: null },
    { id: "u-bo", email: "bo@example.com", name: "Bo", is_admin: false, created_at: NOW, disabled_at: null },
  ];
  function adminApi(isAdmin: boolean, lastAdmin = false) {
    const list = users();
    const invites = [
      {
        id: "i-site",
        email: "fay@example.com",
        role: "viewer",
        workspace_id: null,
        workspace_name: null,
        is_admin: true,
        invited_by: "ann@example.com",
        created_at: NOW,
        expires_at: NOW,
      },
      {
        id: "i-sales",
        email: "gus@example.com",
        role: "editor",
        workspace_id: "w1",
        workspace_name: "Sales",
        is_admin: false,
        invited_by: "bo@example.com",
        created_at: NOW,
        expires_at: NOW,
      },
    ];
    return fakeApi({
      "GET /api/auth/me": () => meAs("owner", isAdmin),
      "GET /api/admin/users": () => ({ data: list, count: list.length }),
      "PATCH /api/admin/users/u-bo": (init) => {
        const change = jsonOf<{ disabled?: boolean; is_admin?: boolean }>(init);
        if (lastAdmin && change.is_admin === false) {
          return new Response(JSON.stringify({ detail: "zopoc keeps at least one enabled administrator" }), {
            status: 409,
          });
        }
        if ("disabled" in change) list[1] = { ...list[1]!, disabled_at: change.disabled ? NOW : null };
        if ("is_admin" in change) list[1] = { ...list[1]!, is_admin: change.is_admin === true };
        return list[1];
      },
      "GET /api/gpus": () => ({ data: [], count: 0 }),
      "GET /api/admin/workspaces": () => ({
        data: [
          {
            id: "w1",
            name: "Sales",
            created_at: NOW,
            members: 2,
            owners: ["ann@example.com"],
            pocs: 7,
          },
        ],
        count: 1,
      }),
      "POST /api/admin/invites": (init) => {
        const body = jsonOf<Record<string, unknown>>(init);
        return { ...body, expires_at: NOW, token: "zpi_site", url: "/invite#zpi_site" };
      },
      "GET /api/admin/invites": () => ({ data: invites, count: invites.length }),
      "DELETE /api/admin/invites/i-site": () => {
        invites.splice(
          invites.findIndex((i) => i.id === "i-site"),
          1,
        );
        return noContent();
      },
    });
  }

  it("is not in the menu for a user who is not an administrator", async () => {
    vi.stubGlobal("fetch", adminApi(false).fetchImpl);
    const user = userEvent.setup();
    renderPage(<UserMenu />, "/");
    await user.click(await screen.findByRole("button", { name: "Account menu of Ann" }));
    const menu = screen.getByRole("navigation", { name: "Account" });
    expect(within(menu).getByRole("link", { name: "My API tokens" })).toHaveAttribute("href", "/account/tokens");
    expect(within(menu).getByRole("link", { name: "Workspace members" })).toHaveAttribute("href", "/workspace/members");
    expect(within(menu).queryByRole("link", { name: "Administration" })).not.toBeInTheDocument();
  });

  it("is in the menu for an administrator", async () => {
    vi.stubGlobal("fetch", adminApi(true).fetchImpl);
    const user = userEvent.setup();
    renderPage(<UserMenu />, "/");
    await user.click(await screen.findByRole("button", { name: "Account menu of Ann" }));
    expect(screen.getByRole("link", { name: "Administration" })).toHaveAttribute("href", "/admin");
    await user.keyboard("{Escape}");
    expect(screen.queryByRole("navigation", { name: "Account" })).not.toBeInTheDocument();
  });

  it("shows nothing of the administration to others, and asks the server nothing", async () => {
    const api = adminApi(false);
    vi.stubGlobal("fetch", api.fetchImpl);
    renderPage(<AdminPage />, "/admin");
    expect(await screen.findByRole("alert")).toHaveTextContent("Only administrators can see this page.");
    expect(screen.queryByRole("heading", { name: "Users" })).not.toBeInTheDocument();
    expect(api.calls.map((c) => c.path)).toEqual(["/api/auth/me"]);
  });

  it("lists users and workspaces, disables another user after a confirmation, never oneself", async () => {
    const api = adminApi(true);
    vi.stubGlobal("fetch", api.fetchImpl);
    const user = userEvent.setup();
    renderPage(<AdminPage />, "/admin");
    const sales = (await screen.findByRole("rowheader", { name: "Sales" })).closest("tr")!;
    expect(sales).toHaveTextContent("ann@example.com");
    expect(sales).toHaveTextContent("7");
    await screen.findByRole("rowheader", { name: /bo@example\.com/ });
    expect(screen.queryByRole("button", { name: "Disable ann@example.com" })).not.toBeInTheDocument();

    await user.click(screen.getByRole("button", { name: "Disable bo@example.com" }));
    expect(api.calls.some((c) => c.method === "PATCH")).toBe(false);
    await user.click(screen.getByRole("button", { name: "Yes, disable" }));
    expect(await screen.findByText(/^Disabled since/)).toBeInTheDocument();
    const patch = api.calls.find((c) => c.method === "PATCH")!;
    expect(patch).toMatchObject({ path: "/api/admin/users/u-bo", body: { disabled: true } });
    expect(patch.headers.get("X-CSRF-Token")).toBe("csrf-1");

    await user.click(screen.getByRole("button", { name: "Enable bo@example.com" }));
    await waitFor(() => expect(screen.queryByText(/^Disabled since/)).not.toBeInTheDocument());
    expect(api.calls.filter((c) => c.method === "PATCH").at(-1)).toMatchObject({ body: { disabled: false } });
  });

  it("makes another user an administrator after a confirmation and removes it again, never oneself", async () => {
    const api = adminApi(true);
    vi.stubGlobal("fetch", api.fetchImpl);
    const user = userEvent.setup();
    renderPage(<AdminPage />, "/admin");
    const bo = (await screen.findByRole("rowheader", { name: /bo@example\.com/ })).closest("tr")!;
    expect(bo).toHaveAttribute("data-admin", "false");
    // Not offered for yourself, in either direction.
    expect(screen.queryByRole("button", { name: "Remove administrator rights from ann@example.com" })).toBeNull();
    expect(screen.queryByRole("button", { name: "Make ann@example.com an administrator" })).toBeNull();

    await user.click(screen.getByRole("button", { name: "Make bo@example.com an administrator" }));
    expect(screen.getByRole("group", { name: "Make bo@example.com an administrator" })).toHaveTextContent(
      "Make bo@example.com an administrator? From their next click on",
    );
    await user.click(screen.getByRole("button", { name: "Cancel" }));
    expect(api.calls.some((c) => c.method === "PATCH")).toBe(false);
    await user.click(screen.getByRole("button", { name: "Make bo@example.com an administrator" }));
    await user.click(screen.getByRole("button", { name: "Yes, make administrator" }));
    await waitFor(() => expect(bo).toHaveAttribute("data-admin", "true"));
    expect(within(bo).getByText("Administrator")).toBeInTheDocument();
    const patch = api.calls.find((c) => c.method === "PATCH")!;
    expect(patch).toMatchObject({ path: "/api/admin/users/u-bo", body: { is_admin: true } });
    expect(patch.headers.get("X-CSRF-Token")).toBe("csrf-1");

    await user.click(screen.getByRole("button", { name: "Remove administrator rights from bo@example.com" }));
    await user.click(screen.getByRole("button", { name: "Yes, remove" }));
    await waitFor(() => expect(bo).toHaveAttribute("data-admin", "false"));
    expect(api.calls.filter((c) => c.method === "PATCH").at(-1)).toMatchObject({ body: { is_admin: false } });
    expect(bo).toHaveAttribute("data-disabled", "false"); // disabling untouched
  });

  it("says in words when the last administrator's rights cannot be removed", async () => {
    vi.stubGlobal("fetch", adminApi(true, true).fetchImpl);
    const user = userEvent.setup();
    renderPage(<AdminPage />, "/admin");
    await screen.findByRole("rowheader", { name: /bo@example\.com/ });
    await user.click(screen.getByRole("button", { name: "Make bo@example.com an administrator" }));
    await user.click(screen.getByRole("button", { name: "Yes, make administrator" }));
    await user.click(await screen.findByRole("button", { name: "Remove administrator rights from bo@example.com" }));
    await user.click(screen.getByRole("button", { name: "Yes, remove" }));
    expect(await screen.findByRole("alert")).toHaveTextContent(
      "zopoc needs at least one active administrator, so these rights cannot be removed now.",
    );
  });

  it("invites a person to zopoc into a workspace, as an administrator if asked", async () => {
    const api = adminApi(true);
    vi.stubGlobal("fetch", api.fetchImpl);
    const user = userEvent.setup();
    renderPage(<AdminPage />, "/admin");
    await screen.findByRole("rowheader", { name: "Sales" }); // the workspace list has arrived
    await user.type(screen.getByLabelText("Their e-mail address"), "dee@example.com");
    expect(screen.queryByLabelText("Role")).not.toBeInTheDocument(); // own workspace: they own it
    await user.selectOptions(screen.getByLabelText("Workspace"), "Sales");
    await user.selectOptions(screen.getByLabelText("Role"), "owner");
    await user.click(screen.getByLabelText("Also make them an administrator"));
    await user.click(screen.getByRole("button", { name: "Create invitation link" }));
    expect(await screen.findByDisplayValue(`${window.location.origin}/invite#zpi_site`)).toBeInTheDocument();
    expect(api.calls.find((c) => c.method === "POST")).toMatchObject({
      path: "/api/admin/invites",
      body: { email: "dee@example.com", role: "owner", workspace_id: "w1", is_admin: true },
    });
  });
  it("lists every pending invitation with its workspace, and cancels one after a confirmation", async () => {
    const api = adminApi(true);
    vi.stubGlobal("fetch", api.fetchImpl);
    const user = userEvent.setup();
    renderPage(<AdminPage />, "/admin");
    const site = (await screen.findByRole("rowheader", { name: /fay@example\.com/ })).closest("tr")!;
    expect(site).toHaveTextContent("Administrator");
    expect(site).toHaveTextContent("A new one of their own");
    expect(site).toHaveTextContent("owner"); // they own the new workspace
    const sales = screen.getByRole("rowheader", { name: "gus@example.com" }).closest("tr")!;
    expect(sales).toHaveTextContent("Sales");
    expect(sales).toHaveTextContent("editor");
    expect(screen.getByText("2 invitations")).toBeInTheDocument();

    await user.click(within(site).getByRole("button", { name: "Cancel the invitation of fay@example.com" }));
    await user.click(screen.getByRole("button", { name: "Yes, cancel it" }));
    await waitFor(() => expect(screen.queryByRole("rowheader", { name: /fay@example\.com/ })).not.toBeInTheDocument());
    expect(api.calls.find((c) => c.method === "DELETE")).toMatchObject({ path: "/api/admin/invites/i-site" });
    expect(screen.getByText("1 invitation")).toBeInTheDocument();
  });
});

describe("without a workspace chosen", () => {
  it("uses the chosen workspace when there is one", async () => {
    window.localStorage.setItem(WORKSPACE_STORAGE_KEY, "w2");
    const api = fakeApi({
      "GET /api/auth/me": () => meAs("viewer"),
      "GET /api/workspaces": () => ({
        data: [
          { id: "w1", name: "Sales", role: "viewer" },
          { id: "w2", name: "Support", role: "owner" },
        ],
        count: 2,
      }),
      "GET /api/workspaces/w2/members": () => ({ data: [], count: 0 }),
    });
    vi.stubGlobal("fetch", api.fetchImpl);
    renderPage(<MembersPage />, "/workspace/members");
    expect(await screen.findByRole("heading", { name: "Members of Support" })).toBeInTheDocument();
    expect(await screen.findByRole("heading", { name: "Invite a person" })).toBeInTheDocument();
  });
});
