#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# End-to-end tests of train's modelling options on the real binary: mistakes
# and their guesses (flags, config files, hyperparameters), their
# usage errors, the model's record of them, and the direction in which time
# decay and negative feedback move a user's recommendations.
# Usage: options_test.sh PATH/TO/vidrec PROJECT_ROOT
VIDREC=$1
ROOT=$2
. "$ROOT/tests/e2e/lib.sh"

# Two tastes: 30 users watch about 5 of a1..a8, 30 about 5 of b1..b8
# (2025-06-01; bash's RANDOM, seeded).
# "old": a1..a4 in 2020, b1 b2 now -> A without decay, B with a 30-day half-life.
# "neg": a1 a2 a3 a6 and b1 b2 b3, and dislikes a4 a5 (-5): the dislikes
# pull A down once they count as confident zeros.
{
  echo "userId,videoId,interactionType,interactionValue,location,timestamp"
  RANDOM=7
  for u in $(seq 1 30); do
    for v in 1 2 3 4 5 6 7 8; do
      [ $((RANDOM % 8)) -lt 5 ] && echo "ua$u,a$v,watch,1,US,2025-06-01 10:00:00"
      [ $((RANDOM % 8)) -lt 5 ] && echo "ub$u,b$v,watch,1,US,2025-06-01 10:00:00"
    done
  done
  for v in 1 2 3 4; do echo "old,a$v,watch,1,US,2020-01-01 10:00:00"; done
  for v in 1 2; do echo "old,b$v,watch,1,US,2025-06-01 10:00:00"; done
  for v in 1 2 3 6; do echo "neg,a$v,watch,1,US,2025-06-01 10:00:00"; done
  for v in 1 2 3; do echo "neg,b$v,watch,1,US,2025-06-01 10:00:00"; done
  for v in 4 5; do echo "neg,a$v,dislike,-5,US,2025-06-01 10:00:00"; done
} >"$WORK/raw.csv"
"$VIDREC" prepare "$WORK/raw.csv" -o "$WORK/d.vrd" -q || { echo "prepare failed"; exit 1; }
T=(train "$WORK/d.vrd" -o "$WORK/m.vrm" -q --factors 2 --iterations 10 --alpha 10 --regularization 1 --threads 1)

# Mistakes get a guess: options, commands, config keys and sections,
# hyperparameters. Every message starts with "vidrec:" and exits 2.
expect_exit 2 "mistyped option" -- "$VIDREC" train "$WORK/d.vrd" -o "$WORK/m.vrm" --factor 8
expect_contains "$WORK/err" "vidrec: usage error: " "CLI11's error worded as ours"
expect_contains "$WORK/err" "vidrec: usage error: unknown option --factor; did you mean --factors?" "option guessed"
expect_exit 2 "mistyped command" -- "$VIDREC" trian "$WORK/d.vrd"
expect_contains "$WORK/err" "vidrec: usage error: unknown command 'trian'; did you mean 'train'?" "command guessed"
# The mistyped option is named, not the required one it left unset.
expect_exit 2 "mistyped required option" -- "$VIDREC" recommend --modle "$WORK/m.vrm" --user u1
expect_contains "$WORK/err" "vidrec: usage error: unknown option --modle; did you mean --model?" "required option's typo named"
expect_exit 2 "missing argument" -- "$VIDREC" train
expect_eq "$(grep -vc '^vidrec: ' "$WORK/err")" 0 "every line of a CLI11 error starts with vidrec:"
expect_exit 2 "bad number" -- "$VIDREC" train "$WORK/d.vrd" -o "$WORK/m.vrm" --factors many
expect_contains "$WORK/err" "vidrec: usage error: --factors must be a number, got 'many'" "number rule"
printf '[prepare]\nmin-user-events = 1\n[train]\nfactor = 8\n' >"$WORK/typo.toml"
expect_exit 2 "config typo" -- "$VIDREC" train "$WORK/d.vrd" -o "$WORK/m.vrm" --config "$WORK/typo.toml"
expect_contains "$WORK/err" "vidrec: usage error: unknown key 'factor' in [train] of $WORK/typo.toml; did you mean 'factors'?" \
  "config key guessed"
[ ! -e "$WORK/m.vrm" ] && pass || fail "a config typo trained a model"
printf '[trian]\nfactors = 8\n' >"$WORK/typo.toml"
expect_exit 2 "config section typo" -- "$VIDREC" train "$WORK/d.vrd" -o "$WORK/m.vrm" --config "$WORK/typo.toml"
expect_contains "$WORK/err" "unknown section [trian] in $WORK/typo.toml; did you mean [train]?" "section guessed"
printf 'factors = 8\n' >"$WORK/typo.toml"
expect_exit 2 "config key outside a section" -- "$VIDREC" train "$WORK/d.vrd" -o "$WORK/m.vrm" --config "$WORK/typo.toml"
expect_contains "$WORK/err" "unknown key 'factors' outside any section" "top-level key refused"
printf '[prepare]\nmin_user_event = 2\n' >"$WORK/typo.toml"
expect_exit 2 "config typo in prepare" -- "$VIDREC" prepare "$WORK/raw.csv" -o "$WORK/p.vrd" --config "$WORK/typo.toml"
expect_contains "$WORK/err" "did you mean 'min_user_events'?" "guess in the key's own spelling"
# A call naming its command builds only that one (apps/vidrec/main.cpp), but
# with --config every section is still checked, whichever command runs.
printf '[prepare]\nmin_user_event = 2\n[train]\nfactors = 8\n' >"$WORK/other.toml"
expect_exit 2 "typo in another command's section" -- "$VIDREC" train "$WORK/d.vrd" -o "$WORK/m.vrm" \
  --config="$WORK/other.toml"
expect_contains "$WORK/err" "unknown key 'min_user_event' in [prepare]" "other section checked"
expect_exit 0 "a command's help" -- "$VIDREC" recommend --help
expect_contains "$WORK/out" "--model" "recommend's help lists its options"
expect_exit 0 "the command list" -- "$VIDREC" --help
for c in prepare train tune recommend similar explain inspect split evaluate serve sagemaker export import report index; do
  grep -q "^  $c " "$WORK/out" && pass || fail "vidrec --help does not list $c"
done

# Usage errors name the option and exit 2, before the dataset is read.
expect_exit 2 "bad half-life" -- "$VIDREC" "${T[@]}" --half-life 3x
expect_contains "$WORK/err" "bad duration '3x'" "half-life rule named"
expect_exit 2 "bad weighting" -- "$VIDREC" "${T[@]}" --weighting bm26
expect_exit 2 "alpha0 0" -- "$VIDREC" "${T[@]}" --unobserved-weight 0
expect_contains "$WORK/err" "unobserved-weight must be" "alpha0 rule named"
expect_exit 2 "reg exponent 5" -- "$VIDREC" "${T[@]}" --reg-exponent 5
expect_exit 2 "bad --now" -- "$VIDREC" "${T[@]}" --half-life 30d --now yesterday
expect_exit 2 "bad bm25 b" -- "$VIDREC" "${T[@]}" --weighting bm25 --bm25-b 2

# top USER [train options...]: the user's first recommendation.
top() {
  local user=$1
  shift
  "$VIDREC" "${T[@]}" "$@" && "$VIDREC" recommend --model "$WORK/m.vrm" --user "$user" -k 1 --format csv |
    tail -n 1 | cut -d, -f3
}
expect_eq "$(top old)" "$(top old --half-life 0)" "half-life 0 is no decay"
case "$(top old)" in a*) pass ;; *) fail "without decay 'old' should get an A video, got $(top old)" ;; esac
case "$(top old --half-life 30d)" in b*) pass ;; *) fail "with decay 'old' should get a B video" ;; esac
# --now far in the future decays everything alike: the ranking returns to A.
case "$(top old --half-life 3650d --now '2100-01-01 00:00:00')" in a*) pass ;; *) fail "uniform decay" ;; esac
case "$(top neg)" in a*) pass ;; *) fail "without negatives 'neg' should get an A video, got $(top neg)" ;; esac
case "$(top neg --negative-weight 1)" in b*) pass ;; *) fail "with negatives 'neg' should get a B video" ;; esac

# The model records the options; a config file sets them as flags do.
"$VIDREC" "${T[@]}" --unobserved-weight 0.25 --reg-exponent 0.5 --weighting bm25 --bm25-k1 50 --half-life 7d
"$VIDREC" inspect --json "$WORK/m.vrm" >"$WORK/i.json"
expect_contains "$WORK/i.json" '"unobserved_weight": 0.25' "alpha0 recorded"
expect_contains "$WORK/i.json" '"reg_exponent": 0.5' "exponent recorded"
expect_contains "$WORK/i.json" '"scheme": "bm25"' "scheme recorded"
expect_contains "$WORK/i.json" '"half_life_seconds": 604800.0' "half-life recorded"
printf '[train]\nunobserved-weight = 0.25\nreg-exponent = 0.5\nweighting = "bm25"\nbm25-k1 = 50\nhalf-life = "7d"\n' \
  >"$WORK/c.toml"
cp "$WORK/m.vrm" "$WORK/flags.vrm"
"$VIDREC" "${T[@]}" --config "$WORK/c.toml"
expect_eq "$("$VIDREC" inspect --json "$WORK/m.vrm" | grep factors_checksum)" \
  "$("$VIDREC" inspect --json "$WORK/flags.vrm" | grep factors_checksum)" "config file = flags"
# `_` and `-` are one: the same file with underscores, and a [prepare]
# section train does not read, trains the same model.
{ printf '[prepare]\nmin_user_events = 1\n'; sed 's/-/_/' "$WORK/c.toml"; } >"$WORK/c_.toml"
"$VIDREC" "${T[@]}" --config "$WORK/c_.toml"
expect_eq "$("$VIDREC" inspect --json "$WORK/m.vrm" | grep factors_checksum)" \
  "$("$VIDREC" inspect --json "$WORK/flags.vrm" | grep factors_checksum)" "config file with _ = flags"

# SageMaker: a hyperparameter typo fails the job with a guess, in
# output/failure too; SageMaker's own keys pass.
SM=$WORK/sm
mkdir -p "$SM/input/config" "$SM/input/data/training"
cp "$WORK/raw.csv" "$SM/input/data/training/a.csv"
printf '{"factor":"2","iterations":"2"}' >"$SM/input/config/hyperparameters.json"
expect_exit 2 "hyperparameter typo" -- "$VIDREC" sagemaker --root "$SM" train -q
want="unknown hyperparameter 'factor' in $SM/input/config/hyperparameters.json; did you mean 'factors'?"
expect_contains "$WORK/err" "vidrec: usage error: $want" "hyperparameter guessed"
expect_contains "$SM/output/failure" "$want" "failure reason written"
printf '{"factors":"2","cg-steps":"2","iterations":"2","threads":"1","sagemaker_program":"x","_tuning_objective_metric":"validation:auc"}' \
  >"$SM/input/config/hyperparameters.json"
expect_exit 0 "SageMaker's keys and either spelling" -- "$VIDREC" sagemaker --root "$SM" train -q
"$VIDREC" inspect --json "$SM/model/model.vrm" >"$WORK/i.json"
expect_contains "$WORK/i.json" '"cg_steps": 2' "cg-steps hyperparameter applied"
finish
