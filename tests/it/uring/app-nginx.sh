#!/bin/bash
# app-nginx.sh, in proxy mode relaying on io_uring (two relay threads).
export MODE=proxy RELAY_IO=io_uring
. "${srcdir:-.}/tests/it/app-nginx.sh"
