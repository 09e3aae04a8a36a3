# syntax=docker/dockerfile:1
# Switchboard's image: the release binary and the built web UI, each made in a stage of its own;
# the final image holds only them. Build from the repository root:
#
#   docker build -t switchboard .
#
# docker-compose.yml builds it the same way.

# The web helpdesk and portal (web/dist). Its build generates types from the checked-in GraphQL
# schema, so that file comes along.
FROM node:22-bookworm-slim AS web
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY graphql/schema.graphql /src/graphql/schema.graphql
COPY web/ ./
RUN npm run build

# The `switchboard` binary. SQLite is compiled in and TLS is rustls, so it needs nothing from the
# system at run time beyond libc. .cargo/config.toml keeps sqlx offline: no database at build time.
FROM rust:1.95-bookworm AS server
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin switchboard

FROM debian:bookworm-slim
# CA certificates for webhooks, mail servers and PostgreSQL over TLS; curl for the health check.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/*
# The data dir (and its attachments, a volume in docker-compose.yml) belongs to an unprivileged
# user; made here so a fresh volume starts with that owner.
RUN useradd --system --uid 10001 --home-dir /var/lib/switchboard switchboard \
    && mkdir -p /var/lib/switchboard/attachments \
    && chown -R switchboard /var/lib/switchboard \
    && chmod -R 0700 /var/lib/switchboard
COPY --from=server /src/target/release/switchboard /usr/local/bin/switchboard
COPY --from=web /src/web/dist /usr/share/switchboard/web
# An explicit web dir is served as is, never rebuilt; listening on every interface, since the
# container's own network is the boundary.
ENV SWITCHBOARD_DATA_DIR=/var/lib/switchboard \
    SWITCHBOARD_WEB_DIR=/usr/share/switchboard/web \
    SWITCHBOARD_LISTEN=0.0.0.0:8080
USER switchboard
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8080/readyz || exit 1
ENTRYPOINT ["switchboard"]
CMD ["serve"]
