import type { MethodPublic } from "../api/types";

// What the dashboard knows about methods, all of it from the server's registry (GET /api/methods): label,
// colour, display order, kind and hyperparameters. The dashboard has no list of its own, so a method added
// by a plug-in appears in the form, charts, badges and tables without a change here.

/** The colour of a method the registry no longer has (a run of a removed plug-in): a neutral grey. */
export const UNKNOWN_METHOD_COLOR = "#555555";

export interface MethodCatalogue {
  /** Every registered method, in display order. */
  readonly methods: readonly MethodPublic[];
  get: (id: string) => MethodPublic | undefined;
  /** The method's label; its id when the registry does not know it. */
  label: (id: string) => string;
  /** The method's colour ("#rrggbb"); grey when the registry does not know it. */
  color: (id: string) => string;
  /** Position in display order (unknown methods after every known one). */
  rank: (id: string) => number;
  /** `items` sorted by their method's display order (stable within a method). */
  sortBy: <T>(items: readonly T[], methodOf: (item: T) => string) => T[];
  /** Whether the method trains with forward passes only; undefined when the registry does not know it. */
  isZerothOrder: (id: string) => boolean | undefined;
}

export function catalogueOf(methods: readonly MethodPublic[]): MethodCatalogue {
  const ordered = [...methods].sort((a, b) => a.order - b.order || a.method.localeCompare(b.method));
  const byId = new Map(ordered.map((m) => [m.method, m]));
  const rankOf = new Map(ordered.map((m, i) => [m.method, i]));
  const rank = (id: string) => rankOf.get(id) ?? ordered.length;
  return {
    methods: ordered,
    get: (id) => byId.get(id),
    label: (id) => byId.get(id)?.label ?? id,
    color: (id) => byId.get(id)?.color ?? UNKNOWN_METHOD_COLOR,
    rank,
    sortBy: (items, methodOf) =>
      items
        .map((item, index) => ({ item, index }))
        .sort((a, b) => rank(methodOf(a.item)) - rank(methodOf(b.item)) || a.index - b.index)
        .map((entry) => entry.item),
    isZerothOrder: (id) => byId.get(id)?.zeroth_order,
  };
}

/** Before the registry has answered (or when it failed): every method shown by its id, in grey. */
export const EMPTY_CATALOGUE = catalogueOf([]);
