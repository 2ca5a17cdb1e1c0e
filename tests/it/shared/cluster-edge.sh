#!/bin/bash
# cluster-edge.sh, in shared mode.
export MODE=shared
. "${srcdir:-.}/tests/it/cluster-edge.sh"
