-- Event store: the postgres-es `events` table (its primary key is the optimistic-concurrency
-- check), extended with what a real store needs. See doc/magasin.md.

CREATE TABLE events
(
    aggregate_type  text                         NOT NULL,
    aggregate_id    text                         NOT NULL,
    sequence        bigint CHECK (sequence >= 0) NOT NULL,
    event_type      text                         NOT NULL,
    event_version   text                         NOT NULL,
    payload         json                         NOT NULL,
    metadata        json                         NOT NULL,
    PRIMARY KEY (aggregate_type, aggregate_id, sequence),

    -- Global order. `global_position` alone is not trustworthy (transactions commit out of
    -- order, a poller on `global_position > checkpoint` skips late commits): readers take only
    -- rows below the xid8 visibility horizon and order by (transaction_id, global_position).
    global_position bigserial                    NOT NULL,
    transaction_id  xid8                         NOT NULL DEFAULT pg_current_xact_id(),
    recorded_at     timestamptz                  NOT NULL DEFAULT now(),
    -- A stable id per event: the broker's deduplication key (Nats-Msg-Id).
    event_id        uuid                         NOT NULL DEFAULT gen_random_uuid() UNIQUE,

    -- Who, why and which command: written by the command side into `metadata`, exposed as
    -- typed columns for audit queries. A malformed id fails the insert.
    id_commande     uuid GENERATED ALWAYS AS ((metadata ->> 'id_commande')::uuid) STORED,
    correlation_id  uuid GENERATED ALWAYS AS ((metadata ->> 'correlation_id')::uuid) STORED,
    causation_id    uuid GENERATED ALWAYS AS ((metadata ->> 'causation_id')::uuid) STORED,
    compte_id       uuid GENERATED ALWAYS AS ((metadata ->> 'compte_id')::uuid) STORED
);

CREATE INDEX events_ordre_global ON events (transaction_id, global_position);
CREATE INDEX events_id_commande ON events (id_commande);
CREATE INDEX events_correlation ON events (correlation_id);

-- A command id is applied at most once, whatever aggregate it targets and however many
-- concurrent attempts race: the first transaction to write an event for it owns it; any other
-- transaction writing an event with the same id fails with a unique violation, which
-- postgres-es reports as an aggregate conflict, so the command side re-reads and answers with
-- the events the first attempt produced.
CREATE TABLE commandes_appliquees
(
    id_commande    uuid PRIMARY KEY,
    aggregate_type text        NOT NULL,
    aggregate_id   text        NOT NULL,
    transaction_id xid8        NOT NULL,
    recorded_at    timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION events_une_commande_une_fois() RETURNS trigger
    LANGUAGE plpgsql AS
$$
DECLARE
    id uuid := (NEW.metadata ->> 'id_commande')::uuid;
BEGIN
    IF id IS NULL THEN
        RETURN NEW;
    END IF;
    INSERT INTO commandes_appliquees (id_commande, aggregate_type, aggregate_id, transaction_id)
    VALUES (id, NEW.aggregate_type, NEW.aggregate_id, pg_current_xact_id())
    ON CONFLICT (id_commande) DO NOTHING;
    -- A row already there is ours (an earlier event of the same command) or another
    -- transaction's: the second case is a duplicate.
    IF NOT FOUND AND NOT EXISTS (SELECT 1
                                 FROM commandes_appliquees
                                 WHERE id_commande = id
                                   AND transaction_id = pg_current_xact_id()) THEN
        RAISE EXCEPTION 'commande % déjà appliquée', id
            USING ERRCODE = 'unique_violation', CONSTRAINT = 'commandes_appliquees_pkey';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER events_une_commande_une_fois
    BEFORE INSERT
    ON events
    FOR EACH ROW
EXECUTE FUNCTION events_une_commande_une_fois();

-- Wake tailing readers (projections, relay) at commit instead of waiting for their poll.
-- Notifications with the same payload in one transaction are folded into one by PostgreSQL.
CREATE FUNCTION events_notifier() RETURNS trigger
    LANGUAGE plpgsql AS
$$
BEGIN
    PERFORM pg_notify('evenements', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER events_notifier
    AFTER INSERT
    ON events
    FOR EACH STATEMENT
EXECUTE FUNCTION events_notifier();
