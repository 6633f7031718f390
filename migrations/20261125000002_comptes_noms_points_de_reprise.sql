-- Accounts (Service Compte, plain CRUD), character name reservations, projection checkpoints.

CREATE TABLE comptes
(
    compte_id    uuid PRIMARY KEY,
    login        text        NOT NULL,
    mot_de_passe text        NOT NULL, -- argon2id PHC string, never the password
    admin        boolean     NOT NULL DEFAULT false,
    cree_le      timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX comptes_login ON comptes (lower(login));

-- A character name is unique across the game, case-insensitively (`NomJoueur::cle`). The
-- reservation is taken before the `Joueur` aggregate is created; counting an account's rows
-- under an advisory lock enforces the characters-per-account limit.
CREATE TABLE noms_joueurs
(
    cle        text PRIMARY KEY,
    nom        text        NOT NULL,
    joueur_id  uuid        NOT NULL UNIQUE,
    compte_id  uuid        NOT NULL REFERENCES comptes (compte_id),
    reserve_le timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX noms_joueurs_compte ON noms_joueurs (compte_id);

-- Where each tailing reader (projection, relay) stands in the global order.
CREATE TABLE points_de_reprise
(
    lecteur         text PRIMARY KEY,
    transaction_id  xid8        NOT NULL DEFAULT '0',
    global_position bigint      NOT NULL DEFAULT 0,
    mis_a_jour      timestamptz NOT NULL DEFAULT now()
);
