import { useQuery } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { answer, api } from "../api/client";
import { queryKeys } from "../api/keys";
import type { DatasetPublic } from "../api/types";
import { ErrorNotice } from "../components/QueryState";

/** A generation dataset's first pairs, then the same pairs as `model` will see them (its chat template). */
export function GenerationPreview({ dataset, model }: { dataset: DatasetPublic; model: string }) {
  const { t } = useTranslation();
  const pairs = dataset.preview.pairs ?? [];
  if (pairs.length === 0) return null;
  return (
    <>
      <table className="compact">
        <caption>{t("launch.previewPairsTitle", { name: dataset.name })}</caption>
        <thead>
          <tr>
            <th scope="col">{t("launch.previewPrompt")}</th>
            <th scope="col">{t("launch.previewCompletion")}</th>
          </tr>
        </thead>
        <tbody>
          {pairs.map((pair, i) => (
            <tr key={i}>
              <td className="pre-wrap">{pair.prompt}</td>
              <td className="pre-wrap">{pair.completion}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {model !== "" && <RenderedPairs datasetId={dataset.id} model={model} />}
    </>
  );
}

function RenderedPairs({ datasetId, model }: { datasetId: string; model: string }) {
  const { t } = useTranslation();
  const rendered = useQuery({
    queryKey: queryKeys.renderedPairs(datasetId, model),
    queryFn: ({ signal }) =>
      answer(
        api.GET("/api/datasets/{dataset_id}/rendered", {
          params: { path: { dataset_id: datasetId }, query: { model } },
          signal,
        }),
      ),
  });
  if (rendered.error) return <ErrorNotice error={rendered.error} />;
  if (!rendered.data) return <p role="status">{t("launch.renderingPairs")}</p>;
  return (
    <section data-testid="rendered-pairs" aria-label={t("launch.renderedTitle", { model })}>
      <h3>{t("launch.renderedTitle", { model })}</h3>
      <p className="muted">{rendered.data.templated ? t("launch.renderedTemplated") : t("launch.renderedPlain")}</p>
      {rendered.data.pairs.map((pair, i) => (
        <pre key={i} className="rendered-pair">
          {pair.text}
        </pre>
      ))}
    </section>
  );
}
