import { useMutation } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { useLocation, useNavigate } from "react-router-dom";
import { postJson } from "../api/client";
import type { Me } from "./session";

export const MIN_PASSWORD_LENGTH = 10; // the server's rule (backend.auth.secrets)

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
    mutationFn: () => postJson<Me>("/api/auth/invites/accept", { token, password, name: name.trim() }),
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
          {problem ?? t("invite.failed", { message: accept.error?.message })}
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
