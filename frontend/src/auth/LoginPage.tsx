import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { useNavigate, useSearchParams } from "react-router-dom";
import { answer, api, ApiError } from "../api/client";
import { signedIn } from "./session";

/** Where to go after signing in: only paths of this app, never another site. */
export function safeNext(next: string | null): string {
  return next && next.startsWith("/") && !next.startsWith("//") ? next : "/";
}

export function LoginPage() {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const queryClient = useQueryClient();
  const [email, setEmail] = useState(params.get("email") ?? "");
  const [password, setPassword] = useState("");
  const login = useMutation({
    mutationFn: () => answer(api.POST("/api/auth/login", { body: { email: email.trim(), password } })),
    onSuccess: async (me) => {
      await signedIn(queryClient, me); // nothing fetched while signed out (or as someone else) stays
      void navigate(safeNext(params.get("next")), { replace: true });
    },
  });
  const error = login.error;
  const message =
    error instanceof ApiError && error.status === 401
      ? t("auth.wrong")
      : error instanceof ApiError && error.status === 429
        ? t("auth.tooMany")
        : error
          ? t("errors.unknown", { message: error.message })
          : null;

  return (
    <form
      className="page narrow"
      aria-labelledby="login-title"
      onSubmit={(e) => {
        e.preventDefault();
        login.mutate();
      }}
    >
      <h1 id="login-title">{t("auth.title")}</h1>
      <p className="intro">{t("auth.intro")}</p>
      {params.get("welcome") && !message && (
        <p role="status" className="notice notice-ok">
          {t("auth.welcome")}
        </p>
      )}
      {message && (
        <p role="alert" className="notice notice-error">
          {message}
        </p>
      )}
      <div className="field">
        <label htmlFor="login-email">{t("auth.email")}</label>
        <input
          id="login-email"
          type="email"
          autoComplete="username"
          required
          value={email}
          onChange={(e) => setEmail(e.target.value)}
        />
      </div>
      <div className="field">
        <label htmlFor="login-password">{t("auth.password")}</label>
        <input
          id="login-password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
      </div>
      <button type="submit" className="primary large" disabled={login.isPending}>
        {login.isPending ? t("auth.signingIn") : t("auth.signIn")}
      </button>
    </form>
  );
}
