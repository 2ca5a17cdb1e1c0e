#!/bin/bash
# http-strict.sh, in handoff mode.
export MODE=handoff
. "${srcdir:-.}/tests/it/http-strict.sh"
