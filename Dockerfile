# The mhd server as a container image: a build stage and a small Debian runtime.
#
#   docker build -t mhd .                                  # builds mhd from source
#   docker build -t mhd --build-arg PREBUILT=target/release/mhd .   # takes a binary built on a
#                                                          # Debian bookworm host instead
#
# The base images are arguments, so the image can be made where no registry is reachable, from
# a base made with Debian's own packages:
#   debootstrap --variant=minbase bookworm DIR && tar -C DIR -c . | docker import - bookworm-local
#   docker build --build-arg BASE=bookworm-local --build-arg BUILDER=bookworm-local \
#     --build-arg PREBUILT=target/release/mhd -t mhd .
#
# It serves on 0.0.0.0:8000 with its home (the SQLite store, the plan, the logs) in the volume
# /data, as the unprivileged user mhd (uid 10001), logging JSON to standard error. Reaching it
# from outside its host needs users who sign in (`mhd user add`) or MHD_INSECURE_NO_AUTH=true;
# a team store is named by MHD_DATABASE_URL (or DATABASE_URL). See docs/deploy.md.

ARG BASE=debian:bookworm-slim
ARG BUILDER=rust:1-slim-bookworm

FROM ${BUILDER} AS build
# A path in the build context to a binary built already; empty: build it here.
ARG PREBUILT=
WORKDIR /src
COPY . .
RUN set -eu; \
    if [ -n "$PREBUILT" ]; then \
        install -D -m 0755 "$PREBUILT" /out/mhd; \
    else \
        cargo build --release --locked -p mhd-cli && install -D -m 0755 target/release/mhd /out/mhd; \
    fi

FROM ${BASE}
ARG VERSION=dev
LABEL org.opencontainers.image.title="mhd" \
      org.opencontainers.image.description="Migration Health Dashboard: live health, progress, forecast, alerts and performance of a long migration" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="MIT OR Apache-2.0"
# The CA certificates, for notifications and collectors over HTTPS.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb
RUN groupadd --system --gid 10001 mhd \
    && useradd --system --uid 10001 --gid mhd --home-dir /data --no-create-home --shell /usr/sbin/nologin mhd \
    && mkdir -p /data \
    && chown mhd:mhd /data
COPY --from=build /out/mhd /usr/local/bin/mhd
ENV MHD_HOME=/data \
    MHD_BIND=0.0.0.0:8000 \
    MHD_LOG_TO=stderr \
    MHD_LOG_FORMAT=json
VOLUME ["/data"]
EXPOSE 8000
USER 10001:10001
WORKDIR /data
# /health without curl: bash's /dev/tcp against the port MHD_BIND names.
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
    CMD ["bash", "-c", "port=${MHD_BIND##*:}; exec 3<>/dev/tcp/127.0.0.1/$port && printf 'GET /health HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["mhd"]
CMD ["serve"]
