#!/bin/bash
# node.sh, in handoff mode.
export MODE=handoff
. "${srcdir:-.}/tests/it/node.sh"
