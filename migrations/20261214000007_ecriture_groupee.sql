-- Group commit (doc/magasin.md §2, « Écrire en groupe »): the command side writes the commands
-- decided at the same moment in one statement, one transaction, one fsync. That statement
-- registers each command id in `commandes_appliquees` itself (INSERT … ON CONFLICT DO NOTHING:
-- an id another transaction holds is left out, and so are that command's events, without
-- aborting the others), and writes the metadata's typed columns itself. What each piece cost
-- per insert, measured by scripts/lignes.sh, is in doc/performance.md (« Ce que coûte une
-- ligne »).
--
-- Every writer of `events` must now give the command id's row and the typed columns: stop
-- every process of the previous code before starting this one (a writer of the previous code
-- would write events whose command ids nothing registers). An event written by hand (SQL)
-- gives them too, or leaves them null.

-- The per-row trigger: a PL/pgSQL call, an insert and a lookup per event, now one insert per
-- command in the writing statement.
DROP TRIGGER events_une_commande_une_fois ON events;
DROP FUNCTION events_une_commande_une_fois();

-- The metadata's ids, parsed four times from the JSON text by every insert: now written by the
-- store from the values it already has. The values already stored stay (no rewrite).
ALTER TABLE events
    ALTER COLUMN id_commande DROP EXPRESSION,
    ALTER COLUMN correlation_id DROP EXPRESSION,
    ALTER COLUMN causation_id DROP EXPRESSION,
    ALTER COLUMN compte_id DROP EXPRESSION;

-- A random UUID per event is the bus's deduplication key (Nats-Msg-Id); nothing looks an
-- event up by it, and a unique index on random values costs a random btree descent per insert.
ALTER TABLE events DROP CONSTRAINT events_event_id_key;
