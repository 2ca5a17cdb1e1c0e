#!/bin/bash
# cluster.sh, in shared mode.
export MODE=shared
. "${srcdir:-.}/tests/it/cluster.sh"
