#!/bin/bash
# timeouts.sh, in shared mode.
export MODE=shared
. "${srcdir:-.}/tests/it/timeouts.sh"
