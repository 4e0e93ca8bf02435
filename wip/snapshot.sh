#!/usr/bin/env bash
# Save every helper worktree's state (commits + uncommitted + untracked) as a binary patch against main's base.
base=${BASE:-b8f86e9}
for wt in /work/wt-*; do
  [ -d "$wt" ] || continue
  name=$(basename "$wt"); name=${name#wt-}
  idx=$(mktemp); rm -f "$idx"
  ( cd "$wt" && cp "$(git rev-parse --git-dir)/index" "$idx" 2>/dev/null; GIT_INDEX_FILE=$idx git add -A -- . ':!.venv' 2>/dev/null; tree=$(GIT_INDEX_FILE=$idx git write-tree); git diff --binary "$base" "$tree" > /work/main/wip/$name.s2.patch )
  rm -f "$idx"
  echo "$name: $(grep -c '^diff --git' /work/main/wip/$name.s2.patch) files, $(git -C "$wt" log --oneline $base..HEAD | wc -l) commits"
done
