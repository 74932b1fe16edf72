import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";
import { useTranslation } from "react-i18next";
import { answer, api, ApiError } from "../api/client";
import { queryKeys } from "../api/keys";
import type { MemberAdd, WorkspaceSummary } from "../api/types";
import type { Role } from "../auth/session";
import { Field } from "../components/Field";
import { formatDateTime } from "../i18n/format";
import { OneTimeSecret } from "./OneTimeSecret";
import { ProblemNotice } from "./ProblemNotice";

export const ROLES: Role[] = ["viewer", "editor", "owner"];
/** The role an option's value names (the options are ROLES). */
export const roleOf = (value: string): Role => ROLES.find((r) => r === value) ?? "viewer";
/** The server's own check (backend.auth.schemas): something@something, no spaces. */
const EMAIL = /^[^@\s]+@[^@\s]+$/;

type InviteFormProps =
  | {
      /** Administrators (POST /api/admin/invites) choose the workspace (or none: a new one of the invited
       * person's own) and admin rights. */
      site: { workspaces: WorkspaceSummary[] };
      addTo?: undefined;
    }
  | {
      /** Owners (POST /api/workspaces/{id}/invites): the workspace invited into, to which a person who
       * already has an account can be added instead. */
      addTo: string;
      site?: undefined;
    };

/** Invites a person by e-mail; the answer's link (origin + /invite#<token>) is shown once, to pass on. */
export function InviteForm({ site, addTo }: InviteFormProps) {
  const { t, i18n } = useTranslation();
  const id = useId();
  const queryClient = useQueryClient();
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<Role>("viewer");
  const [workspaceId, setWorkspaceId] = useState("");
  const [admin, setAdmin] = useState(false);
  const [emailInvalid, setEmailInvalid] = useState(false);
  const invite = useMutation({
    // The role goes with the e-mail address: "add them instead" offers exactly what was asked for.
    mutationFn: (sent: MemberAdd) =>
      answer(
        site
          ? api.POST("/api/admin/invites", { body: { ...sent, workspace_id: workspaceId || null, is_admin: admin } })
          : api.POST("/api/workspaces/{workspace_id}/invites", {
              params: { path: { workspace_id: addTo } },
              body: { email: sent.email, role: sent.role },
            }),
      ),
    onSuccess: () => {
      setEmail("");
      void queryClient.invalidateQueries({ queryKey: queryKeys.adminUsers() });
      void queryClient.invalidateQueries({ queryKey: queryKeys.allInvites() });
      void queryClient.invalidateQueries({ queryKey: queryKeys.adminInvites() });
    },
  });
  // Owners: a person who already has an account is added instead (the members list answers).
  const add = useMutation({
    mutationFn: (person: MemberAdd) =>
      answer(
        api.POST("/api/workspaces/{workspace_id}/members", {
          params: { path: { workspace_id: addTo ?? "" } },
          body: person,
        }),
      ),
    onSuccess: (members) => {
      if (addTo) queryClient.setQueryData(queryKeys.members(addTo), members);
      void queryClient.invalidateQueries({ queryKey: queryKeys.allMembers() });
      void queryClient.invalidateQueries({ queryKey: queryKeys.adminWorkspaces() });
      invite.reset(); // the refused invitation is settled: only the notice of the addition stays
    },
  });
  const sent = invite.variables?.email ?? "";
  const ownWorkspace = site !== undefined && workspaceId === "";
  const offerAdd = addTo !== undefined && invite.error instanceof ApiError && invite.error.status === 409;

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
          add.reset();
          invite.mutate({ email: address, role });
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
            <select value={role} onChange={(e) => setRole(roleOf(e.target.value))}>
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
      {offerAdd && invite.variables ? (
        <AddInstead
          person={invite.variables}
          error={add.error}
          pending={add.isPending}
          onAdd={(person) => add.mutate(person)}
        />
      ) : (
        <ProblemNotice
          error={invite.error}
          conflict={t("invites.hasAccount", { email: sent })}
          failedKey="invites.failed"
        />
      )}
      {add.isSuccess && (
        <p role="status" className="notice notice-ok">
          {t("invites.added", { email: add.variables.email, role: t(`auth.roles.${add.variables.role}`) })}
        </p>
      )}
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

interface AddInsteadProps {
  /** The address and role of the refused invitation. */
  person: MemberAdd;
  error: Error | null;
  pending: boolean;
  onAdd: (person: MemberAdd) => void;
}

/** The invitation was refused because the address already has an account: offer to add that account. */
function AddInstead({ person, error, pending, onAdd }: AddInsteadProps) {
  const { t } = useTranslation();
  const role = t(`auth.roles.${person.role}`);
  const status = error instanceof ApiError ? error.status : null;
  const problem = !error
    ? null
    : status === 409
      ? t("invites.alreadyMember", { email: person.email })
      : status === 404
        ? t("invites.noAccount", { email: person.email })
        : status === 0
          ? t("errors.network")
          : t("invites.addFailed", { email: person.email, message: error.message });
  return (
    <div role="alert" className="notice notice-error">
      <p>{t("invites.hasAccountAdd", { email: person.email, role })}</p>
      {problem && <p>{problem}</p>}
      {/* Refused for good (already a member, or no such account): nothing left to try here. */}
      {status !== 409 && status !== 404 && (
        <button type="button" className="primary" disabled={pending} onClick={() => onAdd(person)}>
          {pending ? t("invites.adding") : t("invites.addExisting")}
        </button>
      )}
    </div>
  );
}
