-- Stored snapshots (doc/magasin.md §2, « Les instantanés »): an aggregate's state after its
-- first `version` events, so that a cold load folds only the events after it. A cache, never
-- the truth: a snapshot whose fingerprint (the shape of the state type, see
-- commands/src/instantanes.rs) is not the code's, whose state does not decode, or whose
-- version is not in the stream is ignored and replaced. Only the latest is kept per aggregate.
-- `TRUNCATE instantanes` (or a DELETE of one aggregate type) forces their rebuild: each is
-- written again at its aggregate's next cold load or after its next interval of events.
CREATE TABLE instantanes
(
    aggregate_type text        NOT NULL,
    aggregate_id   text        NOT NULL,
    version        bigint      NOT NULL CHECK (version > 0),
    empreinte      text        NOT NULL,
    etat           json        NOT NULL,
    enregistre_le  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (aggregate_type, aggregate_id)
);
