#!/bin/bash
# node.sh, in shared mode.
export MODE=shared
. "${srcdir:-.}/tests/it/node.sh"
