#!/usr/bin/env bash
# Makes VENV and installs py-ispyb from CHECKOUT (a checkout of its snapshot, outside this project) with the pins
# in requirements.txt beside this script. PyPI only. PYTHON picks the interpreter (default: python3.11, as ours).
#   bench/pyispyb/setup.sh /work/pyispyb/src /work/pyispyb/venv
set -euo pipefail
if [ $# -ne 2 ]; then
    echo "usage: $0 CHECKOUT VENV" >&2
    exit 2
fi
checkout=$(realpath "$1")
venv=$2
here=$(dirname "$(realpath "$0")")
test -f "$checkout/pyispyb/app/main.py" || { echo "$checkout is not a py-ispyb checkout" >&2; exit 2; }
"${PYTHON:-python3.11}" -m venv "$venv"
"$venv/bin/pip" install -q -r "$here/requirements.txt"
# --no-deps: its setup.cfg pins ispyb-models 1.0.0 while its requirements.txt (and its CI) use 1.0.6.
"$venv/bin/pip" install -q --no-deps -e "$checkout"
"$venv/bin/python" -c "import pyispyb, fastapi, pydantic; print('py-ispyb ready:', fastapi.__version__, pydantic.VERSION)"
