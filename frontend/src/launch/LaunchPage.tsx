import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { useNavigate } from "react-router-dom";
import { postJson } from "../api/client";
import { queryKeys } from "../api/keys";
import { datasetsQuery, methodsQuery, modelsQuery } from "../api/queries";
import type { MethodId, MethodPublic, PocCreate, PocPublic } from "../api/types";
import { methodColor, methodRank } from "../compare/colors";
import { Field } from "../components/Field";
import { ErrorNotice, Loading } from "../components/QueryState";
import { formatCompact, formatNumber } from "../i18n/format";
import { DatasetUpload } from "./DatasetUpload";
import { FitPanel } from "./FitPanel";
import {
  CUSTOM_MODEL,
  emptyLaunchForm,
  hyperNamesOf,
  HYPER_NAMES,
  validateLaunchForm,
  type FieldError,
  type HyperName,
  type LaunchFormValues,
} from "./schema";

function defaultName(): string {
  const now = new Date();
  const pad = (n: number) => String(n).padStart(2, "0");
  return `PoC ${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())} ${pad(now.getHours())}:${pad(now.getMinutes())}`;
}

/** The launch form: model, data, methods, budget, advanced settings, memory fit, then launch. */
export function LaunchPage() {
  const { t } = useTranslation();
  const models = useQuery(modelsQuery());
  const methods = useQuery(methodsQuery());
  const datasets = useQuery(datasetsQuery());

  if (models.isPending || methods.isPending || datasets.isPending) return <Loading />;
  const failed = models.error ?? methods.error ?? datasets.error;
  if (failed) {
    return (
      <div className="page">
        <h1>{t("launch.title")}</h1>
        <ErrorNotice
          error={failed}
          onRetry={() => {
            void models.refetch();
            void methods.refetch();
            void datasets.refetch();
          }}
        />
      </div>
    );
  }
  return (
    <LaunchForm
      models={models.data!.data}
      methods={[...methods.data!.data].sort((a, b) => methodRank(a.method) - methodRank(b.method))}
      datasets={datasets.data!.data}
    />
  );
}

interface FormProps {
  models: { id: string; name: string; n_params: number | null; builtin: boolean }[];
  methods: MethodPublic[];
  datasets: { id: string; name: string; builtin: boolean; n_rows: number | null }[];
}

function LaunchForm({ models, methods, datasets }: FormProps) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const formRef = useRef<HTMLFormElement>(null);
  // Built-in models first, the embedded default (minilm) at the very top.
  const sortedModels = [...models].sort(
    (a, b) => Number(b.id === "minilm") - Number(a.id === "minilm") || Number(b.builtin) - Number(a.builtin),
  );
  const [values, setValues] = useState<LaunchFormValues>(() => ({
    ...emptyLaunchForm(),
    name: defaultName(),
    model: sortedModels[0]?.id ?? CUSTOM_MODEL,
    // The small built-in demo set makes the quickest first PoC.
    datasetId:
      (datasets.find((d) => d.name === "demo-sentiment") ?? datasets.find((d) => d.builtin) ?? datasets[0])?.id ?? "",
  }));
  const [errors, setErrors] = useState<Record<string, FieldError>>({});
  const [gpuId, setGpuId] = useState("");
  const [showSummary, setShowSummary] = useState(false);

  // Editing a field takes its error away: a message next to a value that was already fixed misleads.
  const clearError = (path: string) =>
    setErrors((old) => {
      if (!(path in old)) return old;
      const { [path]: _removed, ...rest } = old;
      return rest;
    });
  const set = <K extends keyof LaunchFormValues>(key: K, value: LaunchFormValues[K]) => {
    setValues((v) => ({ ...v, [key]: value }));
    clearError(key === "model" ? "customModel" : key);
  };
  const setHyper = (method: MethodId, name: HyperName, text: string) => {
    setValues((v) => ({ ...v, hyper: { ...v.hyper, [method]: { ...v.hyper[method], [name]: text } } }));
    clearError(`hyper.${method}.${name}`);
  };

  const launch = useMutation({
    mutationFn: (body: PocCreate) => postJson<PocPublic>("/api/pocs", body),
    onSuccess: (poc) => {
      queryClient.setQueryData(queryKeys.poc(poc.id), poc);
      void queryClient.invalidateQueries({ queryKey: queryKeys.pocLists() });
      navigate(`/pocs/${poc.id}`);
    },
  });

  // After a failed submit, move focus to the first field that needs attention.
  useEffect(() => {
    if (!showSummary) return;
    const first = formRef.current?.querySelector<HTMLElement>("[aria-invalid='true']");
    first?.focus();
  }, [showSummary, errors]);

  const onSubmit = (event: React.FormEvent) => {
    event.preventDefault();
    const result = validateLaunchForm(values, methods);
    if (!result.ok) {
      setErrors(result.errors);
      setShowSummary(true);
      return;
    }
    setErrors({});
    setShowSummary(false);
    launch.mutate(result.body);
  };

  const modelForEstimate = values.model === CUSTOM_MODEL ? values.customModel.trim() : values.model;
  const batchSize = Number(values.batchSize);
  const selected = methods.filter((m) => values.methods.includes(m.method));

  return (
    <form ref={formRef} className="page launch-form" onSubmit={onSubmit} noValidate aria-labelledby="launch-title">
      <h1 id="launch-title">{t("launch.title")}</h1>
      <p className="intro">{t("launch.intro")}</p>

      {showSummary && Object.keys(errors).length > 0 && (
        <p role="alert" className="notice notice-error">
          {t("launch.formErrors")}
        </p>
      )}

      <Field id="poc-name" label={t("launch.name")} help={t("launch.nameHelp")} error={errors.name}>
        <input value={values.name} onChange={(e) => set("name", e.target.value)} autoComplete="off" />
      </Field>

      <div className="two-col">
        <div>
          <Field id="poc-model" label={t("launch.model")}>
            <select value={values.model} onChange={(e) => set("model", e.target.value)}>
              {sortedModels.map((m) => (
                <option key={m.id} value={m.id}>
                  {m.name}
                  {m.n_params ? ` · ${t("launch.params", { value: formatCompact(lang, m.n_params) })}` : ""}
                </option>
              ))}
              <option value={CUSTOM_MODEL}>{t("launch.modelOther")}</option>
            </select>
          </Field>
          {values.model === CUSTOM_MODEL && (
            <Field
              id="poc-custom-model"
              label={t("launch.modelCustom")}
              help={t("launch.modelCustomHelp")}
              error={errors.customModel}
            >
              <input
                value={values.customModel}
                onChange={(e) => set("customModel", e.target.value)}
                autoComplete="off"
                spellCheck={false}
              />
            </Field>
          )}
        </div>
        <div>
          <Field id="poc-dataset" label={t("launch.dataset")} error={errors.datasetId}>
            <select value={values.datasetId} onChange={(e) => set("datasetId", e.target.value)}>
              {datasets.map((d) => (
                <option key={d.id} value={d.id}>
                  {d.name}
                  {d.builtin ? ` (${t("launch.datasetBuiltin")})` : ""}
                  {d.n_rows != null ? ` · ${t("launch.datasetRows", { value: formatNumber(lang, d.n_rows, 0) })}` : ""}
                </option>
              ))}
            </select>
          </Field>
          <DatasetUpload onUploaded={(d) => set("datasetId", d.id)} />
        </div>
      </div>

      <fieldset aria-describedby={errors.methods ? "methods-error" : "methods-help"}>
        <legend>{t("launch.methods")}</legend>
        <p id="methods-help" className="field-help">
          {t("launch.methodsHelp")}
        </p>
        <div className="method-options">
          {methods.map((m) => (
            <label key={m.method} className="check-card" style={{ borderColor: methodColor(m.method) }}>
              <input
                type="checkbox"
                name="methods"
                value={m.method}
                aria-labelledby={`method-${m.method}-name`}
                aria-describedby={`method-${m.method}-help`}
                checked={values.methods.includes(m.method)}
                aria-invalid={errors.methods ? true : undefined}
                onChange={(e) =>
                  set(
                    "methods",
                    e.target.checked ? [...values.methods, m.method] : values.methods.filter((x) => x !== m.method),
                  )
                }
              />
              <span>
                <strong id={`method-${m.method}-name`}>{t(`method.${m.method}`, { defaultValue: m.label })}</strong>
                <span id={`method-${m.method}-help`} className="field-help">
                  {t(`methodHelp.${m.method}`, { defaultValue: "" })}
                </span>
              </span>
            </label>
          ))}
        </div>
        {errors.methods && (
          <p id="methods-error" className="field-error">
            {t(errors.methods.key)}
          </p>
        )}
      </fieldset>

      <div className="two-col">
        <fieldset>
          <legend>{t("launch.budget")}</legend>
          <div className="radio-row">
            {(["steps", "minutes"] as const).map((kind) => (
              <label key={kind}>
                <input
                  type="radio"
                  name="budget"
                  checked={values.budget === kind}
                  onChange={() => set("budget", kind)}
                />{" "}
                {t(kind === "steps" ? "launch.budgetSteps" : "launch.budgetMinutes")}
              </label>
            ))}
          </div>
          {values.budget === "steps" ? (
            <Field id="poc-steps" label={t("launch.steps")} error={errors.steps}>
              <input inputMode="numeric" value={values.steps} onChange={(e) => set("steps", e.target.value)} />
            </Field>
          ) : (
            <Field id="poc-minutes" label={t("launch.minutes")} error={errors.minutes}>
              <input inputMode="decimal" value={values.minutes} onChange={(e) => set("minutes", e.target.value)} />
            </Field>
          )}
        </fieldset>
        <fieldset>
          <legend>{t("launch.device")}</legend>
          <div className="radio-row">
            {(["cpu", "gpu"] as const).map((device) => (
              <label key={device}>
                <input
                  type="radio"
                  name="device"
                  checked={values.device === device}
                  onChange={() => set("device", device)}
                />{" "}
                {t(device === "cpu" ? "launch.deviceCpu" : "launch.deviceGpu")}
              </label>
            ))}
          </div>
        </fieldset>
      </div>

      <details className="advanced">
        <summary>{t("launch.advanced")}</summary>
        <p className="field-help">{t("launch.advancedHelp")}</p>
        <div className="two-col">
          <Field id="poc-batch" label={t("launch.batchSize")} error={errors.batchSize}>
            <input inputMode="numeric" value={values.batchSize} onChange={(e) => set("batchSize", e.target.value)} />
          </Field>
          <Field id="poc-seed" label={t("launch.seed")} help={t("launch.seedHelp")} error={errors.seed}>
            <input inputMode="numeric" value={values.seed} onChange={(e) => set("seed", e.target.value)} />
          </Field>
        </div>
        {selected.length > 0 && (
          <div className="table-scroll">
            <table className="hyper-table">
              <thead>
                <tr>
                  <th scope="col">{t("compare.method")}</th>
                  {HYPER_NAMES.map((name) => (
                    <th scope="col" key={name}>
                      {t(`launch.hyper.${name}`)}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {selected.map((m) => {
                  const names = hyperNamesOf(m);
                  return (
                    <tr key={m.method}>
                      <th scope="row">{t(`method.${m.method}`, { defaultValue: m.label })}</th>
                      {HYPER_NAMES.map((name) => {
                        if (!names.includes(name)) {
                          return (
                            <td key={name} className="muted">
                              {t("launch.notApplicable")}
                            </td>
                          );
                        }
                        const path = `hyper.${m.method}.${name}`;
                        const error = errors[path];
                        const fallback = m.defaults[name];
                        return (
                          <td key={name}>
                            <input
                              id={`hp-${m.method}-${name}`}
                              aria-label={`${t(`method.${m.method}`)} ${t(`launch.hyper.${name}`)}`}
                              aria-invalid={error ? true : undefined}
                              aria-describedby={error ? `hp-${m.method}-${name}-error` : undefined}
                              inputMode="decimal"
                              placeholder={
                                fallback == null ? t("launch.auto") : formatNumber(lang, Number(fallback), 6)
                              }
                              value={values.hyper[m.method]?.[name] ?? ""}
                              onChange={(e) => setHyper(m.method, name, e.target.value)}
                            />
                            {error && (
                              <p id={`hp-${m.method}-${name}-error`} className="field-error">
                                {t(error.key, error.params)}
                              </p>
                            )}
                          </td>
                        );
                      })}
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
      </details>

      {values.methods.length > 0 && modelForEstimate !== "" && (
        <FitPanel
          model={modelForEstimate}
          methods={[...values.methods].sort((a, b) => methodRank(a) - methodRank(b))}
          batchSize={Number.isInteger(batchSize) && batchSize > 0 ? batchSize : 16}
          gpuId={gpuId}
          onGpuChange={setGpuId}
        />
      )}

      {launch.isError && (
        <p role="alert" className="notice notice-error">
          {t("launch.launchFailed", { message: launch.error.message })}
        </p>
      )}
      <div className="form-actions">
        <button type="submit" className="primary large" disabled={launch.isPending}>
          {launch.isPending ? t("launch.submitting") : t("launch.submit")}
        </button>
      </div>
    </form>
  );
}
