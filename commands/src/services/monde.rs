//! Service Monde: where characters stand, without an aggregate (DESIGN §1: too hot to
//! event-source every step). The rules are the domain's ([`domain::monde`]); this service owns
//! the storage and its guarantees:
//!
//! - **hot in Redis**: one hash per character (`monde:position:<id>`: zone, x, y, the
//!   instant `t` of the last accepted move, in ms, and `depuis`, the zone its last zone
//!   change left), written by every move and zone change through a script that also checks
//!   nobody moved the character meanwhile;
//! - **durable in PostgreSQL** (`positions`), written behind: a move marks the character
//!   dirty (`monde:sales`); [`Monde::ecrire_positions_sales`] writes the dirty ones, called
//!   periodically by [`Monde::ecrire_periodiquement`] and for a socket's characters when it
//!   closes ([`Monde::quitter`]). A zone change and the first placement are written to
//!   PostgreSQL before they are answered. On a Redis miss the position is read from
//!   PostgreSQL and Redis is refilled;
//! - **presence**: one sorted set per zone (`monde:presence:<zone>`), scored by the instant
//!   of the character's last sign of life; a character counts as present for
//!   [`DUREE_PRESENCE`] after it. Only a zone change removes a presence: a closed socket
//!   lets it expire, since another instance may still hold one of the player's sockets.
//!
//! What a crash loses: if Redis loses its data, the moves since the last periodic write (at
//! most [`PERIODE_ECRITURE`], plus the write's own duration); never a zone change or a
//! placement. A gateway crash loses nothing: the dirty marks are in Redis, a mark leaves
//! Redis only once its position is written, and one taken by an instance that died before
//! writing it is taken again by another after [`DELAI_REPRISE`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use domain::Services;
use domain::ids::{CompteId, JoueurId};
use domain::monde::{decider_changement, decider_deplacement};
use domain::valeurs::{CodeZone, Position};
use redis::aio::ConnectionManager;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use tokio::sync::watch;
use uuid::Uuid;

use crate::erreurs::ErreurApplication;
use crate::magasin::Magasin;
use crate::services::fiche_possedee;

/// How long a character counts as present in its zone after its last sign of life (a move,
/// a look at the zone, a heartbeat of its socket).
pub const DUREE_PRESENCE: Duration = Duration::from_secs(45);

/// How often dirty positions are written to PostgreSQL: the most a Redis crash can lose.
pub const PERIODE_ECRITURE: Duration = Duration::from_secs(2);

/// How long a position stays in Redis without a move (it comes back from PostgreSQL on the
/// next read). Far longer than [`PERIODE_ECRITURE`]: a dirty position is written long before.
const DUREE_CACHE_S: i64 = 24 * 3600;

/// Dirty positions written per round trip.
const LOT_ECRITURE: usize = 500;

/// How long a dirty mark taken for writing waits for its write: past this, the instance that
/// took it is taken for dead and another one writes the position.
pub const DELAI_REPRISE: Duration = Duration::from_secs(30);

/// Characters listed in a zone, at most.
const PRESENTS_MAX: isize = 500;

/// Owners and names cached before the cache is cleared (both never change).
const PROPRIETAIRES_MAX: usize = 100_000;

/// Where a character stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Emplacement {
    /// Its zone.
    pub zone: CodeZone,
    /// Its position in the zone.
    pub position: Position,
}

/// A character present in a zone.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Present {
    /// Who.
    pub joueur_id: JoueurId,
    /// Its name.
    pub nom: String,
    /// Where.
    pub position: Position,
}

/// A character near another one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Proche {
    /// Who.
    pub joueur_id: JoueurId,
    /// Its name.
    pub nom: String,
    /// Where.
    pub position: Position,
    /// How far, in metres.
    pub distance: f64,
}

/// A character's view of its zone.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VueZone {
    /// Where the character stands.
    pub emplacement: Emplacement,
    /// Who is present in the zone (the character included).
    pub presents: Vec<Present>,
}

/// A position as Redis holds it: with the instant of its move.
#[derive(Debug, Clone)]
struct Etat {
    emplacement: Emplacement,
    t: i64,
}

/// Service Monde. Cheap to clone: everything is shared.
#[derive(Clone)]
pub struct Monde {
    i: Arc<Interieur>,
}

struct Interieur {
    pool: PgPool,
    redis: ConnectionManager,
    prefixe: String,
    catalogue: Services,
    magasin: Magasin,
    /// `noms_joueurs` never changes a character's account or name: cached for the hot path.
    proprietaires: Mutex<HashMap<JoueurId, (CompteId, String)>>,
    deplacer: redis::Script,
    changer_zone: redis::Script,
    remplir: redis::Script,
    prendre_sales: redis::Script,
    prendre_ceux_ci: redis::Script,
}

impl std::fmt::Debug for Monde {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Monde")
            .field("prefixe", &self.i.prefixe)
            .finish_non_exhaustive()
    }
}

/// A move, applied only if the character still stands where it was decided from (same zone,
/// same instant): two concurrent moves, or a move racing a zone change, cannot both apply.
const SCRIPT_DEPLACER: &str = r"
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
const SCRIPT_CHANGER_ZONE: &str = r"
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
const SCRIPT_REMPLIR: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'zone', ARGV[1], 'x', ARGV[2], 'y', ARGV[3], 't', ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
";

/// Takes up to `ARGV[1]` dirty marks for writing: first the ones taken more than the delay ago
/// (`ARGV[3]`) by an instance that never wrote them, then fresh ones; each moves to the
/// `en_cours` set, scored with the instant it was taken (`ARGV[2]`).
const SCRIPT_PRENDRE_SALES: &str = r"
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
const SCRIPT_PRENDRE_CEUX_CI: &str = r"
local pris = {}
for i = 2, #ARGV do
  if redis.call('SREM', KEYS[1], ARGV[i]) == 1 then
    redis.call('ZADD', KEYS[2], ARGV[1], ARGV[i])
    table.insert(pris, ARGV[i])
  end
end
return pris
";

fn maintenant_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn introuvable_position(joueur_id: JoueurId) -> ErreurApplication {
    ErreurApplication::introuvable("position", &joueur_id)
}

impl Monde {
    /// The service on a migrated database and a Redis, its keys under `prefixe_redis`.
    pub fn new(
        pool: PgPool,
        redis: ConnectionManager,
        prefixe_redis: &str,
        catalogue: Services,
    ) -> Self {
        Self {
            i: Arc::new(Interieur {
                magasin: Magasin::new(pool.clone(), catalogue.clone()),
                pool,
                redis,
                prefixe: prefixe_redis.to_owned(),
                catalogue,
                proprietaires: Mutex::new(HashMap::new()),
                deplacer: redis::Script::new(SCRIPT_DEPLACER),
                changer_zone: redis::Script::new(SCRIPT_CHANGER_ZONE),
                remplir: redis::Script::new(SCRIPT_REMPLIR),
                prendre_sales: redis::Script::new(SCRIPT_PRENDRE_SALES),
                prendre_ceux_ci: redis::Script::new(SCRIPT_PRENDRE_CEUX_CI),
            }),
        }
    }

    /// The game catalog.
    pub fn catalogue(&self) -> &Services {
        &self.i.catalogue
    }

    pub(crate) fn magasin(&self) -> &Magasin {
        &self.i.magasin
    }

    pub(crate) fn pool(&self) -> &PgPool {
        &self.i.pool
    }

    pub(crate) fn redis(&self) -> ConnectionManager {
        self.i.redis.clone()
    }

    pub(crate) fn cle(&self, suffixe: &str) -> String {
        format!("{}{suffixe}", self.i.prefixe)
    }

    fn cle_position(&self, joueur_id: JoueurId) -> String {
        self.cle(&format!("monde:position:{joueur_id}"))
    }

    fn cle_sales(&self) -> String {
        self.cle("monde:sales")
    }

    fn cle_en_cours(&self) -> String {
        self.cle("monde:sales:en_cours")
    }

    fn cle_presence(&self, zone: &CodeZone) -> String {
        self.cle(&format!("monde:presence:{}", zone.as_str()))
    }

    /// A character's account and name (`None` if no such character).
    pub async fn proprietaire(
        &self,
        joueur_id: JoueurId,
    ) -> Result<Option<(CompteId, String)>, ErreurApplication> {
        if let Some(connu) = self.cache_proprietaires().get(&joueur_id) {
            return Ok(Some(connu.clone()));
        }
        let ligne: Option<(Uuid, String)> =
            sqlx::query_as("SELECT compte_id, nom FROM noms_joueurs WHERE joueur_id = $1")
                .bind(joueur_id.uuid())
                .fetch_optional(&self.i.pool)
                .await?;
        let Some((compte, nom)) = ligne else {
            return Ok(None);
        };
        let connu = (CompteId::from_uuid(compte), nom);
        let mut cache = self.cache_proprietaires();
        if cache.len() >= PROPRIETAIRES_MAX {
            cache.clear();
        }
        cache.insert(joueur_id, connu.clone());
        Ok(Some(connu))
    }

    /// The names of these characters: from the cache, the missing ones in one query.
    async fn noms(
        &self,
        joueurs: &[JoueurId],
    ) -> Result<HashMap<JoueurId, String>, ErreurApplication> {
        let mut noms = HashMap::with_capacity(joueurs.len());
        let mut manquants = Vec::new();
        {
            let cache = self.cache_proprietaires();
            for j in joueurs {
                match cache.get(j) {
                    Some((_, nom)) => {
                        noms.insert(*j, nom.clone());
                    }
                    None => manquants.push(j.uuid()),
                }
            }
        }
        if manquants.is_empty() {
            return Ok(noms);
        }
        let lignes: Vec<(Uuid, Uuid, String)> = sqlx::query_as(
            "SELECT joueur_id, compte_id, nom FROM noms_joueurs WHERE joueur_id = ANY($1)",
        )
        .bind(&manquants)
        .fetch_all(&self.i.pool)
        .await?;
        let mut cache = self.cache_proprietaires();
        if cache.len() + lignes.len() >= PROPRIETAIRES_MAX {
            cache.clear();
        }
        for (j, compte, nom) in lignes {
            let j = JoueurId::from_uuid(j);
            cache.insert(j, (CompteId::from_uuid(compte), nom.clone()));
            noms.insert(j, nom);
        }
        Ok(noms)
    }

    fn cache_proprietaires(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<JoueurId, (CompteId, String)>> {
        self.i
            .proprietaires
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Checks that the character belongs to the account; its name.
    pub async fn verifier_proprietaire(
        &self,
        compte: CompteId,
        joueur_id: JoueurId,
    ) -> Result<String, ErreurApplication> {
        match self.proprietaire(joueur_id).await? {
            None => Err(ErreurApplication::introuvable("personnage", &joueur_id)),
            Some((c, nom)) if c == compte => Ok(nom),
            Some(_) => Err(ErreurApplication::Interdit),
        }
    }

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
        Ok(self.etat(joueur_id).await?.map(|e| e.emplacement))
    }

    async fn etat(&self, joueur_id: JoueurId) -> Result<Option<Etat>, ErreurApplication> {
        let cle = self.cle_position(joueur_id);
        let mut redis = self.redis();
        let champs: Vec<Option<String>> = redis::cmd("HMGET")
            .arg(&cle)
            .arg(&["zone", "x", "y", "t"])
            .query_async(&mut redis)
            .await?;
        if let Some(etat) = lire_etat(&champs) {
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
            return Ok(lire_etat(&champs));
        }
        Ok(lire_etat(&[
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
            .etat(joueur_id)
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
        let fiche = fiche_possedee(&self.i.magasin, compte, joueur_id).await?;
        let etat = self
            .etat(joueur_id)
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

    /// A sign of life of these characters: present in their zone for [`DUREE_PRESENCE`] more.
    /// Characters with no position are skipped.
    pub async fn signaler_presence(&self, joueurs: &[JoueurId]) -> Result<(), ErreurApplication> {
        let t = maintenant_ms();
        let mut pipe = redis::pipe();
        for &joueur_id in joueurs {
            if let Some(etat) = self.etat(joueur_id).await? {
                pipe.zadd(
                    self.cle_presence(&etat.emplacement.zone),
                    joueur_id.to_string(),
                    t,
                )
                .ignore();
            }
        }
        let _: () = pipe.query_async(&mut self.redis()).await?;
        Ok(())
    }

    /// The caller's character's view of its zone: where it stands and who is present. Places
    /// it at the start first if it has no position yet (created before Service Monde placed
    /// it), and counts as a sign of life.
    pub async fn vue_zone(
        &self,
        compte: CompteId,
        joueur_id: JoueurId,
    ) -> Result<VueZone, ErreurApplication> {
        self.verifier_proprietaire(compte, joueur_id).await?;
        let emplacement = match self.emplacement(joueur_id).await? {
            Some(e) => e,
            None => self.placer_au_depart(joueur_id).await?,
        };
        self.signaler_presence(&[joueur_id]).await?;
        let presents = self.presents(&emplacement.zone).await?;
        Ok(VueZone {
            emplacement,
            presents,
        })
    }

    /// The characters present near the caller's, within `rayon` metres, nearest first (the
    /// character itself excluded).
    pub async fn proches(
        &self,
        compte: CompteId,
        joueur_id: JoueurId,
        rayon: f64,
    ) -> Result<Vec<Proche>, ErreurApplication> {
        self.verifier_proprietaire(compte, joueur_id).await?;
        let ici = self
            .emplacement(joueur_id)
            .await?
            .ok_or_else(|| introuvable_position(joueur_id))?;
        let mut proches: Vec<Proche> = self
            .presents(&ici.zone)
            .await?
            .into_iter()
            .filter(|p| p.joueur_id != joueur_id)
            .map(|p| Proche {
                distance: ici.position.distance(p.position),
                joueur_id: p.joueur_id,
                nom: p.nom,
                position: p.position,
            })
            .filter(|p| p.distance <= rayon)
            .collect();
        proches.sort_by(|a, b| a.distance.total_cmp(&b.distance));
        Ok(proches)
    }

    /// Who is present in a zone, with their positions, most recently active first. Forgets
    /// the presences older than [`DUREE_PRESENCE`] on the way.
    pub async fn presents(&self, zone: &CodeZone) -> Result<Vec<Present>, ErreurApplication> {
        let cle = self.cle_presence(zone);
        let seuil = maintenant_ms() - DUREE_PRESENCE.as_millis() as i64;
        let mut redis = self.redis();
        let (ids,): (Vec<String>,) = redis::pipe()
            .zrembyscore(&cle, "-inf", format!("({seuil}"))
            .ignore()
            .zrevrangebyscore_limit(&cle, "+inf", seuil, 0, PRESENTS_MAX)
            .query_async(&mut redis)
            .await?;
        let joueurs: Vec<JoueurId> = ids
            .iter()
            .filter_map(|id| Uuid::parse_str(id).ok().map(JoueurId::from_uuid))
            .collect();
        // One round trip for every position. A present character whose position is missing
        // (Redis lost it) was not writing to Redis lately: it is left out rather than reloaded.
        let mut pipe = redis::pipe();
        for &j in &joueurs {
            pipe.cmd("HMGET")
                .arg(self.cle_position(j))
                .arg(&["zone", "x", "y", "t"]);
        }
        let lignes: Vec<Vec<Option<String>>> = pipe.query_async(&mut redis).await?;
        let mut noms = self.noms(&joueurs).await?;
        let presents = joueurs
            .into_iter()
            .zip(lignes)
            .filter_map(|(joueur_id, champs)| {
                let etat = lire_etat(&champs)?;
                // A presence can outlive a zone change: the position decides.
                (&etat.emplacement.zone == zone).then(|| Present {
                    joueur_id,
                    nom: noms.remove(&joueur_id).unwrap_or_default(),
                    position: etat.emplacement.position,
                })
            })
            .collect();
        Ok(presents)
    }

    /// These characters' player closed its socket on this instance: their positions are
    /// written to PostgreSQL now. Their presence is left to expire ([`DUREE_PRESENCE`]): the
    /// player may still hold a socket on another instance, which keeps signalling it, and a
    /// removal here would hide them from their zone until its next heartbeat.
    pub async fn quitter(&self, joueurs: &[JoueurId]) -> Result<(), ErreurApplication> {
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
                let etat = lire_etat(&champs)?;
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

/// Reads a Redis hash `zone, x, y, t` (all present and well-formed, else `None`).
fn lire_etat(champs: &[Option<String>]) -> Option<Etat> {
    let [Some(zone), Some(x), Some(y), Some(t)] = champs else {
        return None;
    };
    Some(Etat {
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

/// Upserts positions within their zone, never replacing a row with an older one nor changing
/// its zone: only [`Monde::changer_zone`] moves a character to another zone, and it writes
/// PostgreSQL itself. A stale position of the old zone, still dirty in Redis, is dropped.
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
