import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useDeferredValue } from "react";
import { useTranslation } from "react-i18next";
import { Link, useSearchParams } from "react-router-dom";
import { pocsQuery } from "../api/queries";
import { usePermissions } from "../auth/permissions";
import type { PocState } from "../api/types";
import { useMethods } from "../methods/useMethods";
import { MethodBadge } from "../components/MethodBadge";
import { ErrorNotice, Loading } from "../components/QueryState";
import { StateBadge } from "../components/StateBadge";
import { formatDateTime, formatNumber, formatPercent } from "../i18n/format";

// Every state the API has, in the order offered (a Record, so a state added to the schema fails the type
// check until it is listed here).
const STATE_ORDER: Record<PocState, number> = {
  queued: 0,
  running: 1,
  succeeded: 2,
  failed: 3,
  cancelled: 4,
  mixed: 5,
};
const STATES = (Object.keys(STATE_ORDER) as PocState[]).sort((a, b) => STATE_ORDER[a] - STATE_ORDER[b]);
const isState = (value: string): value is PocState => Object.hasOwn(STATE_ORDER, value);

/** All PoCs with their state, progress and methods; filters live in the URL so a view can be shared. */
export function PocListPage() {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const can = usePermissions();
  const [params, setParams] = useSearchParams();
  const q = params.get("q") ?? "";
  const stateParam = params.get("state") ?? "";
  const state = isState(stateParam) ? stateParam : "";
  const methodCatalogue = useMethods();
  const deferredQ = useDeferredValue(q);
  const pocs = useQuery({ ...pocsQuery({ q: deferredQ.trim(), state }), placeholderData: keepPreviousData });

  const setFilter = (name: "q" | "state", value: string) =>
    setParams(
      (p) => {
        const next = new URLSearchParams(p);
        if (value) next.set(name, value);
        else next.delete(name);
        return next;
      },
      { replace: true },
    );
  const filtered = q !== "" || state !== "";

  return (
    <div className="page">
      <div className="page-head">
        <h1>{t("list.title")}</h1>
        {can.edit && (
          <Link to="/new" className="button primary">
            {t("app.nav.launch")}
          </Link>
        )}
      </div>
      <div className="filters" role="search">
        <label className="field">
          <span>{t("list.search")}</span>
          <input type="search" value={q} onChange={(e) => setFilter("q", e.target.value)} />
        </label>
        <label className="field">
          <span>{t("list.state")}</span>
          <select value={state} onChange={(e) => setFilter("state", e.target.value)}>
            <option value="">{t("list.allStates")}</option>
            {STATES.map((s) => (
              <option key={s} value={s}>
                {t(`state.${s}`)}
              </option>
            ))}
          </select>
        </label>
        {pocs.data && (
          <p className="muted count">{t("list.count", { value: formatNumber(lang, pocs.data.count, 0) })}</p>
        )}
      </div>

      {pocs.isPending ? (
        <Loading />
      ) : pocs.isError ? (
        <ErrorNotice error={pocs.error} onRetry={() => void pocs.refetch()} />
      ) : pocs.data.data.length === 0 ? (
        <div className="empty">
          <p>{filtered ? t("list.emptyFiltered") : t("list.empty")}</p>
          {filtered ? (
            <button type="button" onClick={() => setParams({}, { replace: true })}>
              {t("list.clearFilters")}
            </button>
          ) : (
            can.edit && (
              <Link to="/new" className="button primary">
                {t("app.nav.launch")}
              </Link>
            )
          )}
        </div>
      ) : (
        <div className="table-scroll">
          <table className="poc-table">
            <thead>
              <tr>
                <th scope="col">{t("list.name")}</th>
                <th scope="col">{t("list.state")}</th>
                <th scope="col">{t("list.progress")}</th>
                <th scope="col">{t("list.methods")}</th>
                <th scope="col">{t("list.launchedBy")}</th>
                <th scope="col">{t("list.launchedAt")}</th>
              </tr>
            </thead>
            <tbody>
              {pocs.data.data.map((poc) => {
                const progress = poc.runs.length
                  ? poc.runs.reduce((sum, r) => sum + (r.progress ?? 0), 0) / poc.runs.length
                  : 0;
                const methods = methodCatalogue.sortBy([...new Set(poc.runs.map((r) => r.method))], (m) => m);
                return (
                  <tr key={poc.id} data-poc-id={poc.id}>
                    <th scope="row">
                      <Link to={`/pocs/${poc.id}`} aria-label={t("list.open", { name: poc.name })}>
                        {poc.name}
                      </Link>
                      <div className="muted small">{poc.model}</div>
                    </th>
                    <td>
                      <StateBadge state={poc.state} />
                    </td>
                    <td>
                      <progress max={1} value={progress} aria-label={`${poc.name} ${t("list.progress")}`} />{" "}
                      {formatPercent(lang, progress, 0)}
                    </td>
                    <td>
                      <span className="badge-row">
                        {methods.map((m) => (
                          <MethodBadge key={m} method={m} />
                        ))}
                      </span>
                    </td>
                    <td>{poc.created_by ?? t("common.none")}</td>
                    <td>{formatDateTime(lang, poc.created_at)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
