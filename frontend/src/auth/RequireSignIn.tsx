import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, type ReactNode } from "react";
import { Navigate, useLocation } from "react-router-dom";
import { UNAUTHORIZED_EVENT } from "../api/client";
import { queryKeys } from "../api/keys";
import { ErrorNotice, Loading } from "../components/QueryState";
import { isUnauthorized, meQuery } from "./session";

/** Shows the page only to a signed-in user (or to everyone when the server has no accounts). */
export function RequireSignIn({ children }: { children: ReactNode }) {
  const location = useLocation();
  const queryClient = useQueryClient();
  const me = useQuery(meQuery());

  // Any API answer 401 (session expired or revoked meanwhile): ask "who am I" again, which leads here.
  useEffect(() => {
    const onUnauthorized = () => void queryClient.invalidateQueries({ queryKey: queryKeys.me() });
    window.addEventListener(UNAUTHORIZED_EVENT, onUnauthorized);
    return () => window.removeEventListener(UNAUTHORIZED_EVENT, onUnauthorized);
  }, [queryClient]);

  if (me.isPending) return <Loading />;
  if (me.isError) {
    if (isUnauthorized(me.error)) {
      const next = `${location.pathname}${location.search}`;
      return <Navigate to={`/login?next=${encodeURIComponent(next)}`} replace />;
    }
    return <ErrorNotice error={me.error} onRetry={() => void me.refetch()} />;
  }
  return <>{children}</>;
}
