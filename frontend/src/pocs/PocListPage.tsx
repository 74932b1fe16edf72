import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useDeferredValue, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useLocation, useNavigate, useSearchParams } from "react-router-dom";
import { pocsQuery } from "../api/queries";
import { usePermissions } from "../auth/permissions";
import type { PocPublic, PocState, RunPublic } from "../api/types";
import type { DeletedState } from "../compare/DeletePoc";
import { useMethods } from "../methods/useMethods";
import { MethodBadge } from "../components/MethodBadge";
import { ErrorNotice, Loading } from "../components/QueryState";
import { StateBadge } from "../components/StateBadge";
import { formatDateTime, formatNumber, formatPercent } from "../i18n/format";
import { KeyResults } from "./KeyResults";

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

/**
 * The newest attempt of each method (a retry replaces the run it retries), as the server derives the
 * PoC's state from them (backend/states.py): a failed first try that was retried and finished is finished.
 */
export function latestRuns(runs: RunPublic[]): RunPublic[] {
  const newest = new Map<string, RunPublic>();
  const ordered = [...runs].sort((a, b) => a.created_at.localeCompare(b.created_at) || a.attempt - b.attempt);
  for (const run of ordered) newest.set(run.method, run);
  return [...newest.values()];
}

/** "2 of 3 runs finished, 1 cancelled": how the PoC's runs ended or stand, by count, never a bare percentage. */
function RunsSummary({ poc }: { poc: PocPublic }) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const runs = latestRuns(poc.runs);
  if (runs.length === 0) return <span className="muted">{t("list.noRuns")}</span>;
  const count = (state: RunPublic["state"]) => runs.filter((r) => r.state === state).length;
  const parts = [t("list.runsFinished", { count: runs.length, done: count("succeeded") })];
  const others = [
    ["list.runsFailed", count("failed")],
    ["list.runsCancelled", count("cancelled")],
    ["list.runsRunning", count("running")],
    ["list.runsQueued", count("queued")],
  ] as const;
  for (const [key, n] of others) if (n > 0) parts.push(t(key, { count: n }));
  const active = runs.some((r) => r.state === "running" || r.state === "queued");
  // While runs train, the bar says how far training has come (the ended runs count as done).
  const trained = runs.reduce(
    (sum, r) => sum + (r.state === "running" || r.state === "queued" ? (r.progress ?? 0) : 1),
    0,
  );
  return (
    <>
      <span className="runs-summary" data-testid="runs-summary">
        {parts.join(t("list.runsSeparator"))}
      </span>
      {active && (
        <>
          <progress max={1} value={trained / runs.length} aria-label={t("list.trainingProgress", { name: poc.name })} />{" "}
          {formatPercent(lang, trained / runs.length, 0)}
        </>
      )}
    </>
  );
}

/** All PoCs with their state, progress and methods; filters live in the URL so a view can be shared. */
export function PocListPage() {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const can = usePermissions();
  const location = useLocation();
  const deleted = (location.state as DeletedState | null)?.deleted;
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
  // Two PoCs picked for the side-by-side page (the oldest pick drops out when a third is picked).
  const [picked, setPicked] = useState<string[]>([]);
  const navigate = useNavigate();
  const togglePick = (id: string, on: boolean) =>
    setPicked((p) => (on ? [...p.filter((x) => x !== id), id].slice(-2) : p.filter((x) => x !== id)));

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
      {deleted && (
        <p role="status" className="notice notice-ok">
          {t("list.deleted", { name: deleted })}
        </p>
      )}
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
        <button
          type="button"
          disabled={picked.length !== 2}
          title={picked.length !== 2 ? t("dash.two.pickTwo") : undefined}
          onClick={() => void navigate(`/compare?a=${picked[0]}&b=${picked[1]}`)}
        >
          {t("dash.two.open")}
        </button>
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
                <th scope="col">{t("dash.two.selectHeader")}</th>
                <th scope="col">{t("list.name")}</th>
                <th scope="col">{t("list.state")}</th>
                <th scope="col">{t("list.progress")}</th>
                <th scope="col">{t("list.methods")}</th>
                <th scope="col">{t("dash.keyResults")}</th>
                <th scope="col">{t("list.launchedBy")}</th>
                <th scope="col">{t("list.launchedAt")}</th>
              </tr>
            </thead>
            <tbody>
              {pocs.data.data.map((poc) => {
                const methods = methodCatalogue.sortBy([...new Set(poc.runs.map((r) => r.method))], (m) => m);
                return (
                  <tr key={poc.id} data-poc-id={poc.id}>
                    <td>
                      <input
                        type="checkbox"
                        aria-label={t("dash.two.select", { name: poc.name })}
                        checked={picked.includes(poc.id)}
                        onChange={(e) => togglePick(poc.id, e.target.checked)}
                      />
                    </td>
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
                      <RunsSummary poc={poc} />
                    </td>
                    <td>
                      <span className="badge-row">
                        {methods.map((m) => (
                          <MethodBadge key={m} method={m} />
                        ))}
                      </span>
                    </td>
                    <td>
                      <KeyResults poc={poc} />
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
