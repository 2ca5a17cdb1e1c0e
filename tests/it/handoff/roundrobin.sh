#!/bin/bash
# roundrobin.sh, in handoff mode.
export MODE=handoff
. "${srcdir:-.}/tests/it/roundrobin.sh"
