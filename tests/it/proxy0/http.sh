#!/bin/bash
# http.sh, in proxy mode with no relay threads.
export MODE=proxy RELAY_THREADS=0
. "${srcdir:-.}/tests/it/http.sh"
