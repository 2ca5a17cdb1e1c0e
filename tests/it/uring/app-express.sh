#!/bin/bash
# app-express.sh, relaying on io_uring (two relay threads).
export MODE=proxy RELAY_IO=io_uring
. "${srcdir:-.}/tests/it/app-express.sh"
