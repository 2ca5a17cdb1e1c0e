#!/bin/bash
# metrics.sh, in handoff mode.
export MODE=handoff
. "${srcdir:-.}/tests/it/metrics.sh"
