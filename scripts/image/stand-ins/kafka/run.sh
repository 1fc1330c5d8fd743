#!/bin/bash
# The container's start: writes server.properties, formats the log folder once, then runs the broker.
#
# As in the official image: when any KAFKA_* variable names a property, server.properties holds those properties
# alone; otherwise it is a single-node default. A variable becomes a property by dropping `KAFKA_`, lower-casing,
# and turning `___` into `-`, `__` into `_` and `_` into `.` (KAFKA_LOG_DIRS -> log.dirs). The JVM's own
# settings (KAFKA_HEAP_OPTS, KAFKA_OPTS, ...) are not properties.
set -euo pipefail
config=/opt/kafka/config/server.properties

not_properties='^KAFKA_(VERSION|HEAP_OPTS|LOG4J_OPTS|OPTS|JMX_OPTS|JVM_PERFORMANCE_OPTS|GC_LOG_OPTS|LOG4J_ROOT_LOGLEVEL|LOG4J_LOGGERS|TOOLS_LOG4J_LOGLEVEL|JMX_HOSTNAME|JMX_PORT)='
properties=$(env | grep '^KAFKA_' | grep -Ev "$not_properties" || true)
if [ -n "$properties" ]; then
  : > "$config"
  while IFS='=' read -r name value; do
    key=$(printf '%s' "${name#KAFKA_}" | tr '[:upper:]' '[:lower:]' | sed -e 's/___/-/g' -e 's/__/@/g' -e 's/_/./g' -e 's/@/_/g')
    printf '%s=%s\n' "$key" "$value" >> "$config"
  done <<< "$properties"
else
  cat > "$config" <<'DEFAULTS'
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@localhost:9093
listeners=PLAINTEXT://:9092,CONTROLLER://:9093
advertised.listeners=PLAINTEXT://localhost:9092
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=/tmp/kraft-combined-logs
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
DEFAULTS
fi

# Idempotent: a log folder formatted by an earlier start (a volume) is left as it is.
kafka-storage.sh format --cluster-id "$CLUSTER_ID" --config "$config" --ignore-formatted
export KAFKA_LOG4J_OPTS="-Dlog4j.configuration=file:/opt/kafka/config/log4j.properties"
exec kafka-server-start.sh "$config"
