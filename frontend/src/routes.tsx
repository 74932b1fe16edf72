import { useTranslation } from "react-i18next";
import { NavLink, Outlet, type RouteObject } from "react-router-dom";
import { AdminPage } from "./accounts/AdminPage";
import { MembersPage } from "./accounts/MembersPage";
import { TokensPage } from "./accounts/TokensPage";
import { InvitePage } from "./auth/InvitePage";
import { LoginPage } from "./auth/LoginPage";
import { usePermissions } from "./auth/permissions";
import { RequireSignIn } from "./auth/RequireSignIn";
import { UserMenu } from "./auth/UserMenu";
import { LanguageSwitch } from "./components/LanguageSwitch";
import { NotFound } from "./components/NotFound";
import { ComparePage } from "./compare/ComparePage";
import { TwoPocsPage } from "./compare/TwoPocsPage";
import { LaunchPage } from "./launch/LaunchPage";
import { PocListPage } from "./pocs/PocListPage";

/** The page frame: skip link, header (navigation, user menu, language) and the routed page. */
export function Layout() {
  const { t } = useTranslation();
  const can = usePermissions();
  return (
    <>
      <a className="skip-link" href="#main">
        {t("app.skipToContent")}
      </a>
      <header className="app-header">
        <div className="brand">
          <span className="brand-name">{t("app.name")}</span>
          <span className="brand-tagline">{t("app.tagline")}</span>
        </div>
        <nav aria-label={t("app.nav.main")} className="main-nav">
          <NavLink to="/" end>
            {t("app.nav.list")}
          </NavLink>
          {can.edit && (
            <NavLink to="/new" className="nav-primary">
              {t("app.nav.launch")}
            </NavLink>
          )}
        </nav>
        <UserMenu />
        <LanguageSwitch />
      </header>
      <main id="main" tabIndex={-1}>
        <Outlet />
      </main>
    </>
  );
}

/** Every page of the app (App.tsx serves them from the browser history; tests from memory). */
export const routes: RouteObject[] = [
  {
    element: <Layout />,
    children: [
      { path: "/login", element: <LoginPage /> },
      { path: "/invite", element: <InvitePage /> },
      {
        path: "/",
        element: (
          <RequireSignIn>
            <PocListPage />
          </RequireSignIn>
        ),
      },
      {
        path: "/new",
        element: (
          <RequireSignIn>
            <LaunchPage />
          </RequireSignIn>
        ),
      },
      {
        path: "/compare",
        element: (
          <RequireSignIn>
            <TwoPocsPage />
          </RequireSignIn>
        ),
      },
      {
        path: "/pocs/:pocId",
        element: (
          <RequireSignIn>
            <ComparePage />
          </RequireSignIn>
        ),
      },
      {
        path: "/account/tokens",
        element: (
          <RequireSignIn>
            <TokensPage />
          </RequireSignIn>
        ),
      },
      {
        path: "/workspace/members",
        element: (
          <RequireSignIn>
            <MembersPage />
          </RequireSignIn>
        ),
      },
      {
        path: "/admin",
        element: (
          <RequireSignIn>
            <AdminPage />
          </RequireSignIn>
        ),
      },
      { path: "*", element: <NotFound /> },
    ],
  },
];
