import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { NavLink, useNavigate } from "react-router-dom";
import { activeWorkspace, api, WORKSPACE_STORAGE_KEY } from "../api/client";
import { permissionsFor } from "./permissions";
import { meQuery, signedOut } from "./session";

/**
 * The signed-in user, the workspace switch (when there is a choice) and the account menu: my API tokens,
 * the workspace's members, administration (administrators only), sign out. Hidden without accounts.
 */
export function UserMenu() {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const me = useQuery(meQuery());
  const [open, setOpen] = useState(false);
  const menu = useRef<HTMLDivElement>(null);
  const button = useRef<HTMLButtonElement>(null);
  const logout = useMutation({
    mutationFn: async () => {
      await api.POST("/api/auth/logout");
    },
    onSettled: async () => {
      // Leave the page first, so its queries are not fetched again (as nobody) once they are forgotten.
      void navigate("/login", { replace: true });
      await signedOut(queryClient);
    },
  });

  // An open menu closes on Escape (focus back on its button) and on a click anywhere else.
  useEffect(() => {
    if (!open) return;
    const onPointer = (e: PointerEvent) => {
      if (!menu.current?.contains(e.target as Node)) setOpen(false);
    };
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape") {
        setOpen(false);
        button.current?.focus();
      }
    };
    document.addEventListener("pointerdown", onPointer);
    document.addEventListener("keydown", onKey);
    return () => {
      document.removeEventListener("pointerdown", onPointer);
      document.removeEventListener("keydown", onKey);
    };
  }, [open]);

  if (!me.data) return null;
  const workspaces = me.data.workspaces;
  const current = activeWorkspace() ?? workspaces[0]?.id ?? "";
  const can = permissionsFor(me.data, current);
  const name = me.data.name || me.data.email;
  const close = () => setOpen(false);

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
              void navigate("/");
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
      <div className="account-menu" ref={menu}>
        <button
          ref={button}
          type="button"
          className="account-button"
          aria-label={t("account.menu", { name })}
          aria-expanded={open}
          aria-controls="account-menu"
          title={me.data.email}
          onClick={() => setOpen((o) => !o)}
        >
          <span className="user-name">{name}</span>
          <span aria-hidden="true" className="menu-arrow">
            ▾
          </span>
        </button>
        {open && (
          <nav id="account-menu" className="account-panel" aria-label={t("account.nav")}>
            <ul>
              <li>
                <NavLink to="/account/tokens" onClick={close}>
                  {t("account.tokens")}
                </NavLink>
              </li>
              <li>
                <NavLink to="/workspace/members" onClick={close}>
                  {t("account.members")}
                </NavLink>
              </li>
              {can.admin && (
                <li>
                  <NavLink to="/admin" onClick={close}>
                    {t("account.admin")}
                  </NavLink>
                </li>
              )}
            </ul>
            <button type="button" onClick={() => logout.mutate()} disabled={logout.isPending}>
              {t("auth.signOut")}
            </button>
          </nav>
        )}
      </div>
    </div>
  );
}
