import { useQuery } from "@tanstack/react-query";
import type { ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { meQuery, type Me } from "../auth/session";
import { ErrorNotice, Loading } from "../components/QueryState";

/** The account screens need accounts: on a server that runs without them, say so instead of failing. */
export function AccountsOnly({ title, children }: { title: string; children: (me: Me) => ReactNode }) {
  const { t } = useTranslation();
  const me = useQuery(meQuery());
  if (me.isPending) return <Loading />;
  if (me.isError) return <ErrorNotice error={me.error} onRetry={() => void me.refetch()} />;
  if (me.data === null) {
    return (
      <div className="page">
        <h1>{title}</h1>
        <p className="notice notice-ok">{t("account.noAccounts")}</p>
      </div>
    );
  }
  return <>{children(me.data)}</>;
}
