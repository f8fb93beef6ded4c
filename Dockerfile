# One image, three binaries: `receiver`, `sender` and `testdc` (the hermetic test DC).
# docker-compose.yml picks which one runs with `entrypoint:`; the default is `sender`.
#
# Stages: chef (toolchain + cargo-chef) -> planner (recipe.json from the manifests)
#         -> builder (dependencies cooked in their own cached layer, then our code; stripped)
#         -> bins -> runtime.
# Editing code under crates/ leaves recipe.json unchanged, so only the last `cargo build` reruns.
#
# Build arguments (the defaults are what `docker compose build` uses):
#   RUNTIME_BASE  the runtime stage's base image.
#   BIN_STAGE     where the binaries come from: `builder` (compiled here) or `prebuilt` (taken
#                 as they are from bin/ in the build context). CI builds on the host and uses
#                 `prebuilt` with a context that holds only this file, docker/ and bin/ (see
#                 .ci/compose), so the runtime stage users get is the stage CI runs.
ARG RUNTIME_BASE=debian:bookworm-slim
ARG BIN_STAGE=builder

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
# Patched dependencies ([patch.crates-io] in Cargo.toml) are path dependencies: the cook needs them.
COPY vendor vendor
# Build-time settings of dependencies (jemalloc's options): the cook needs them too.
COPY .cargo .cargo
# Dependency layer: rebuilt only when Cargo.toml / Cargo.lock change.
RUN cargo chef cook --release --locked --recipe-path recipe.json
COPY . .
# Stripped here rather than with `strip = true` in Cargo.toml, so local release builds keep the
# symbols that profiles need.
RUN cargo build --release --locked --bin receiver --bin sender --bin testdc \
    && mkdir /out \
    && for bin in receiver sender testdc; do strip -o "/out/${bin}" "target/release/${bin}"; done

FROM scratch AS prebuilt
COPY bin/receiver bin/sender bin/testdc /out/

FROM ${BIN_STAGE} AS bins

FROM ${RUNTIME_BASE} AS runtime
# ca-certificates: TLS to webhooks (reqwest/rustls with the system's roots). No curl: each binary
# has a `healthcheck` subcommand.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*

# The app user (uid/gid 10001). docker-entrypoint runs the binaries as the owner of /sessions
# instead when that is a bind mount owned by another (non-root) user, so a checkout works
# whatever its owner's uid; see the comment in docker/docker-entrypoint.
RUN groupadd --gid 10001 app \
    && useradd --uid 10001 --gid app --home-dir /app --no-create-home --shell /usr/sbin/nologin app \
    && mkdir -p /app /sessions /userbot_media \
    && chown app:app /app /sessions /userbot_media

COPY docker/docker-entrypoint /usr/local/bin/
COPY --from=bins /out/receiver /out/sender /out/testdc /usr/local/bin/

# Defaults that match the directory layout above; .env / compose `environment:` override them.
ENV TG_SESSION_NAME=/sessions/tg_userbot \
    MEDIA_DIR=/userbot_media \
    SENDER_BIND=0.0.0.0:8000 \
    RUST_LOG=info

WORKDIR /app
# 8000: sender Bot API. 8181: receiver /media and /healthz.
EXPOSE 8000 8181
# Whichever binary runs, one of them is ready (compose sets a precise check per service).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["sh", "-c", "sender healthcheck || receiver healthcheck"]
# Starts as root only to pick the user; the command never runs as root.
ENTRYPOINT ["docker-entrypoint"]
CMD ["sender"]
