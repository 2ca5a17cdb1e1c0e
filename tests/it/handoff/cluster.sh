#!/bin/bash
# cluster.sh, in handoff mode.
export MODE=handoff
. "${srcdir:-.}/tests/it/cluster.sh"
