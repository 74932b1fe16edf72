import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it } from "vitest";
import i18n from "../i18n";
import { en } from "../i18n/en";
import { ja } from "../i18n/ja";
import { GLOSSARY, Term } from "./Term";

beforeEach(async () => {
  await i18n.changeLanguage("en");
});

describe("a glossary term", () => {
  it("shows its explanation on keyboard focus, as the word's accessible description", async () => {
    const user = userEvent.setup();
    render(
      <p>
        <button type="button">before</button> <Term term="zoEps" />
      </p>,
    );
    const word = screen.getByRole("button", { name: "ε (zo_eps)" });
    expect(screen.queryByRole("tooltip")).toBeNull(); // closed until asked for
    await user.tab();
    await user.tab();
    expect(word).toHaveFocus();
    const tip = screen.getByRole("tooltip");
    expect(tip).toHaveTextContent(en.dash.glossary.zoEps.text);
    expect(word).toHaveAttribute("aria-describedby", tip.id);
    expect(word).toHaveAccessibleDescription(en.dash.glossary.zoEps.text);
    await user.keyboard("{Escape}");
    expect(screen.queryByRole("tooltip")).toBeNull();
    await user.tab(); // leaving closes it too
    await user.hover(word);
    expect(screen.getByRole("tooltip")).toBeVisible();
    await user.unhover(word);
    expect(screen.queryByRole("tooltip")).toBeNull();
  });

  it("is written in the reader's language, with the given words kept", async () => {
    await i18n.changeLanguage("ja");
    const user = userEvent.setup();
    render(<Term term="mcnemar">検定</Term>);
    await user.click(screen.getByRole("button", { name: "検定" }));
    expect(screen.getByRole("tooltip")).toHaveTextContent(ja.dash.glossary.mcnemar.text);
  });

  it("has every term explained in both languages", () => {
    for (const term of GLOSSARY) {
      expect(en.dash.glossary[term].text.length, term).toBeGreaterThan(20);
      expect(ja.dash.glossary[term].text, term).toMatch(/[\u3040-\u30ff\u4e00-\u9fff]/);
    }
  });
});
