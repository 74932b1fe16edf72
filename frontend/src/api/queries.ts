import { queryOptions } from "@tanstack/react-query";
import type { WorkspaceRole } from "../auth/session";
import { apiFetch, postJson } from "./client";
import { queryKeys } from "./keys";
import type {
  DatasetPublic,
  GpuPublic,
  InvitePublic,
  ListOf,
  Member,
  MemoryEstimate,
  MemoryEstimateRequest,
  MethodPublic,
  MetricsPublic,
  ModelPublic,
  PocPublic,
  RoiPublic,
  RoiTarget,
  TokenPublic,
  UserPublic,
  WorkspaceSummary,
  XAxis,
} from "./types";

/** The metric names the comparison view draws. */
export const CHART_METRICS = ["train/loss", "memory/peak_rss_mb", "eval/accuracy"] as const;
/** The API downsamples each series to at most this many points. */
export const MAX_POINTS = 2000;

// One small query-options factory per resource: components call useQuery(xxxQuery(...)).

export const modelsQuery = () =>
  queryOptions({
    queryKey: queryKeys.models(),
    queryFn: () => apiFetch<ListOf<ModelPublic>>("/api/models"),
    staleTime: 5 * 60_000,
  });

export const methodsQuery = () =>
  queryOptions({
    queryKey: queryKeys.methods(),
    queryFn: () => apiFetch<ListOf<MethodPublic>>("/api/methods"),
    staleTime: 5 * 60_000,
  });

export const datasetsQuery = () =>
  queryOptions({
    queryKey: queryKeys.datasets(),
    queryFn: () => apiFetch<ListOf<DatasetPublic>>("/api/datasets"),
  });

export const gpusQuery = () =>
  queryOptions({
    queryKey: queryKeys.gpus(),
    queryFn: () => apiFetch<ListOf<GpuPublic>>("/api/gpus"),
    staleTime: 5 * 60_000,
  });

export const pocsQuery = (filter: { q: string; state: string }) =>
  queryOptions({
    queryKey: queryKeys.pocs(filter),
    queryFn: () => {
      const params = new URLSearchParams({ limit: "200" });
      if (filter.q) params.set("q", filter.q);
      if (filter.state) params.set("state", filter.state);
      return apiFetch<ListOf<PocPublic>>(`/api/pocs?${params}`);
    },
    // The list has no live stream; a gentle poll keeps states and progress current.
    refetchInterval: 5000,
  });

export const pocQuery = (id: string) =>
  queryOptions({
    queryKey: queryKeys.poc(id),
    queryFn: () => apiFetch<PocPublic>(`/api/pocs/${encodeURIComponent(id)}`),
  });

export const metricsQuery = (id: string, x: XAxis) =>
  queryOptions({
    queryKey: queryKeys.metrics(id, x),
    queryFn: () => {
      const params = new URLSearchParams({ names: CHART_METRICS.join(","), x, max_points: String(MAX_POINTS) });
      return apiFetch<MetricsPublic>(`/api/pocs/${encodeURIComponent(id)}/metrics?${params}`).then((data) => {
        // Start of the measured render time: the data has arrived and is parsed.
        performance.mark("zopoc:metrics-arrived");
        return data;
      });
    },
  });

export const roiQuery = (id: string, target: RoiTarget) =>
  queryOptions({
    queryKey: queryKeys.roi(id, target),
    queryFn: () => apiFetch<RoiPublic>(`/api/pocs/${encodeURIComponent(id)}/roi?target=${target}`),
  });

export const memoryEstimateQuery = (body: MemoryEstimateRequest) =>
  queryOptions({
    queryKey: queryKeys.memoryEstimate(body),
    queryFn: () => postJson<MemoryEstimate>("/api/estimates/memory", body),
    staleTime: 60_000,
  });

// Accounts: what the account screens read. Changes go through useMutation in the screens, which then
// invalidate these keys.

export const tokensQuery = () =>
  queryOptions({
    queryKey: queryKeys.tokens(),
    queryFn: () => apiFetch<ListOf<TokenPublic>>("/api/auth/tokens"),
  });

export const workspacesQuery = () =>
  queryOptions({
    queryKey: queryKeys.workspaces(),
    queryFn: () => apiFetch<ListOf<WorkspaceRole>>("/api/workspaces"),
  });

export const membersQuery = (workspaceId: string) =>
  queryOptions({
    queryKey: queryKeys.members(workspaceId),
    queryFn: () => apiFetch<ListOf<Member>>(`/api/workspaces/${encodeURIComponent(workspaceId)}/members`),
  });

/** Pending invitations into a workspace (owners). */
export const invitesQuery = (workspaceId: string) =>
  queryOptions({
    queryKey: queryKeys.invites(workspaceId),
    queryFn: () => apiFetch<ListOf<InvitePublic>>(`/api/workspaces/${encodeURIComponent(workspaceId)}/invites`),
  });

/** Every pending invitation (administrators). */
export const adminInvitesQuery = () =>
  queryOptions({
    queryKey: queryKeys.adminInvites(),
    queryFn: () => apiFetch<ListOf<InvitePublic>>("/api/admin/invites"),
  });

export const adminUsersQuery = () =>
  queryOptions({
    queryKey: queryKeys.adminUsers(),
    queryFn: () => apiFetch<ListOf<UserPublic>>("/api/admin/users"),
  });

export const adminWorkspacesQuery = () =>
  queryOptions({
    queryKey: queryKeys.adminWorkspaces(),
    queryFn: () => apiFetch<ListOf<WorkspaceSummary>>("/api/admin/workspaces"),
  });
