#!/bin/bash
# supervise.sh, in handoff mode.
export MODE=handoff
. "${srcdir:-.}/tests/it/supervise.sh"
