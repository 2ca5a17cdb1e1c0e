#!/bin/bash
# http.sh, in handoff mode.
export MODE=handoff
. "${srcdir:-.}/tests/it/http.sh"
