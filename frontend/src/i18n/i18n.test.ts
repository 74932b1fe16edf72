import { describe, expect, it } from "vitest";
import { en } from "./en";
import { ja } from "./ja";
import { detectLanguage } from "./index";
import { formatMegabytes, formatNumber, formatPercent } from "./format";

type Tree = { [key: string]: string | Tree };

function leaves(tree: Tree, prefix = ""): Map<string, string> {
  const out = new Map<string, string>();
  for (const [key, value] of Object.entries(tree)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (typeof value === "string") out.set(path, value);
    else for (const [k, v] of leaves(value, path)) out.set(k, v);
  }
  return out;
}

const enLeaves = leaves(en);
const jaLeaves = leaves(ja);
const variables = (text: string) => [...text.matchAll(/\{\{(\w+)\}\}/g)].map((m) => m[1]).sort();

describe("translations", () => {
  it("have every key in both languages", () => {
    expect([...jaLeaves.keys()].sort()).toEqual([...enLeaves.keys()].sort());
  });

  it("have no empty string", () => {
    for (const [key, value] of [...enLeaves, ...jaLeaves]) expect(value.trim(), key).not.toBe("");
  });

  it("use the same placeholders in both languages", () => {
    for (const [key, value] of enLeaves) expect(variables(jaLeaves.get(key)!), key).toEqual(variables(value));
  });

  it("translate every sentence into Japanese (no English left behind)", () => {
    for (const [key, value] of enLeaves) {
      const sentence = /[a-z]{3,}\s+[a-z]{2,}/i.test(value.replace(/\{\{\w+\}\}/g, ""));
      if (sentence) expect(jaLeaves.get(key), key).toMatch(/[\u3040-\u30ff\u4e00-\u9fff]/);
    }
  });
});

describe("language choice", () => {
  it("prefers ?lang= in the URL, then the remembered choice, then the browser", () => {
    expect(detectLanguage("?lang=ja", "en", ["en-US"])).toBe("ja");
    expect(detectLanguage("?lang=xx", "ja", ["en-US"])).toBe("ja");
    expect(detectLanguage("", null, ["ja-JP", "en"])).toBe("ja");
    expect(detectLanguage("", null, ["de-DE"])).toBe("en");
  });
});

describe("number formats follow the language", () => {
  it("formats numbers, percentages and memory per locale", () => {
    expect(formatNumber("en", 12345.678, 1)).toBe("12,345.7");
    expect(formatNumber("ja", 12345.678, 1)).toBe("12,345.7");
    expect(formatPercent("en", 0.875)).toBe("87.5%");
    expect(formatMegabytes("en", 512)).toBe("512 MB");
    expect(formatMegabytes("ja", 2048)).toBe("2 GB");
    expect(formatNumber("en", null)).toBe("—");
  });
});
