#!/usr/bin/env bash
# The paper's ablation (Table 6) and STGT's additions, with the same budget and seed for
# every variant: contrastive only / + grounding / + temporal / all three (S-ViLM) /
# all + CSAL / all with stgraph attention.  Each variant is pre-trained, then evaluated on
# the validation split (retrieval, grounding, scene cuts); a Markdown report with a table and each
# run's curves (svilm-train plot) goes to OUT/report.md.
#
#   scripts/ablate.sh MANIFEST OUT          (STEPS=600 BATCH=16 LR=5e-4 SEED=1 CONFIG=tiny
#                                            EXTRA="--contrast-warmup 100", flags for every run;
#                                            SCENECUT_VIDEOS=300 validation videos for scene cuts;
#                                            ONLY="1 4": run only these variants, numbered
#                                            from 0 in the list below)
#
# A first variant trains contrastively on whole videos (no cut-and-paste), the baseline the
# others' cut-and-paste batches are measured against.  Short runs of the S-ViLM objective
# from scratch can sit at the collapsed point (docs/training.md, "What drives the
# collapse"): give every variant the same contrastive warm-up with EXTRA.
#
# MANIFEST: e.g. svilm-train synth's manifest.jsonl (it needs train and val splits, and
# ground truth for grounding).  On the 2-core development machine a 600-step tiny run
# takes about 6 minutes, so the seven take about 45 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
manifest=${1:?usage: scripts/ablate.sh MANIFEST OUT}
out=${2:?usage: scripts/ablate.sh MANIFEST OUT}
steps=${STEPS:-600}
batch=${BATCH:-16}
lr=${LR:-5e-4}
seed=${SEED:-1}
config=${CONFIG:-tiny}
extra=${EXTRA:-}
SCENECUT_VIDEOS=${SCENECUT_VIDEOS:-300}
only=${ONLY:-}
[ -d build ] || meson setup build >/dev/null
ninja -C build >/dev/null
train=build/train/svilm-train
mkdir -p "$out"

# name | flags
variants=(
  "contrastive, whole videos|--no-cut-paste --loss-temporal 0 --loss-grounding 0"
  "contrastive|--loss-temporal 0 --loss-grounding 0"
  "contrastive+grounding|--loss-temporal 0"
  "contrastive+temporal|--loss-grounding 0"
  "s-vilm (all three)|"
  "all + csal|--loss-csal 1"
  "all, stgraph attention, groups only by grouping blocks|STGRAPH"
)

stgraph_config() {
  # the preset with STGT's graph attention (model config fields: docs/training.md).  The
  # banded graph has no place for group tokens, so this variant also runs without
  # groups_in_layers: it differs from "all" in both (its name in the report says so).
  printf '{"preset": "%s", "attention": "stgraph", "groups_in_layers": false, "stgraph_theta": 0.5}\n' "$config" >"$out/stgraph.json"
  echo "$out/stgraph.json"
}

report="$out/report.md"
{
  echo "# Ablation: $steps steps of batch $batch, AdamW lr $lr, seed $seed, config $config ${extra:+(and $extra)}"
  echo
  echo "Evaluated on the validation split of \`$manifest\` (retrieval: all its videos and"
  echo "captions; grounding: the pointing game; scene cuts: the first $SCENECUT_VIDEOS videos, F1 at"
  echo "svilmscenecut's default threshold and at the best one)."
  echo
  echo "| variant | t2v R@1 | t2v R@10 | t2v MedR | v2t R@1 | pointing game | scene-cut F1 (default 0.2 / best) | final loss (c / g / t) |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
} >"$report"

i=0
for v in "${variants[@]}"; do
  if [ -n "$only" ] && [[ " $only " != *" $i "* ]]; then
    i=$((i + 1))
    continue
  fi
  name=${v%%|*}
  flags=${v#*|}
  dir="$out/run$i"
  cfg=$config
  if [ "$flags" = STGRAPH ]; then
    cfg=$(stgraph_config)
    flags=
  fi
  rm -rf "$dir"
  echo "ablate: $name"
  # shellcheck disable=SC2086
  "$train" pretrain --config "$cfg" --data "$manifest" --out "$dir" --steps "$steps" \
    --batch "$batch" --optim adamw --lr "$lr" --clip-grad 1 --seed "$seed" \
    --checkpoint-every 100000 $extra $flags >"$dir.log" 2>&1
  "$train" plot "$dir" >/dev/null
  "$train" eval -m "$dir/model.safetensors" -d "$manifest" -t retrieval -s val -q \
    -o "$dir/retrieval.json" >/dev/null
  "$train" eval -m "$dir/model.safetensors" -d "$manifest" -t grounding -s val -q \
    -o "$dir/grounding.json" >/dev/null
  "$train" eval -m "$dir/model.safetensors" -d "$manifest" -t scenecut -s val -q \
    -n "$SCENECUT_VIDEOS" --ffmpeg none -o "$dir/scenecut.json" >/dev/null
  /usr/bin/python3 - "$dir" "$name" >>"$report" <<'PY'
import json, sys
d, name = sys.argv[1], sys.argv[2]
r = json.load(open(d + "/retrieval.json"))["retrieval"]
g = json.load(open(d + "/grounding.json"))["grounding"]
s = json.load(open(d + "/scenecut.json"))["scenecut"]["svilm"]
rows = [json.loads(l) for l in open(d + "/metrics.jsonl")]
last = rows[-50:]
mean = lambda k: sum(x[k] for x in last) / len(last)
print("| %s | %.1f | %.1f | %g | %.1f | %.1f %% | %.3f / %.3f | %.3f / %.3f / %.4f |" % (
    name, r["t2v"]["r1"], r["t2v"]["r10"], r["t2v"]["medr"], r["v2t"]["r1"],
    g["pointing_game"], s["default"]["f1"], s["best"]["f1"],
    mean("loss_contrast"), mean("loss_grounding"), mean("loss_temporal")))
PY
  i=$((i + 1))
done
{
  echo
  echo "Curves: \`runN/curves.png\` (N in the table's order)."
} >>"$report"
echo "ablate: $report"
