import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { useNavigate } from "react-router-dom";
import { activeWorkspace, apiFetch, WORKSPACE_STORAGE_KEY } from "../api/client";
import { meQuery } from "./session";

/** The signed-in user, the workspace switch (when there is a choice) and sign out. Hidden without accounts. */
export function UserMenu() {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const me = useQuery(meQuery());
  const logout = useMutation({
    mutationFn: () => apiFetch<void>("/api/auth/logout", { method: "POST" }),
    onSettled: () => {
      queryClient.clear();
      navigate("/login", { replace: true });
    },
  });
  if (!me.data) return null;
  const workspaces = me.data.workspaces;
  const current = activeWorkspace() ?? workspaces[0]?.id ?? "";

  return (
    <div className="user-menu">
      {workspaces.length > 1 && (
        <label className="workspace-switch">
          <span>{t("auth.workspace")}</span>
          <select
            value={current}
            onChange={(e) => {
              window.localStorage.setItem(WORKSPACE_STORAGE_KEY, e.target.value);
              // Everything on screen belongs to the old workspace: fetch it all again.
              void queryClient.invalidateQueries();
              navigate("/");
            }}
          >
            {workspaces.map((w) => (
              <option key={w.id} value={w.id}>
                {w.name} ({t(`auth.roles.${w.role}`)})
              </option>
            ))}
          </select>
        </label>
      )}
      <span className="user-name" title={me.data.email}>
        {me.data.name || me.data.email}
      </span>
      <button type="button" onClick={() => logout.mutate()} disabled={logout.isPending}>
        {t("auth.signOut")}
      </button>
    </div>
  );
}
