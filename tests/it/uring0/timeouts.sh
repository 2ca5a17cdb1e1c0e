#!/bin/bash
# timeouts.sh, in proxy mode relaying on io_uring in the main thread.
export MODE=proxy RELAY_IO=io_uring RELAY_THREADS=0
. "${srcdir:-.}/tests/it/timeouts.sh"
