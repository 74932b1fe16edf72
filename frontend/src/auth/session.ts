import { queryOptions } from "@tanstack/react-query";
import { ApiError, apiFetch } from "../api/client";
import { queryKeys } from "../api/keys";

export type Role = "viewer" | "editor" | "owner";

export interface WorkspaceRole {
  id: string;
  name: string;
  role: Role;
}

/** GET /api/auth/me (accounts, issue 6). */
export interface Me {
  id: string;
  email: string;
  name: string;
  is_admin: boolean;
  workspaces: WorkspaceRole[];
  csrf_token: string | null;
}

/**
 * Who is signed in. `null` means the server has no accounts (an install from before them, or one that
 * runs open): everything is allowed and no sign-in is shown. A 401 stays an error: "please sign in".
 */
export const meQuery = () =>
  queryOptions({
    queryKey: queryKeys.me(),
    queryFn: async (): Promise<Me | null> => {
      try {
        return await apiFetch<Me>("/api/auth/me");
      } catch (error) {
        if (error instanceof ApiError && error.status === 404) return null;
        throw error;
      }
    },
    staleTime: 5 * 60_000,
  });

export function isUnauthorized(error: unknown): boolean {
  return error instanceof ApiError && error.status === 401;
}
