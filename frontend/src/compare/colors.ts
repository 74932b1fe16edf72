import type { MethodId } from "../api/types";

// One colour per method across every chart, badge and table (Okabe–Ito palette: distinguishable
// with colour-blindness and on a washed-out projector). LOZO gets the strong blue, AdamW the
// vermillion, so the comparison the product is about is the clearest contrast.
const COLORS: Record<MethodId, string> = {
  lozo: "#0072B2",
  adamw: "#D55E00",
  mezo: "#009E73",
  lozo_m: "#CC79A7",
  sgd: "#8C6D00",
};
const FALLBACK = "#555555";

export function methodColor(method: string): string {
  return COLORS[method as MethodId] ?? FALLBACK;
}

/** Display order: LOZO first, the AdamW baseline next, then the others. */
export const METHOD_ORDER: MethodId[] = ["lozo", "adamw", "lozo_m", "mezo", "sgd"];

export function methodRank(method: string): number {
  const i = METHOD_ORDER.indexOf(method as MethodId);
  return i === -1 ? METHOD_ORDER.length : i;
}
