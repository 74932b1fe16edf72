import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import i18n from "../i18n";
import { en } from "../i18n/en";
import { ApiError } from "../api/client";
import { apiMessage } from "../components/QueryState";
import { runReason } from "./reasons";

beforeEach(async () => {
  await i18n.changeLanguage("en");
});

const t = i18n.t.bind(i18n);

describe("why a run stopped", () => {
  it("is worded in Japanese from its code and parameters", async () => {
    await i18n.changeLanguage("ja");
    const cancelled = {
      error: "cancelled on request (SIGTERM) after finishing the current step",
      error_code: "cancelled_on_request",
      error_params: {},
    };
    expect(runReason(cancelled, t, i18n)).toBe("依頼により中止しました（実行中のステップを終えてから停止）。");
    const diverged = {
      error: "diverged: loss became nan at step 12",
      error_code: "diverged",
      error_params: { loss: "nan", step: "12" },
    };
    expect(runReason(diverged, t, i18n)).toContain("ステップ 12 で損失が nan になりました");
  });

  it("adds the optional facts the server gave as sentences of their own", async () => {
    await i18n.changeLanguage("ja");
    const killed = { error: "…", error_code: "killed_by_oom_killer", error_params: { peak_mb: "2048" } };
    expect(runReason(killed, t, i18n)).toMatch(/システムが学習を停止しました。.*ピークメモリは 2048 MB でした。$/);
    const bare = { error: "…", error_code: "killed_by_oom_killer", error_params: {} };
    expect(runReason(bare, t, i18n)).not.toContain("ピークメモリ");
  });

  it("keeps the server's English text when there is no code, or one this dashboard does not know", async () => {
    await i18n.changeLanguage("ja");
    expect(runReason({ error: "an operator's words", error_code: null, error_params: {} }, t, i18n)).toBe(
      "an operator's words",
    );
    expect(runReason({ error: "from a newer server", error_code: "brand_new", error_params: {} }, t, i18n)).toBe(
      "from a newer server",
    );
    expect(runReason({ error: null, error_code: null, error_params: {} }, t, i18n)).toBeNull();
  });

  it("has a sentence for every reason code the server writes (common/reasons.py)", () => {
    const source = readFileSync(resolve(__dirname, "../../../common/reasons.py"), "utf8");
    const codes = [...source.matchAll(/Reason\(\s*"(\w+)"/g)].map((m) => m[1]!);
    expect(codes.length).toBeGreaterThan(10);
    expect(codes.filter((code) => !(code in en.dash.reasons))).toEqual([]);
  });

  it("words the runs' coded refusals (cancel, retry) in Japanese, other refusals in the server's words", async () => {
    await i18n.changeLanguage("ja");
    const finished = new ApiError(409, "run r1 has already finished (cancelled)", [], "run_already_finished", {
      state: "cancelled",
    });
    expect(apiMessage(finished, t, i18n)).toBe("この実行はすでに終了しているため、中止できません。");
    const newer = new ApiError(409, "lozo already has a newer attempt that is queued", [], "newer_attempt_exists", {
      method: "LOZO",
      state: "queued",
    });
    expect(apiMessage(newer, t, i18n)).toBe("LOZO にはすでに新しい試行があります。そちらを再実行してください。");
    expect(apiMessage(new ApiError(409, "something else", [], "unheard_of"), t, i18n)).toBe("something else");
  });
});
