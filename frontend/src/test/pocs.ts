import type { PocPublic, RunPublic } from "../api/types";
import type { Me, Role } from "../auth/session";

/** A signed-in user with one role in one workspace ("who am I" as the server answers it). */
export function meAs(role: Role): Me {
  return {
    id: "u-ann",
    email: "ann@example.com",
    name: "Ann",
    is_admin: false,
    workspaces: [{ id: "w1", name: "Sales", role }],
    csrf_token: "csrf-1",
  };
}

/** A run as the API answers it; `over` sets what the test is about. */
export function run(over: Partial<RunPublic> & Pick<RunPublic, "id" | "method">): RunPublic {
  return {
    poc_id: "p1",
    hyperparams: {},
    state: "succeeded",
    cancel_requested: false,
    progress: 1,
    step: 40,
    total_steps: 40,
    forward_passes: 80,
    attempt: 1,
    queue: "cpu",
    created_at: "2026-05-01T10:00:00Z",
    started_at: "2026-05-01T10:00:01Z",
    finished_at: "2026-05-01T10:01:00Z",
    worker: "w",
    device: "cpu",
    peak_memory_mb: 400,
    baseline_memory_mb: 380,
    memory_kind: "host_rss",
    memory_added_mb: 20,
    memory_metric: "memory/peak_rss_mb",
    final_metrics: { "eval/accuracy": 0.8 },
    error: null,
    error_code: null,
    error_params: {},
    ...over,
  };
}

/** A PoC as the API answers it, with the given runs. */
export function poc(over: Partial<PocPublic> & Pick<PocPublic, "runs">): PocPublic {
  return {
    id: "p1",
    name: "Support tickets",
    model: "tiny-bert",
    dataset_id: "d1",
    dataset_name: "demo-sentiment",
    state: "succeeded",
    created_at: "2026-05-01T10:00:00Z",
    created_by: "ann@example.com",
    settings: { steps: 40 },
    last_event_seq: 0,
    ...over,
  };
}
