#!/usr/bin/env bash
# Regenerates the results files the real tools wrote, which tests/test_tool_results.py reads:
#   promptfoo/{good,worse}.json   promptfoo eval --output, the echo provider (offline), two prompts
#   inspect/{good,worse}.json     inspect eval of capitals.py (a rule-based solver, no model call),
#                                 as a JSON log: the .eval archive is compressed with zstd, which
#                                 Python's zipfile cannot read before 3.14
#   lm_eval/{good,worse}/         lm-evaluation-harness's results and samples files for sums.yaml
#                                 (lm_eval/generate.py: a rule-based model, no weights)
# Needs: npm (promptfoo is fetched from the npm registry at PROMPTFOO_VERSION, or set PROMPTFOO
# to a promptfoo executable), inspect-ai (pip install inspect-ai), and lm-eval (pip install
# lm-eval; LM_EVAL_PYTHON names the python that has it). ONLY=promptfoo|inspect|lm_eval
# regenerates one. Run from anywhere; writes beside this script.
set -euo pipefail
cd "$(dirname "$0")"
PROMPTFOO_VERSION=${PROMPTFOO_VERSION:-0.121.20}
want() { [ -z "${ONLY:-}" ] || [ "$ONLY" = "$1" ]; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if want promptfoo; then
  export PROMPTFOO_DISABLE_TELEMETRY=1 PROMPTFOO_DISABLE_UPDATE=1 PROMPTFOO_CONFIG_DIR="$work/pf"
  for side in good worse; do
    cp promptfoo/promptfooconfig.yaml "$work/promptfooconfig.yaml"
    cp "promptfoo/prompt_$side.txt" "$work/prompt.txt"
    # exits 100 when a test case fails, which the worse prompt makes happen
    (cd "$work" && ${PROMPTFOO:-npx --yes "promptfoo@$PROMPTFOO_VERSION"} eval \
       -c promptfooconfig.yaml -o out.json --no-cache --no-progress-bar --no-table) \
       || [ $? -eq 100 ]
    cp "$work/out.json" "promptfoo/$side.json"
  done
fi

if want inspect; then
  for side in good worse; do
    rm -rf "$work/logs"
    WORSE=$([ $side = worse ] && echo 1 || echo 0) inspect eval inspect/capitals.py \
      --model mockllm/model --log-dir "$work/logs" --log-format json >/dev/null
    cp "$work"/logs/*.json "inspect/$side.json"
  done
fi

if want lm_eval; then
  # the task names its data file from the repository's root
  repo=$(git rev-parse --show-toplevel)
  for side in good worse; do
    rm -rf "lm_eval/$side"
    (cd "$repo" && HF_DATASETS_OFFLINE=1 "${LM_EVAL_PYTHON:-python}" \
       tests/data/tool_results/lm_eval/generate.py "$work/lm-$side" \
       $([ $side = worse ] && echo --worse))
    mkdir -p "lm_eval/$side"
    find "$work/lm-$side" -type f \( -name 'results_*.json' -o -name 'samples_*.jsonl' \) \
      -exec cp {} "lm_eval/$side/" \;
  done
fi
echo "regenerated ${ONLY:-all}"
