#!/usr/bin/env bash
# Build the one-folder app from the working tree and run the whole loop with the frozen binary only.
#
#   packaging/smoke.sh [--json] [--dist DIR]
#
# --dist DIR reuses an app already built there (DIR/workbench/workbench) instead of building.
# Steps: sample, validate, open --screenshot, a 1-epoch CPU training through the same path the
# GUI's Start button uses (`workbench _worker CONFIG`, events on stdout, stdin kept open),
# predict and eval on its checkpoint. The last line printed is one JSON object with each
# step's exit code and seconds, the app's size and its start-up time to the first window.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
JSON=0
DIST=""
while [ $# -gt 0 ]; do
  case "$1" in
    --json) JSON=1 ;;
    --dist) DIST="$2"; shift ;;
    *) echo "usage: packaging/smoke.sh [--json] [--dist DIR]" >&2; exit 2 ;;
  esac
  shift
done
WORK=$(mktemp -d "${TMPDIR:-/tmp}/workbench-smoke.XXXXXX")
say() { [ "$JSON" -eq 1 ] || echo "$@"; }
STEPS=()
step() {  # step NAME CMD...: run, time, record
  local name=$1; shift
  local t0 t1 rc
  t0=$(date +%s.%N)
  "$@" >"$WORK/$name.log" 2>&1
  rc=$?
  t1=$(date +%s.%N)
  STEPS+=("\"$name\": {\"rc\": $rc, \"seconds\": $(python3 -c "print(round($t1 - $t0, 2))")}")
  say "$name: exit $rc ($(python3 -c "print(round($t1 - $t0, 1))") s)"
  [ "$rc" -eq 0 ] || { say "--- $name failed:"; [ "$JSON" -eq 1 ] || tail -15 "$WORK/$name.log"; }
  return $rc
}

if [ -z "$DIST" ]; then
  DIST="$WORK/dist"
  step build pyinstaller packaging/workbench.spec --noconfirm --distpath "$DIST" --workpath "$WORK/build"
fi
APP="$DIST/workbench/workbench"
export QT_QPA_PLATFORM=offscreen
cd "$WORK"
step sample "$APP" sample data
step validate bash -c "\"$APP\" validate data/data.yaml; [ \$? -le 1 ]"  # 1: the sample's planted error
step screenshot "$APP" open data/data.yaml --screenshot "$WORK/shot.png"
python3 - "$WORK/config.json" <<'EOF'
import json, sys
json.dump({"data": "data/data.yaml", "epochs": 1, "imgsz": 64, "weights": "none", "out": "runs",
           "device": "cpu", "workers": 0, "name": "train"}, open(sys.argv[1], "w"))
EOF
# The GUI's Start button: the supervisor runs `workbench _worker CONFIG` and keeps its stdin
# open (closing it is the stop request), so a writer holds a pipe open until the worker ends.
train_via_worker() {
  mkfifo "$WORK/stdin"
  sleep 3600 > "$WORK/stdin" &
  local holder=$! rc
  "$APP" _worker "$WORK/config.json" < "$WORK/stdin" > "$WORK/events.jsonl"
  rc=$?
  kill "$holder" 2>/dev/null
  [ "$rc" -eq 0 ] && grep -q '"reason": "finished"' "$WORK/events.jsonl"
}
step train train_via_worker
step predict "$APP" predict runs/train data/images/val --out "$WORK/pred"
step eval "$APP" eval runs/train data/data.yaml
SIZE_MB=$(du -sm "$DIST/workbench" | cut -f1)
T0=$(date +%s.%N); "$APP" open data/data.yaml --screenshot "$WORK/shot2.png" >/dev/null 2>&1; T1=$(date +%s.%N)
STARTUP=$(python3 -c "print(round($T1 - $T0, 2))")
say "app: $SIZE_MB MB, start-up to first window ${STARTUP} s; logs in $WORK"
FAILED=0
for s in "${STEPS[@]}"; do case "$s" in *'"rc": 0,'*) ;; *) FAILED=1 ;; esac; done
echo "{$(IFS=,; echo "${STEPS[*]}"), \"size_mb\": $SIZE_MB, \"startup_s\": $STARTUP, \"ok\": $([ $FAILED -eq 0 ] && echo true || echo false), \"work\": \"$WORK\"}"
exit $FAILED
