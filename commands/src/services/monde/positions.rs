//! Where a character stands: hot in Redis (one hash per character, written by every move
//! and zone change through a script that checks nobody moved the character meanwhile), read
//! back from PostgreSQL on a miss; placement at the start, moves and zone changes decided by
//! the domain's rules (`domain::monde`).

use std::time::Duration;

use domain::ids::{CompteId, JoueurId};
use domain::monde::{decider_changement, decider_deplacement};
use domain::valeurs::{CodeZone, Position};
use serde::{Deserialize, Serialize};

use super::{Monde, introuvable_position, maintenant_ms};
use crate::erreurs::ErreurApplication;
use crate::services::fiche_possedee;

/// How long a position stays in Redis without a move (it comes back from PostgreSQL on the
/// next read). Far longer than [`PERIODE_ECRITURE`]: a dirty position is written long before.
const DUREE_CACHE_S: i64 = 24 * 3600;

/// Where a character stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Emplacement {
    /// Its zone.
    pub zone: CodeZone,
    /// Its position in the zone.
    pub position: Position,
}

/// A position as Redis holds it: with the instant of its move.
#[derive(Debug, Clone)]
pub(super) struct PositionDatee {
    pub(super) emplacement: Emplacement,
    pub(super) t: i64,
}

/// A move, applied only if the character still stands where it was decided from (same zone,
/// same instant): two concurrent moves, or a move racing a zone change, cannot both apply.
pub(super) const SCRIPT_DEPLACER: &str = r"
local actuel = redis.call('HMGET', KEYS[1], 'zone', 't')
if actuel[1] ~= ARGV[1] or actuel[2] ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'x', ARGV[3], 'y', ARGV[4], 't', ARGV[5])
redis.call('EXPIRE', KEYS[1], ARGV[7])
redis.call('SADD', KEYS[2], ARGV[6])
redis.call('ZADD', KEYS[3], ARGV[5], ARGV[6])
return 1
";

/// A zone change, applied only if the character still stands where it was decided from (same
/// zone, same instant), like a move: a move racing it cannot slip in between. PostgreSQL
/// already holds the new zone, newer than any pending move: the dirty mark goes. `depuis`
/// remembers the zone left, to answer a retried zone change.
pub(super) const SCRIPT_CHANGER_ZONE: &str = r"
local actuel = redis.call('HMGET', KEYS[1], 'zone', 't')
if actuel[1] ~= ARGV[1] or actuel[2] ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'zone', ARGV[3], 'x', ARGV[4], 'y', ARGV[5], 't', ARGV[6],
  'depuis', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[8])
redis.call('SREM', KEYS[2], ARGV[7])
redis.call('ZREM', KEYS[3], ARGV[7])
redis.call('ZADD', KEYS[4], ARGV[6], ARGV[7])
return 1
";

/// A refill from PostgreSQL, only if no move wrote the position meanwhile.
pub(super) const SCRIPT_REMPLIR: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'zone', ARGV[1], 'x', ARGV[2], 'y', ARGV[3], 't', ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
";

impl Monde {
    /// Places a character at the start zone's `depart` if it has no position yet, durably
    /// (PostgreSQL); returns where it stands. Idempotent: a placed character stays where it
    /// is. No ownership check: the process manager reacting to `JoueurCree` calls it.
    pub async fn placer_au_depart(
        &self,
        joueur_id: JoueurId,
    ) -> Result<Emplacement, ErreurApplication> {
        let zone = self.i.catalogue.regles().zone_depart.clone();
        let depart = self
            .i
            .catalogue
            .zone(&zone)
            .map(|z| z.depart)
            .ok_or_else(|| ErreurApplication::introuvable("zone", &zone.as_str()))?;
        let insertion = sqlx::query(
            "INSERT INTO positions (joueur_id, zone, x, y) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (joueur_id) DO NOTHING",
        )
        .bind(joueur_id.uuid())
        .bind(zone.as_str())
        .bind(depart.x())
        .bind(depart.y())
        .execute(&self.i.pool)
        .await;
        match insertion {
            Ok(_) => {}
            Err(sqlx::Error::Database(e)) if e.is_foreign_key_violation() => {
                return Err(ErreurApplication::introuvable("personnage", &joueur_id));
            }
            Err(e) => return Err(e.into()),
        }
        self.emplacement(joueur_id)
            .await?
            .ok_or_else(|| introuvable_position(joueur_id))
    }

    /// Where a character stands: Redis first, PostgreSQL on a miss (refilling Redis). `None`
    /// if it was never placed.
    pub async fn emplacement(
        &self,
        joueur_id: JoueurId,
    ) -> Result<Option<Emplacement>, ErreurApplication> {
        Ok(self.position_datee(joueur_id).await?.map(|e| e.emplacement))
    }

    pub(super) async fn position_datee(
        &self,
        joueur_id: JoueurId,
    ) -> Result<Option<PositionDatee>, ErreurApplication> {
        let cle = self.cle_position(joueur_id);
        let mut redis = self.redis();
        let champs: Vec<Option<String>> = redis::cmd("HMGET")
            .arg(&cle)
            .arg(&["zone", "x", "y", "t"])
            .query_async(&mut redis)
            .await?;
        if let Some(etat) = lire_position_datee(&champs) {
            return Ok(Some(etat));
        }
        let ligne: Option<(String, f64, f64, i64)> = sqlx::query_as(
            "SELECT zone, x, y, (extract(epoch FROM mis_a_jour) * 1000)::bigint \
             FROM positions WHERE joueur_id = $1",
        )
        .bind(joueur_id.uuid())
        .fetch_optional(&self.i.pool)
        .await?;
        let Some((zone, x, y, t)) = ligne else {
            return Ok(None);
        };
        let rempli: i64 = self
            .i
            .remplir
            .key(&cle)
            .arg(&zone)
            .arg(x.to_string())
            .arg(y.to_string())
            .arg(t)
            .arg(DUREE_CACHE_S)
            .invoke_async(&mut redis)
            .await?;
        if rempli == 0 {
            // A move wrote it between our two reads: that one is newer.
            let champs: Vec<Option<String>> = redis::cmd("HMGET")
                .arg(&cle)
                .arg(&["zone", "x", "y", "t"])
                .query_async(&mut redis)
                .await?;
            return Ok(lire_position_datee(&champs));
        }
        Ok(lire_position_datee(&[
            Some(zone),
            Some(x.to_string()),
            Some(y.to_string()),
            Some(t.to_string()),
        ]))
    }

    /// Moves the caller's character inside its zone: within the zone's bounds, no faster than
    /// the domain allows since its last accepted move. Marks it present and dirty.
    pub async fn deplacer(
        &self,
        compte: CompteId,
        joueur_id: JoueurId,
        vers: Position,
    ) -> Result<Emplacement, ErreurApplication> {
        self.verifier_proprietaire(compte, joueur_id).await?;
        let etat = self
            .position_datee(joueur_id)
            .await?
            .ok_or_else(|| introuvable_position(joueur_id))?;
        let zone = &etat.emplacement.zone;
        let def = self.i.catalogue.zone(zone).ok_or_else(|| {
            ErreurApplication::monde(domain::monde::ErreurMonde::ZoneInconnue(zone.clone()))
        })?;
        // Strictly after the previous move: the script tells moves apart by this instant.
        let t = maintenant_ms().max(etat.t + 1);
        let ecoule = Duration::from_millis(u64::try_from(t - etat.t).unwrap_or(0));
        decider_deplacement(zone, def, etat.emplacement.position, vers, ecoule)
            .map_err(ErreurApplication::monde)?;
        let mut redis = self.redis();
        let applique: i64 = self
            .i
            .deplacer
            .key(self.cle_position(joueur_id))
            .key(self.cle_sales())
            .key(self.cle_presence(zone))
            .arg(zone.as_str())
            .arg(etat.t)
            .arg(vers.x().to_string())
            .arg(vers.y().to_string())
            .arg(t)
            .arg(joueur_id.to_string())
            .arg(DUREE_CACHE_S)
            .invoke_async(&mut redis)
            .await?;
        if applique == 0 {
            return Err(ErreurApplication::Conflit);
        }
        Ok(Emplacement {
            zone: zone.clone(),
            position: vers,
        })
    }

    /// Takes the caller's character through a portal of its zone to `vers`: it must stand at
    /// the portal and have its level (read from its sheet). Written to PostgreSQL before the
    /// answer (a zone change is never lost) and to Redis only if nobody moved the character
    /// since it was decided (else [`ErreurApplication::Conflit`], retryable, and PostgreSQL
    /// is left as it was); the character leaves the old zone's presence and joins the new one's.
    /// A retry after a lost answer (the character stands in `vers` at the portal's `arrivee`,
    /// its last zone change) answers the same instead of [`ErreurMonde::PasDePortail`].
    ///
    /// [`ErreurMonde::PasDePortail`]: domain::monde::ErreurMonde::PasDePortail
    pub async fn changer_zone(
        &self,
        compte: CompteId,
        joueur_id: JoueurId,
        vers: CodeZone,
    ) -> Result<Emplacement, ErreurApplication> {
        let fiche = fiche_possedee(&self.i.depot, compte, joueur_id).await?;
        let etat = self
            .position_datee(joueur_id)
            .await?
            .ok_or_else(|| introuvable_position(joueur_id))?;
        if etat.emplacement.zone == vers && self.deja_passe(joueur_id, &etat.emplacement).await? {
            // A retry whose first answer was lost: the character went through this portal
            // and has not moved since. PostgreSQL is written again, in case the first call
            // failed after Redis took the change.
            let mut connexion = self.i.pool.acquire().await?;
            changer_zone_en_base(&mut connexion, joueur_id, &etat.emplacement, etat.t).await?;
            return Ok(etat.emplacement);
        }
        let portail = decider_changement(
            &self.i.catalogue,
            &etat.emplacement.zone,
            etat.emplacement.position,
            &vers,
            fiche.niveau,
        )
        .map_err(ErreurApplication::monde)?;
        let arrivee = Emplacement {
            zone: vers,
            position: portail.arrivee,
        };
        let t = maintenant_ms().max(etat.t + 1);
        // PostgreSQL first, in a transaction held across the Redis check: a move that slipped
        // in since `etat` was read wins the race, and the row is then left as it was.
        let mut tx = self.i.pool.begin().await?;
        changer_zone_en_base(&mut tx, joueur_id, &arrivee, t).await?;
        let id = joueur_id.to_string();
        let applique: i64 = self
            .i
            .changer_zone
            .key(self.cle_position(joueur_id))
            .key(self.cle_sales())
            .key(self.cle_presence(&etat.emplacement.zone))
            .key(self.cle_presence(&arrivee.zone))
            .arg(etat.emplacement.zone.as_str())
            .arg(etat.t)
            .arg(arrivee.zone.as_str())
            .arg(arrivee.position.x().to_string())
            .arg(arrivee.position.y().to_string())
            .arg(t)
            .arg(&id)
            .arg(DUREE_CACHE_S)
            .invoke_async(&mut self.redis())
            .await?;
        if applique == 0 {
            tx.rollback().await?;
            return Err(ErreurApplication::Conflit);
        }
        tx.commit().await?;
        Ok(arrivee)
    }

    /// Whether the character's last zone change brought it where it stands: it stands at the
    /// `arrivee` of a portal of the zone it came from leading to its zone.
    async fn deja_passe(
        &self,
        joueur_id: JoueurId,
        ici: &Emplacement,
    ) -> Result<bool, ErreurApplication> {
        let depuis: Option<String> = redis::cmd("HGET")
            .arg(self.cle_position(joueur_id))
            .arg("depuis")
            .query_async(&mut self.redis())
            .await?;
        let depuis = depuis.and_then(|d| CodeZone::parse(&d).ok());
        Ok(depuis
            .and_then(|d| self.i.catalogue.zone(&d))
            .is_some_and(|z| {
                z.portails
                    .iter()
                    .any(|p| p.vers == ici.zone && p.arrivee == ici.position)
            }))
    }
}

impl Monde {
    /// Puts a character at `ici`, bypassing the move rules, durably (PostgreSQL, then Redis)
    /// and present there. For tests, and for an admin placement path: never reachable by a
    /// player. It is not announced: the character's next move, zone change or look at its
    /// zone moves its interest cell and tells its neighbours.
    pub async fn placer(
        &self,
        joueur_id: JoueurId,
        ici: &Emplacement,
    ) -> Result<(), ErreurApplication> {
        let avant = self.position_datee(joueur_id).await?;
        let t = maintenant_ms().max(avant.as_ref().map_or(0, |a| a.t + 1));
        let mut connexion = self.i.pool.acquire().await?;
        changer_zone_en_base(&mut connexion, joueur_id, ici, t).await?;
        let id = joueur_id.to_string();
        let mut pipe = redis::pipe();
        pipe.hset_multiple(
            self.cle_position(joueur_id),
            &[
                ("zone", ici.zone.as_str().to_owned()),
                ("x", ici.position.x().to_string()),
                ("y", ici.position.y().to_string()),
                ("t", t.to_string()),
            ],
        )
        .ignore()
        .expire(self.cle_position(joueur_id), DUREE_CACHE_S)
        .ignore();
        if let Some(a) = avant.filter(|a| a.emplacement.zone != ici.zone) {
            pipe.zrem(self.cle_presence(&a.emplacement.zone), &id)
                .ignore();
        }
        pipe.zadd(self.cle_presence(&ici.zone), &id, t).ignore();
        let _: () = pipe.query_async(&mut self.redis()).await?;
        Ok(())
    }
}

/// Reads a Redis hash `zone, x, y, t` (all present and well-formed, else `None`).
pub(super) fn lire_position_datee(champs: &[Option<String>]) -> Option<PositionDatee> {
    let [Some(zone), Some(x), Some(y), Some(t)] = champs else {
        return None;
    };
    Some(PositionDatee {
        emplacement: Emplacement {
            zone: CodeZone::parse(zone).ok()?,
            position: Position::parse(x.parse().ok()?, y.parse().ok()?).ok()?,
        },
        t: t.parse().ok()?,
    })
}

/// Writes a zone change: the only write that changes a row's zone.
async fn changer_zone_en_base(
    tx: &mut sqlx::PgConnection,
    joueur_id: JoueurId,
    arrivee: &Emplacement,
    t: i64,
) -> Result<(), ErreurApplication> {
    sqlx::query(
        "INSERT INTO positions (joueur_id, zone, x, y, mis_a_jour) \
         VALUES ($1, $2, $3, $4, to_timestamp($5 / 1000.0)) \
         ON CONFLICT (joueur_id) DO UPDATE \
         SET zone = EXCLUDED.zone, x = EXCLUDED.x, y = EXCLUDED.y, mis_a_jour = EXCLUDED.mis_a_jour",
    )
    .bind(joueur_id.uuid())
    .bind(arrivee.zone.as_str())
    .bind(arrivee.position.x())
    .bind(arrivee.position.y())
    .bind(t)
    .execute(tx)
    .await?;
    Ok(())
}
