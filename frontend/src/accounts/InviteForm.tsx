import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";
import { useTranslation } from "react-i18next";
import { postJson } from "../api/client";
import { queryKeys } from "../api/keys";
import type { InviteCreated, WorkspaceSummary } from "../api/types";
import type { Role } from "../auth/session";
import { Field } from "../components/Field";
import { formatDateTime } from "../i18n/format";
import { OneTimeSecret } from "./OneTimeSecret";
import { ProblemNotice } from "./ProblemNotice";

export const ROLES: Role[] = ["viewer", "editor", "owner"];
/** The server's own check (backend.auth.schemas): something@something, no spaces. */
const EMAIL = /^[^@\s]+@[^@\s]+$/;

interface InviteFormProps {
  /** POST /api/workspaces/{id}/invites (owners) or /api/admin/invites (administrators). */
  path: string;
  /** Administrators choose the workspace (or none: a new one of the invited person's own) and admin rights. */
  site?: { workspaces: WorkspaceSummary[] };
}

/** Invites a person by e-mail; the answer's link (origin + /invite#<token>) is shown once, to pass on. */
export function InviteForm({ path, site }: InviteFormProps) {
  const { t, i18n } = useTranslation();
  const id = useId();
  const queryClient = useQueryClient();
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<Role>("viewer");
  const [workspaceId, setWorkspaceId] = useState("");
  const [admin, setAdmin] = useState(false);
  const [emailInvalid, setEmailInvalid] = useState(false);
  const invite = useMutation({
    mutationFn: (address: string) =>
      postJson<InviteCreated>(
        path,
        site ? { email: address, role, workspace_id: workspaceId || null, is_admin: admin } : { email: address, role },
      ),
    onSuccess: () => {
      setEmail("");
      void queryClient.invalidateQueries({ queryKey: queryKeys.adminUsers() });
    },
  });
  const sent = invite.variables ?? "";
  const ownWorkspace = site !== undefined && workspaceId === "";

  return (
    <section className="panel" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>{t("invites.title")}</h2>
      <p className="muted">{t("invites.intro")}</p>
      <form
        noValidate
        className="invite-form"
        onSubmit={(e) => {
          e.preventDefault();
          const address = email.trim();
          if (!EMAIL.test(address)) {
            setEmailInvalid(true);
            document.getElementById(`${id}-email`)?.focus();
            return;
          }
          setEmailInvalid(false);
          invite.mutate(address);
        }}
      >
        <Field
          id={`${id}-email`}
          label={t("invites.email")}
          error={emailInvalid ? { key: "invites.badEmail" } : undefined}
        >
          <input type="email" autoComplete="off" value={email} onChange={(e) => setEmail(e.target.value)} />
        </Field>
        {site && (
          <Field id={`${id}-workspace`} label={t("invites.workspace")}>
            <select value={workspaceId} onChange={(e) => setWorkspaceId(e.target.value)}>
              <option value="">{t("invites.ownWorkspace")}</option>
              {site.workspaces.map((w) => (
                <option key={w.id} value={w.id}>
                  {w.name}
                </option>
              ))}
            </select>
          </Field>
        )}
        {!ownWorkspace && (
          <Field id={`${id}-role`} label={t("invites.role")}>
            <select value={role} onChange={(e) => setRole(e.target.value as Role)}>
              {ROLES.map((r) => (
                <option key={r} value={r}>
                  {t(`auth.roles.${r}`)}
                </option>
              ))}
            </select>
          </Field>
        )}
        {site && (
          <label className="check-line">
            <input type="checkbox" checked={admin} onChange={(e) => setAdmin(e.target.checked)} />
            <span>{t("invites.admin")}</span>
          </label>
        )}
        <div className="form-actions">
          <button type="submit" className="primary" disabled={invite.isPending}>
            {invite.isPending ? t("invites.creating") : t("invites.submit")}
          </button>
        </div>
      </form>
      <ProblemNotice
        error={invite.error}
        conflict={t("invites.hasAccount", { email: sent })}
        failedKey="invites.failed"
      />
      {invite.data && (
        <OneTimeSecret
          testId="invite-link"
          title={t("invites.link", {
            email: invite.data.email,
            date: formatDateTime(i18n.language, invite.data.expires_at),
          })}
          warning={t("invites.once", { email: invite.data.email })}
          label={t("invites.linkLabel")}
          value={new URL(invite.data.url, window.location.origin).toString()}
          onDone={() => invite.reset()}
        />
      )}
    </section>
  );
}
