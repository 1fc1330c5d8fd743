#!/bin/sh
# Runs one of Kafka's main classes on the image's jars: kafka-run-class.sh <class> [args...]. The tools log
# warnings to stderr and take a small heap, unless KAFKA_LOG4J_OPTS / KAFKA_HEAP_OPTS say otherwise.
exec java ${KAFKA_HEAP_OPTS:--Xmx256m} ${KAFKA_OPTS:-} \
  ${KAFKA_LOG4J_OPTS:--Dlog4j.configuration=file:/opt/kafka/config/tools-log4j.properties} \
  -cp '/opt/kafka/libs/*' "$@"
