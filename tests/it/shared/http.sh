#!/bin/bash
# http.sh, in shared mode.
export MODE=shared
. "${srcdir:-.}/tests/it/http.sh"
