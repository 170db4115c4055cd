import { execFile } from "node:child_process";
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { textWidth } from "../../src/internal/terminal-text.js";

// A real terminal: tmux runs test/fixtures/progress-child.ts in an 80×24 pane, where
// process.stderr is a TTY, and the test reads the screen as a user would see it. A private
// server (-S, its own socket) keeps the test away from any tmux the user runs.
const root = fileURLToPath(new URL("../../", import.meta.url));
const fixture = fileURLToPath(new URL("../fixtures/progress-child.ts", import.meta.url));
const socket = join(tmpdir(), `flowrhythm-progress-${process.pid}.sock`);
const session = `progress-${process.pid}-${Date.now()}`;
const env = { ...process.env, LANG: "C.UTF-8", LC_ALL: "C.UTF-8" };

function tmux(...args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile("/usr/bin/tmux", ["-u", "-S", socket, ...args], { env, timeout: 5_000 }, (error, stdout) =>
      error ? reject(error) : resolve(stdout),
    ),
  );
}

/** The pane's lines, scrollback included: a frame that scrolled instead of redrawing shows there. */
async function screen(): Promise<string[]> {
  const text = await tmux("capture-pane", "-p", "-S", "-", "-t", session);
  return text.replace(/\n+$/, "").split("\n");
}

/** Reads the screen until `ready` holds, or gives up after `ms`. */
async function waitForScreen(ready: (lines: string[]) => boolean, ms = 15_000): Promise<string[]> {
  const until = Date.now() + ms;
  for (;;) {
    const lines = await screen();
    if (ready(lines) || Date.now() > until) return lines;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const HEADER = /^pty-demo {2}(running|draining|drained)/;
const headers = (lines: string[]) => lines.filter((l) => HEADER.test(l)).length;
const STAGE_TABLE = /^stage\s+busy\/workers\s+peak\s+queue\s+items\/s$/;

function expectOneFrameWithin80(lines: string[]): void {
  expect(headers(lines), lines.join("\n")).toBe(1);
  expect(
    lines.filter((l) => STAGE_TABLE.test(l)),
    lines.join("\n"),
  ).toHaveLength(1);
  for (const line of lines) expect(textWidth(line), line).toBeLessThanOrEqual(80);
  expect(lines.join("\n")).not.toContain("\x1b");
}

describe("reportProgress on a real terminal (tmux)", () => {
  beforeAll(async () => {
    await tmux(
      "new-session",
      "-d",
      "-x",
      "80",
      "-y",
      "24",
      "-s",
      session,
      "-c",
      root,
      // The shell stays after the child, so its last frame and exit code can be read.
      `node --import tsx ${JSON.stringify(fixture)}; echo "exit code $?"; sleep 60`,
    );
  });

  afterAll(async () => {
    await tmux("kill-session", "-t", session).catch(() => {});
    await tmux("kill-server").catch(() => {});
    rmSync(socket, { force: true });
  });

  it("redraws one frame in place while the flow runs: stages, percent, ETA, within 80 columns", async () => {
    const running = (lines: string[]) =>
      lines.some((l) => /^pty-demo {2}running/.test(l)) && lines.some((l) => /\d+\/300 {2}\d+%/.test(l));
    const first = await waitForScreen((lines) => running(lines) && lines.some((l) => /ETA \d/.test(l)));
    expect(running(first), first.join("\n")).toBe(true);
    expectOneFrameWithin80(first);
    const text = first.join("\n");
    expect(text).toMatch(/\[#*-*\] {2}\d+\/300 {2}\d+% {2}ETA \d+\.\ds {2}[\d.]+\/s/);
    expect(text).toMatch(/^fetch\s+\d\/4\s+\d\s+\d+\/16\s+[\d.]+$/m);
    expect(text).toMatch(/^enrich-with-a-stage-name-far-too-.*…\s+\d\/1\s/m);
    expect(text).toMatch(/^配送センター\s+\d\/1\s/m);

    // Later frames replace the first: the count moves on, and there is still one frame on screen.
    const done = (lines: string[]) => Number(/(\d+)\/300/.exec(lines.join("\n"))?.[1] ?? -1);
    const later = await waitForScreen((lines) => done(lines) > done(first) && running(lines));
    expect(done(later)).toBeGreaterThan(done(first));
    expectOneFrameWithin80(later);
  });

  it("ends with one last frame of the drained flow, the redraws never scrolled", async () => {
    const end = await waitForScreen((lines) => lines.some((l) => l.startsWith("exit code")));
    expect(end).toContain("exit code 0");
    expectOneFrameWithin80(end);
    const text = end.join("\n");
    expect(text).toMatch(/^pty-demo {2}drained {2}elapsed \d+\.\ds$/m);
    expect(text).toMatch(/\[#{30}\] {2}300\/300 {2}100%/);
    expect(text).not.toContain("ETA");
    // The frame starts on the pane's first line: nothing was pushed down or scrolled off.
    expect(end[0]).toMatch(HEADER);
  });
});
