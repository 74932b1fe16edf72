import { useQuery } from "@tanstack/react-query";
import { activeWorkspace } from "../api/client";
import { meQuery, type Me, type Role, type WorkspaceRole } from "./session";

/** What the signed-in user may do in the active workspace (the server checks the same on every call). */
export interface Permissions {
  role: Role | null;
  /** editor and owner: launch PoCs, cancel and retry runs, upload datasets, share reports */
  edit: boolean;
  /** owner: delete PoCs, manage members (change roles, remove, invite into the workspace) */
  own: boolean;
  /** site administrator (any workspace role): all users and workspaces, invite people to zopoc */
  admin: boolean;
}

const RANK: Record<Role, number> = { viewer: 1, editor: 2, owner: 3 };
const EVERYTHING: Permissions = { role: null, edit: true, own: true, admin: false };
const NOTHING: Permissions = { role: null, edit: false, own: false, admin: false };

/** The chosen workspace among the user's, or their first one as the server falls back to. */
export function pickWorkspace(workspaces: WorkspaceRole[], workspaceId: string | null): WorkspaceRole | undefined {
  return workspaces.find((w) => w.id === workspaceId) ?? workspaces[0];
}

/** Permissions from a list of the user's workspaces with roles (from "who am I" or GET /api/workspaces). */
export function permissionsIn(workspaces: WorkspaceRole[], workspaceId: string | null, admin: boolean): Permissions {
  const workspace = pickWorkspace(workspaces, workspaceId);
  if (!workspace) return { ...NOTHING, admin };
  const rank = RANK[workspace.role];
  return { role: workspace.role, edit: rank >= RANK.editor, own: rank >= RANK.owner, admin };
}

/**
 * Permissions from "who am I" and the chosen workspace (falls back to the first, as the server does).
 * `me === null`: the server has no accounts, so everything is allowed (there is nothing to administer);
 * `undefined`: not known yet.
 */
export function permissionsFor(me: Me | null | undefined, workspaceId: string | null): Permissions {
  if (me === null) return EVERYTHING;
  if (!me) return NOTHING;
  return permissionsIn(me.workspaces, workspaceId, me.is_admin);
}

/** The current user's permissions in the active workspace; hide what they may not do. */
export function usePermissions(): Permissions {
  const me = useQuery(meQuery());
  return permissionsFor(me.data, activeWorkspace());
}
