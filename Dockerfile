# Gateway image. The Kafka client is a native addon built from source against Debian's librdkafka
# dependencies and run by the Node binary scripts/build-kafka.sh fetches from the npm registry.
FROM oven/bun:1.4.5-debian AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
      nodejs npm g++ make python3 pkg-config libssl-dev zlib1g-dev libzstd-dev liblz4-dev \
      libsasl2-dev libcurl4-openssl-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# Same path in both stages: the built addon records where its Node runtime lives.
ENV KAFKA_BUILD_CACHE=/opt/cex-kafka
COPY package.json package-lock.json ./
# bun in node_modules is only for build-kafka.sh (it reads the Node version Bun reports); the
# runtime stage uses the image's own bun, so it is pruned with every other dev dependency.
RUN npm ci --ignore-scripts --omit=dev --no-audit --no-fund && npm install --no-save --ignore-scripts bun@1.4.5
COPY scripts ./scripts
RUN bash scripts/build-kafka.sh && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

FROM oven/bun:1.4.5-debian
RUN apt-get update && apt-get install -y --no-install-recommends \
      libssl3 zlib1g libzstd1 liblz4-1 libsasl2-2 libcurl4 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
ENV KAFKA_BUILD_CACHE=/opt/cex-kafka
COPY --from=build /opt/cex-kafka /opt/cex-kafka
COPY package.json tsconfig.json bunfig.toml ./
COPY protocol ./protocol
COPY src ./src
COPY clients ./clients
COPY schema ./schema
ENV PORT=8080 LOG_DIR=/data/log NODE_ENV=production
RUN mkdir -p /data && chown bun:bun /data
VOLUME /data
EXPOSE 8080
# SIGTERM drains clients with close 1012 within SHUTDOWN_GRACE_MS (default 5 s).
STOPSIGNAL SIGTERM
USER bun
CMD ["bun", "src/main.ts"]
