#!/bin/bash
# timeouts.sh, in proxy mode with no relay threads.
export MODE=proxy RELAY_THREADS=0
. "${srcdir:-.}/tests/it/timeouts.sh"
