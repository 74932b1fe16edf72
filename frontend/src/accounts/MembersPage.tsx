import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { activeWorkspace, answer, api } from "../api/client";
import { queryKeys } from "../api/keys";
import { membersQuery, workspacesQuery } from "../api/queries";
import type { Member, MembersPublic } from "../api/types";
import { permissionsIn, pickWorkspace } from "../auth/permissions";
import type { Me, Role, WorkspaceRole } from "../auth/session";
import { ErrorNotice, Loading, QueryView } from "../components/QueryState";
import { AccountsOnly } from "./AccountsOnly";
import { ConfirmButton } from "./ConfirmButton";
import { InviteForm, roleOf, ROLES } from "./InviteForm";
import { WorkspaceInvites } from "./PendingInvites";
import { ListHead } from "./ListHead";
import { ProblemNotice } from "./ProblemNotice";

/**
 * /workspace/members: the active workspace's members (viewer+); owners change roles, remove, see and cancel
 * pending invitations, invite, and add people who already have an account.
 */
export function MembersPage() {
  const { t } = useTranslation();
  return <AccountsOnly title={t("account.members")}>{(me) => <ActiveWorkspace me={me} />}</AccountsOnly>;
}

function ActiveWorkspace({ me }: { me: Me }) {
  const { t } = useTranslation();
  // My workspaces with my role, fresh from the server: a role changed meanwhile shows here at once.
  const workspaces = useQuery(workspacesQuery());
  if (workspaces.isPending) return <Loading />;
  if (workspaces.isError) return <ErrorNotice error={workspaces.error} onRetry={() => void workspaces.refetch()} />;
  const workspace = pickWorkspace(workspaces.data.data, activeWorkspace());
  if (!workspace) {
    return (
      <div className="page">
        <h1>{t("account.members")}</h1>
        <p className="empty">{t("members.noWorkspace")}</p>
      </div>
    );
  }
  const can = permissionsIn(workspaces.data.data, workspace.id, me.is_admin);
  return <Members workspace={workspace} manage={can.own} myId={me.id} />;
}

type Change = { userId: string; role: Role } | { userId: string; remove: true };

function Members({ workspace, manage, myId }: { workspace: WorkspaceRole; manage: boolean; myId: string }) {
  const { t } = useTranslation();
  const queryClient = useQueryClient();
  const members = useQuery(membersQuery(workspace.id));
  const change = useMutation({
    // PUT answers the new member list; DELETE answers nothing (204).
    mutationFn: async (c: Change): Promise<MembersPublic | undefined> => {
      const path = { workspace_id: workspace.id, user_id: c.userId };
      if ("remove" in c) {
        await api.DELETE("/api/workspaces/{workspace_id}/members/{user_id}", { params: { path } });
        return undefined;
      }
      return answer(
        api.PUT("/api/workspaces/{workspace_id}/members/{user_id}", { params: { path }, body: { role: c.role } }),
      );
    },
    onSuccess: (answer) => {
      if (answer) queryClient.setQueryData(queryKeys.members(workspace.id), answer);
    },
    onSettled: (_answer, _error, c) => {
      void queryClient.invalidateQueries({ queryKey: queryKeys.members(workspace.id) });
      void queryClient.invalidateQueries({ queryKey: queryKeys.adminWorkspaces() });
      if (c.userId === myId) {
        // My own role changed: every permission on screen follows it.
        void queryClient.invalidateQueries({ queryKey: queryKeys.workspaces() });
        void queryClient.invalidateQueries({ queryKey: queryKeys.me() });
      }
    },
  });
  const nameOf = (m: Member) => m.name || m.email;

  return (
    <div className="page account-page">
      <div className="page-head">
        <h1>{t("members.title", { workspace: workspace.name })}</h1>
      </div>
      <p className="intro">{t("members.intro")}</p>
      {!manage && <p className="muted">{t("members.readOnly")}</p>}

      <section className="panel" aria-labelledby="members-title">
        <ListHead
          id="members-title"
          title={t("members.listTitle")}
          countKey="members.count"
          count={members.data?.count}
        />
        <ProblemNotice error={change.error} conflict={t("members.lastOwner")} failedKey="members.changeFailed" />
        <QueryView query={members}>
          {(data) => (
            <div className="table-scroll">
              <table className="account-table">
                <thead>
                  <tr>
                    <th scope="col">{t("members.name")}</th>
                    <th scope="col">{t("members.email")}</th>
                    <th scope="col">{t("members.role")}</th>
                    {manage && <th scope="col">{t("members.actions")}</th>}
                  </tr>
                </thead>
                <tbody>
                  {data.data.map((member) => {
                    const me = member.user_id === myId;
                    return (
                      <tr key={member.user_id} data-user-id={member.user_id}>
                        <th scope="row">
                          {nameOf(member)}
                          {me && <span className="muted"> ({t("members.you")})</span>}
                        </th>
                        <td>{member.email}</td>
                        <td>
                          {manage ? (
                            <select
                              aria-label={t("members.roleOf", { name: nameOf(member) })}
                              value={member.role}
                              disabled={change.isPending}
                              onChange={(e) => change.mutate({ userId: member.user_id, role: roleOf(e.target.value) })}
                            >
                              {ROLES.map((r) => (
                                <option key={r} value={r}>
                                  {t(`auth.roles.${r}`)}
                                </option>
                              ))}
                            </select>
                          ) : (
                            t(`auth.roles.${member.role}`)
                          )}
                        </td>
                        {manage && (
                          <td>
                            {/* Removing myself would cut this page off from its own workspace: not offered. */}
                            {!me && (
                              <ConfirmButton
                                label={t("members.remove")}
                                accessibleLabel={t("members.removeLabel", { name: nameOf(member) })}
                                question={t("members.removeConfirm", {
                                  name: nameOf(member),
                                  workspace: workspace.name,
                                })}
                                confirmLabel={t("members.removeYes")}
                                cancelLabel={t("members.cancel")}
                                disabled={change.isPending}
                                onConfirm={() => change.mutate({ userId: member.user_id, remove: true })}
                              />
                            )}
                          </td>
                        )}
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          )}
        </QueryView>
        {change.isPending && (
          <p role="status" className="muted">
            {t("members.saving")}
          </p>
        )}
      </section>

      {manage && <WorkspaceInvites workspaceId={workspace.id} />}
      {manage && <InviteForm addTo={workspace.id} />}
    </div>
  );
}
