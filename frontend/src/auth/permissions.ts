import { useQuery } from "@tanstack/react-query";
import { activeWorkspace } from "../api/client";
import { meQuery, type Me, type Role } from "./session";

/** What the signed-in user may do in the active workspace (the server checks the same on every call). */
export interface Permissions {
  role: Role | null;
  /** editor and owner: launch PoCs, cancel and retry runs, upload datasets, share reports */
  edit: boolean;
  /** owner: delete PoCs, manage members */
  own: boolean;
}

const RANK: Record<Role, number> = { viewer: 1, editor: 2, owner: 3 };
const EVERYTHING: Permissions = { role: null, edit: true, own: true };
const NOTHING: Permissions = { role: null, edit: false, own: false };

/**
 * Permissions from "who am I" and the chosen workspace (falls back to the first, as the server does).
 * `me === null`: the server has no accounts, so everything is allowed; `undefined`: not known yet.
 */
export function permissionsFor(me: Me | null | undefined, workspaceId: string | null): Permissions {
  if (me === null) return EVERYTHING;
  if (!me) return NOTHING;
  const workspace = me.workspaces.find((w) => w.id === workspaceId) ?? me.workspaces[0];
  if (!workspace) return NOTHING;
  const rank = RANK[workspace.role];
  return { role: workspace.role, edit: rank >= RANK.editor, own: rank >= RANK.owner };
}

/** The current user's permissions in the active workspace; hide what they may not do. */
export function usePermissions(): Permissions {
  const me = useQuery(meQuery());
  return permissionsFor(me.data, activeWorkspace());
}
