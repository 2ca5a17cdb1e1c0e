#!/bin/bash
# signals.sh, in handoff mode.
export MODE=handoff
. "${srcdir:-.}/tests/it/signals.sh"
