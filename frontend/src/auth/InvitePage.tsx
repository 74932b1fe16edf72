import { useMutation } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { useLocation, useNavigate } from "react-router-dom";
import { answer, api, ApiError } from "../api/client";
import type { InviteProblemCode } from "../api/types";
import { en } from "../i18n/en";

export const MIN_PASSWORD_LENGTH = 10; // the server's rule (backend.auth.secrets)

// A sentence for every reason the server can give (type-checked against its OpenAPI `code` enum).
const REFUSALS: Record<InviteProblemCode, string> = en.invite.refused;

function isRefusal(code: string | null): code is InviteProblemCode {
  return code !== null && Object.hasOwn(REFUSALS, code);
}

type Translate = ReturnType<typeof useTranslation>["t"];

/** Why the server refused, wholly in the reader's language; an unknown reason falls back to its text. */
export function refusalText(t: Translate, error: Error): string {
  if (error instanceof ApiError) {
    if (isRefusal(error.code)) return t(`invite.refused.${error.code}`);
    if (error.status === 0) return t("errors.network");
  }
  return t("invite.failed", { message: error.message });
}

/** Accepting an invitation from a link /invite#<token>: choose a name and password, then sign in. */
export function InvitePage() {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const token = useLocation().hash.replace(/^#/, "");
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  const [repeat, setRepeat] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const accept = useMutation({
    mutationFn: () => answer(api.POST("/api/auth/invites/accept", { body: { token, password, name: name.trim() } })),
    onSuccess: (me) => navigate(`/login?welcome=1&email=${encodeURIComponent(me.email)}`, { replace: true }),
  });

  if (!token) {
    return (
      <div className="page narrow">
        <h1>{t("invite.title")}</h1>
        <p role="alert" className="notice notice-error">
          {t("invite.noToken")}
        </p>
      </div>
    );
  }
  return (
    <form
      className="page narrow"
      aria-labelledby="invite-title"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        if (password.length < MIN_PASSWORD_LENGTH) setProblem(t("invite.tooShort", { min: MIN_PASSWORD_LENGTH }));
        else if (password !== repeat) setProblem(t("invite.mismatch"));
        else {
          setProblem(null);
          accept.mutate();
        }
      }}
    >
      <h1 id="invite-title">{t("invite.title")}</h1>
      <p className="intro">{t("invite.intro")}</p>
      {(problem || accept.error) && (
        <p role="alert" className="notice notice-error">
          {problem ?? (accept.error ? refusalText(t, accept.error) : null)}
        </p>
      )}
      <div className="field">
        <label htmlFor="invite-name">{t("invite.name")}</label>
        <input id="invite-name" autoComplete="name" value={name} onChange={(e) => setName(e.target.value)} />
      </div>
      <div className="field">
        <label htmlFor="invite-password">{t("invite.password")}</label>
        <input
          id="invite-password"
          type="password"
          autoComplete="new-password"
          aria-describedby="invite-password-help"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
        <p id="invite-password-help" className="field-help">
          {t("invite.passwordHelp", { min: MIN_PASSWORD_LENGTH })}
        </p>
      </div>
      <div className="field">
        <label htmlFor="invite-repeat">{t("invite.repeat")}</label>
        <input
          id="invite-repeat"
          type="password"
          autoComplete="new-password"
          value={repeat}
          onChange={(e) => setRepeat(e.target.value)}
        />
      </div>
      <button type="submit" className="primary large" disabled={accept.isPending}>
        {t("invite.submit")}
      </button>
    </form>
  );
}
