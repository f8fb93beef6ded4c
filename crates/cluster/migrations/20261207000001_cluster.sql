-- Several gateway instances on one Postgres (crate `cluster`).
-- Every table is prefixed `gateway_` so the gateway can share a database with other software.

-- One row per running instance; `seen_at` is its heartbeat (database clock).
CREATE TABLE gateway_instances (
    id         TEXT PRIMARY KEY,
    -- Where this instance's sender answers (for forwarding requests to an account's owner).
    sender_url TEXT,
    started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    seen_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- The account registry: every account the deployment serves, by name.
CREATE TABLE gateway_accounts (
    name       TEXT PRIMARY KEY,
    -- A short number naming the account's own Postgres schemas (`outbox_<id>`, `sendq_<id>`):
    -- names may be 64 characters, identifiers only 63 bytes.
    id         BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    -- The Telegram user id the account is signed in as (a token `<user_id>:<secret>` names it).
    user_id    BIGINT,
    settings   JSONB NOT NULL DEFAULT '{}'::jsonb,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX gateway_accounts_user ON gateway_accounts (user_id);

-- Who owns an account now. `fence` grows by one with every new owner (the fencing token);
-- a lease is free once `expires_at` (database clock) has passed.
CREATE TABLE gateway_leases (
    account    TEXT PRIMARY KEY REFERENCES gateway_accounts (name) ON DELETE CASCADE,
    owner      TEXT NOT NULL,
    fence      BIGINT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);

-- A grammers session per account (what `session::SessionStore` keeps in SQLite).
CREATE TABLE gateway_session_home (
    account TEXT PRIMARY KEY REFERENCES gateway_accounts (name) ON DELETE CASCADE,
    dc_id   INTEGER NOT NULL
);

CREATE TABLE gateway_session_dc (
    account  TEXT NOT NULL REFERENCES gateway_accounts (name) ON DELETE CASCADE,
    dc_id    INTEGER NOT NULL,
    ipv4     TEXT NOT NULL,
    ipv6     TEXT NOT NULL,
    auth_key BYTEA,
    PRIMARY KEY (account, dc_id)
);

CREATE TABLE gateway_session_peers (
    account      TEXT NOT NULL REFERENCES gateway_accounts (name) ON DELETE CASCADE,
    -- The Bot API dialog id (users positive, chats -id, channels -100…).
    peer_id      BIGINT NOT NULL,
    access_hash  BIGINT,
    bot          BOOLEAN,
    is_self      BOOLEAN,
    channel_kind SMALLINT,
    PRIMARY KEY (account, peer_id)
);
CREATE INDEX gateway_session_peers_self ON gateway_session_peers (account) WHERE is_self;

CREATE TABLE gateway_session_updates (
    account TEXT PRIMARY KEY REFERENCES gateway_accounts (name) ON DELETE CASCADE,
    pts     INTEGER NOT NULL DEFAULT 0,
    qts     INTEGER NOT NULL DEFAULT 0,
    date    INTEGER NOT NULL DEFAULT 0,
    seq     INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE gateway_session_channels (
    account    TEXT NOT NULL REFERENCES gateway_accounts (name) ON DELETE CASCADE,
    channel_id BIGINT NOT NULL,
    pts        INTEGER NOT NULL,
    PRIMARY KEY (account, channel_id)
);
