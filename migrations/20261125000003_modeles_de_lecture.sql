-- Read models, built by the projection workers (projections/). They live in their own schema:
-- a rebuild replays into shadow copies (`CREATE TABLE ... (LIKE lecture.x INCLUDING ALL)`) and
-- swaps them in, so no read-model table may be the target of a view or a foreign key.
CREATE SCHEMA lecture;

-- A character's profile (and the leaderboard, ordered by level, XP, name, id).
CREATE TABLE lecture.joueurs
(
    joueur_id uuid PRIMARY KEY,
    compte_id uuid        NOT NULL,
    nom       text        NOT NULL,
    classe    text        NOT NULL,
    niveau    integer     NOT NULL,
    xp        bigint      NOT NULL,
    pv_max    integer     NOT NULL,
    attaque   integer     NOT NULL,
    defense   integer     NOT NULL,
    soin      integer     NOT NULL,
    combat_id uuid,
    version   bigint      NOT NULL, -- the last applied sequence of the character's stream
    maj       timestamptz NOT NULL
);
CREATE INDEX joueurs_compte ON lecture.joueurs (compte_id);
CREATE INDEX joueurs_classement ON lecture.joueurs (niveau DESC, xp DESC, nom, joueur_id);

-- Inventories: gold and item counts (reserved goods included, as the aggregate holds them).
CREATE TABLE lecture.inventaires
(
    joueur_id uuid PRIMARY KEY,
    or_total  bigint      NOT NULL,
    version   bigint      NOT NULL,
    maj       timestamptz NOT NULL
);
CREATE TABLE lecture.inventaire_items
(
    joueur_id uuid    NOT NULL,
    item      text    NOT NULL,
    quantite  integer NOT NULL CHECK (quantite > 0),
    PRIMARY KEY (joueur_id, item)
);

-- Quest logs.
CREATE TABLE lecture.journal_quetes
(
    joueur_id   uuid        NOT NULL,
    quete       text        NOT NULL,
    statut      text        NOT NULL, -- en_cours | terminee | abandonnee
    progression integer     NOT NULL,
    requis      integer     NOT NULL,
    version     bigint      NOT NULL,
    maj         timestamptz NOT NULL,
    PRIMARY KEY (joueur_id, quete)
);

-- Combats: one summary row per combat, and the full audit trail.
CREATE TABLE lecture.combats
(
    combat_id    uuid PRIMARY KEY,
    rencontre    text        NOT NULL,
    zone         text        NOT NULL,
    initiateur   uuid        NOT NULL,
    participants uuid[]      NOT NULL,
    phase        text        NOT NULL, -- preparation | en_cours | annule | victoire | defaite
    tour         integer     NOT NULL,
    debut        timestamptz NOT NULL,
    fin          timestamptz,
    version      bigint      NOT NULL
);
CREATE TABLE lecture.combats_historique
(
    combat_id      uuid        NOT NULL,
    sequence       bigint      NOT NULL,
    event_type     text        NOT NULL,
    payload        jsonb       NOT NULL,
    compte_id      uuid,
    correlation_id uuid,
    causation_id   uuid,
    recorded_at    timestamptz NOT NULL,
    PRIMARY KEY (combat_id, sequence)
);

-- The economy ledger: every gold and item movement, with its cause and the balance after it.
CREATE TABLE lecture.grand_livre
(
    joueur_id      uuid        NOT NULL,
    sequence       bigint      NOT NULL, -- the inventory stream's sequence
    ressource      text        NOT NULL, -- 'or' or an item code
    delta          bigint      NOT NULL, -- signed
    solde_apres    bigint      NOT NULL,
    cause          text        NOT NULL, -- the cause's type: butin, achat, echange...
    detail         jsonb       NOT NULL, -- the whole cause (combat, merchant, trade...)
    correlation_id uuid,
    recorded_at    timestamptz NOT NULL,
    PRIMARY KEY (joueur_id, sequence)
);
CREATE INDEX grand_livre_correlation ON lecture.grand_livre (correlation_id);

-- Totals by resource and cause: created − destroyed = held, per currency and per item.
CREATE TABLE lecture.economie_totaux
(
    ressource text   NOT NULL,
    cause     text   NOT NULL,
    cree      bigint NOT NULL DEFAULT 0,
    detruit   bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (ressource, cause)
);
