import { useEffect, useId, useRef, useState } from "react";
import { useTranslation } from "react-i18next";

interface OneTimeSecretProps {
  title: string;
  /** Why to copy it now: the server will never show it again. */
  warning: string;
  label: string;
  value: string;
  /** Hides the secret for good (the caller forgets it). */
  onDone: () => void;
  testId?: string;
}

/**
 * A secret the server answers only once (an API token, an invitation link): shown with a copy button
 * until the user says they have it. Focus goes to the text, selected, so copying by keyboard works too.
 */
export function OneTimeSecret({ title, warning, label, value, onDone, testId }: OneTimeSecretProps) {
  const { t } = useTranslation();
  const id = useId();
  const input = useRef<HTMLInputElement>(null);
  const [copy, setCopy] = useState<"idle" | "copied" | "failed">("idle");

  useEffect(() => {
    input.current?.focus();
    input.current?.select();
  }, [value]);

  const copyValue = async () => {
    try {
      await navigator.clipboard.writeText(value);
      setCopy("copied");
    } catch {
      // No clipboard (plain http on another host, or permission refused): leave it ready to copy by hand.
      input.current?.focus();
      input.current?.select();
      setCopy("failed");
    }
  };

  return (
    <section className="secret-once" aria-labelledby={`${id}-title`} data-testid={testId}>
      <h3 id={`${id}-title`}>{title}</h3>
      <p id={`${id}-warning`} className="secret-warning">
        {warning}
      </p>
      <div className="field">
        <label htmlFor={`${id}-value`}>{label}</label>
        <input
          id={`${id}-value`}
          ref={input}
          readOnly
          value={value}
          spellCheck={false}
          aria-describedby={`${id}-warning`}
          onFocus={(e) => e.currentTarget.select()}
        />
      </div>
      <div className="button-row">
        <button type="button" className="primary" onClick={() => void copyValue()}>
          {copy === "copied" ? t("secret.copied") : t("secret.copy")}
        </button>
        <button type="button" onClick={onDone}>
          {t("secret.done")}
        </button>
      </div>
      {copy === "failed" && (
        <p role="status" className="field-help">
          {t("secret.copyFailed")}
        </p>
      )}
    </section>
  );
}
