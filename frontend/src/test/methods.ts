import type { MethodPublic, MethodsPublic } from "../api/types";
import { catalogueOf } from "../methods/catalogue";

// A method registry as GET /api/methods answers it, for component tests only (the dashboard itself has no
// list of methods; the browser tests use the server's real registry).

const zo = { lr: null, zo_eps: 0.001, weight_decay: 0 };
const zoRanges = { lr: [1e-9, 0.01], zo_eps: [1e-6, 0.1], weight_decay: [0, 0.1] };

export const BUILTIN_METHODS: MethodPublic[] = [
  {
    method: "lozo",
    label: "LOZO",
    kind: "zeroth_order",
    zeroth_order: true,
    description: "low-rank zeroth-order SGD",
    color: "#0072B2",
    order: 10,
    defaults: { ...zo, rank: 2, nu: 50 },
    ranges: { ...zoRanges, rank: [1, 64], nu: [1, 100000] },
    integer_params: ["rank", "nu"],
  },
  {
    method: "adamw",
    label: "AdamW",
    kind: "first_order",
    zeroth_order: false,
    description: "backpropagation with AdamW (the baseline)",
    color: "#D55E00",
    order: 20,
    defaults: { lr: null, weight_decay: 0 },
    ranges: { lr: [1e-8, 0.1], weight_decay: [0, 0.1] },
    integer_params: [],
  },
  {
    method: "lozo_m",
    label: "LOZO-M",
    kind: "zeroth_order",
    zeroth_order: true,
    description: "LOZO with momentum",
    color: "#CC79A7",
    order: 30,
    defaults: { ...zo, rank: 2, nu: 50, beta: 0.9 },
    ranges: { ...zoRanges, rank: [1, 64], nu: [1, 100000], beta: [0, 0.999] },
    integer_params: ["rank", "nu"],
  },
  {
    method: "mezo",
    label: "MeZO",
    kind: "zeroth_order",
    zeroth_order: true,
    description: "zeroth-order SGD with full-rank noise",
    color: "#009E73",
    order: 40,
    defaults: zo,
    ranges: zoRanges,
    integer_params: [],
  },
];

/** A method only a plug-in adds: the dashboard must show it without knowing it. */
export const ZO_SIGN: MethodPublic = {
  method: "zo_sign",
  label: "ZO-Sign",
  kind: "zeroth_order",
  zeroth_order: true,
  description: "zeroth-order SGD stepping by the sign of the projected gradient",
  color: "#123456",
  order: 45,
  defaults: { lr: null, zo_eps: 0.01, weight_decay: 0 },
  ranges: { lr: [1e-9, 0.01], zo_eps: [1e-4, 0.5], weight_decay: [0, 0.1] },
  integer_params: [],
};

export const methodsAnswer = (methods: MethodPublic[] = BUILTIN_METHODS): MethodsPublic => ({
  data: methods,
  count: methods.length,
});

/** The catalogue the components build from that answer. */
export const testCatalogue = (methods: MethodPublic[] = BUILTIN_METHODS) => catalogueOf(methods);
