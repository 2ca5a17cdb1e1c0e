#!/bin/bash
# restart.sh, in shared mode.
export MODE=shared
. "${srcdir:-.}/tests/it/restart.sh"
