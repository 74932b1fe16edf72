import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useEffect } from "react";
import { useTranslation } from "react-i18next";
import { Link, useParams, useSearchParams } from "react-router-dom";
import { metricsQuery, pocQuery } from "../api/queries";
import type { XAxis } from "../api/types";
import { ErrorNotice, Loading } from "../components/QueryState";
import { StateBadge } from "../components/StateBadge";
import { usePermissions } from "../auth/permissions";
import { formatDateTime } from "../i18n/format";
import { preloadPlotly } from "./Chart";
import { ComparisonCharts } from "./ComparisonCharts";
import { DeletePoc } from "./DeletePoc";
import { GenerationExamples } from "./GenerationExamples";
import { RoiPanel } from "./RoiPanel";
import { RunsTable } from "./RunsTable";
import { PocTimingNote } from "./Timing";
import { SharePanel } from "./SharePanel";
import { Summary } from "./Summary";
import { isActive, taskTypeOf } from "./shaping";
import { useLiveEvents, type LiveStatus } from "./useLiveEvents";

const AXES: XAxis[] = ["step", "elapsed_s", "forward_passes"];

function LiveIndicator({ status, active }: { status: LiveStatus; active: boolean }) {
  const { t } = useTranslation();
  const text = !active ? t("compare.done") : status === "live" ? t("compare.live") : t("compare.reconnecting");
  return (
    <span role="status" className={`live live-${active ? status : "done"}`} data-testid="live-status">
      {text}
    </span>
  );
}

/** The comparison of one PoC's methods: the screen the product exists for. */
export function ComparePage() {
  const { t, i18n } = useTranslation();
  const can = usePermissions();
  const { pocId = "" } = useParams();
  const [params, setParams] = useSearchParams();
  const axisParam = params.get("x");
  const axis: XAxis = AXES.find((a) => a === axisParam) ?? "step";

  useEffect(preloadPlotly, []);

  // The stream keeps the page current; the slow poll only covers a proxy that buffers SSE.
  const poc = useQuery({
    ...pocQuery(pocId),
    refetchInterval: (query) => (query.state.data && isActive(query.state.data.state) ? 15_000 : false),
  });
  const active = poc.data ? isActive(poc.data.state) : false;
  const taskType = poc.data ? taskTypeOf(poc.data) : "classification";
  const metrics = useQuery({
    ...metricsQuery(pocId, axis, taskType),
    placeholderData: keepPreviousData,
    enabled: !!poc.data,
  });
  const live = useLiveEvents(pocId, active, poc.data?.last_event_seq ?? 0);

  if (poc.isPending) return <Loading />;
  if (poc.isError) {
    return (
      <div className="page">
        <ErrorNotice error={poc.error} onRetry={() => void poc.refetch()} notFound={t("errors.notFound")} />
        <Link to="/">{t("common.back")}</Link>
      </div>
    );
  }
  const data = poc.data;
  const lang = i18n.language;

  return (
    <div className="page compare-page">
      <p>
        <Link to="/">← {t("common.back")}</Link>
      </p>
      <div className="page-head">
        <h1>{data.name}</h1>
        <StateBadge state={data.state} />
        <LiveIndicator status={live} active={active} />
        <DeletePoc poc={data} />
      </div>
      <p className="meta">
        {t("compare.model")}: <strong>{data.model}</strong> · {t("compare.dataset")}:{" "}
        <strong>{data.dataset_name ?? data.dataset_id}</strong> ·{" "}
        {t("compare.launched", {
          date: formatDateTime(lang, data.created_at),
          who: data.created_by ?? t("common.none"),
        })}
      </p>

      <Summary runs={data.runs} taskType={taskType} />
      <PocTimingNote poc={data} />
      <RunsTable poc={data} />

      <section className="panel" aria-labelledby="charts-title">
        <div className="panel-head">
          <h2 id="charts-title">{t("compare.charts")}</h2>
          <div role="radiogroup" aria-label={t("compare.xAxis")} className="segmented">
            <span className="segmented-label" aria-hidden="true">
              {t("compare.xAxis")}
            </span>
            {AXES.map((value) => (
              <button
                key={value}
                type="button"
                role="radio"
                aria-checked={axis === value}
                onClick={() =>
                  setParams(
                    (p) => {
                      const next = new URLSearchParams(p);
                      next.set("x", value);
                      return next;
                    },
                    { replace: true },
                  )
                }
              >
                {t(`compare.x.${value}`)}
              </button>
            ))}
          </div>
        </div>
        {metrics.isError ? (
          <ErrorNotice error={metrics.error} onRetry={() => void metrics.refetch()} />
        ) : metrics.isPending ? (
          <Loading />
        ) : (
          // While another axis loads, the previous data stays on screen with its own axis title.
          <ComparisonCharts
            metrics={metrics.data}
            runs={data.runs}
            axis={metrics.data.x}
            active={active}
            taskType={taskType}
          />
        )}
      </section>

      {taskType === "generation" && <GenerationExamples runs={data.runs} />}

      <RoiPanel pocId={data.id} finished={!active} />
      {can.edit && <SharePanel pocId={data.id} />}
    </div>
  );
}
