#!/usr/bin/env bash
# The COCO-CN pipeline (docs/method.md#the-pipeline) for one config; ./do_all.sh --help for its usage.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: ./do_all.sh [--ini common.ini] [--stage 1] [--stop_stage 5] [--wait] CONFIG

Runs the COCO-CN pipeline for CONFIG (a name in w2vv_configs/, e.g. w2vv_attention_ctl, or a config file's path) with the
settings of the ini file (default common.ini; see the comments there):
  0  (only with --stage 0) download, check and unpack the release archives into the root
  1  check the root (check_root.py), then build the vocabularies
  2  train and test the English model
  3  train and test the Chinese model (CM); the query language is query_train's (languages in the ini)
  4  cross-lingual matching (CL) for val and test
  5  fusion (CLM): weight chosen on val, applied on test; print the CL / CM / CLM table
Every stage skips work already done with the same settings (overwrite = 1 in the ini redoes it).
One run at a time per root and config: a second one stops, or with --wait waits for the first.
USAGE
}

log() { echo "[$(date '+%Y-%m-%d %H:%M:%S')] $*"; }
die() { echo "error: $*" >&2; exit 1; }

ini=common.ini
stage=1
stop_stage=5
config=
wait_lock=0
while [ $# -gt 0 ]; do
  case "$1" in
    --ini|--stage|--stop_stage) [ $# -ge 2 ] || die "$1 takes a value (see --help)" ;;&
    --ini) ini=$2; shift 2 ;;
    --stage) stage=$2; shift 2 ;;
    --stop_stage) stop_stage=$2; shift 2 ;;
    --wait) wait_lock=1; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) [ -z "$config" ] || die "one CONFIG only (got $config and $1)"; config=$1; shift ;;
  esac
done
[ -n "$config" ] || die "usage: $0 [--ini FILE] [--stage N] [--stop_stage N] [--wait] CONFIG"
[[ "$stage" =~ ^[0-5]$ && "$stop_stage" =~ ^[0-5]$ ]] || die "--stage $stage --stop_stage $stop_stage: each takes a stage, 0-5"
[ "$stage" -le "$stop_stage" ] || die "--stage $stage --stop_stage $stop_stage: no stage to run (--stage must not exceed --stop_stage)"
[ -f "$ini" ] || die "$ini: settings file not found"
ini=$(cd "$(dirname "$ini")" && pwd)/$(basename "$ini")
case "$config" in   # a config file given by its path (the trainer takes one too), from the caller's folder
  */*) [ -f "$config" ] || die "$config: config file not found"
       config=$(cd "$(dirname "$config")" && pwd)/$(basename "$config") ;;
esac
caller_dir=$(pwd)
cd "$(dirname "$0")"

# The Python that runs the scripts (relative to the repo), read first: it checks the rest of the ini.
python=$(sed -n 's/^[[:space:]]*python[[:space:]]*=[[:space:]]*\(.*[^[:space:]]\)[[:space:]]*$/\1/p' "$ini" | tail -n 1)
case "${KERAS_BACKEND:-tensorflow}" in
  tensorflow|jax|torch) ;;
  *) die "KERAS_BACKEND=$KERAS_BACKEND: unknown backend (expected one of tensorflow, jax, torch)" ;;
esac
if [ -z "$python" ]; then   # the venv of the Keras backend (make venv, venv-jax, venv-torch)
  case "${KERAS_BACKEND:-tensorflow}" in tensorflow) venv=.venv ;; *) venv=.venv-$KERAS_BACKEND ;; esac
  if [ -x "$venv/bin/python" ]; then
    python=$venv/bin/python
  else
    python=python3
    log "warning: no $venv (make ${venv#.}): running the system's python3, which may lack the requirements"
  fi
fi
python=${python/#\~/$HOME}
command -v "$python" >/dev/null || die "$ini: python = $python not found (run 'make venv', or set python)"
"$python" -c 'import importlib.util as u, sys; sys.exit(any(not u.find_spec(m) for m in sys.argv[1:]))' \
  numpy keras h5py tqdm gensim ||
  die "$ini: python = $python lacks the project's packages (run 'make venv', or set python to the venv's)"
# Keras reads ~/.keras/keras.json where KERAS_BACKEND is unset: every step here names the backend it runs on
export KERAS_BACKEND=${KERAS_BACKEND:-tensorflow}
# Only known keys, checked values: w2vv/settings.py; it also names the run (the config, tagged with
# the settings that differ from the config file's) and the overrides the trainer gets.
assignments=$("$python" -m w2vv.settings "$ini" "$config") || exit   # its status: 1, or 130 (Ctrl-C)
eval "$assignments"

case "$rootpath" in /*) ;; *) rootpath=$caller_dir/$rootpath ;; esac   # a relative rootpath is the caller's
if [ "$stage" -le 0 ] && [ "$stop_stage" -ge 0 ]; then mkdir -p "$rootpath"; fi
[ -d "$rootpath" ] || die "$rootpath: rootpath not found (set rootpath in $ini, or run --stage 0 to fetch the data)"
rootpath=$(cd "$rootpath" && pwd)

# One run per root and config. flock is released by the kernel when the holder dies, even by SIGKILL.
if command -v flock >/dev/null; then
  lock=$rootpath/.locks/do_all.$(basename "$config" .py).lock
  mkdir -p "$rootpath/.locks"
  exec 9<>"$lock"
  if ! flock -n 9; then
    [ "$wait_lock" = 1 ] || die "$lock: another ./do_all.sh of $config on $rootpath is running ($(head -n 1 "$lock")); wait for it to end, or pass --wait"
    log "waiting for the other run of $config on $rootpath ($(head -n 1 "$lock")) to end"
    flock 9
  fi
  echo "pid $$, since $(date '+%Y-%m-%d %H:%M:%S')" > "$lock"
else
  log "warning: no flock command (util-linux): nothing stops a second run of $config on $rootpath"
fi

collections=(--en_train "$en_train" --en_val "$en_val" --en_test "$en_test"
             --query_train "$query_train" --query_val "$query_val" --query_test "$query_test")
train_args=(--rootpath "$rootpath" --config "$config" --overwrite "$overwrite" --languages "$languages"
            --feature_collection "$feature_collection" --config_overrides "$overrides")
[ -z "$max_epochs" ] || train_args+=(--max_epochs "$max_epochs")
[ -z "$seed" ] || train_args+=(--seed "$seed")
train_args+=(--distribute "$distribute")
[ "$wait_lock" = 0 ] || train_args+=(--wait)   # the trainer's own lock (a trainer.py run alone) waited for too
[ "$run_name" = "$(basename "$config" .py)" ] || log "run $run_name: $config with settings other than the config file's"
# the query language's model's settings alone (normalize_zh, its stop words, image_towers) do not name the English
# model, which reads none of them
[ "$en_run_name" = "$run_name" ] || log "English model $en_run_name: the same without the query language's settings"

py() { "$python" "$@" 9>&-; }   # the project's scripts, without this run's lock: it dies with do_all.sh

if [ "$stage" -le 0 ] && [ "$stop_stage" -ge 0 ]; then
  log "stage 0: download, check and unpack the release archives into $rootpath"
  archive_args=()
  for name in word2vec zh_w2v retrieval_data resnext_feat; do   # <name>_url, _sha256, _size in the ini
    for what in url sha256 size; do
      setting=${name}_$what
      [ -z "${!setting:-}" ] || archive_args+=(--"$what" "$name=${!setting}")
    done
  done
  [ -z "$data_archives" ] || archive_args+=(--archives "$data_archives")
  py download_data.py --rootpath "$rootpath" "${archive_args[@]}"
fi

if [ "$stage" -le 1 ] && [ "$stop_stage" -ge 1 ]; then
  log "checking $rootpath for $config (check_root.py)"
  py check_root.py --config "$config" --rootpath "$rootpath" --config_overrides "$overrides" --languages "$languages" \
    --feature_collection "$feature_collection" --freq_threshold "$freq_threshold" "${collections[@]}" ||
    { status=$?; [ "$status" != 130 ] || exit 130   # Ctrl-C: said in its one line
      die "$rootpath: not ready for $config; fix what the table above says (stage 0 fetches the data)"; }
  log "stage 1: vocabularies of $query_train and $en_train"
  for pair in "$query_train:$stopwords_of_query_train" "$en_train:$stopwords_of_en_train"; do
    train=${pair%%:*} stop_list=${pair#*:}
    py build_vocab.py "$train" --rootpath "$rootpath" --freq_threshold "$freq_threshold" \
      --overwrite "$overwrite" --normalize_zh "$normalize_zh" --languages "$languages" \
      ${stop_list:+--stopwords "$stop_list"}
  done
fi

no_cross_lingual="$run_name trains its own image tower(s) (image_towers = own): no English model, CL or CLM"
if [ "$stage" -le 2 ] && [ "$stop_stage" -ge 2 ]; then
  if [ "$cross_lingual" = 0 ]; then
    log "stage 2: skipped: $no_cross_lingual"
  else
    log "stage 2: train $en_run_name on $en_train, test on $en_val and $en_test"
    py trainer.py "$en_train" "$en_val" "$en_test" "${train_args[@]}"
  fi
fi

if [ "$stage" -le 3 ] && [ "$stop_stage" -ge 3 ]; then
  log "stage 3: train $run_name on $query_train, test on $query_val and $query_test (CM)"
  # a successor's model takes the image tower(s) of the English model of stage 2 (docs/method.md#across-languages)
  py trainer.py "$query_train" "$query_val" "$query_test" "${train_args[@]}" --en_train "$en_train" \
    --en_val "$en_val"
fi

if [ "$stage" -gt 3 ] && [ "$stop_stage" -ge 4 ]; then   # the models' results, not the models, read from here on
  log "the trained models: made with these settings and inputs? (stages 2 and 3 not run)"
  [ "$cross_lingual" = 0 ] || py trainer.py "$en_train" "$en_val" "$en_test" "${train_args[@]}" --check_only
  py trainer.py "$query_train" "$query_val" "$query_test" "${train_args[@]}" --en_train "$en_train" \
    --en_val "$en_val" --check_only
fi

if [ "$stage" -le 4 ] && [ "$stop_stage" -ge 4 ]; then
  if [ "$cross_lingual" = 0 ]; then
    log "stage 4: skipped: $no_cross_lingual"
  else
    log "stage 4: cross-lingual matching (CL) for val and test"
    py cross_lingual.py --rootpath "$rootpath" --run "$run_name" --en_run "$en_run_name" \
      --overwrite "$overwrite" --languages "$languages" "${collections[@]}"
  fi
fi

if [ "$stage" -le 5 ] && [ "$stop_stage" -ge 5 ]; then
  if [ "$cross_lingual" = 0 ]; then
    log "stage 5: fusion skipped: $no_cross_lingual; the table"
  else
    log "stage 5: fusion (CLM) on val, applied on test"
    py fuse.py --rootpath "$rootpath" --run "$run_name" --overwrite "$overwrite" --query_train "$query_train" \
      --query_val "$query_val" --query_test "$query_test" --rank_norm "$rank_norm" --languages "$languages"
  fi
  py report.py --rootpath "$rootpath" --run "$run_name" --query_train "$query_train" --query_test "$query_test" \
    --languages "$languages" --out "$rootpath/$results_file"
fi
log "done: $run_name (stages $stage-$stop_stage)"
