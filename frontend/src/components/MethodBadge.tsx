import { useMethods } from "../methods/useMethods";

/** A method's label with its colour (both from the registry; grey with its id when the registry lacks it). */
export function MethodBadge({ method }: { method: string }) {
  const methods = useMethods();
  const color = methods.color(method);
  return (
    <span className="badge method-badge" data-method={method} style={{ borderColor: color }}>
      <span className="swatch" aria-hidden="true" style={{ background: color }} />
      {methods.label(method)}
    </span>
  );
}
