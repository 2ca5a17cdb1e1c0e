#!/bin/bash
# fds.sh, in shared mode.
export MODE=shared
. "${srcdir:-.}/tests/it/fds.sh"
