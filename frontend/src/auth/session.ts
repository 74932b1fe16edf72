import { queryOptions, type QueryClient } from "@tanstack/react-query";
import { ApiError, answer, api } from "../api/client";
import { queryKeys } from "../api/keys";
import type { Me } from "../api/types";
import { forgetAllLinks } from "../compare/shareLinks";

// "Who am I" and the roles come from the API's schema (GET /api/auth/me).
export type { Me, Role, WorkspaceRole } from "../api/types";

/**
 * Who is signed in. `null` means the server has no accounts (an install from before them, or one that
 * runs open): everything is allowed and no sign-in is shown. A 401 stays an error: "please sign in".
 */
export const meQuery = () =>
  queryOptions({
    queryKey: queryKeys.me(),
    queryFn: async ({ signal }): Promise<Me | null> => {
      try {
        return await answer(api.GET("/api/auth/me", { signal }));
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

const isMe = (key: readonly unknown[]) => key.length === 2 && key[0] === "auth" && key[1] === "me";

/**
 * Forget everything fetched for whoever was signed in before (or for nobody), except "who am I" itself.
 * That query is kept and changed in place, never removed: the header stays mounted across pages, and an
 * observer of a removed query would keep showing the old answer until a reload.
 */
function forgetAllButMe(queryClient: QueryClient) {
  queryClient.removeQueries({ predicate: (query) => !isMe(query.queryKey) });
  // Finished changes may hold one-time secrets (a new token, an invitation link): gone as well.
  const mutations = queryClient.getMutationCache();
  for (const mutation of mutations.getAll()) if (mutation.state.status !== "pending") mutations.remove(mutation);
  // So are the share links this browser remembers for the person who created them.
  forgetAllLinks();
}

/** After signing in: nothing from before may show, and everyone reading "who am I" sees the new user. */
export async function signedIn(queryClient: QueryClient, me: Me) {
  forgetAllButMe(queryClient);
  // An older "who am I" still on its way (a 401 from before signing in) must not land after this one.
  await queryClient.cancelQueries({ queryKey: queryKeys.me() });
  queryClient.setQueryData(queryKeys.me(), me);
}

/** After signing out: nothing of the user stays, and "who am I" is asked again (it answers 401). */
export async function signedOut(queryClient: QueryClient) {
  forgetAllButMe(queryClient);
  await queryClient.resetQueries({ queryKey: queryKeys.me() });
}
