import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";
import { useTranslation } from "react-i18next";
import { answer, api, ApiError, formData } from "../api/client";
import { queryKeys } from "../api/keys";
import type { DatasetPublic, DatasetsPublic } from "../api/types";
import { formatNumber } from "../i18n/format";
import { GenerationPreview } from "./GenerationPreview";
import { problemText } from "./problems";

/**
 * Uploads a labelled file or a file of prompt -> completion pairs; the server validates it and tells the
 * kind from its columns. On success the preview is shown (for pairs, also as `model` will see them) and the
 * new dataset selected; on failure the row errors are listed right here, where the user is looking.
 */
export function DatasetUpload({
  onUploaded,
  model = "",
}: {
  onUploaded: (dataset: DatasetPublic) => void;
  /** The model chosen in the launch form: a generation dataset's pairs are rendered as it sees them. */
  model?: string;
}) {
  const { t, i18n } = useTranslation();
  const inputId = useId();
  const [fileName, setFileName] = useState("");
  const queryClient = useQueryClient();
  const upload = useMutation({
    mutationFn: (file: File) => answer(api.POST("/api/datasets", { body: { file }, bodySerializer: formData })),
    onSuccess: (dataset) => {
      queryClient.setQueryData<DatasetsPublic>(queryKeys.datasets(), (old) =>
        old ? { data: [...old.data.filter((d) => d.id !== dataset.id), dataset], count: old.count + 1 } : old,
      );
      void queryClient.invalidateQueries({ queryKey: queryKeys.datasets() });
      onUploaded(dataset);
    },
  });
  const error = upload.error instanceof ApiError ? upload.error : null;
  const dataset = upload.data;

  return (
    <div className="upload">
      <p id={`${inputId}-text`} className="upload-text">
        {t("launch.upload")}
      </p>
      {/* The browser's own file button speaks the OS language; this label speaks the page's. */}
      <div className="file-picker">
        <input
          id={inputId}
          type="file"
          className="visually-hidden-input"
          aria-describedby={`${inputId}-text`}
          accept=".csv,.tsv,.jsonl,.json,text/csv,text/tab-separated-values,application/json"
          onChange={(e) => {
            const file = e.currentTarget.files?.[0];
            setFileName(file?.name ?? "");
            if (file) upload.mutate(file);
          }}
        />
        <label htmlFor={inputId} className="button">
          {t("launch.chooseFile")}
        </label>
        <span className="muted">{fileName || t("launch.noFile")}</span>
      </div>
      {upload.isPending && <p role="status">{t("launch.uploading")}</p>}
      {upload.isError && (
        <div role="alert" className="notice notice-error" data-testid="upload-errors">
          <p>
            {error && error.problems.length > 0 ? t("launch.rowErrorsTitle") : (error?.message ?? String(upload.error))}
          </p>
          {error && error.problems.length > 0 && (
            <table className="compact">
              <thead>
                <tr>
                  <th scope="col">{t("launch.rowErrorsRow")}</th>
                  <th scope="col">{t("launch.rowErrorsField")}</th>
                  <th scope="col">{t("launch.rowErrorsProblem")}</th>
                </tr>
              </thead>
              <tbody>
                {error.problems.slice(0, 50).map((p, i) => (
                  <tr key={i}>
                    <td>{p.row == null ? t("launch.rowFile") : formatNumber(i18n.language, p.row, 0)}</td>
                    <td>{p.field || t("common.none")}</td>
                    <td>{problemText(p, t, i18n)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      )}
      {dataset && !upload.isPending && !upload.isError && dataset.kind === "generation" && (
        <div className="preview" data-testid="upload-preview">
          <p role="status">
            {t("launch.uploadedPairs", {
              name: dataset.name,
              rows: formatNumber(i18n.language, dataset.n_rows, 0),
              layout: t(`launch.layouts.${dataset.layout ?? "prompt_completion"}`),
            })}
          </p>
          <GenerationPreview dataset={dataset} model={model} />
        </div>
      )}
      {dataset && !upload.isPending && !upload.isError && dataset.kind !== "generation" && (
        <div className="preview" data-testid="upload-preview">
          <p role="status">
            {t("launch.uploaded", {
              name: dataset.name,
              rows: formatNumber(i18n.language, dataset.n_rows, 0),
              labels: (dataset.labels ?? []).join(", "),
            })}
          </p>
          {dataset.preview && dataset.preview.rows.length > 0 && (
            <table className="compact">
              <caption>{t("launch.previewTitle", { name: dataset.name })}</caption>
              <thead>
                <tr>
                  <th scope="col">{t("launch.previewText")}</th>
                  <th scope="col">{t("launch.previewLabel")}</th>
                </tr>
              </thead>
              <tbody>
                {dataset.preview.rows.map((row, i) => (
                  <tr key={i}>
                    <td>{row.text}</td>
                    <td>{String(row.label)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      )}
    </div>
  );
}
