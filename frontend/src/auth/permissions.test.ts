import { describe, expect, it } from "vitest";
import { permissionsFor, permissionsIn, pickWorkspace } from "./permissions";
import type { Me } from "./session";

const me: Me = {
  id: "u1",
  email: "a@b.c",
  name: "A",
  is_admin: false,
  workspaces: [
    { id: "w1", name: "Sales", role: "viewer" },
    { id: "w2", name: "Support", role: "editor" },
    { id: "w3", name: "Mine", role: "owner" },
  ],
  csrf_token: null,
};

describe("permissions by role", () => {
  it("viewer reads only, editor launches and shares, owner also deletes", () => {
    expect(permissionsFor(me, "w1")).toEqual({ role: "viewer", edit: false, own: false, admin: false });
    expect(permissionsFor(me, "w2")).toEqual({ role: "editor", edit: true, own: false, admin: false });
    expect(permissionsFor(me, "w3")).toEqual({ role: "owner", edit: true, own: true, admin: false });
  });

  it("falls back to the first workspace as the server does", () => {
    expect(permissionsFor(me, null).role).toBe("viewer");
    expect(permissionsFor(me, "gone").role).toBe("viewer");
  });

  it("allows everything without accounts and nothing while unknown or without a workspace", () => {
    expect(permissionsFor(null, null)).toEqual({ role: null, edit: true, own: true, admin: false });
    expect(permissionsFor(undefined, null).edit).toBe(false);
    expect(permissionsFor({ ...me, workspaces: [] }, null).edit).toBe(false);
  });

  it("administration follows is_admin, not the workspace role", () => {
    expect(permissionsFor({ ...me, is_admin: true }, "w1")).toEqual({
      role: "viewer",
      edit: false,
      own: false,
      admin: true,
    });
    expect(permissionsFor({ ...me, is_admin: true, workspaces: [] }, null).admin).toBe(true);
    expect(permissionsFor(undefined, null).admin).toBe(false);
  });

  it("works from the workspaces answer as well as from who-am-I", () => {
    expect(permissionsIn(me.workspaces, "w3", false).own).toBe(true);
    expect(permissionsIn(me.workspaces, "w2", false).own).toBe(false);
    expect(pickWorkspace(me.workspaces, "gone")?.id).toBe("w1");
    expect(pickWorkspace([], "w1")).toBeUndefined();
  });
});
