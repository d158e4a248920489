# syntax=docker/dockerfile:1
#
# One tenant per container: trestled is PID 1, in the foreground, configured
# entirely from the environment, logging JSON lines to standard error.
#
#   docker build -t trestle .
#   docker run --rm -p 8001:8001 \
#       -e TRESTLE_TENANT_ID=acme -e TRESTLE_TENANT_SECRET=... -e TRESTLE_JWT_SECRET=... \
#       -e DATABASE_URL="host=db dbname=trestle user=trestle password=..." \
#       -e TRESTLE_MCP_ALLOWED_HOSTS=mcp.example.com \
#       -e TRESTLE_API_KEYS_FILE=/run/secrets/api_keys -v ./api_keys:/run/secrets/api_keys:ro \
#       trestle
#
# tests/integration/container.sh starts trestled exactly as this image does
# (the ENV lines below, no configuration file, a non-root user, PID 1) and
# checks that the runtime stage installs the library of every shared object
# the binaries need.

## Build
FROM debian:12 AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
	build-essential autoconf automake pkg-config \
	libevent-dev libjson-c-dev libcurl4-openssl-dev libpq-dev libssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN autoreconf -fi \
 && mkdir _build-image && cd _build-image \
 && ../configure -q --prefix=/usr --sysconfdir=/etc --localstatedir=/var \
 && make -j"$(nproc)" \
 && make install-strip DESTDIR=/out

## Run: only the shared libraries, plus curl for the health check.
FROM debian:12-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
	libevent-2.1-7 libevent-pthreads-2.1-7 libjson-c5 libcurl4 libpq5 libssl3 \
	ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 trestle \
 && useradd --system --uid 10001 --gid trestle --home-dir /var/lib/trestle \
	--shell /usr/sbin/nologin trestle \
 && install -d -o trestle -g trestle -m 0750 /run/trestle /var/lib/trestle
COPY --from=build /out/usr/sbin/ /usr/sbin/
COPY --from=build /out/usr/libexec/trestle/ /usr/libexec/trestle/
COPY --from=build /out/usr/share/man/ /usr/share/man/

# Defaults for a container; every other key comes from TRESTLE_<KEY> (and the
# database from DATABASE_URL or TRESTLE_DATABASE_URL) at "docker run" time.
ENV TRESTLE_LISTEN=0.0.0.0:8001
ENV TRESTLE_RUNTIME_DIR=/run/trestle
ENV TRESTLE_STATE_DIR=/var/lib/trestle
ENV TRESTLE_LOG_FILE=
ENV TRESTLE_LOG_LEVEL=info

USER trestle
EXPOSE 8001
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
	CMD curl -fsS -o /dev/null "http://127.0.0.1:${TRESTLE_LISTEN##*:}/healthz" || exit 1
ENTRYPOINT ["/usr/sbin/trestled"]
