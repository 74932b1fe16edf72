import { useEffect, useRef, useState } from "react";

interface ConfirmButtonProps {
  /** The button's text ("Revoke") and its full name for screen readers ("Revoke the token ci"). */
  label: string;
  accessibleLabel: string;
  /** The question asked in place before anything happens. */
  question: string;
  confirmLabel: string;
  cancelLabel: string;
  disabled?: boolean;
  onConfirm: () => void;
}

/** A destructive action that asks first, in place (no modal): the button turns into a question. */
export function ConfirmButton(props: ConfirmButtonProps) {
  const [asking, setAsking] = useState(false);
  const trigger = useRef<HTMLButtonElement>(null);
  const cancel = useRef<HTMLButtonElement>(null);
  const wasAsking = useRef(false);

  useEffect(() => {
    // Keyboard users land on the safe choice when asked, and back on the button after cancelling.
    if (asking) cancel.current?.focus();
    else if (wasAsking.current) trigger.current?.focus();
    wasAsking.current = asking;
  }, [asking]);

  if (!asking) {
    return (
      <button
        ref={trigger}
        type="button"
        className="danger"
        aria-label={props.accessibleLabel}
        disabled={props.disabled}
        onClick={() => setAsking(true)}
      >
        {props.label}
      </button>
    );
  }
  return (
    <div role="group" aria-label={props.accessibleLabel} className="confirm">
      <p className="confirm-question">{props.question}</p>
      <div className="button-row">
        <button
          type="button"
          className="danger"
          disabled={props.disabled}
          onClick={() => {
            wasAsking.current = false; // the row changes after this: no focus jump back
            setAsking(false);
            props.onConfirm();
          }}
        >
          {props.confirmLabel}
        </button>
        <button ref={cancel} type="button" onClick={() => setAsking(false)}>
          {props.cancelLabel}
        </button>
      </div>
    </div>
  );
}
