#!/usr/bin/env bash
# The COCO-CN pipeline (docs/method.md#the-pipeline) for one config:
#   0 (opt-in, --stage 0) download, check and unpack the release archives into the root
#   1 vocabularies (after the doctor, check_root.py, found the root complete)
#   2 train + test English   3 train + test Chinese   4 CL (zh→en) for val and test
#   5 fusion (CLM): weight chosen on val, applied on test; print the CL / CM / CLM table
# Usage: ./do_all.sh [--ini common.ini] [--stage 1] [--stop_stage 5] CONFIG
# Every stage skips work already done (set overwrite=1 in the ini to redo it).
set -euo pipefail

log() { echo "[$(date '+%Y-%m-%d %H:%M:%S')] $*"; }
die() { echo "error: $*" >&2; exit 1; }

ini=common.ini
stage=1
stop_stage=5
config=
while [ $# -gt 0 ]; do
  case "$1" in
    --ini) ini=$2; shift 2 ;;
    --stage) stage=$2; shift 2 ;;
    --stop_stage) stop_stage=$2; shift 2 ;;
    -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option $1" ;;
    *) [ -z "$config" ] || die "one CONFIG only (got $config and $1)"; config=$1; shift ;;
  esac
done
[ -n "$config" ] || die "usage: $0 [--ini FILE] [--stage N] [--stop_stage N] CONFIG"
[ -f "$ini" ] || die "$ini: settings file not found"

# Settings: 'key = value' lines of the ini ([sections] and # comments ignored); ~ means $HOME.
while IFS='=' read -r key value; do
  key=$(echo "$key" | tr -d '[:space:]')
  value=$(echo "$value" | sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//')
  case "$key" in ''|'#'*|'['*) continue ;; esac
  [[ "$key" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die "$ini: bad setting name '$key'"
  printf -v "$key" '%s' "${value/#\~/$HOME}"
done < "$ini"
: "${rootpath:?$ini: rootpath not set}" "${overwrite:=0}" "${freq_threshold:=5}"
: "${feature_collection:=mscoco2014dev}" "${config_overrides:=}" "${max_epochs:=}" "${python:=python}"
: "${seed:=}" "${distribute:=none}" "${stopwords_en:=}" "${stopwords_zh:=}" "${normalize_zh:=0}"
[[ "$normalize_zh" =~ ^[01]$ ]] || die "$ini: normalize_zh = $normalize_zh (expected 0 or 1)"
: "${en_train:=mscoco2014dev-train}" "${en_val:=mscoco2014dev-val}" "${en_test:=mscoco2014dev-test}"
: "${zh_train:=cococntrain}" "${zh_val:=cococnval}" "${zh_test:=cococntest}"
: "${data_archives:=}"
if [ "$stage" -le 0 ] && [ "$stop_stage" -ge 0 ]; then mkdir -p "$rootpath"; fi
[ -d "$rootpath" ] || die "$rootpath: rootpath not found (set rootpath in $ini, or run --stage 0 to fetch the data)"
rootpath=$(cd "$rootpath" && pwd)   # the scripts run from the repo; a relative rootpath is the caller's
cd "$(dirname "$0")"
command -v "$python" >/dev/null || die "$ini: python = $python not found (run 'make venv', or set python)"

# Stop-word lists (empty: the original's, w2vv/stopwords/) and the normalisation of Chinese (normalize_zh = 1): passed to
# build_vocab.py and, as config overrides, to trainer.py.
overrides=$config_overrides
[ "$normalize_zh" = 0 ] || overrides="${overrides:+$overrides,}normalize_zh=$normalize_zh"
for lang in en zh; do
  list_var=stopwords_$lang
  [ -z "${!list_var}" ] || overrides="${overrides:+$overrides,}stopwords_$lang=${!list_var}"
done
train_args=(--rootpath "$rootpath" --model_config "$config" --overwrite "$overwrite"
            --feature_collection "$feature_collection" --config_overrides "$overrides")
[ -z "$max_epochs" ] || train_args+=(--max_epochs "$max_epochs")
[ -z "$seed" ] || train_args+=(--seed "$seed")
train_args+=(--distribute "$distribute")

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
  "$python" download_data.py --rootpath "$rootpath" "${archive_args[@]}"
fi

if [ "$stage" -le 1 ] && [ "$stop_stage" -ge 1 ]; then
  log "checking $rootpath for $config (check_root.py)"
  "$python" check_root.py "$config" --rootpath "$rootpath" --config_overrides "$overrides" \
    --feature_collection "$feature_collection" --freq_threshold "$freq_threshold" \
    --en_train "$en_train" --en_val "$en_val" --en_test "$en_test" \
    --zh_train "$zh_train" --zh_val "$zh_val" --zh_test "$zh_test" ||
    die "$rootpath: not ready for $config; fix what the table above says (stage 0 fetches the data)"
  log "stage 1: vocabularies of $zh_train and $en_train"
  for pair in "$zh_train:$stopwords_zh" "$en_train:$stopwords_en"; do
    train=${pair%%:*} stop_list=${pair#*:}
    "$python" build_vocab.py "$train" --rootpath "$rootpath" --freq_threshold "$freq_threshold" \
      --overwrite "$overwrite" --normalize_zh "$normalize_zh" ${stop_list:+--stopwords "$stop_list"}
  done
fi

if [ "$stage" -le 2 ] && [ "$stop_stage" -ge 2 ]; then
  log "stage 2: train $config on $en_train, test on $en_val and $en_test"
  "$python" trainer.py "$en_train" "$en_val" "$en_test" "${train_args[@]}"
fi

if [ "$stage" -le 3 ] && [ "$stop_stage" -ge 3 ]; then
  log "stage 3: train $config on $zh_train, test on $zh_val and $zh_test (CM)"
  "$python" trainer.py "$zh_train" "$zh_val" "$zh_test" "${train_args[@]}"
fi

if [ "$stage" -le 4 ] && [ "$stop_stage" -ge 4 ]; then
  log "stage 4: cross-lingual matching (CL) for val and test"
  "$python" cross_lingual.py --rootpath "$rootpath" --config "$config" --overwrite "$overwrite" \
    --zh_train "$zh_train" --en_train "$en_train"
fi

if [ "$stage" -le 5 ] && [ "$stop_stage" -ge 5 ]; then
  log "stage 5: fusion (CLM) on val, applied on test"
  "$python" fuse.py --rootpath "$rootpath" --config "$config" --overwrite "$overwrite" --zh_train "$zh_train" \
    --val_collection "$zh_val" --test_collection "$zh_test" --rank_norm "${rank_norm:-0}"
  "$python" report.py --rootpath "$rootpath" "$config" --zh_train "$zh_train" --test_collection "$zh_test" \
    --out "$rootpath/results/$config.txt"
fi
log "done: $config (stages $stage-$stop_stage)"
