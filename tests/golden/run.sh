#!/bin/sh
# Log compiler for the golden transcripts (automake's TAP driver): run one
# case file with tests/golden/run.py --tap under $PYTHON3, or report the
# whole file skipped when configure found no python3.
case ${PYTHON3:-no} in
no|"") echo "1..0 # SKIP no python3 (configure found none)"; exit 0 ;;
esac
exec "$PYTHON3" "$(dirname "$0")/run.py" --tap "$@"
