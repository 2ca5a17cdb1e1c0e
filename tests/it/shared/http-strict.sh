#!/bin/bash
# http-strict.sh, in shared mode.
export MODE=shared
. "${srcdir:-.}/tests/it/http-strict.sh"
