import { describe, expect, it } from "vitest";
import { permissionsFor } from "./permissions";
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
    expect(permissionsFor(me, "w1")).toEqual({ role: "viewer", edit: false, own: false });
    expect(permissionsFor(me, "w2")).toEqual({ role: "editor", edit: true, own: false });
    expect(permissionsFor(me, "w3")).toEqual({ role: "owner", edit: true, own: true });
  });

  it("falls back to the first workspace as the server does", () => {
    expect(permissionsFor(me, null).role).toBe("viewer");
    expect(permissionsFor(me, "gone").role).toBe("viewer");
  });

  it("allows everything without accounts and nothing while unknown or without a workspace", () => {
    expect(permissionsFor(null, null)).toEqual({ role: null, edit: true, own: true });
    expect(permissionsFor(undefined, null).edit).toBe(false);
    expect(permissionsFor({ ...me, workspaces: [] }, null).edit).toBe(false);
  });
});
