//! Redis caches in front of three read models (doc/projections.md): a character's profile
//! (`joueur:{id}`), an inventory summary (`inventaire:{id}`) and a combat's summary
//! (`combat:{id}`), each a hash carrying the row's `version` (the last applied sequence of the
//! aggregate's stream).
//!
//! - **Written after the PostgreSQL commit.** The worker, once a batch is committed, reads back
//!   the rows of the aggregates the batch touched and writes them to Redis: the cache mirrors
//!   the read model, never something the read model did not (yet) commit.
//! - **Guarded by version.** Every write goes through one Lua script that compares the stored
//!   `version` and writes (replacing the whole hash) only if the new one is greater, atomically:
//!   an older value (a slow reader refilling a miss, a worker behind another) never overwrites
//!   a newer one.
//! - **Read-through, flushable at any time.** [`profil`], [`inventaire`] and [`combat`] read the
//!   cache and, on a miss, read PostgreSQL (through [`crate::requetes`], which owns the rows'
//!   queries) and refill the cache; after a flush answers stay right and the cache refills
//!   itself. A read that must reflect a given position reads PostgreSQL ([`relire_profil`]...):
//!   the cache is written after the commit that moves the checkpoint, so it may lag it.
//! - **Never in the way.** A Redis error (or a Redis slower than [`DELAI`]) never fails a batch
//!   or a read: it is logged with `tracing::warn!` and the answer comes from PostgreSQL.
//!
//! **Rebuilds.** A rebuild swaps in tables replayed from position zero; since a rebuilt model
//! equals the live one row by row (same rows, same versions: versions are stream sequences),
//! every cached hash still mirrors a row of the new tables, and versions never go backwards, so
//! the caches stay valid across the swap without a flush. This holds as long as the projection's
//! code is unchanged. If a rebuild is done *because* a projection's code changed (a fixed bug
//! producing different rows at the same versions), the guard keeps the old cached value until
//! the aggregate's next event: flush the caches ([`Cache::vider`]) after such a rebuild.

use std::collections::{BTreeSet, HashMap};
use std::str::FromStr;
use std::sync::LazyLock;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use futures_util::future::try_join_all;
use magasin::lecteur::EvenementStocke;
use redis::aio::ConnectionManager;
use redis::{ErrorKind, RedisError, RedisResult};
use sqlx::PgPool;
use uuid::Uuid;

use crate::requetes::combats::{self, VueCombat};
use crate::requetes::inventaires::{self, ResumeInventaire};
use crate::requetes::joueurs::{self, Profil};
use crate::{ErreurProjection, Projection};

/// How long a Redis call may take before it counts as failed (and PostgreSQL answers).
pub const DELAI: Duration = Duration::from_millis(500);

/// The guarded write: `KEYS[1]` the hash, `ARGV[1]` the new version, then field/value pairs.
/// Replaces the hash only if it has no version or an older one; returns 1 if written.
static ECRITURE_GARDEE: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
local actuelle = redis.call('HGET', KEYS[1], 'version')
if actuelle and tonumber(actuelle) >= tonumber(ARGV[1]) then
  return 0
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'version', ARGV[1], unpack(ARGV, 2))
return 1
",
    )
});

/// A connection to the caches, with the prefix of their keys.
#[derive(Clone)]
pub struct Cache {
    redis: ConnectionManager,
    prefixe: String,
}

impl From<ConnectionManager> for Cache {
    fn from(redis: ConnectionManager) -> Self {
        Self::new(redis)
    }
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("prefixe", &self.prefixe)
            .finish_non_exhaustive()
    }
}

impl Cache {
    /// Caches with unprefixed keys (`joueur:{id}`...).
    pub fn new(redis: ConnectionManager) -> Self {
        Self {
            redis,
            prefixe: String::new(),
        }
    }

    /// Prefixes every key (`{prefixe}joueur:{id}`...): several deployments, or several test
    /// databases, can share one Redis.
    #[must_use]
    pub fn avec_prefixe(mut self, prefixe: impl Into<String>) -> Self {
        self.prefixe = prefixe.into();
        self
    }

    /// The key of a character's profile.
    pub fn cle_joueur(&self, id: Uuid) -> String {
        format!("{}joueur:{id}", self.prefixe)
    }

    /// The key of an inventory summary.
    pub fn cle_inventaire(&self, id: Uuid) -> String {
        format!("{}inventaire:{id}", self.prefixe)
    }

    /// The key of a combat's summary.
    pub fn cle_combat(&self, id: Uuid) -> String {
        format!("{}combat:{id}", self.prefixe)
    }

    /// Deletes every key under this cache's prefix (SCAN + DEL): a flush that leaves other
    /// prefixes alone. Returns how many keys went.
    pub async fn vider(&self) -> RedisResult<u64> {
        let mut c = self.redis.clone();
        let motif = format!("{}*", motif_echappe(&self.prefixe));
        let mut curseur = 0u64;
        let mut supprimees = 0u64;
        loop {
            let (suivant, cles): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(curseur)
                .arg("MATCH")
                .arg(&motif)
                .arg("COUNT")
                .arg(500)
                .query_async(&mut c)
                .await?;
            if !cles.is_empty() {
                let n: u64 = redis::cmd("DEL").arg(&cles).query_async(&mut c).await?;
                supprimees += n;
            }
            if suivant == 0 {
                return Ok(supprimees);
            }
            curseur = suivant;
        }
    }

    /// The guarded write: replaces the hash at `cle` with `champs` and `version` only if the
    /// stored version is older (or absent). Returns whether it wrote.
    pub async fn ecrire_si_plus_recent(
        &self,
        cle: &str,
        version: i64,
        champs: &[(&str, String)],
    ) -> RedisResult<bool> {
        let mut invocation = ECRITURE_GARDEE.prepare_invoke();
        invocation.key(cle).arg(version);
        for (champ, valeur) in champs {
            invocation.arg(*champ).arg(valeur);
        }
        let mut c = self.redis.clone();
        let ecrit: i64 = delai(invocation.invoke_async(&mut c)).await?;
        Ok(ecrit == 1)
    }

    async fn lire_hash(&self, cle: &str) -> RedisResult<HashMap<String, String>> {
        let mut c = self.redis.clone();
        delai(redis::cmd("HGETALL").arg(cle).query_async(&mut c)).await
    }

    /// Writes a profile (guarded by its version).
    pub async fn ecrire_profil(&self, p: &Profil) -> RedisResult<bool> {
        let champs = [
            ("joueur_id", p.joueur_id.to_string()),
            ("compte_id", p.compte_id.to_string()),
            ("nom", p.nom.clone()),
            ("classe", p.classe.clone()),
            ("niveau", p.niveau.to_string()),
            ("xp", p.xp.to_string()),
            ("pv_max", p.pv_max.to_string()),
            ("attaque", p.attaque.to_string()),
            ("defense", p.defense.to_string()),
            ("soin", p.soin.to_string()),
            (
                "combat_id",
                p.combat_id.map(|c| c.to_string()).unwrap_or_default(),
            ),
            ("maj", horodatage(p.maj)),
        ];
        self.ecrire_si_plus_recent(&self.cle_joueur(p.joueur_id), p.version, &champs)
            .await
    }

    /// The cached profile, if any (`None` on a miss or an unreadable hash).
    pub async fn profil_en_cache(&self, id: Uuid) -> RedisResult<Option<Profil>> {
        let h = self.lire_hash(&self.cle_joueur(id)).await?;
        Ok(Champs(&h).profil())
    }

    /// Writes an inventory summary (guarded by its version).
    pub async fn ecrire_inventaire(&self, i: &ResumeInventaire) -> RedisResult<bool> {
        let items = serde_json::to_string(&i.items)
            .map_err(|e| RedisError::from((ErrorKind::ClientError, "items", e.to_string())))?;
        let champs = [
            ("joueur_id", i.joueur_id.to_string()),
            ("or_total", i.or_total.to_string()),
            ("items", items),
        ];
        self.ecrire_si_plus_recent(&self.cle_inventaire(i.joueur_id), i.version, &champs)
            .await
    }

    /// The cached inventory summary, if any.
    pub async fn inventaire_en_cache(&self, id: Uuid) -> RedisResult<Option<ResumeInventaire>> {
        let h = self.lire_hash(&self.cle_inventaire(id)).await?;
        Ok(Champs(&h).inventaire())
    }

    /// Writes a combat's summary (guarded by its version).
    pub async fn ecrire_combat(&self, e: &VueCombat) -> RedisResult<bool> {
        let participants = serde_json::to_string(&e.participants).map_err(|err| {
            RedisError::from((ErrorKind::ClientError, "participants", err.to_string()))
        })?;
        let champs = [
            ("combat_id", e.combat_id.to_string()),
            ("rencontre", e.rencontre.clone()),
            ("zone", e.zone.clone()),
            ("initiateur", e.initiateur.to_string()),
            ("participants", participants),
            ("phase", e.phase.clone()),
            ("tour", e.tour.to_string()),
            ("debut", horodatage(e.debut)),
            ("fin", e.fin.map(horodatage).unwrap_or_default()),
        ];
        self.ecrire_si_plus_recent(&self.cle_combat(e.combat_id), e.version, &champs)
            .await
    }

    /// The cached combat summary, if any.
    pub async fn combat_en_cache(&self, id: Uuid) -> RedisResult<Option<VueCombat>> {
        let h = self.lire_hash(&self.cle_combat(id)).await?;
        Ok(Champs(&h).combat())
    }

    /// After a committed batch of `projection`: reads back the rows of `ids` from PostgreSQL and
    /// writes them to the caches (guarded). Never fails: errors are logged.
    pub async fn rafraichir(&self, pool: &PgPool, projection: Projection, ids: &BTreeSet<Uuid>) {
        if ids.is_empty() {
            return;
        }
        let ids: Vec<Uuid> = ids.iter().copied().collect();
        if let Err(e) = self.rafraichir_ids(pool, projection, &ids).await {
            tracing::warn!(projection = projection.nom(), erreur = %e, "cache non rafraîchi après le lot");
        }
    }

    async fn rafraichir_ids(
        &self,
        pool: &PgPool,
        projection: Projection,
        ids: &[Uuid],
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        // All the rows' writes at once: the multiplexed connection pipelines them, one round
        // trip for the batch instead of one per row (which made the inventories, touched by
        // most commands, fall behind under load). The first Redis error gives up the rest.
        match projection {
            Projection::Joueurs => {
                let profils = joueurs::profils(pool, ids).await?;
                try_join_all(profils.iter().map(|p| self.ecrire_profil(p))).await?;
            }
            Projection::Inventaires => {
                let resumes = inventaires::resumes(pool, ids).await?;
                try_join_all(resumes.iter().map(|i| self.ecrire_inventaire(i))).await?;
            }
            Projection::Combats => {
                let vues = combats::vues(pool, ids).await?;
                try_join_all(vues.iter().map(|c| self.ecrire_combat(c))).await?;
            }
            Projection::Quetes | Projection::Economie => {}
        }
        Ok(())
    }
}

/// The aggregates of `projection`'s cache that a batch touched.
pub(crate) fn ids_touches(projection: Projection, lot: &[EvenementStocke]) -> BTreeSet<Uuid> {
    // Quests and the ledger have no cache.
    if matches!(projection, Projection::Quetes | Projection::Economie) {
        return BTreeSet::new();
    }
    let types = projection.types_agregats();
    lot.iter()
        .filter(|e| types.contains(&e.aggregate_type.as_str()))
        .filter_map(|e| Uuid::parse_str(&e.aggregate_id).ok())
        .collect()
}

/// A character's profile: from the cache, else from PostgreSQL (refilling the cache).
pub async fn profil(
    pool: &PgPool,
    cache: &Cache,
    joueur_id: Uuid,
) -> Result<Option<Profil>, ErreurProjection> {
    match cache.profil_en_cache(joueur_id).await {
        Ok(Some(p)) => return Ok(Some(p)),
        Ok(None) => {}
        Err(e) => tracing::warn!(erreur = %e, "cache des profils illisible, lecture en base"),
    }
    relire_profil(pool, cache, joueur_id).await
}

/// [`profil`] from PostgreSQL, whatever the cache holds (refilling it): for a read that waited
/// for the projection to pass a position, which the cache may not have reached yet
/// ([`crate::coherence`]).
pub async fn relire_profil(
    pool: &PgPool,
    cache: &Cache,
    joueur_id: Uuid,
) -> Result<Option<Profil>, ErreurProjection> {
    let ligne = joueurs::profils(pool, &[joueur_id]).await?.pop();
    if let Some(p) = &ligne
        && let Err(e) = cache.ecrire_profil(p).await
    {
        tracing::warn!(erreur = %e, "cache des profils non rempli");
    }
    Ok(ligne)
}

/// An inventory summary: from the cache, else from PostgreSQL (refilling the cache).
pub async fn inventaire(
    pool: &PgPool,
    cache: &Cache,
    joueur_id: Uuid,
) -> Result<Option<ResumeInventaire>, ErreurProjection> {
    match cache.inventaire_en_cache(joueur_id).await {
        Ok(Some(i)) => return Ok(Some(i)),
        Ok(None) => {}
        Err(e) => tracing::warn!(erreur = %e, "cache des inventaires illisible, lecture en base"),
    }
    relire_inventaire(pool, cache, joueur_id).await
}

/// [`inventaire`] from PostgreSQL, whatever the cache holds (refilling it): for a read that waited
/// for the projection to pass a position, which the cache may not have reached yet
/// ([`crate::coherence`]).
pub async fn relire_inventaire(
    pool: &PgPool,
    cache: &Cache,
    joueur_id: Uuid,
) -> Result<Option<ResumeInventaire>, ErreurProjection> {
    let ligne = inventaires::resumes(pool, &[joueur_id]).await?.pop();
    if let Some(i) = &ligne
        && let Err(e) = cache.ecrire_inventaire(i).await
    {
        tracing::warn!(erreur = %e, "cache des inventaires non rempli");
    }
    Ok(ligne)
}

/// A combat's summary: from the cache, else from PostgreSQL (refilling the cache).
pub async fn combat(
    pool: &PgPool,
    cache: &Cache,
    combat_id: Uuid,
) -> Result<Option<VueCombat>, ErreurProjection> {
    match cache.combat_en_cache(combat_id).await {
        Ok(Some(c)) => return Ok(Some(c)),
        Ok(None) => {}
        Err(e) => tracing::warn!(erreur = %e, "cache des combats illisible, lecture en base"),
    }
    relire_combat(pool, cache, combat_id).await
}

/// [`combat`] from PostgreSQL, whatever the cache holds (refilling it): for a read that waited
/// for the projection to pass a position, which the cache may not have reached yet
/// ([`crate::coherence`]).
pub async fn relire_combat(
    pool: &PgPool,
    cache: &Cache,
    combat_id: Uuid,
) -> Result<Option<VueCombat>, ErreurProjection> {
    let ligne = combats::vues(pool, &[combat_id]).await?.pop();
    if let Some(c) = &ligne
        && let Err(e) = cache.ecrire_combat(c).await
    {
        tracing::warn!(erreur = %e, "cache des combats non rempli");
    }
    Ok(ligne)
}

/// A Redis call bounded by [`DELAI`].
async fn delai<T>(f: impl Future<Output = RedisResult<T>>) -> RedisResult<T> {
    tokio::time::timeout(DELAI, f).await.unwrap_or_else(|_| {
        Err(RedisError::from((
            ErrorKind::IoError,
            "délai Redis dépassé",
        )))
    })
}

/// A timestamp as stored in the caches (RFC 3339, microseconds: PostgreSQL's precision).
fn horodatage(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// `prefixe` with SCAN's glob characters escaped.
fn motif_echappe(prefixe: &str) -> String {
    let mut motif = String::with_capacity(prefixe.len());
    for c in prefixe.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            motif.push('\\');
        }
        motif.push(c);
    }
    motif
}

/// A cached hash, decoded field by field; any missing or unreadable field makes a miss.
struct Champs<'a>(&'a HashMap<String, String>);

impl Champs<'_> {
    fn brut(&self, nom: &str) -> Option<&str> {
        self.0.get(nom).map(String::as_str)
    }

    fn lire<T: FromStr>(&self, nom: &str) -> Option<T> {
        self.brut(nom)?.parse().ok()
    }

    /// An optional field: empty means `None` (`Err` if absent or unreadable).
    fn optionnel<T: FromStr>(&self, nom: &str) -> Result<Option<T>, ()> {
        match self.brut(nom).ok_or(())? {
            "" => Ok(None),
            v => v.parse().map(Some).map_err(drop),
        }
    }

    fn json<T: serde::de::DeserializeOwned>(&self, nom: &str) -> Option<T> {
        serde_json::from_str(self.brut(nom)?).ok()
    }

    fn profil(&self) -> Option<Profil> {
        if self.0.is_empty() {
            return None;
        }
        let p = (|| {
            Some(Profil {
                joueur_id: self.lire("joueur_id")?,
                compte_id: self.lire("compte_id")?,
                nom: self.brut("nom")?.to_owned(),
                classe: self.brut("classe")?.to_owned(),
                niveau: self.lire("niveau")?,
                xp: self.lire("xp")?,
                pv_max: self.lire("pv_max")?,
                attaque: self.lire("attaque")?,
                defense: self.lire("defense")?,
                soin: self.lire("soin")?,
                combat_id: self.optionnel("combat_id").ok()?,
                version: self.lire("version")?,
                maj: self.lire("maj")?,
            })
        })();
        Self::signaler(p, "profil")
    }

    fn inventaire(&self) -> Option<ResumeInventaire> {
        if self.0.is_empty() {
            return None;
        }
        let i = (|| {
            Some(ResumeInventaire {
                joueur_id: self.lire("joueur_id")?,
                or_total: self.lire("or_total")?,
                items: self.json("items")?,
                version: self.lire("version")?,
            })
        })();
        Self::signaler(i, "inventaire")
    }

    fn combat(&self) -> Option<VueCombat> {
        if self.0.is_empty() {
            return None;
        }
        let c = (|| {
            Some(VueCombat {
                combat_id: self.lire("combat_id")?,
                rencontre: self.brut("rencontre")?.to_owned(),
                zone: self.brut("zone")?.to_owned(),
                initiateur: self.lire("initiateur")?,
                participants: self.json("participants")?,
                phase: self.brut("phase")?.to_owned(),
                tour: self.lire("tour")?,
                debut: self.lire("debut")?,
                fin: self.optionnel("fin").ok()?,
                version: self.lire("version")?,
            })
        })();
        Self::signaler(c, "combat")
    }

    /// A non-empty hash that does not decode is a miss worth a warning.
    fn signaler<T>(valeur: Option<T>, quoi: &str) -> Option<T> {
        if valeur.is_none() {
            tracing::warn!(quoi, "entrée de cache illisible, lecture en base");
        }
        valeur
    }
}
