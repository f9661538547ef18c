#!/usr/bin/env bash
# Webhook figures (issue 10): the delivery rate to a fast local receiver, and Create One calls
# per second with no webhook, with a receiver that answers at once, and with one that sleeps 30 s
# (a dead receiver). Builds the release binary first. Usage: bench/webhooks.sh [-n CREATES]
exec "$(dirname "$0")/pybench.sh" webhooks_bench.py "$@"
