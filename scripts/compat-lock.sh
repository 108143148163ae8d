#!/usr/bin/env bash
# Writes constraints/airflow-<minor>.txt: a full resolved set of `-e .[dev]` next to apache-airflow==<version>.
# It starts from constraints.txt (the newest Airflow's lock) and unpins only what that Airflow refuses,
# so an older minor is tested with the same libraries wherever it allows them.
# Usage: scripts/compat-lock.sh 3.1.8 [extra requirement...]   (e.g. 'svcs<26' for 3.2.2, see docs/compatibility.md)
#        scripts/compat-lock.sh --fresh 2.11.2 [extra requirement...]
# --fresh resolves from nothing instead: Airflow 2 shares too little with the newest lock (SQLAlchemy < 2,
# Flask-AppBuilder) for unpinning to converge; the extra requirements then pin what must not be newest.
set -euo pipefail
cd "$(dirname "$0")/.."
fresh=""
if [ "${1:-}" = "--fresh" ]; then
    fresh="--fresh "
    shift
fi
version=$1
shift
minor=${version%.*}
python=${PYTHON:-python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ -n "$fresh" ]; then
    : >"$work/base.txt"
else
    grep -v -E '^apache-airflow(-core|-task-sdk)?==' constraints.txt >"$work/base.txt"
fi
"$python" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet --upgrade "pip>=24"
for _ in $(seq 30); do
    if "$work/venv/bin/python" -m pip install -c "$work/base.txt" -e ".[dev]" "apache-airflow==$version" "$@" \
        >"$work/err" 2>&1; then
        mkdir -p constraints
        {
            echo "# apache-airflow==$version with -e .[dev]; regenerate: scripts/compat-lock.sh $fresh$version ${*@Q}"
            "$work/venv/bin/python" -m pip freeze --exclude-editable | LC_ALL=C sort -f
        } >"constraints/airflow-$minor.txt"
        echo "wrote constraints/airflow-$minor.txt"
        exit 0
    fi
    # "The user requested (constraint) aiosqlite==0.22.1": Airflow $version needs another version; unpin it.
    # or "cadwyn 7.0.0 depends on fastapi>=0.128.6": a pinned library that needs what it refuses; unpin that.
    conflicts=$( (sed -n 's/.*The user requested (constraint) \([A-Za-z0-9_.-]*\)==.*/\1/p' "$work/err"
        sed -n 's/^ *\([A-Za-z0-9_.-]*\) [0-9][^ ]* depends on .*/\1/p' "$work/err") |
        sort -u)
    if [ -z "$conflicts" ]; then
        grep -v '^WARNING: Location' "$work/err" | tail -n 30 >&2
        exit 1
    fi
    # Names compare normalized (pip says universal-pathlib, pip freeze wrote universal_pathlib).
    "$python" - "$work/base.txt" $conflicts <<'PY'
import re, sys
path, names = sys.argv[1], {re.sub(r"[-_.]+", "-", n).lower() for n in sys.argv[2:]}
lines = open(path).read().splitlines()
keep = [line for line in lines if re.sub(r"[-_.]+", "-", line.split("==")[0]).lower() not in names]
print("\n".join(f"unpinned: {line}" for line in lines if line not in keep))
open(path, "w").write("\n".join(keep) + "\n")
PY
done
echo "too many conflicts" >&2
exit 1
