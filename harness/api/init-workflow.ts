/**
 * The GitHub Actions workflow `perfpack init` writes: three jobs in one file. `gate` gates each
 * pull request against its merge base; `record` gates each push to the default branch against the
 * branch's previous tip (its first parent on a new branch) and keeps the gate in the run history, so that the default branch's gates form a
 * chain of paired links; `history` reads that history every week (trend, change points, creep)
 * and fails when a regression stands. The history store is one SQLite file kept on a git branch
 * of its own (the reasons are in the workflow's comments and docs/cli.md, "CI").
 */

/** The git branch that holds the history store: one orphan commit with one file, history.db. */
export const HISTORY_BRANCH = "perfpack-history";
/** The store in the job's working directory: `perfpack history add`'s default. */
const STORE = ".perfpack/history.db";
/** The commit of the branch the store was fetched from (empty: none yet): the lease of the next push. */
const BASE = ".perfpack/history.base";

/** `text` with every line but empty ones indented by `n` spaces: a shell script inside a YAML block scalar. */
const indent = (text: string, n: number): string =>
  text
    .split("\n")
    .map((l) => (l ? " ".repeat(n) + l : l))
    .join("\n");

/**
 * Fetches the store from the branch into .perfpack/ and remembers the commit it came from. No
 * branch yet is not an error: the base is then empty, so the first push must create the branch.
 * ls-remote exits 2 for "no such ref"; anything else (the network, a token) is a failure.
 */
const FETCH_STORE = `mkdir -p .perfpack && rm -f ${STORE} ${BASE}
found=0
git ls-remote --exit-code origin "refs/heads/$PERFPACK_HISTORY_BRANCH" > /dev/null || found=$?
if [ "$found" = 0 ]; then
  git fetch -q --no-tags origin "+refs/heads/$PERFPACK_HISTORY_BRANCH:refs/remotes/origin/$PERFPACK_HISTORY_BRANCH"
  git rev-parse "refs/remotes/origin/$PERFPACK_HISTORY_BRANCH" > ${BASE}
  git cat-file blob "$(cat ${BASE}):history.db" > ${STORE}
elif [ "$found" = 2 ]; then
  : > ${BASE}
else
  exit "$found"
fi`;

/**
 * Publishes the store as ONE orphan commit that replaces the branch, leased on the commit it was
 * fetched from. When another job pushed meanwhile the lease fails: fetch the store again, add
 * this gate to it (`history add` is idempotent by run id), and push again.
 */
const PUBLISH_STORE = `for attempt in 1 2 3 4 5; do
  blob=$(git hash-object -w ${STORE})
  tree=$(printf '100644 blob %s\\thistory.db\\n' "$blob" | git mktree)
  commit=$(git -c user.name=perfpack -c user.email=perfpack@users.noreply.github.com \\
    commit-tree "$tree" -m "perfpack history store, after $GITHUB_SHA")
  if git push -q --force-with-lease="refs/heads/$PERFPACK_HISTORY_BRANCH:$(cat ${BASE})" \\
    origin "$commit:refs/heads/$PERFPACK_HISTORY_BRANCH"; then
    echo "history: the store is on the $PERFPACK_HISTORY_BRANCH branch ($commit)"
    exit 0
  fi
  echo "history: the branch moved since the store was fetched (another job appended): adding this gate to its new store"
  sleep "$attempt"
${indent(FETCH_STORE, 2)}
  npx perfpack history add perfpack-gate --history ${STORE}
done
echo "::error::the history store could not be pushed to $PERFPACK_HISTORY_BRANCH in 5 attempts"
exit 1`;

/** The pull-request gate, as before: the pull request against its merge base. */
function gateJob(wd: string, artifact: string): string {
  return `  # each pull request against its merge base
  gate:
    if: github.event_name == 'pull_request'
    runs-on: ubuntu-latest${wd}
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0 # the merge base must be in the clone
      - uses: actions/setup-node@v4
        with:
          node-version: 20
      - run: npm ci
      # the built merge-base trees are kept across runs, keyed by commit and lockfile
      - uses: actions/cache@v4
        with:
          path: ~/.cache/perfpack/revisions
          key: perfpack-revisions-\${{ github.base_ref }}-\${{ hashFiles('**/package-lock.json') }}
      # options (executorCmd, scenarios, maxRegression, budget …) come from perfpack.config.json
      - name: Gate against the merge base
        run: npx perfpack gate --baseline-ref "$(git merge-base HEAD origin/\${{ github.base_ref }})" --out perfpack-gate
      - if: always()
        uses: actions/upload-artifact@v4
        with:
          name: perfpack-gate
          path: ${artifact}perfpack-gate/
`;
}

/**
 * The default branch's record: each push gated against the branch's previous tip (the push's
 * `before`), so that the links chain without gaps when one push brings several commits; against
 * the first parent when there is no previous tip (a new branch).
 */
function recordJob(wd: string, artifact: string): string {
  return `  # each push to the default branch against the branch's previous tip (one push of several commits
  # is one link, so the chain the history follows has no gap), else its first parent. A regression
  # is recorded first, then fails the job.
  record:
    if: github.event_name == 'push'
    runs-on: ubuntu-latest${wd}
    permissions:
      contents: write # to push the ${HISTORY_BRANCH} branch
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-depth: 2 # the pushed commit and its first parent (the previous tip is fetched below)
      - uses: actions/setup-node@v4
        with:
          node-version: 20
      - run: npm ci
      # the same key as the pull requests into this branch: they restore what this job saves
      - uses: actions/cache@v4
        with:
          path: ~/.cache/perfpack/revisions
          key: perfpack-revisions-\${{ github.ref_name }}-\${{ hashFiles('**/package-lock.json') }}
      - name: Fetch the history store
        run: |
${indent(FETCH_STORE, 10)}
      - name: Gate against the previous tip, recorded in the history
        id: gate
        env:
          BEFORE: \${{ github.event.before }}
        run: |
          base=HEAD^
          if [ -n "$BEFORE" ] && [ "$BEFORE" != 0000000000000000000000000000000000000000 ]; then
            git cat-file -e "$BEFORE^{commit}" 2> /dev/null || git fetch -q --depth=1 origin "$BEFORE" 2> /dev/null || true
            if git rev-parse -q --verify "$BEFORE^{commit}" > /dev/null; then base=$BEFORE; fi
          fi
          if ! git rev-parse -q --verify "$base^{commit}" > /dev/null; then
            echo "::notice::$GITHUB_SHA has no parent: nothing to gate it against"
            exit 0
          fi
          code=0
          npx perfpack gate --baseline-ref "$base" --history ${STORE} --out perfpack-gate || code=$?
          echo "code=$code" >> "$GITHUB_OUTPUT"
      # 0 pass (or inconclusive), 1 regression: both are in the store; 2 and 3 recorded nothing
      - name: Publish the history store
        if: steps.gate.outputs.code == '0' || steps.gate.outputs.code == '1'
        run: |
${indent(PUBLISH_STORE, 10)}
      - if: always()
        uses: actions/upload-artifact@v4
        with:
          name: perfpack-gate
          path: ${artifact}perfpack-gate/
      - name: Fail on the gate's outcome
        if: steps.gate.outputs.code != '' && steps.gate.outputs.code != '0'
        run: exit "\${{ steps.gate.outputs.code }}"
`;
}

/** The weekly read of the history: exit 1 (a change point or creep stands) fails the job. */
function historyJob(wd: string, artifact: string): string {
  return `  # every week (and on demand): trends, change points and creep along the default branch
  history:
    if: github.event_name == 'schedule' || github.event_name == 'workflow_dispatch'
    runs-on: ubuntu-latest${wd}
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0 # the tags and first parents the trend is read along
      - uses: actions/setup-node@v4
        with:
          node-version: 20
      - run: npm ci
      - name: Fetch the history store
        id: store
        run: |
${indent(FETCH_STORE, 10)}
          if [ -s ${BASE} ]; then
            echo "found=true" >> "$GITHUB_OUTPUT"
          else
            echo "No perfpack history yet: the $PERFPACK_HISTORY_BRANCH branch does not exist (the record job creates it on the first push it gates)." | tee -a "$GITHUB_STEP_SUMMARY"
          fi
      - name: Trend, change points and creep
        if: steps.store.outputs.found == 'true'
        run: |
          code=0
          npx perfpack history --history ${STORE} --out perfpack-history || code=$?
          if [ -f perfpack-history/history.md ]; then cat perfpack-history/history.md >> "$GITHUB_STEP_SUMMARY"; fi
          exit "$code"
      - if: always() && steps.store.outputs.found == 'true'
        uses: actions/upload-artifact@v4
        with:
          name: perfpack-history
          path: ${artifact}perfpack-history/
`;
}

const HEADER = `# perfpack (written by \`perfpack init\`): three jobs.
# - gate (pull requests): the pull request against its merge base. perfpack builds the merge base in
#   a cached tree (npm ci, then npm run build when package.json has a build script; --build-cmd
#   changes that), runs its service beside the pull request's, interleaved in one run, and adds
#   rounds until every gate metric is decided or --budget ends. The Markdown report goes into the
#   job summary. Exit codes: 0 pass (or inconclusive: a warning; --strict makes it 1),
#   1 regression, 2 bad revision or options, 3 a service crashed, never became ready, or the
#   baseline did not build.
# - record (pushes to the default branch): the same gate against the branch's previous tip (the
#   push's before; its first parent on a new branch), kept in the run history (.perfpack/history.db, SQLite). The product of these paired links is a trend
#   free of the drift between CI machines, and shows a slow creep that passes every single gate.
# - history (weekly, and on demand): trends, change points and creep from the history; fails when a
#   regression stands.
#
# Where the history lives between jobs: on the ${HISTORY_BRANCH} branch of this repository, as ONE
# orphan commit holding history.db, replaced on each append (so the branch does not pile up old
# copies of a binary file). It is durable and readable with git fetch, and the push is leased on the
# commit the store was fetched from: when two jobs append at once, the second push is refused, and
# that job fetches the new store, adds its gate to it and pushes again, so nothing is lost. The
# Actions cache was not chosen: it is evicted after 7 days unused and a saved key cannot be
# updated. Nor artifacts: they expire (90 days at most), and reading another run's needs its run
# id. No concurrency group either: it would cancel a queued push's job, and lose that link.
name: perfpack
`;

/**
 * The workflow. `sub` is the config's folder within the repository (a monorepo's package), where
 * every job runs; `branch` the default branch whose pushes are recorded.
 */
export function workflowText(sub: string, branch: string): string {
  const wd = sub ? `\n    defaults:\n      run:\n        working-directory: ${sub}` : "";
  const artifact = sub ? `${sub}/` : "";
  return `${HEADER}
on:
  pull_request:
  push:
    branches: [${JSON.stringify(branch)}] # the default branch (change it here if it is another)
  schedule:
    - cron: "0 6 * * 1" # Mondays, 06:00 UTC
  workflow_dispatch:

permissions:
  contents: read

env:
  PERFPACK_HISTORY_BRANCH: ${HISTORY_BRANCH}

jobs:
${gateJob(wd, artifact)}
${recordJob(wd, artifact)}
${historyJob(wd, artifact)}`;
}
