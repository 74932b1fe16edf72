import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { useNavigate } from "react-router-dom";
import { answer, api } from "../api/client";
import { queryKeys } from "../api/keys";
import { datasetsQuery, knownModelsQuery, limitsQuery, methodsQuery, modelsQuery, workersQuery } from "../api/queries";
import type { DatasetPublic, FieldLimit, LimitsPublic, MethodPublic, ModelPublic, PocCreate } from "../api/types";
import { Field } from "../components/Field";
import { ErrorNotice, Loading, apiMessage } from "../components/QueryState";
import { formatCompact, formatNumber } from "../i18n/format";
import { catalogueOf } from "../methods/catalogue";
import { DatasetUpload } from "./DatasetUpload";
import { Detectability } from "./Detectability";
import { FitPanel } from "./FitPanel";
import { Term, type GlossaryTerm } from "../glossary/Term";
import {
  CUSTOM_MODEL,
  emptyLaunchForm,
  GENERATION_SETTINGS,
  hyperNamesOf,
  settingLimit,
  settingApplies,
  validateLaunchForm,
  withDataset,
  type FieldError,
  type LaunchFormValues,
  type SettingName,
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
  const limits = useQuery(limitsQuery());

  const failed = models.error ?? methods.error ?? datasets.error ?? limits.error;
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
            void limits.refetch();
          }}
        />
      </div>
    );
  }
  if (!models.data || !methods.data || !datasets.data || !limits.data) return <Loading />;
  return (
    <LaunchForm
      models={models.data.data}
      firstPocModel={models.data.first_poc ?? null}
      methods={catalogueOf(methods.data.data).methods}
      datasets={datasets.data.data}
      limits={limits.data}
    />
  );
}

interface FormProps {
  models: ModelPublic[];
  /** The built-in model the server proposes for a first PoC (GET /api/models `first_poc`). */
  firstPocModel: string | null;
  /** The registry's methods, in display order. */
  methods: readonly MethodPublic[];
  datasets: DatasetPublic[];
  limits: LimitsPublic;
}

// The run settings under "Advanced settings", in groups (each field's limits, default and choices come
// from GET /api/limits; labels and help from the translations, else the server's description).
// A classification-only setting is left out of a generation PoC's groups (and of its request).
const SETTING_GROUPS: { title: string; names: SettingName[] }[] = [
  { title: "launch.groupTraining", names: ["batch_size", "seed", "zo_clip"] },
  { title: "launch.groupData", names: ["k_shot", "eval_every", "eval_size", "max_length"] },
  { title: "launch.groupModel", names: ["dtype", "head_init"] },
];

function LaunchForm({ models, firstPocModel, methods, datasets, limits }: FormProps) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const workers = useQuery(workersQuery());
  // Suggestions for "another model": the ones the forecast knows offline (a what-if needs no download).
  const knownModels = useQuery(knownModelsQuery());
  const formRef = useRef<HTMLFormElement>(null);
  // The server's choice for a first PoC at the very top (it is the form's default), then the built-in models.
  const sortedModels = [...models].sort(
    (a, b) => Number(b.id === firstPocModel) - Number(a.id === firstPocModel) || Number(b.builtin) - Number(a.builtin),
  );
  const [values, setValues] = useState<LaunchFormValues>(() => {
    // The small built-in demo set makes the quickest first PoC.
    const first = datasets.find((d) => d.name === "demo-sentiment") ?? datasets.find((d) => d.builtin) ?? datasets[0];
    const start = {
      ...emptyLaunchForm(limits, methods),
      name: defaultName(),
      model: sortedModels[0]?.id ?? CUSTOM_MODEL,
    };
    return withDataset(start, first?.id ?? "", first, models, limits);
  });
  const generation = values.taskType === "generation";
  // The evaluation size the plan is judged by: the capped size, else the dataset's rows (an upper bound).
  const plannedEvalRows =
    Number(values.settings.eval_size) || (datasets.find((d) => d.id === values.datasetId)?.n_rows ?? null);
  const chosenModel = models.find((m) => m.id === values.model);
  // Chosen by hand after the dataset: an encoder cannot write completions (the server refuses the PoC).
  const encoderForGeneration = generation && values.model !== CUSTOM_MODEL && chosenModel?.kind === "encoder";
  const modelHelp = chosenModel
    ? t(`dash.models.${chosenModel.id}.help`, { defaultValue: chosenModel.description ?? "" }) || undefined
    : undefined;
  // A GPU PoC with no GPU worker online would wait for ever: the server refuses it, the form says why first.
  const noWorkerForGpu = values.device === "gpu" && workers.data?.served.gpu === 0;
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
  // Choosing the data chooses the task: a generation dataset shows its own settings and needs a decoder.
  const chooseDataset = (datasetId: string, dataset: DatasetPublic | undefined) => {
    setValues((v) => withDataset(v, datasetId, dataset, models, limits));
    clearError("datasetId");
  };
  const setSetting = (name: SettingName, text: string) => {
    setValues((v) => ({ ...v, settings: { ...v.settings, [name]: text } }));
    clearError(`settings.${name}`);
  };
  // One run setting's field, wherever the form shows it (the generation group or the advanced ones).
  const settingField = (name: SettingName) => (
    <SettingField
      key={name}
      name={name}
      limit={settingLimit(limits, name)}
      value={values.settings[name]}
      error={errors[`settings.${name}`]}
      onChange={(text) => setSetting(name, text)}
    />
  );
  const setHyper = (method: string, name: string, text: string) => {
    setValues((v) => ({ ...v, hyper: { ...v.hyper, [method]: { ...v.hyper[method], [name]: text } } }));
    clearError(`hyper.${method}.${name}`);
  };

  const launch = useMutation({
    mutationFn: (body: PocCreate) => answer(api.POST("/api/pocs", { body })),
    onSuccess: (poc) => {
      queryClient.setQueryData(queryKeys.poc(poc.id), poc);
      void queryClient.invalidateQueries({ queryKey: queryKeys.pocLists() });
      void navigate(`/pocs/${poc.id}`);
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
    const result = validateLaunchForm(values, methods, limits);
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
  const selected = methods.filter((m) => values.methods.includes(m.method));
  // The table's columns: every hyperparameter any chosen method takes, in the registry's order.
  const hyperColumns = [...new Set(selected.flatMap(hyperNamesOf))];
  const stepsMax = settingLimit(limits, "steps").maximum;
  const minutesMax = settingLimit(limits, "max_minutes").maximum;
  const positiveInteger = (text: string, fallback: number) => {
    const n = Number(text);
    return Number.isInteger(n) && n > 0 ? n : fallback;
  };
  const dtype = values.settings.dtype;

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
          <Field id="poc-model" label={t("launch.model")} help={modelHelp}>
            <select value={values.model} onChange={(e) => set("model", e.target.value)}>
              {sortedModels.map((m) => (
                <option key={m.id} value={m.id}>
                  {t(`dash.models.${m.id}.name`, { defaultValue: m.name })}
                  {m.n_params ? ` · ${t("launch.params", { value: formatCompact(lang, m.n_params) })}` : ""}
                </option>
              ))}
              <option value={CUSTOM_MODEL}>{t("launch.modelOther")}</option>
            </select>
          </Field>
          {encoderForGeneration && (
            <p role="status" className="notice notice-error" data-testid="needs-decoder">
              {t("launch.needsDecoder")}
            </p>
          )}
          {values.model === CUSTOM_MODEL && (
            <>
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
                  list="known-models"
                />
              </Field>
              <datalist id="known-models">
                {knownModels.data?.data.map((m) => (
                  <option key={m.id} value={m.id}>
                    {`${m.name} · ${t("launch.params", { value: formatCompact(lang, m.n_params) })}`}
                  </option>
                ))}
              </datalist>
            </>
          )}
        </div>
        <div>
          <Field id="poc-dataset" label={t("launch.dataset")} error={errors.datasetId}>
            <select
              value={values.datasetId}
              onChange={(e) =>
                chooseDataset(
                  e.target.value,
                  datasets.find((d) => d.id === e.target.value),
                )
              }
            >
              {datasets.map((d) => (
                <option key={d.id} value={d.id}>
                  {d.name}
                  {d.builtin ? ` (${t("launch.datasetBuiltin")})` : ""}
                  {d.n_rows != null ? ` · ${t("launch.datasetRows", { value: formatNumber(lang, d.n_rows, 0) })}` : ""}
                </option>
              ))}
            </select>
          </Field>
          <DatasetUpload model={modelForEstimate} onUploaded={(d) => chooseDataset(d.id, d)} />
        </div>
      </div>

      {/* A generation PoC's own settings, in view (not among the advanced ones) once its dataset is chosen. */}
      {generation && (
        <fieldset className="setting-group" data-testid="generation-settings">
          <legend>{t("launch.groupGeneration")}</legend>
          <p className="field-help">{t("launch.generationHelp")}</p>
          <div className="two-col">{GENERATION_SETTINGS.map(settingField)}</div>
        </fieldset>
      )}

      <fieldset aria-describedby={errors.methods ? "methods-error" : "methods-help"}>
        <legend>{t("launch.methods")}</legend>
        <p id="methods-help" className="field-help">
          {t("launch.methodsHelp", { max: limits.methods_per_poc_max })}
        </p>
        <p className="field-help glossary-terms">
          {t("dash.termsHere")}{" "}
          {LAUNCH_TERMS.map((term, i) => (
            <span key={term}>
              {i > 0 && " · "}
              <Term term={term} />
            </span>
          ))}
        </p>
        <div className="method-options">
          {methods.map((m) => (
            <label key={m.method} className="check-card" data-method={m.method} style={{ borderColor: m.color }}>
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
                <strong id={`method-${m.method}-name`}>{m.label}</strong>
                <span id={`method-${m.method}-help`} className="field-help">
                  {t(`methodHelp.${m.method}`, { defaultValue: m.description })}
                </span>
              </span>
            </label>
          ))}
        </div>
        {errors.methods && (
          <p id="methods-error" className="field-error">
            {t(errors.methods.key, errors.methods.params)}
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
            <Field
              id="poc-steps"
              label={t("launch.steps")}
              help={stepsMax == null ? undefined : t("launch.budgetMax", { max: formatNumber(lang, stepsMax, 0) })}
              error={errors.steps}
            >
              <input inputMode="numeric" value={values.steps} onChange={(e) => set("steps", e.target.value)} />
            </Field>
          ) : (
            <Field
              id="poc-minutes"
              label={t("launch.minutes")}
              help={minutesMax == null ? undefined : t("launch.budgetMax", { max: formatNumber(lang, minutesMax, 0) })}
              error={errors.minutes}
            >
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
          {workers.data?.served[values.device] === 0 && (
            <p role="status" className={values.device === "gpu" ? "notice notice-error" : "notice"}>
              {t(values.device === "gpu" ? "launch.noGpuWorker" : "launch.noCpuWorker")}
            </p>
          )}
        </fieldset>
      </div>

      <details className="advanced" open={SETTING_GROUPS.some((g) => g.names.some((n) => errors[`settings.${n}`]))}>
        <summary>{t("launch.advanced")}</summary>
        <p className="field-help">{t("launch.advancedHelp")}</p>
        {SETTING_GROUPS.map((group) => (
          <fieldset key={group.title} className="setting-group">
            <legend>{t(group.title)}</legend>
            <div className="two-col">
              {group.names.filter((name) => settingApplies(name, values.taskType)).map(settingField)}
            </div>
            {group.names.includes("eval_size") && <Detectability evalRows={plannedEvalRows} />}
          </fieldset>
        ))}
        {selected.length > 0 && hyperColumns.length > 0 && (
          <div className="table-scroll">
            <table className="hyper-table">
              <caption className="field-help">{t("launch.hyperHelp")}</caption>
              <thead>
                <tr>
                  <th scope="col">{t("compare.method")}</th>
                  {hyperColumns.map((name) => (
                    <th scope="col" key={name}>
                      {HYPER_TERMS[name] ? (
                        <Term term={HYPER_TERMS[name]}>{t(`launch.hyper.${name}`, { defaultValue: name })}</Term>
                      ) : (
                        t(`launch.hyper.${name}`, { defaultValue: name })
                      )}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {selected.map((m) => {
                  const names = hyperNamesOf(m);
                  return (
                    <tr key={m.method}>
                      <th scope="row">{m.label}</th>
                      {hyperColumns.map((name) => {
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
                              aria-label={`${m.label} ${t(`launch.hyper.${name}`, { defaultValue: name })}`}
                              aria-invalid={error ? true : undefined}
                              aria-describedby={error ? `hp-${m.method}-${name}-error` : undefined}
                              inputMode="decimal"
                              placeholder={
                                typeof fallback === "number" ? formatNumber(lang, fallback, 6) : t("launch.auto")
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

      {selected.length > 0 && modelForEstimate !== "" && (
        <FitPanel
          model={modelForEstimate}
          methods={selected.map((m) => m.method)}
          batchSize={positiveInteger(values.settings.batch_size, 16)}
          seqLen={positiveInteger(values.settings.max_length, 64)}
          dtype={dtype === "bfloat16" || dtype === "float16" ? dtype : "float32"}
          // No chosen method takes a rank: any value does, the estimate does not use it.
          rank={lowRankOf(selected, values.hyper) ?? lowRankOf(methods, {}) ?? 1}
          maxNewTokens={generation ? positiveInteger(values.settings.max_new_tokens, 24) : 0}
          gpuId={gpuId}
          onGpuChange={setGpuId}
        />
      )}

      {launch.isError && (
        <p role="alert" className="notice notice-error">
          {t("launch.launchFailed", { message: apiMessage(launch.error, t, i18n) })}
        </p>
      )}
      <div className="form-actions">
        <button type="submit" className="primary large" disabled={launch.isPending || noWorkerForGpu}>
          {launch.isPending ? t("launch.submitting") : t("launch.submit")}
        </button>
      </div>
    </form>
  );
}

/** Hyperparameters with a glossary entry, explained in the table's header. */
const HYPER_TERMS: Partial<Record<string, GlossaryTerm>> = { zo_eps: "zoEps", rank: "rank", nu: "stepInterval" };
/** Words of the methods' descriptions, explained under the methods' choice. */
const LAUNCH_TERMS: GlossaryTerm[] = ["zo", "forwardPasses", "lora", "calibration"];

/** The rank the memory estimate assumes: the one typed for (or the default of) the first chosen method with one. */
function lowRankOf(selected: readonly MethodPublic[], hyper: LaunchFormValues["hyper"]): number | undefined {
  for (const method of selected) {
    if (!("rank" in method.defaults)) continue;
    const typed = Number(hyper[method.method]?.rank ?? "");
    if (Number.isInteger(typed) && typed > 0) return typed;
    const fallback = method.defaults.rank;
    return typeof fallback === "number" ? fallback : undefined;
  }
  return undefined;
}

interface SettingFieldProps {
  name: SettingName;
  limit: FieldLimit;
  value: string;
  error: FieldError | undefined;
  onChange: (text: string) => void;
}

/**
 * One run setting: a list when the server gives choices, else a number input; empty allowed where the
 * setting is nullable (its placeholder says what empty means).
 */
function SettingField({ name, limit, value, error, onChange }: SettingFieldProps) {
  const { t } = useTranslation();
  const id = `poc-setting-${name}`;
  const label = t(`launch.settings.${name}`, { defaultValue: limit.description });
  const help = t(`launch.settingsHelp.${name}`, { defaultValue: "" }) || undefined;
  if (limit.choices) {
    return (
      <Field id={id} label={label} help={help} error={error}>
        <select value={value} onChange={(e) => onChange(e.target.value)}>
          {limit.choices.map((choice) => (
            <option key={choice} value={choice}>
              {t(`launch.choices.${name}.${choice}`, { defaultValue: choice })}
            </option>
          ))}
        </select>
      </Field>
    );
  }
  return (
    <Field id={id} label={label} help={help} error={error}>
      <input
        inputMode={limit.type === "integer" ? "numeric" : "decimal"}
        placeholder={limit.nullable ? t(`launch.settingsEmpty.${name}`, { defaultValue: "" }) : undefined}
        value={value}
        onChange={(e) => onChange(e.target.value)}
      />
    </Field>
  );
}
