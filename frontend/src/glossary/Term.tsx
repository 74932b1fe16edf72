import { useId, useState, type ReactNode } from "react";
import { useTranslation } from "react-i18next";

export const GLOSSARY = [
  "zo",
  "forwardPasses",
  "zoEps",
  "rank",
  "stepInterval",
  "mcnemar",
  "pValue",
  "calibration",
  "lora",
] as const;
export type GlossaryTerm = (typeof GLOSSARY)[number];

/**
 * A word of the trade with its explanation: the word is a button (reachable with Tab) whose tooltip opens on
 * keyboard focus, hover or a click, closes with Escape, and is its accessible description (aria-describedby),
 * so a screen reader reads the explanation with the word.
 */
export function Term({ term, children }: { term: GlossaryTerm; children?: ReactNode }) {
  const { t } = useTranslation();
  const tipId = useId();
  const [open, setOpen] = useState(false);
  const word = t(`dash.glossary.${term}.term`);
  return (
    <span className="term" onMouseEnter={() => setOpen(true)} onMouseLeave={() => setOpen(false)}>
      <button
        type="button"
        className="term-word"
        data-term={term}
        aria-describedby={tipId}
        onFocus={() => setOpen(true)}
        onBlur={() => setOpen(false)}
        onClick={() => setOpen(true)}
        onKeyDown={(e) => {
          if (e.key === "Escape") setOpen(false);
        }}
      >
        {children ?? word}
      </button>
      <span role="tooltip" id={tipId} className="term-tip" hidden={!open}>
        {t(`dash.glossary.${term}.text`)}
      </span>
    </span>
  );
}
