//! The write-behind of positions to PostgreSQL (`positions`): dirty marks in Redis, taken
//! for writing and written in batches, periodically and when a socket closes; a mark taken by
//! an instance that died before writing it is taken again after [`DELAI_REPRISE`].

use std::time::Duration;

use domain::ids::JoueurId;
use tokio::sync::watch;
use uuid::Uuid;

use super::positions::lire_position_datee;
use super::{Emplacement, Monde, maintenant_ms};
use crate::erreurs::ErreurApplication;
use sqlx::PgPool;

/// How often dirty positions are written to PostgreSQL: the most a Redis crash can lose.
pub const PERIODE_ECRITURE: Duration = Duration::from_secs(2);

/// Dirty positions written per round trip.
const LOT_ECRITURE: usize = 500;

/// How long a dirty mark taken for writing waits for its write: past this, the instance that
/// took it is taken for dead and another one writes the position.
pub const DELAI_REPRISE: Duration = Duration::from_secs(30);

/// Takes up to `ARGV[1]` dirty marks for writing: first the ones taken more than the delay ago
/// (`ARGV[3]`) by an instance that never wrote them, then fresh ones; each moves to the
/// `en_cours` set, scored with the instant it was taken (`ARGV[2]`).
pub(super) const SCRIPT_PRENDRE_SALES: &str = r"
local n = tonumber(ARGV[1])
local lot = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[3], 'LIMIT', 0, n)
for _, id in ipairs(lot) do redis.call('ZADD', KEYS[2], ARGV[2], id) end
if #lot < n then
  for _, id in ipairs(redis.call('SPOP', KEYS[1], n - #lot)) do
    redis.call('ZADD', KEYS[2], ARGV[2], id)
    table.insert(lot, id)
  end
end
return lot
";

/// Takes these characters' dirty marks for writing (`ARGV[2..]`), those that are dirty; which.
pub(super) const SCRIPT_PRENDRE_CEUX_CI: &str = r"
local pris = {}
for i = 2, #ARGV do
  if redis.call('SREM', KEYS[1], ARGV[i]) == 1 then
    redis.call('ZADD', KEYS[2], ARGV[1], ARGV[i])
    table.insert(pris, ARGV[i])
  end
end
return pris
";

impl Monde {
    /// These characters' player closed its socket on this instance: their positions are
    /// written to PostgreSQL now. Their presence is left to expire ([`DUREE_PRESENCE`]): the
    /// player may still hold a socket on another instance, which keeps signalling it, and a
    /// removal here would hide them from their zone until its next heartbeat. Their hot
    /// positions are forgotten here: the player's next step, wherever it goes, starts from
    /// Redis.
    pub async fn quitter(&self, joueurs: &[JoueurId]) -> Result<(), ErreurApplication> {
        self.oublier_chaudes(joueurs);
        self.ecrire_positions(joueurs).await
    }

    /// Writes these characters' positions to PostgreSQL if they are dirty.
    pub async fn ecrire_positions(&self, joueurs: &[JoueurId]) -> Result<(), ErreurApplication> {
        let ids: Vec<String> = joueurs.iter().map(ToString::to_string).collect();
        if ids.is_empty() {
            return Ok(());
        }
        let pris: Vec<String> = self
            .i
            .prendre_ceux_ci
            .key(self.cle_sales())
            .key(self.cle_en_cours())
            .arg(maintenant_ms())
            .arg(&ids)
            .invoke_async(&mut self.redis())
            .await?;
        self.ecrire_lot(pris).await
    }

    /// Writes every dirty position to PostgreSQL; how many. Several instances may run it at
    /// once: each dirty character is taken by one of them, and a row is never replaced by an
    /// older position. Taking moves the mark from `monde:sales` to `monde:sales:en_cours`
    /// (with the instant it was taken), and only the written ones leave it: a mark taken by an
    /// instance that died before writing is taken again after [`DELAI_REPRISE`].
    pub async fn ecrire_positions_sales(&self) -> Result<usize, ErreurApplication> {
        let mut ecrites = 0;
        loop {
            let t = maintenant_ms();
            let lot: Vec<String> = self
                .i
                .prendre_sales
                .key(self.cle_sales())
                .key(self.cle_en_cours())
                .arg(LOT_ECRITURE)
                .arg(t)
                .arg(t - DELAI_REPRISE.as_millis() as i64)
                .invoke_async(&mut self.redis())
                .await?;
            if lot.is_empty() {
                return Ok(ecrites);
            }
            ecrites += lot.len();
            self.ecrire_lot(lot).await?;
        }
    }

    /// Writes these (just taken) characters' positions, then drops their marks; on failure,
    /// marks them dirty again for the next round.
    async fn ecrire_lot(&self, ids: Vec<String>) -> Result<(), ErreurApplication> {
        if ids.is_empty() {
            return Ok(());
        }
        let resultat = self.ecrire_lot_une_fois(&ids).await;
        let mut pipe = redis::pipe();
        pipe.atomic();
        if resultat.is_err() {
            pipe.sadd(self.cle_sales(), &ids).ignore();
        }
        pipe.zrem(self.cle_en_cours(), &ids).ignore();
        let libere: Result<(), _> = pipe.query_async(&mut self.redis()).await;
        resultat?;
        // Left in `en_cours`, the marks are taken again after the delay: written twice, never lost.
        libere?;
        Ok(())
    }

    async fn ecrire_lot_une_fois(&self, ids: &[String]) -> Result<(), ErreurApplication> {
        let mut pipe = redis::pipe();
        for id in ids {
            pipe.cmd("HMGET")
                .arg(self.cle(&format!("monde:position:{id}")))
                .arg(&["zone", "x", "y", "t"]);
        }
        let lignes: Vec<Vec<Option<String>>> = pipe.query_async(&mut self.redis()).await?;
        let lot: Vec<(JoueurId, Emplacement, i64)> = ids
            .iter()
            .zip(lignes)
            .filter_map(|(id, champs)| {
                let etat = lire_position_datee(&champs)?;
                let joueur_id = JoueurId::from_uuid(Uuid::parse_str(id).ok()?);
                Some((joueur_id, etat.emplacement, etat.t))
            })
            .collect();
        ecrire_en_base(&self.i.pool, &lot).await
    }

    /// Writes the dirty positions every `periode` until `arret`, then once more.
    pub async fn ecrire_periodiquement(self, periode: Duration, mut arret: watch::Receiver<bool>) {
        let mut horloge = tokio::time::interval(periode);
        horloge.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let fin = tokio::select! {
                _ = horloge.tick() => false,
                _ = arret.changed() => true,
            };
            match self.ecrire_positions_sales().await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(positions = n, "positions écrites"),
                Err(e) => tracing::warn!(erreur = %e, "écriture des positions, nouvel essai"),
            }
            if fin || *arret.borrow() {
                return;
            }
        }
    }
}

/// Upserts positions within their zone, never replacing a row with an older one nor changing
/// its zone: only [`Monde::changer_zone`] and [`Monde::placer`] move a character to another
/// zone, and they write PostgreSQL themselves. A stale position of the old zone, still dirty
/// in Redis, is dropped.
async fn ecrire_en_base(
    pool: &PgPool,
    lot: &[(JoueurId, Emplacement, i64)],
) -> Result<(), ErreurApplication> {
    if lot.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = lot.iter().map(|(j, _, _)| j.uuid()).collect();
    let zones: Vec<&str> = lot.iter().map(|(_, e, _)| e.zone.as_str()).collect();
    let xs: Vec<f64> = lot.iter().map(|(_, e, _)| e.position.x()).collect();
    let ys: Vec<f64> = lot.iter().map(|(_, e, _)| e.position.y()).collect();
    let ts: Vec<i64> = lot.iter().map(|(_, _, t)| *t).collect();
    sqlx::query(
        "INSERT INTO positions (joueur_id, zone, x, y, mis_a_jour) \
         SELECT j, z, x, y, to_timestamp(t / 1000.0) \
         FROM unnest($1::uuid[], $2::text[], $3::float8[], $4::float8[], $5::int8[]) AS u(j, z, x, y, t) \
         ON CONFLICT (joueur_id) DO UPDATE \
         SET zone = EXCLUDED.zone, x = EXCLUDED.x, y = EXCLUDED.y, mis_a_jour = EXCLUDED.mis_a_jour \
         WHERE positions.mis_a_jour <= EXCLUDED.mis_a_jour AND positions.zone = EXCLUDED.zone",
    )
    .bind(&ids)
    .bind(&zones)
    .bind(&xs)
    .bind(&ys)
    .bind(&ts)
    .execute(pool)
    .await?;
    Ok(())
}
