#!/bin/bash
# fds.sh, in handoff mode.
export MODE=handoff
. "${srcdir:-.}/tests/it/fds.sh"
