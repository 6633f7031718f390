-- Refresh tokens (Service Compte). A token is stored only as its SHA-256: a leaked table
-- gives nobody a session. Tokens of one login form a family: refreshing rotates the token
-- (the old one is marked `remplace_le`, a new one joins the family), and presenting a token
-- that was already rotated means it was stolen or replayed, so the whole family is revoked.
CREATE TABLE jetons_rafraichissement
(
    empreinte   bytea PRIMARY KEY, -- sha256 of the token
    famille     uuid        NOT NULL,
    compte_id   uuid        NOT NULL REFERENCES comptes (compte_id),
    emis_le     timestamptz NOT NULL DEFAULT now(),
    expire_le   timestamptz NOT NULL,
    remplace_le timestamptz, -- rotated: presenting it again revokes the family
    revoque_le  timestamptz  -- logged out, or the family was revoked
);
CREATE INDEX jetons_rafraichissement_famille ON jetons_rafraichissement (famille);
CREATE INDEX jetons_rafraichissement_expiration ON jetons_rafraichissement (expire_le);
