import { useTranslation } from "react-i18next";
import type { GenerationExample, RunPublic } from "../api/types";
import { formatNumber } from "../i18n/format";
import { useMethods } from "../methods/useMethods";
import { chartRuns, TERMINAL_STATES } from "./shaping";

/** Example prompts the table shows at most. */
export const MAX_EXAMPLES = 5;

export interface ExampleRow {
  prompt: string;
  reference: string;
  /** Per run shown (display order): its answer to this prompt at its first and its last evaluation. */
  answers: { runId: string; method: string; start: GenerationExample | null; end: GenerationExample | null }[];
}

/**
 * The example prompts of a generation PoC, one row each (at most `max`, in the order the runs list them),
 * with every method's answer at its first and its last evaluation. The runs evaluate the same prompts; a
 * prompt is matched by its text, so a run that lacks one shows no answer there rather than another's.
 */
export function exampleRows(runs: RunPublic[], max = MAX_EXAMPLES): ExampleRow[] {
  const prompts = new Map<string, string>(); // prompt -> reference, in first-seen order
  for (const run of runs) {
    for (const at of [run.examples?.start, run.examples?.end]) {
      for (const example of at?.examples ?? []) {
        if (!prompts.has(example.prompt)) prompts.set(example.prompt, example.reference);
      }
    }
  }
  const find = (examples: GenerationExample[] | undefined, prompt: string) =>
    examples?.find((e) => e.prompt === prompt) ?? null;
  return [...prompts].slice(0, max).map(([prompt, reference]) => ({
    prompt,
    reference,
    answers: runs.map((run) => ({
      runId: run.id,
      method: run.method,
      start: find(run.examples?.start?.examples, prompt),
      end: find(run.examples?.end?.examples, prompt),
    })),
  }));
}

/** Long text cut to one line by CSS; the whole of it in the tooltip. */
function Clipped({ text }: { text: string }) {
  return (
    <span className="clip" title={text}>
      {text}
    </span>
  );
}

function Answer({ example }: { example: GenerationExample | null }) {
  const { t, i18n } = useTranslation();
  if (!example) return <span className="muted">{t("compare.examples.notYet")}</span>;
  const mark = example.exact_match ? t("compare.examples.matched") : t("compare.examples.notMatched");
  return (
    <div className="example-answer" data-match={example.exact_match}>
      {example.generated.trim() === "" ? (
        <span className="muted">{t("compare.examples.emptyAnswer")}</span>
      ) : (
        <Clipped text={example.generated} />
      )}
      <span className="example-score">
        <span
          role="img"
          aria-label={mark}
          title={mark}
          className={example.exact_match ? "match match-yes" : "match match-no"}
        >
          {example.exact_match ? "✓" : "✗"}
        </span>{" "}
        <span className="muted small">
          {t("compare.examples.f1", { value: formatNumber(i18n.language, example.f1, 2) })}
        </span>
      </span>
    </div>
  );
}

/**
 * What a generation PoC's models actually write: the same evaluation prompts answered by every method before
 * training and at the end, each answer marked as an exact match of the reference or not, with its token F1.
 */
export function GenerationExamples({ runs }: { runs: RunPublic[] }) {
  const { t } = useTranslation();
  const methods = useMethods();
  const shown = chartRuns(runs, methods);
  const rows = exampleRows(shown);
  const ended = runs.length > 0 && runs.every((r) => TERMINAL_STATES.has(r.state));

  return (
    <section className="panel" aria-labelledby="examples-title">
      <h2 id="examples-title">{t("compare.examples.title")}</h2>
      {rows.length === 0 ? (
        <p className="muted" data-testid="generation-examples-pending">
          {ended ? t("compare.examples.none") : t("compare.examples.pending")}
        </p>
      ) : (
        <>
          <p className="field-help">{t("compare.examples.intro")}</p>
          <div className="table-scroll">
            <table className="compact examples-table" data-testid="generation-examples">
              <thead>
                <tr>
                  <th scope="col" rowSpan={2}>
                    {t("compare.examples.prompt")}
                  </th>
                  <th scope="col" rowSpan={2}>
                    {t("compare.examples.reference")}
                  </th>
                  {shown.map((run) => (
                    <th key={run.id} scope="colgroup" colSpan={2} data-method={run.method}>
                      {methods.label(run.method)}
                    </th>
                  ))}
                </tr>
                <tr>
                  {shown.map((run) => {
                    const start = run.examples?.start?.step;
                    const end = run.examples?.end?.step;
                    return [
                      <th key={`${run.id}-start`} scope="col">
                        {start == null ? t("compare.examples.start") : t("compare.examples.startAt", { step: start })}
                      </th>,
                      <th key={`${run.id}-end`} scope="col">
                        {end == null
                          ? t("compare.examples.end")
                          : // while the run goes on, its last evaluation so far
                            t(TERMINAL_STATES.has(run.state) ? "compare.examples.endAt" : "compare.examples.latestAt", {
                              step: end,
                            })}
                      </th>,
                    ];
                  })}
                </tr>
              </thead>
              <tbody>
                {rows.map((row, i) => (
                  <tr key={i} data-example={i}>
                    <th scope="row" className="example-prompt">
                      <Clipped text={row.prompt} />
                    </th>
                    <td>
                      <Clipped text={row.reference} />
                    </td>
                    {row.answers.map((answer) => [
                      <td key={`${answer.runId}-start`} data-method={answer.method} data-at="start">
                        <Answer example={answer.start} />
                      </td>,
                      <td key={`${answer.runId}-end`} data-method={answer.method} data-at="end">
                        <Answer example={answer.end} />
                      </td>,
                    ])}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
}
