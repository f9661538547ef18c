#!/usr/bin/env bash
# Peak heap of serve answering Query Sites over 10,000 sites of one account (valgrind massif;
# docs/SCALING.md, "What grows with what"). Usage: bench/sites_heap.sh [-n SITES]
exec "$(dirname "$0")/pybench.sh" sites_heap.py "$@"
