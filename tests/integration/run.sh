#!/bin/sh
# Log compiler for the integration tests (automake parallel driver):
# run a test script with $PYTHON3, or SKIP (77) when there is none.
case ${PYTHON3:-no} in
no|"") echo "SKIP: no python3 (configure found none)"; exit 77 ;;
esac
exec "$PYTHON3" "$@"
