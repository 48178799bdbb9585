# Multi-stage build of sig-register: a Rust build stage and a slim runtime with libpq only.
FROM rust:1-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock build.rs ./
COPY src src
COPY benches benches
COPY migrations migrations
COPY policies policies
COPY templates templates
COPY assets assets
RUN cargo build --release --locked

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq5 ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/sig-register sig \
 && install -d -o sig -g sig -m 0700 /var/lib/sig-register
COPY --from=build /src/target/release/sig-register /usr/local/bin/sig-register
COPY policies /etc/sig-register/policies
ENV SIG_BIND=0.0.0.0:8080 \
    SIG_DATA_DIR=/var/lib/sig-register \
    SIG_DATABASE_URL=sqlite:///var/lib/sig-register/sig-register.db \
    SIG_POLICIES_DIR=/etc/sig-register/policies \
    SIG_LOG_FORMAT=json
USER sig
EXPOSE 8080
VOLUME ["/var/lib/sig-register"]
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s CMD curl -fsS http://127.0.0.1:8080/readyz || exit 1
ENTRYPOINT ["sig-register"]
CMD ["serve"]
