#!/usr/bin/env bash
# Regenerates the results files the real tools wrote, which tests/test_tool_results.py reads:
#   promptfoo/{good,worse}.json   promptfoo eval --output, the echo provider (offline), two prompts
#   inspect/{good,worse}.json     inspect eval of capitals.py (a rule-based solver, no model call),
#                                 as a JSON log: the .eval archive is compressed with zstd, which
#                                 Python's zipfile cannot read before 3.14
# Needs: npm (promptfoo is fetched from the npm registry at PROMPTFOO_VERSION), and inspect-ai
# (pip install inspect-ai==$INSPECT_VERSION). Run from anywhere; writes beside this script.
set -euo pipefail
cd "$(dirname "$0")"
PROMPTFOO_VERSION=${PROMPTFOO_VERSION:-0.121.20}
INSPECT_VERSION=$(python -c 'import inspect_ai; print(inspect_ai.__version__)')
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

export PROMPTFOO_DISABLE_TELEMETRY=1 PROMPTFOO_DISABLE_UPDATE=1 PROMPTFOO_CONFIG_DIR="$work/pf"
for side in ${ONLY_INSPECT:+none} good worse; do
  [ "$side" = none ] && continue
  cp promptfoo/promptfooconfig.yaml "$work/promptfooconfig.yaml"
  cp "promptfoo/prompt_$side.txt" "$work/prompt.txt"
  # exits 100 when a test case fails, which the worse prompt makes happen
  (cd "$work" && ${PROMPTFOO:-npx --yes "promptfoo@$PROMPTFOO_VERSION"} eval -c promptfooconfig.yaml \
     -o out.json --no-cache --no-progress-bar --no-table) || [ $? -eq 100 ]
  cp "$work/out.json" "promptfoo/$side.json"
done

for side in good worse; do
  rm -rf "$work/logs"
  WORSE=$([ $side = worse ] && echo 1 || echo 0) inspect eval inspect/capitals.py \
    --model mockllm/model --log-dir "$work/logs" --log-format json >/dev/null
  cp "$work"/logs/*.json "inspect/$side.json"
done
echo "regenerated with promptfoo $PROMPTFOO_VERSION and inspect-ai $INSPECT_VERSION"
