#!/bin/bash
# http-strict.sh, in proxy mode with no relay threads.
export MODE=proxy RELAY_THREADS=0
. "${srcdir:-.}/tests/it/http-strict.sh"
