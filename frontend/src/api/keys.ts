import type { PocState, RoiTarget, XAxis } from "./types";

/** Every TanStack Query key in the app comes from here, so invalidation can target a whole family. */
export const queryKeys = {
  me: () => ["auth", "me"] as const,
  tokens: () => ["auth", "tokens"] as const,
  workspaces: () => ["workspaces", "mine"] as const,
  members: (workspaceId: string) => ["workspaces", "members", workspaceId] as const,
  allMembers: () => ["workspaces", "members"] as const,
  invites: (workspaceId: string) => ["workspaces", "invites", workspaceId] as const,
  allInvites: () => ["workspaces", "invites"] as const,
  adminUsers: () => ["admin", "users"] as const,
  adminInvites: () => ["admin", "invites"] as const,
  adminWorkspaces: () => ["admin", "workspaces"] as const,
  models: () => ["models"] as const,
  methods: () => ["methods"] as const,
  limits: () => ["limits"] as const,
  datasets: () => ["datasets"] as const,
  gpus: () => ["gpus"] as const,
  pocs: (filter: { q: string; state: PocState | "" }) => ["pocs", "list", filter] as const,
  pocLists: () => ["pocs", "list"] as const,
  poc: (id: string) => ["pocs", "detail", id] as const,
  metrics: (id: string, x: XAxis) => ["pocs", "metrics", id, x] as const,
  metricsOf: (id: string) => ["pocs", "metrics", id] as const,
  roi: (id: string, target: RoiTarget) => ["pocs", "roi", id, target] as const,
  roiOf: (id: string) => ["pocs", "roi", id] as const,
  reports: (id: string) => ["pocs", "reports", id] as const,
  memoryEstimate: (body: object) => ["estimates", "memory", body] as const,
};
