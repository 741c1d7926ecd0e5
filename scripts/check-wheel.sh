#!/usr/bin/env bash
# The package as a new user gets it: build the wheel from a copy of the checkout, install it
# into a fresh virtualenv without extras, and run the first commands of the README there with
# the default store and data directories (the per-user ones, under a temporary HOME). Nothing
# in the checkout is written. Used by `make test`.
set -euo pipefail

PYTHON=${PYTHON:-python3.11}
checkout=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
step() { echo "check-wheel: $*"; }

before=$(git -C "$checkout" status --porcelain)
mkdir -p "$tmp/src" "$tmp/run" "$tmp/home"
git -C "$checkout" ls-files -z --cached --others --exclude-standard \
    | tar -C "$checkout" --null -T - --ignore-failed-read -cf - 2>/dev/null \
    | tar -C "$tmp/src" -xf -

step "building the wheel"
"$checkout/.venv/bin/python" -m pip wheel --quiet --no-deps --wheel-dir "$tmp/dist" "$tmp/src"
step "installing $(basename "$tmp"/dist/*.whl) into a fresh virtualenv, without extras"
"$PYTHON" -m venv "$tmp/venv"
"$tmp/venv/bin/python" -m pip install --quiet --quiet --no-compile "$tmp"/dist/*.whl

cd "$tmp/run"
for name in $(env | sed -n 's/^\(GRIDWATCH_[A-Z0-9_]*\)=.*/\1/p'); do unset "$name"; done
export HOME="$tmp/home" XDG_DATA_HOME="$tmp/home/.local/share"
gridwatch="$tmp/venv/bin/gridwatch"
data="$XDG_DATA_HOME/gridwatch"
site=$("$tmp/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')

step "gridwatch --help"
"$gridwatch" --help >/dev/null
step "gridwatch init"
"$gridwatch" init
test -f "$data/gridwatch.db" || { echo "check-wheel: no store in $data"; exit 1; }
step "gridwatch route: the San Francisco cases against their tracts"
sf="$checkout/data_samples/sf311"
"$gridwatch" route "$sf/sf311_cases_sample.csv" --lat-col Lat --lon-col Long \
    --grids "$sf/sf_census_tracts_2010.geojson" --grid-id-field nhood --out routed.csv \
    | tee route.log
grep -q "4984 points routed to routed.csv: 4984 inside" route.log
step "gridwatch samples build --scale 0.02"
"$gridwatch" samples build --scale 0.02 | tail -n 1
test -f "$data/samples/generated/city.gpkg"
for inside in "$site/var" "$site/data_samples"; do
    test ! -e "$inside" || { echo "check-wheel: $inside was written"; exit 1; }
done
test "$(git -C "$checkout" status --porcelain)" = "$before" \
    || { echo "check-wheel: the checkout changed"; exit 1; }
step "ok"
