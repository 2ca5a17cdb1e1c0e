#!/bin/bash
# signals.sh, in shared mode.
export MODE=shared
. "${srcdir:-.}/tests/it/signals.sh"
