#!/bin/bash
# app-gunicorn.sh's proxy-mode part, relaying on io_uring (two relay threads).
export MODE=proxy RELAY_IO=io_uring PROXY_ONLY=1
. "${srcdir:-.}/tests/it/app-gunicorn.sh"
