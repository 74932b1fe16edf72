import { cloneElement, type ReactElement } from "react";
import { useTranslation } from "react-i18next";
import type { FieldError } from "../launch/schema";

interface FieldProps {
  id: string;
  label: string;
  help?: string;
  error?: FieldError;
  children: ReactElement<{ id?: string; "aria-describedby"?: string; "aria-invalid"?: boolean }>;
}

/** A labelled control with its help and its error message wired up for screen readers. */
export function Field({ id, label, help, error, children }: FieldProps) {
  const { t } = useTranslation();
  const helpId = help ? `${id}-help` : undefined;
  const errorId = error ? `${id}-error` : undefined;
  const describedBy = [errorId, helpId].filter(Boolean).join(" ") || undefined;
  return (
    <div className={`field${error ? " field-invalid" : ""}`}>
      <label htmlFor={id}>{label}</label>
      {cloneElement(children, { id, "aria-describedby": describedBy, "aria-invalid": error ? true : undefined })}
      {error && (
        <p id={errorId} className="field-error">
          {t(error.key, error.params)}
        </p>
      )}
      {help && (
        <p id={helpId} className="field-help">
          {help}
        </p>
      )}
    </div>
  );
}
