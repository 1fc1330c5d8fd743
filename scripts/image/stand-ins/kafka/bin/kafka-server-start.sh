#!/bin/sh
# The broker, with the 1 GiB heap of Kafka's own script unless KAFKA_HEAP_OPTS says otherwise.
KAFKA_HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xmx1G -Xms1G} exec /opt/kafka/bin/kafka-run-class.sh kafka.Kafka "$@"
