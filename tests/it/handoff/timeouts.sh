#!/bin/bash
# timeouts.sh, in handoff mode.
export MODE=handoff
. "${srcdir:-.}/tests/it/timeouts.sh"
