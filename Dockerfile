# One image, three binaries: `receiver`, `sender` and `testdc` (the hermetic test DC).
# docker-compose.yml picks which one runs with `command:`; the default is `sender`.
#
# Stages: chef (toolchain + cargo-chef) -> planner (recipe.json from the manifests)
#         -> builder (dependencies cooked in their own cached layer, then our code) -> runtime.
# Editing code under crates/ leaves recipe.json unchanged, so only the last `cargo build` reruns.

FROM rust:1-bookworm AS chef
# Pinned so a cargo-chef release cannot change the recipe format under a cached layer.
ARG CARGO_CHEF_VERSION=0.1.78
RUN cargo install cargo-chef --locked --version "${CARGO_CHEF_VERSION}"
WORKDIR /src

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
COPY --from=planner /src/recipe.json recipe.json
# Dependency layer: rebuilt only when Cargo.toml / Cargo.lock change.
RUN cargo chef cook --release --locked --recipe-path recipe.json
COPY . .
RUN cargo build --release --locked --bin receiver --bin sender --bin testdc

FROM debian:bookworm-slim AS runtime
# ca-certificates: TLS to webhooks (reqwest/rustls). curl: the HEALTHCHECKs (GET /healthz).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/*

# Fixed uid/gid so host directories bind-mounted at /sessions and /userbot_media can be
# chowned to match (or override with compose `user:`; see APP_UID in .env.example).
RUN groupadd --gid 10001 app \
    && useradd --uid 10001 --gid app --home-dir /app --no-create-home --shell /usr/sbin/nologin app \
    && mkdir -p /app /sessions /userbot_media \
    && chown app:app /app /sessions /userbot_media

COPY --from=builder /src/target/release/receiver /src/target/release/sender /src/target/release/testdc /usr/local/bin/

# Defaults that match the directory layout above; .env / compose `environment:` override them.
ENV TG_SESSION_NAME=/sessions/tg_userbot \
    MEDIA_DIR=/userbot_media \
    SENDER_BIND=0.0.0.0:8000 \
    RUST_LOG=info

USER 10001:10001
WORKDIR /app
# 8000: sender Bot API. 8181: receiver /media and /healthz.
EXPOSE 8000 8181
# Whichever binary runs, one of its health endpoints answers: the sender on 8000, the receiver
# on 8181 (compose sets a precise check per service).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["sh", "-c", "curl -fsS -o /dev/null http://127.0.0.1:8000/healthz || curl -fsS -o /dev/null http://127.0.0.1:8181/healthz"]
CMD ["sender"]
