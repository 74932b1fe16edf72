import { useQuery } from "@tanstack/react-query";
import { useEffect } from "react";
import { useTranslation } from "react-i18next";
import { Link, useSearchParams } from "react-router-dom";
import { metricsQuery, pocQuery } from "../api/queries";
import { ErrorNotice, Loading } from "../components/QueryState";
import { StateBadge } from "../components/StateBadge";
import { KeyResults } from "../pocs/KeyResults";
import { preloadPlotly } from "./Chart";
import { ComparisonCharts } from "./ComparisonCharts";
import { Summary } from "./Summary";
import { isActive, taskTypeOf } from "./shaping";

/** One PoC's column: its name, settings that matter, key results, summary and charts. */
function PocColumn({ pocId, side }: { pocId: string; side: "a" | "b" }) {
  const { t } = useTranslation();
  const poc = useQuery(pocQuery(pocId));
  const taskType = poc.data ? taskTypeOf(poc.data) : "classification";
  const metrics = useQuery({ ...metricsQuery(pocId, "step", taskType), enabled: !!poc.data });
  if (poc.isPending) return <Loading />;
  if (poc.isError)
    return <ErrorNotice error={poc.error} onRetry={() => void poc.refetch()} notFound={t("errors.notFound")} />;
  const data = poc.data;
  const settings = data.settings as { steps?: number | null; eval_size?: number | null };
  return (
    <section className="panel two-pocs-column" aria-labelledby={`poc-${side}-title`} data-side={side}>
      <div className="page-head">
        <h2 id={`poc-${side}-title`}>
          <Link to={`/pocs/${data.id}`}>{data.name}</Link>
        </h2>
        <StateBadge state={data.state} />
      </div>
      <p className="meta">
        {t("compare.model")}: <strong>{data.model}</strong> · {t("compare.dataset")}:{" "}
        <strong>{data.dataset_name ?? data.dataset_id}</strong> ·{" "}
        {t("dash.two.budget", { steps: settings.steps ?? "—" })}
      </p>
      <KeyResults poc={data} />
      <Summary runs={data.runs} taskType={taskType} />
      {metrics.isError ? (
        <ErrorNotice error={metrics.error} onRetry={() => void metrics.refetch()} />
      ) : metrics.isPending ? (
        <Loading />
      ) : (
        <ComparisonCharts
          metrics={metrics.data}
          runs={data.runs}
          axis="step"
          active={isActive(data.state)}
          taskType={taskType}
        />
      )}
    </section>
  );
}

/** Two PoCs side by side (/compare?a=…&b=…): did another model, dataset or budget change the answer? */
export function TwoPocsPage() {
  const { t } = useTranslation();
  const [params] = useSearchParams();
  const a = params.get("a") ?? "";
  const b = params.get("b") ?? "";
  useEffect(preloadPlotly, []);
  return (
    <div className="page two-pocs-page">
      <p>
        <Link to="/">← {t("common.back")}</Link>
      </p>
      <h1>{t("dash.two.title")}</h1>
      {!a || !b ? (
        <p className="empty">{t("dash.two.choose")}</p>
      ) : (
        <div className="two-pocs">
          <PocColumn pocId={a} side="a" />
          <PocColumn pocId={b} side="b" />
        </div>
      )}
    </div>
  );
}
