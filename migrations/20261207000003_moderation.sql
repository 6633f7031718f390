-- Moderation (doc/exploitation.md, « Modérer »): the bans in force, which every gateway
-- instance enforces on each call, and the players' reports waiting in the console's queue.
-- What game masters did is in the event store (the `Moderation` and `Inventaire` streams);
-- these tables hold what must be read on every call or listed.

-- A ban in force: written right after its `CompteBanni` event, deleted after `CompteRetabli`.
-- `jusqu_a` NULL: until unbanned.
CREATE TABLE revocations (
    compte_id uuid PRIMARY KEY REFERENCES comptes (compte_id),
    jusqu_a timestamptz,
    raison text NOT NULL,
    par uuid,
    le timestamptz NOT NULL
);

CREATE TABLE signalements (
    signalement_id uuid PRIMARY KEY,
    -- The queue's order and the cursor of its pages.
    numero bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    auteur_compte_id uuid NOT NULL,
    auteur_joueur_id uuid NOT NULL,
    auteur_nom text NOT NULL,
    cible_compte_id uuid NOT NULL,
    cible_joueur_id uuid NOT NULL,
    cible_nom text NOT NULL,
    raison text NOT NULL CHECK (char_length(raison) BETWEEN 1 AND 500),
    cree_le timestamptz NOT NULL DEFAULT now(),
    traite_le timestamptz,
    traite_par uuid,
    note text CHECK (note IS NULL OR char_length(note) BETWEEN 1 AND 500)
);

CREATE INDEX signalements_ouverts ON signalements (numero) WHERE traite_le IS NULL;
CREATE INDEX signalements_par_auteur ON signalements (auteur_compte_id, cree_le);
