#!/bin/bash
# cluster-edge.sh, in handoff mode.
export MODE=handoff
. "${srcdir:-.}/tests/it/cluster-edge.sh"
