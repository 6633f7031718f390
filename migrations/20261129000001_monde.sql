-- Service Monde: where each character stands, durably. Redis holds the hot copy, written on
-- every move; this table is written behind it (a periodic flush of the moved characters, and
-- at once on a zone change or when the player's socket closes). `mis_a_jour` is the instant
-- of the move the row holds: a flush never replaces a newer row with an older position.

CREATE TABLE positions
(
    joueur_id  uuid PRIMARY KEY REFERENCES noms_joueurs (joueur_id),
    zone       text             NOT NULL,
    x          double precision NOT NULL,
    y          double precision NOT NULL,
    mis_a_jour timestamptz      NOT NULL DEFAULT now()
);
CREATE INDEX positions_zone ON positions (zone);
