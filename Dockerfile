# dealdeskd on Debian 12: build in one stage, run in a slim one.
#
#   docker build -t dealdesk .
#   docker volume create dealdesk-db
#   # the first admin token, made in the volume before the server starts
#   docker run --rm -v dealdesk-db:/var/lib/dealdesk dealdesk \
#       token create --db /var/lib/dealdesk --role admin --name ops
#   docker run -d --name dealdesk -p 50051:50051 -v dealdesk-db:/var/lib/dealdesk dealdesk
#
# The server listens on 0.0.0.0:50051 with bearer tokens (add --tls-cert /
# --tls-key, mounted into the container, for TLS); the arguments after the
# image name replace the default ones (CMD). The store lives in the volume
# /var/lib/dealdesk; a backup (`dealdesk backup DIR`) is written inside the
# container, so point DIR at a mounted directory.

FROM debian:12 AS build
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config \
      libgrpc-dev libssl-dev protobuf-c-compiler libprotobuf-c-dev \
      liblua5.4-dev liblmdb-dev libjson-c-dev libcmocka-dev libgoogle-perftools-dev \
      libsystemd-dev libmicrohttpd-dev python3 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN rm -rf build \
 && cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr \
 && cmake --build build -j"$(nproc)" --target dealdeskd dealdesk \
 && DESTDIR=/out cmake --install build

FROM debian:12-slim
ARG DEBIAN_FRONTEND=noninteractive
# the shared libraries of dealdeskd and dealdesk (ldd), and tzdata for the
# promotions' local times
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libgrpc29 libprotobuf-c1 liblua5.4-0 liblmdb0 libjson-c5 libssl3 \
      libtcmalloc-minimal4 libsystemd0 libmicrohttpd12 tzdata ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home-dir /var/lib/dealdesk --shell /usr/sbin/nologin dealdesk \
 && install -d -o dealdesk -g dealdesk -m 0750 /var/lib/dealdesk
COPY --from=build /out/ /
USER dealdesk
VOLUME /var/lib/dealdesk
EXPOSE 50051
HEALTHCHECK --interval=30s --timeout=5s CMD ["dealdesk", "--server", "127.0.0.1:50051", "health"]
ENTRYPOINT ["dealdeskd"]
CMD ["--listen", "0.0.0.0:50051", "--db", "/var/lib/dealdesk"]
