import { useMutation, useQuery, useQueryClient, type QueryKey, type UseQueryResult } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { api } from "../api/client";
import { queryKeys } from "../api/keys";
import { adminInvitesQuery, invitesQuery } from "../api/queries";
import type { InvitePublic, InvitesPublic } from "../api/types";
import { QueryView } from "../components/QueryState";
import { formatDateTime } from "../i18n/format";
import { ConfirmButton } from "./ConfirmButton";
import { ListHead } from "./ListHead";
import { ProblemNotice } from "./ProblemNotice";

/** Owners: the pending invitations into this workspace. */
export function WorkspaceInvites({ workspaceId }: { workspaceId: string }) {
  return (
    <PendingInvites
      invites={useQuery(invitesQuery(workspaceId))}
      listKey={queryKeys.invites(workspaceId)}
      cancel={async (id) => {
        await api.DELETE("/api/workspaces/{workspace_id}/invites/{invite_id}", {
          params: { path: { workspace_id: workspaceId, invite_id: id } },
        });
      }}
    />
  );
}

/** Administrators: every pending invitation, with the workspace each one leads into. */
export function AllInvites() {
  return (
    <PendingInvites
      site
      invites={useQuery(adminInvitesQuery())}
      listKey={queryKeys.adminInvites()}
      cancel={async (id) => {
        await api.DELETE("/api/admin/invites/{invite_id}", { params: { path: { invite_id: id } } });
      }}
    />
  );
}

interface PendingInvitesProps {
  invites: UseQueryResult<InvitesPublic>;
  listKey: QueryKey;
  /** Cancels the invitation (DELETE; a failure arrives as ApiError). */
  cancel: (inviteId: string) => Promise<void>;
  /** Show the workspace column (administrators see invitations into every workspace). */
  site?: boolean;
}

/**
 * Invitations not used yet (never their links: the server keeps only a fingerprint), each with a cancel
 * button that asks first. A cancelled link is refused by the server from then on.
 */
function PendingInvites({ invites, listKey, cancel: cancelInvite, site = false }: PendingInvitesProps) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const queryClient = useQueryClient();
  const cancel = useMutation({
    mutationFn: (invite: InvitePublic) => cancelInvite(invite.id),
    onSuccess: (_answer, invite) =>
      queryClient.setQueryData<InvitesPublic>(listKey, (old) =>
        old ? { data: old.data.filter((i) => i.id !== invite.id), count: old.count - 1 } : old,
      ),
    onSettled: () => {
      // The same invitation may be listed for its workspace's owners and for administrators.
      void queryClient.invalidateQueries({ queryKey: queryKeys.allInvites() });
      void queryClient.invalidateQueries({ queryKey: queryKeys.adminInvites() });
    },
  });

  return (
    <section className="panel" aria-labelledby="pending-title">
      <ListHead id="pending-title" title={t("pending.title")} countKey="pending.count" count={invites.data?.count} />
      <p className="muted">{t("pending.intro")}</p>
      <ProblemNotice error={cancel.error} conflict={t("pending.accepted")} failedKey="pending.cancelFailed" />
      <QueryView query={invites} empty={{ when: (data) => data.data.length === 0, text: t("pending.empty") }}>
        {(data) => (
          <div className="table-scroll">
            <table className="account-table">
              <thead>
                <tr>
                  <th scope="col">{t("pending.email")}</th>
                  {site && <th scope="col">{t("pending.workspace")}</th>}
                  <th scope="col">{t("pending.role")}</th>
                  <th scope="col">{t("pending.expires")}</th>
                  <th scope="col">{t("pending.actions")}</th>
                </tr>
              </thead>
              <tbody>
                {data.data.map((invite) => (
                  <tr key={invite.id} data-invite-email={invite.email}>
                    <th scope="row">
                      {invite.email}
                      {invite.is_admin && (
                        <>
                          {" "}
                          <span className="badge status-admin">{t("admin.administrator")}</span>
                        </>
                      )}
                    </th>
                    {site && <td>{invite.workspace_name ?? t("pending.ownWorkspace")}</td>}
                    {/* Without a workspace the person owns the new one of their own, whatever the role says. */}
                    <td>{t(`auth.roles.${invite.workspace_id === null ? "owner" : invite.role}`)}</td>
                    <td>{formatDateTime(lang, invite.expires_at)}</td>
                    <td>
                      <ConfirmButton
                        label={t("pending.cancel")}
                        accessibleLabel={t("pending.cancelLabel", { email: invite.email })}
                        question={t("pending.cancelConfirm", { email: invite.email })}
                        confirmLabel={t("pending.cancelYes")}
                        cancelLabel={t("pending.keep")}
                        disabled={cancel.isPending}
                        onConfirm={() => cancel.mutate(invite)}
                      />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </QueryView>
    </section>
  );
}
