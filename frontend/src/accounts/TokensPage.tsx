import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { answer, api } from "../api/client";
import { queryKeys } from "../api/keys";
import { tokensQuery } from "../api/queries";
import { QueryView } from "../components/QueryState";
import { formatDateTime } from "../i18n/format";
import { AccountsOnly } from "./AccountsOnly";
import { ConfirmButton } from "./ConfirmButton";
import { OneTimeSecret } from "./OneTimeSecret";
import { ListHead } from "./ListHead";
import { ProblemNotice } from "./ProblemNotice";

/** /account/tokens: my personal API tokens (every signed-in user). */
export function TokensPage() {
  const { t } = useTranslation();
  return <AccountsOnly title={t("tokens.title")}>{() => <Tokens />}</AccountsOnly>;
}

function Tokens() {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const queryClient = useQueryClient();
  const tokens = useQuery(tokensQuery());
  const [name, setName] = useState("");
  const refresh = () => queryClient.invalidateQueries({ queryKey: queryKeys.tokens() });
  // The token itself lives only in this mutation's answer: "done" (or leaving the page) forgets it.
  const create = useMutation({
    mutationFn: (tokenName: string) => answer(api.POST("/api/auth/tokens", { body: { name: tokenName } })),
    onSuccess: () => {
      setName("");
      void refresh();
    },
  });
  const revoke = useMutation({
    mutationFn: async (id: string) => {
      await api.DELETE("/api/auth/tokens/{token_id}", { params: { path: { token_id: id } } });
    },
    onSettled: () => void refresh(),
  });

  return (
    <div className="page account-page">
      <div className="page-head">
        <h1>{t("tokens.title")}</h1>
      </div>
      <p className="intro">{t("tokens.intro")}</p>

      <section className="panel" aria-labelledby="token-create-title">
        <h2 id="token-create-title">{t("tokens.createTitle")}</h2>
        <form
          className="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            if (name.trim()) create.mutate(name.trim());
          }}
        >
          <div className="field">
            <label htmlFor="token-name">{t("tokens.name")}</label>
            <input
              id="token-name"
              required
              maxLength={200}
              aria-describedby="token-name-help"
              value={name}
              onChange={(e) => setName(e.target.value)}
            />
            <p id="token-name-help" className="field-help">
              {t("tokens.nameHelp")}
            </p>
          </div>
          <button type="submit" className="primary" disabled={create.isPending || !name.trim()}>
            {create.isPending ? t("tokens.creating") : t("tokens.create")}
          </button>
        </form>
        <ProblemNotice error={create.error} failedKey="tokens.failed" />
        {create.data && (
          <OneTimeSecret
            testId="new-token"
            title={t("tokens.createdTitle", { name: create.data.name })}
            warning={t("tokens.once")}
            label={t("tokens.tokenLabel")}
            value={create.data.token}
            onDone={() => create.reset()}
          />
        )}
      </section>

      <section className="panel" aria-labelledby="token-list-title">
        <ListHead
          id="token-list-title"
          title={t("tokens.listTitle")}
          countKey="tokens.count"
          count={tokens.data?.count}
        />
        <ProblemNotice error={revoke.error} failedKey="tokens.revokeFailed" />
        <QueryView query={tokens} empty={{ when: (data) => data.data.length === 0, text: t("tokens.empty") }}>
          {(data) => (
            <div className="table-scroll">
              <table className="account-table">
                <thead>
                  <tr>
                    <th scope="col">{t("tokens.name")}</th>
                    <th scope="col">{t("tokens.prefix")}</th>
                    <th scope="col">{t("tokens.created")}</th>
                    <th scope="col">{t("tokens.lastUsed")}</th>
                    <th scope="col">{t("tokens.status")}</th>
                    <th scope="col">{t("tokens.actions")}</th>
                  </tr>
                </thead>
                <tbody>
                  {data.data.map((token) => (
                    <tr key={token.id} data-token-id={token.id}>
                      <th scope="row">{token.name}</th>
                      <td>
                        <code>{token.prefix}…</code>
                      </td>
                      <td>{formatDateTime(lang, token.created_at)}</td>
                      <td>{token.last_used_at ? formatDateTime(lang, token.last_used_at) : t("tokens.never")}</td>
                      <td>
                        {token.revoked_at ? (
                          <span className="badge status-off">
                            {t("tokens.revoked", { date: formatDateTime(lang, token.revoked_at) })}
                          </span>
                        ) : (
                          <span className="badge status-on">{t("tokens.active")}</span>
                        )}
                      </td>
                      <td>
                        {!token.revoked_at && (
                          <ConfirmButton
                            label={t("tokens.revoke")}
                            accessibleLabel={t("tokens.revokeLabel", { name: token.name })}
                            question={t("tokens.revokeConfirm", { name: token.name })}
                            confirmLabel={t("tokens.revokeYes")}
                            cancelLabel={t("tokens.keep")}
                            disabled={revoke.isPending}
                            onConfirm={() => revoke.mutate(token.id)}
                          />
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </QueryView>
      </section>
    </div>
  );
}
