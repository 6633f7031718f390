-- The combat audit trail keeps each event's version beside its payload, so that a row copied
-- before a change of the event's shape is read through the same upcasters as the store
-- (doc/magasin.md §6). Every event written before this migration was at version 1.0.
ALTER TABLE lecture.combats_historique ADD COLUMN event_version text NOT NULL DEFAULT '1.0';
