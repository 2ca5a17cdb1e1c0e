#!/bin/bash
# supervise.sh, in shared mode.
export MODE=shared
. "${srcdir:-.}/tests/it/supervise.sh"
