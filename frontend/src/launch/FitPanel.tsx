import { useQuery } from "@tanstack/react-query";
import { useDeferredValue, useEffect, useId, useRef } from "react";
import { useTranslation } from "react-i18next";
import { gpusQuery, memoryEstimateQuery } from "../api/queries";
import type { Fit, MemoryEstimateRequest } from "../api/types";
import { ApiError } from "../api/client";
import { MethodBadge } from "../components/MethodBadge";
import { apiMessage } from "../components/QueryState";
import { formatNumber } from "../i18n/format";

interface Props {
  model: string;
  /** The chosen methods, in display order. */
  methods: string[];
  batchSize: number;
  /** Tokens per example (the run's max_length). */
  seqLen: number;
  dtype: MemoryEstimateRequest["dtype"];
  /** The rank of the low-rank methods (ignored when none is chosen). */
  rank: number;
  /** Tokens a generation PoC writes per prompt at evaluation (their KV cache); 0 for classification. */
  maxNewTokens?: number;
  gpuId: string;
  onGpuChange: (id: string) => void;
}

/** Per chosen method: will it fit the chosen GPU's memory (from the service's estimate)? */
export function FitPanel({
  model,
  methods,
  batchSize,
  seqLen,
  dtype,
  rank,
  maxNewTokens = 0,
  gpuId,
  onGpuChange,
}: Props) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const selectId = useId();
  const gpus = useQuery(gpusQuery());
  // Check against the first GPU of the catalogue until the user picks another (or none).
  const picked = useRef(false);
  const firstGpu = gpus.data?.data[0]?.id;
  useEffect(() => {
    if (!picked.current && !gpuId && firstGpu) onGpuChange(firstGpu);
  }, [firstGpu, gpuId, onGpuChange]);
  const request: MemoryEstimateRequest = {
    model,
    methods,
    dtype,
    batch_size: batchSize,
    seq_len: seqLen,
    gpu_id: gpuId || null,
    gpu_count: 1,
    rank,
    max_new_tokens: maxNewTokens,
  };
  // Typing a custom model id should not fire one estimate per keystroke.
  const deferred = useDeferredValue(request);
  const estimate = useQuery({
    ...memoryEstimateQuery(deferred),
    enabled: deferred.model !== "" && (deferred.methods?.length ?? 0) > 0,
    // A passing hiccup (a restart, a slow proxy) is retried before the reader is told.
    retry: (failures, error) =>
      failures < 2 && !(error instanceof ApiError && error.status >= 400 && error.status < 500),
    retryDelay: (attempt) => Math.min(500 * 2 ** attempt, 4_000),
  });

  return (
    <fieldset className="fit-panel">
      <legend>{t("launch.fitTitle")}</legend>
      <div className="field">
        <label htmlFor={selectId}>{t("launch.fitGpu")}</label>
        <select
          id={selectId}
          value={gpuId}
          onChange={(e) => {
            picked.current = true;
            onGpuChange(e.target.value);
          }}
        >
          <option value="">{t("launch.fitNoGpu")}</option>
          {gpus.data?.data.map((gpu) => (
            <option key={gpu.id} value={gpu.id}>
              {gpu.name} ({formatNumber(lang, gpu.memory_gb, 0)} GB)
            </option>
          ))}
        </select>
      </div>
      {estimate.isError ? (
        <div role="alert" className="notice notice-error" data-testid="estimate-error">
          <p>{t("launch.fitUnavailable")}</p>
          <p className="small">
            {estimate.error instanceof ApiError && estimate.error.status === 0
              ? t("errors.network")
              : t("dash.estimateFailed", { message: apiMessage(estimate.error, t, i18n) })}
          </p>
          <button type="button" disabled={estimate.isFetching} onClick={() => void estimate.refetch()}>
            {t("common.retry")}
          </button>
        </div>
      ) : (
        <ul className="fit-list" aria-live="polite">
          {methods.map((method) => {
            const row = estimate.data?.data.find((r) => r.method === method);
            const fit: Fit | "unknown" | "checking" = row?.fit ?? (estimate.isFetching ? "checking" : "unknown");
            return (
              <li key={method} data-method={method} data-fit={fit}>
                <MethodBadge method={method} />
                <span className={`badge fit-${fit}`}>{t(`launch.fit.${fit}`)}</span>
                {row && (
                  <span className="muted">{t("launch.fitNeeds", { gb: formatNumber(lang, row.total_gb, 1) })}</span>
                )}
                {row?.headroom_gb != null && (
                  <span className="muted">
                    {" · "}
                    {row.headroom_gb >= 0
                      ? t("launch.fitHeadroom", { gb: formatNumber(lang, row.headroom_gb, 1) })
                      : t("launch.fitShort", { gb: formatNumber(lang, -row.headroom_gb, 1) })}
                  </span>
                )}
              </li>
            );
          })}
        </ul>
      )}
    </fieldset>
  );
}
