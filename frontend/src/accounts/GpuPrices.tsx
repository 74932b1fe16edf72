import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { answer, api } from "../api/client";
import { queryKeys } from "../api/keys";
import { gpusQuery } from "../api/queries";
import type { GpuPublic } from "../api/types";
import { QueryView } from "../components/QueryState";
import { formatCurrency } from "../i18n/format";
import { ProblemNotice } from "./ProblemNotice";

// The currencies offered; the server checks each against its exchange rates (ZOPOC_CURRENCY_RATES).
const CURRENCIES = ["JPY", "USD", "EUR"] as const;

/** Administrators set what an hour of each GPU costs the company: every estimate, projection and new report
 * prices with it (the catalogue setting stays the default, brought back by "Use the catalogue's price"). */
export function GpuPrices() {
  const { t } = useTranslation();
  const gpus = useQuery(gpusQuery());
  return (
    <section className="panel" aria-labelledby="gpu-prices-title">
      <h2 id="gpu-prices-title">{t("admin.gpuPrices.title")}</h2>
      <p className="muted">{t("admin.gpuPrices.intro")}</p>
      <QueryView query={gpus}>
        {(data) => (
          <div className="table-scroll">
            <table>
              <thead>
                <tr>
                  <th scope="col">{t("admin.gpuPrices.gpu")}</th>
                  <th scope="col" className="num">
                    {t("admin.gpuPrices.price")}
                  </th>
                  <th scope="col">{t("admin.gpuPrices.source")}</th>
                  <th scope="col">{t("admin.gpuPrices.change")}</th>
                </tr>
              </thead>
              <tbody>
                {data.data.map((gpu) => (
                  <PriceRow key={gpu.id} gpu={gpu} />
                ))}
              </tbody>
            </table>
          </div>
        )}
      </QueryView>
    </section>
  );
}

function PriceRow({ gpu }: { gpu: GpuPublic }) {
  const { t, i18n } = useTranslation();
  const queryClient = useQueryClient();
  const [price, setPrice] = useState(String(gpu.hourly_price));
  const [currency, setCurrency] = useState(gpu.currency);
  // Every money figure depends on the prices: the catalogue and every PoC's projection are asked again.
  const onSuccess = () => {
    void queryClient.invalidateQueries({ queryKey: queryKeys.gpus() });
    void queryClient.invalidateQueries({ queryKey: ["pocs", "roi"] });
  };
  const save = useMutation({
    mutationFn: () =>
      answer(
        api.PUT("/api/gpus/{gpu_id}/price", {
          params: { path: { gpu_id: gpu.id } },
          body: { hourly_price: Number(price), currency },
        }),
      ),
    onSuccess,
  });
  const reset = useMutation({
    mutationFn: () => answer(api.DELETE("/api/gpus/{gpu_id}/price", { params: { path: { gpu_id: gpu.id } } })),
    onSuccess: (fresh: GpuPublic) => {
      setPrice(String(fresh.hourly_price));
      setCurrency(fresh.currency);
      onSuccess();
    },
  });
  const valid = price.trim() !== "" && Number.isFinite(Number(price)) && Number(price) >= 0;
  return (
    <tr data-gpu={gpu.id}>
      <th scope="row">{gpu.name}</th>
      <td className="num">
        {formatCurrency(i18n.language, gpu.hourly_price, gpu.currency)} {t("admin.gpuPrices.perHour")}
      </td>
      <td>{t(`admin.gpuPrices.sources.${gpu.price_source ?? "catalogue"}`)}</td>
      <td>
        <form
          className="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            if (valid) save.mutate();
          }}
        >
          <input
            type="number"
            min={0}
            step="any"
            value={price}
            aria-label={t("admin.gpuPrices.newPrice", { gpu: gpu.name })}
            onChange={(e) => setPrice(e.target.value)}
          />
          <select
            value={currency}
            aria-label={t("admin.gpuPrices.currency", { gpu: gpu.name })}
            onChange={(e) => setCurrency(e.target.value)}
          >
            {[...new Set([...CURRENCIES, gpu.currency])].map((c) => (
              <option key={c} value={c}>
                {c}
              </option>
            ))}
          </select>
          <button type="submit" disabled={!valid || save.isPending}>
            {t("admin.gpuPrices.save")}
          </button>
          {gpu.price_source === "administrator" && (
            <button type="button" onClick={() => reset.mutate()} disabled={reset.isPending}>
              {t("admin.gpuPrices.reset")}
            </button>
          )}
        </form>
        <ProblemNotice error={save.error ?? reset.error} failedKey="admin.gpuPrices.failed" />
      </td>
    </tr>
  );
}
