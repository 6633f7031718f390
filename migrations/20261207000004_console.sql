-- The game master's console (doc/exploitation.md, « Console du maître du jeu »).

-- `mj.chronologie` finds the combats and trades an account took part in through its own
-- commands (`compte_id` of the events it caused): without this index, a scan of the store.
CREATE INDEX events_compte ON events (compte_id);

-- `mj.chercher` looks accounts up by the start of a login or of a character name. A prefix
-- `LIKE` uses a btree only under the C collation or with `text_pattern_ops`; the existing
-- unique indexes keep their collation (they enforce uniqueness), these serve the search.
CREATE INDEX comptes_login_prefixe ON comptes (lower(login) text_pattern_ops);
CREATE INDEX noms_joueurs_cle_prefixe ON noms_joueurs (cle text_pattern_ops);
