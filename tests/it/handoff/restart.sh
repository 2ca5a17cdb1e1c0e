#!/bin/bash
# restart.sh, in handoff mode.
export MODE=handoff
. "${srcdir:-.}/tests/it/restart.sh"
