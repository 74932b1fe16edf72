import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { answer, api } from "../api/client";
import { queryKeys } from "../api/keys";
import { adminUsersQuery, adminWorkspacesQuery } from "../api/queries";
import type { UserChange, UserPublic, UsersPublic } from "../api/types";
import { permissionsFor } from "../auth/permissions";
import type { Me } from "../auth/session";
import { QueryView } from "../components/QueryState";
import { formatDateTime, formatNumber } from "../i18n/format";
import { AccountsOnly } from "./AccountsOnly";
import { ConfirmButton } from "./ConfirmButton";
import { GpuPrices } from "./GpuPrices";
import { InviteForm } from "./InviteForm";
import { AllInvites } from "./PendingInvites";
import { ListHead } from "./ListHead";
import { ProblemNotice } from "./ProblemNotice";

/** /admin: every user (disable / enable, make or remove administrator), every workspace, invitations to zopoc (and cancelling pending ones).
 * Administrators only. */
export function AdminPage() {
  const { t } = useTranslation();
  return (
    <AccountsOnly title={t("admin.title")}>
      {(me) =>
        permissionsFor(me, null).admin ? (
          <Administration me={me} />
        ) : (
          <div className="page">
            <h1>{t("admin.title")}</h1>
            <p role="alert" className="notice notice-error">
              {t("admin.notAdmin")}
            </p>
          </div>
        )
      }
    </AccountsOnly>
  );
}

function Administration({ me }: { me: Me }) {
  const { t } = useTranslation();
  const workspaces = useQuery(adminWorkspacesQuery());
  return (
    <div className="page account-page">
      <div className="page-head">
        <h1>{t("admin.title")}</h1>
      </div>
      <p className="intro">{t("admin.intro")}</p>
      <InviteForm site={{ workspaces: workspaces.data?.data ?? [] }} />
      <AllInvites />
      <Users myId={me.id} />
      <Workspaces />
      <GpuPrices />
    </div>
  );
}

function Users({ myId }: { myId: string }) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const queryClient = useQueryClient();
  const users = useQuery(adminUsersQuery());
  const change = ({ id, ...body }: UserChange & { id: string }) =>
    answer(api.PATCH("/api/admin/users/{user_id}", { params: { path: { user_id: id } }, body }));
  const onSuccess = (user: UserPublic) =>
    queryClient.setQueryData<UsersPublic>(queryKeys.adminUsers(), (old) =>
      old ? { ...old, data: old.data.map((u) => (u.id === user.id ? user : u)) } : old,
    );
  const onSettled = () => void queryClient.invalidateQueries({ queryKey: queryKeys.adminUsers() });
  const setDisabled = useMutation({ mutationFn: change, onSuccess, onSettled });
  // Separate from disabling: each shows its own refusal (a 409 here: no enabled administrator would be left).
  const setAdmin = useMutation({ mutationFn: change, onSuccess, onSettled });
  const busy = setDisabled.isPending || setAdmin.isPending;

  return (
    <section className="panel" aria-labelledby="users-title">
      <ListHead id="users-title" title={t("admin.usersTitle")} countKey="admin.usersCount" count={users.data?.count} />
      <ProblemNotice error={setDisabled.error} conflict={t("admin.notSelf")} failedKey="admin.changeFailed" />
      <ProblemNotice error={setAdmin.error} conflict={t("admin.lastAdmin")} failedKey="admin.changeFailed" />
      <QueryView query={users}>
        {(data) => (
          <div className="table-scroll">
            <table className="account-table">
              <thead>
                <tr>
                  <th scope="col">{t("admin.email")}</th>
                  <th scope="col">{t("admin.name")}</th>
                  <th scope="col">{t("admin.created")}</th>
                  <th scope="col">{t("admin.status")}</th>
                  <th scope="col">{t("admin.actions")}</th>
                </tr>
              </thead>
              <tbody>
                {data.data.map((user) => {
                  const self = user.id === myId;
                  return (
                    <tr
                      key={user.id}
                      data-user-email={user.email}
                      data-disabled={user.disabled_at ? "true" : "false"}
                      data-admin={user.is_admin ? "true" : "false"}
                    >
                      <th scope="row">
                        {user.email}
                        {self && <span className="muted"> ({t("admin.you")})</span>}
                        {user.is_admin && (
                          <>
                            {" "}
                            <span className="badge status-admin">{t("admin.administrator")}</span>
                          </>
                        )}
                      </th>
                      <td>{user.name || t("common.none")}</td>
                      <td>{formatDateTime(lang, user.created_at)}</td>
                      <td>
                        {user.disabled_at ? (
                          <span className="badge status-off">
                            {t("admin.disabledSince", { date: formatDateTime(lang, user.disabled_at) })}
                          </span>
                        ) : (
                          <span className="badge status-on">{t("admin.active")}</span>
                        )}
                      </td>
                      <td>
                        {/* The server refuses to disable yourself or remove your own rights (409): not offered. */}
                        {self ? null : (
                          <div className="button-row">
                            {user.disabled_at ? (
                              <button
                                type="button"
                                aria-label={t("admin.enableLabel", { email: user.email })}
                                disabled={busy}
                                onClick={() => setDisabled.mutate({ id: user.id, disabled: false })}
                              >
                                {t("admin.enable")}
                              </button>
                            ) : (
                              <ConfirmButton
                                label={t("admin.disable")}
                                accessibleLabel={t("admin.disableLabel", { email: user.email })}
                                question={t("admin.disableConfirm", { email: user.email })}
                                confirmLabel={t("admin.disableYes")}
                                cancelLabel={t("admin.cancel")}
                                disabled={busy}
                                onConfirm={() => setDisabled.mutate({ id: user.id, disabled: true })}
                              />
                            )}
                            {user.is_admin ? (
                              <ConfirmButton
                                label={t("admin.removeAdmin")}
                                accessibleLabel={t("admin.removeAdminLabel", { email: user.email })}
                                question={t("admin.removeAdminConfirm", { email: user.email })}
                                confirmLabel={t("admin.removeAdminYes")}
                                cancelLabel={t("admin.cancel")}
                                disabled={busy}
                                onConfirm={() => setAdmin.mutate({ id: user.id, is_admin: false })}
                              />
                            ) : (
                              <ConfirmButton
                                label={t("admin.makeAdmin")}
                                accessibleLabel={t("admin.makeAdminLabel", { email: user.email })}
                                question={t("admin.makeAdminConfirm", { email: user.email })}
                                confirmLabel={t("admin.makeAdminYes")}
                                cancelLabel={t("admin.cancel")}
                                disabled={busy}
                                onConfirm={() => setAdmin.mutate({ id: user.id, is_admin: true })}
                              />
                            )}
                          </div>
                        )}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
      </QueryView>
    </section>
  );
}

function Workspaces() {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const workspaces = useQuery(adminWorkspacesQuery());
  return (
    <section className="panel" aria-labelledby="workspaces-title">
      <ListHead
        id="workspaces-title"
        title={t("admin.workspacesTitle")}
        countKey="admin.workspacesCount"
        count={workspaces.data?.count}
      />
      <QueryView
        query={workspaces}
        empty={{ when: (data) => data.data.length === 0, text: t("admin.workspacesEmpty") }}
      >
        {(data) => (
          <div className="table-scroll">
            <table className="account-table">
              <thead>
                <tr>
                  <th scope="col">{t("admin.workspace")}</th>
                  <th scope="col">{t("admin.created")}</th>
                  <th scope="col" className="num">
                    {t("admin.members")}
                  </th>
                  <th scope="col">{t("admin.owners")}</th>
                  <th scope="col" className="num">
                    {t("admin.pocs")}
                  </th>
                </tr>
              </thead>
              <tbody>
                {data.data.map((w) => (
                  <tr key={w.id} data-workspace-id={w.id}>
                    <th scope="row">{w.name}</th>
                    <td>{formatDateTime(lang, w.created_at)}</td>
                    <td className="num">{formatNumber(lang, w.members, 0)}</td>
                    <td>{w.owners.length ? w.owners.join(", ") : t("admin.noOwner")}</td>
                    <td className="num">{formatNumber(lang, w.pocs, 0)}</td>
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
