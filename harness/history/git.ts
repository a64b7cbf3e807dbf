/** Where a commit sits in git, for a history record: its first parent, and its branch when the checkout or CI says. */
import { spawnSync } from "node:child_process";

/** What a git command prints in `dir`, trimmed; undefined when it fails or prints nothing. */
export const gitOut = (dir: string, args: string[]): string | undefined => {
  const r = spawnSync("git", ["-C", dir, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  return r.status === 0 ? r.stdout.trim() || undefined : undefined;
};

/**
 * The first parent of `commit` (the trend follows first parents, as `git log --first-parent`),
 * read in the first of `dirs` that holds the commit, and its branch: the checkout's branch when
 * its HEAD is the commit, else the CI's (GitHub Actions' GITHUB_REF_NAME, when GITHUB_SHA is the
 * commit). Either is undefined where git cannot tell (a shallow clone has no parent).
 */
export function commitPlace(
  dirs: readonly string[],
  commit: string,
  env: Readonly<NodeJS.ProcessEnv>,
): { parent?: string; branch?: string } {
  const dir = dirs.find((d) => hasCommit(d, commit));
  if (!dir) return {};
  const parent = gitOut(dir, ["rev-parse", "--verify", "-q", `${commit}^1`]);
  const head = gitOut(dir, ["rev-parse", "HEAD"]);
  const ci = env.GITHUB_SHA === commit ? env.GITHUB_REF_NAME || undefined : undefined;
  const branch = head === commit ? (gitOut(dir, ["symbolic-ref", "--short", "-q", "HEAD"]) ?? ci) : ci;
  return { ...(parent ? { parent } : {}), ...(branch ? { branch } : {}) };
}

/** `git cat-file -e` prints nothing on success: its exit status is the answer. */
const hasCommit = (dir: string, commit: string): boolean =>
  spawnSync("git", ["-C", dir, "cat-file", "-e", `${commit}^{commit}`]).status === 0;
