-- The proof job queue (zklanes-queue). Applied at connect by
-- `JobQueue::connect`; never edit an applied migration, add a new file.

-- Fencing tokens: one global sequence, so a token is never issued twice,
-- whichever job it is for.
CREATE SEQUENCE fencing_tokens;

-- One row per proof to make: a chunk proof, an aggregation node, the final
-- (EVM) proof. `input` is opaque to the queue (a chunk trace, a layer's
-- description); `input_digest` is its SHA-256, to refuse a different job
-- enqueued under an existing key.
CREATE TABLE jobs (
    id               bigserial PRIMARY KEY,
    batch            bigint NOT NULL,
    kind             text NOT NULL CHECK (kind IN ('chunk', 'aggregate', 'final')),
    layer            int NOT NULL CHECK (layer >= 0),
    position         int NOT NULL CHECK (position >= 0),
    circuit_version  text NOT NULL,
    input            bytea NOT NULL,
    input_digest     bytea NOT NULL,
    state            text NOT NULL
                     CHECK (state IN ('waiting', 'ready', 'leased', 'done', 'parked')),
    owner            text,
    fencing_token    bigint,
    lease_expires_at timestamptz,
    attempts         int NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts     int NOT NULL CHECK (max_attempts >= 1),
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    claimed_at       timestamptz,
    done_at          timestamptz,
    UNIQUE (batch, kind, layer, position, circuit_version),
    -- A lease (owner, expiry, token) exists exactly while the job is leased.
    CHECK ((state = 'leased') = (owner IS NOT NULL AND lease_expires_at IS NOT NULL)),
    CHECK (state <> 'leased' OR fencing_token IS NOT NULL),
    CHECK ((state = 'done') = (done_at IS NOT NULL))
);

-- Claim candidates, in claim order.
CREATE INDEX jobs_claimable ON jobs (batch, layer DESC, id)
    WHERE state IN ('ready', 'leased');

-- The proof DAG: `job_id` needs the proof of `input_job_id` as its input
-- number `slot`.
CREATE TABLE job_inputs (
    job_id       bigint NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    slot         int NOT NULL CHECK (slot >= 0),
    input_job_id bigint NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    PRIMARY KEY (job_id, slot),
    UNIQUE (job_id, input_job_id),
    CHECK (job_id <> input_job_id)
);
CREATE INDEX job_inputs_by_input ON job_inputs (input_job_id);

-- Accepted proofs: the primary key makes it at most one per job, whatever
-- the workers do.
CREATE TABLE proofs (
    job_id        bigint PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
    proof         bytea NOT NULL,
    worker        text NOT NULL,
    fencing_token bigint NOT NULL,
    prove_ms      double precision NOT NULL,
    verify_ms     double precision NOT NULL,
    accepted_at   timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- What happened to each job, in order (`id`): metrics, the batch status and
-- the timeline picture are read from here.
CREATE TABLE job_events (
    id            bigserial PRIMARY KEY,
    job_id        bigint NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    at            timestamptz NOT NULL DEFAULT clock_timestamp(),
    worker        text,
    event         text NOT NULL CHECK (event IN (
                      'enqueued', 'promoted', 'claimed', 'heartbeat', 'expired',
                      'accepted', 'refused_stale', 'refused_invalid', 'failed',
                      'parked', 'released')),
    fencing_token bigint,
    attempt       int,
    detail        text
);
CREATE INDEX job_events_by_job ON job_events (job_id, id);
