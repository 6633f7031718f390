//! Stored snapshots of aggregates: a cache that spares a cold load the replay of a long stream.
//!
//! A snapshot is an aggregate's state after its first `version` events, saved with a
//! fingerprint of the state's shape ([`empreinte`]): a load reads it and folds only the events
//! after it (doc/magasin.md §2, « Les instantanés »). The stream stays the truth: a snapshot
//! whose fingerprint is not the code's, whose state does not decode, or whose version is not in
//! the stream is ignored, never trusted, and replaced. This module owns the `instantanes` table
//! (migration `20261207000001`) and its queries; [`crate::depot`] decides when to read and
//! write.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use schemars::transform::{RecursiveTransform, Transform};
use schemars::{JsonSchema, Schema, generate::SchemaSettings};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use tokio::sync::Semaphore;

/// Events between two snapshots of an aggregate, by default: a cold load folds at most this
/// many events after the snapshot, and a hot aggregate pays one background write per this
/// many events.
pub const INTERVALLE_PAR_DEFAUT: u32 = 100;

/// Snapshot writes in flight at once per process; a snapshot due when all are busy is skipped
/// (and counted), taken again at the next command on its aggregate. It bounds the connections
/// the snapshots take from the pool and the memory their states hold.
pub const ECRITURES_SIMULTANEES: usize = 4;

/// Bump when an aggregate's `apply` changes what it makes of the same events without changing
/// the state's shape: every snapshot taken before is then ignored and rebuilt. (A change of
/// shape needs nothing: the fingerprint follows it.)
pub const REVISION: u32 = 1;

/// Counters for `/metrics`.
#[derive(Debug, Default)]
pub struct CompteursInstantanes {
    /// Snapshots written.
    pub ecrits: AtomicU64,
    /// Snapshot writes that failed (logged; the aggregate is snapshotted again later).
    pub echecs: AtomicU64,
    /// Snapshots due but not written because [`ECRITURES_SIMULTANEES`] were in flight.
    pub omis: AtomicU64,
    /// Snapshots found at a cold load but not used: another fingerprint, a state that does not
    /// decode, or a read that failed.
    pub ignores: AtomicU64,
}

/// The fingerprint of a state type's shape: the SHA-256 (hex) of its JSON Schema in canonical
/// JSON, with the schema's prose (titles, descriptions, examples) left out and every subschema
/// inlined, so that a doc comment or a type's name does not count but a field, a variant, a
/// type or a serde attribute does; [`REVISION`] is hashed with it.
pub fn empreinte<T: JsonSchema>() -> String {
    let mut schema = SchemaSettings::draft2020_12()
        .with(|s| s.inline_subschemas = true)
        .into_generator()
        .into_root_schema_for::<T>();
    RecursiveTransform(|s: &mut Schema| {
        for mot in ["title", "description", "examples", "$comment"] {
            s.remove(mot);
        }
    })
    .transform(&mut schema);
    let mut canonique = format!("revision {REVISION}\n");
    ecrire_canonique(schema.as_value(), &mut canonique);
    Sha256::digest(canonique.as_bytes())
        .iter()
        .fold(String::with_capacity(64), |mut hex, o| {
            let _ = write!(hex, "{o:02x}");
            hex
        })
}

/// JSON with every object's keys sorted and no blanks, whatever order the map keeps.
fn ecrire_canonique(valeur: &Value, sortie: &mut String) {
    match valeur {
        Value::Object(champs) => {
            let mut cles: Vec<&String> = champs.keys().collect();
            cles.sort();
            sortie.push('{');
            for (i, cle) in cles.into_iter().enumerate() {
                if i > 0 {
                    sortie.push(',');
                }
                sortie.push_str(&Value::String(cle.clone()).to_string());
                sortie.push(':');
                ecrire_canonique(&champs[cle], sortie);
            }
            sortie.push('}');
        }
        Value::Array(elements) => {
            sortie.push('[');
            for (i, e) in elements.iter().enumerate() {
                if i > 0 {
                    sortie.push(',');
                }
                ecrire_canonique(e, sortie);
            }
            sortie.push(']');
        }
        autre => sortie.push_str(&autre.to_string()),
    }
}

/// A row of [`LIRE`].
type Ligne = (i64, bool, String, Option<String>);

/// An aggregate's snapshot as read: `Ok` its state and version, `Err` why it cannot be used.
pub(crate) type Lu<A> = Result<(A, i64), Ignore>;

/// Why a stored snapshot was not used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Ignore {
    /// Taken by code whose state had another shape.
    #[error("empreinte {0} périmée")]
    Perime(String),
    /// Its state does not decode as the aggregate's.
    #[error("état illisible")]
    Illisible(#[source] serde_json::Error),
    /// Its version is not in the stream (a store restored without its snapshots, events
    /// deleted by hand): trusting it would write the next event past a gap.
    #[error("version {0} absente du flux")]
    HorsDuFlux(i64),
}

/// The snapshot side of the store: the setting, the bound on writes in flight, the counters.
#[derive(Debug, Clone)]
pub(crate) struct Instantanes {
    /// Events between two snapshots; 0: no snapshot is read or written.
    pub(crate) intervalle: u32,
    places: Arc<Semaphore>,
    pub(crate) compteurs: Arc<CompteursInstantanes>,
}

/// An aggregate's snapshot: its version, whether the stream holds that version, the
/// fingerprint it was taken with, and its state when that fingerprint is the one asked for.
const LIRE: &str = "SELECT i.version, \
            EXISTS (SELECT 1 FROM events e WHERE e.aggregate_type = i.aggregate_type \
                    AND e.aggregate_id = i.aggregate_id AND e.sequence = i.version), \
            i.empreinte, \
            CASE WHEN i.empreinte = $3 THEN i.etat::text END \
     FROM instantanes i \
     WHERE i.aggregate_type = $1 AND i.aggregate_id = $2";

/// Keeps only the latest snapshot of an aggregate: an older one (a write that finished late)
/// never replaces a newer, but one of another fingerprint always does.
const ECRIRE: &str = "INSERT INTO instantanes \
     (aggregate_type, aggregate_id, version, empreinte, etat) \
     VALUES ($1, $2, $3, $4, $5::json) \
     ON CONFLICT (aggregate_type, aggregate_id) DO UPDATE \
     SET version = EXCLUDED.version, empreinte = EXCLUDED.empreinte, etat = EXCLUDED.etat, \
         enregistre_le = now() \
     WHERE instantanes.version < EXCLUDED.version \
        OR instantanes.empreinte <> EXCLUDED.empreinte";

/// Replaces a snapshot a load could not use, whatever its version.
const REMPLACER: &str = "INSERT INTO instantanes \
     (aggregate_type, aggregate_id, version, empreinte, etat) \
     VALUES ($1, $2, $3, $4, $5::json) \
     ON CONFLICT (aggregate_type, aggregate_id) DO UPDATE \
     SET version = EXCLUDED.version, empreinte = EXCLUDED.empreinte, etat = EXCLUDED.etat, \
         enregistre_le = now()";

impl Instantanes {
    /// The default interval, counted in `compteurs`.
    pub(crate) fn avec_compteurs(compteurs: Arc<CompteursInstantanes>) -> Self {
        Self {
            intervalle: INTERVALLE_PAR_DEFAUT,
            places: Arc::new(Semaphore::new(ECRITURES_SIMULTANEES)),
            compteurs,
        }
    }

    /// Whether a state at `version`, whose latest snapshot is at `instantane`, is due one.
    pub(crate) fn du(&self, version: i64, instantane: i64) -> bool {
        self.intervalle > 0 && version - instantane >= i64::from(self.intervalle)
    }

    /// An aggregate's usable snapshot, if any. A snapshot that cannot be used is counted and
    /// logged, and comes back as `Err`; a failed read too (the load then replays the stream).
    pub(crate) async fn lire<A>(
        &self,
        pool: &PgPool,
        type_agregat: &str,
        agregat_id: &str,
        empreinte: &str,
    ) -> Option<Lu<A>>
    where
        A: DeserializeOwned,
    {
        if self.intervalle == 0 {
            return None;
        }
        let ligne: Result<Option<Ligne>, _> = sqlx::query_as(LIRE)
            .bind(type_agregat)
            .bind(agregat_id)
            .bind(empreinte)
            .fetch_optional(pool)
            .await;
        let lu = match ligne {
            Ok(None) => return None,
            Ok(Some((version, false, _, _))) => Err(Ignore::HorsDuFlux(version)),
            Ok(Some((_, true, autre, None))) => Err(Ignore::Perime(autre)),
            Ok(Some((version, true, _, Some(etat)))) => serde_json::from_str::<A>(&etat)
                .map(|a| (a, version))
                .map_err(Ignore::Illisible),
            Err(e) => {
                self.compteurs.ignores.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    agregat = type_agregat,
                    id = agregat_id,
                    erreur = %e,
                    "instantané illisible en base : le flux est rejoué en entier"
                );
                return None;
            }
        };
        if let Err(raison) = &lu {
            self.compteurs.ignores.fetch_add(1, Ordering::Relaxed);
            tracing::info!(
                agregat = type_agregat,
                id = agregat_id,
                raison = %raison,
                "instantané ignoré : le flux est rejoué en entier et l'instantané remplacé"
            );
        }
        Some(lu)
    }

    /// Writes a snapshot in the background, if a place is free: the caller's command does not
    /// wait for it, and a failure is only logged and counted. `false` if it was skipped. The
    /// stored snapshot is kept if it is newer, unless `remplacer` (a load could not use it).
    ///
    /// The caller gives a state that is exactly the fold of the stream's committed events
    /// `1..=version`: never a state ahead of the store.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn ecrire<A>(
        &self,
        pool: &PgPool,
        type_agregat: &'static str,
        agregat_id: &str,
        empreinte: &'static str,
        version: i64,
        etat: A,
        remplacer: bool,
    ) -> bool
    where
        A: Serialize + Send + 'static,
    {
        let Ok(place) = Arc::clone(&self.places).try_acquire_owned() else {
            self.compteurs.omis.fetch_add(1, Ordering::Relaxed);
            return false;
        };
        let pool = pool.clone();
        let compteurs = Arc::clone(&self.compteurs);
        let agregat_id = agregat_id.to_owned();
        tokio::spawn(async move {
            let ecrit = match serde_json::to_string(&etat) {
                Ok(json) => sqlx::query(if remplacer { REMPLACER } else { ECRIRE })
                    .bind(type_agregat)
                    .bind(&agregat_id)
                    .bind(version)
                    .bind(empreinte)
                    .bind(json)
                    .execute(&pool)
                    .await
                    .map(drop)
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            drop(place);
            match ecrit {
                Ok(()) => compteurs.ecrits.fetch_add(1, Ordering::Relaxed),
                Err(erreur) => {
                    tracing::warn!(
                        agregat = type_agregat,
                        id = %agregat_id,
                        version,
                        %erreur,
                        "instantané non écrit : il le sera après les prochains événements"
                    );
                    compteurs.echecs.fetch_add(1, Ordering::Relaxed)
                }
            };
        });
        true
    }

    /// Waits until no snapshot write is in flight (tests, benches, shutdown).
    pub(crate) async fn attendre(&self) {
        let n = u32::try_from(ECRITURES_SIMULTANEES).unwrap_or(u32::MAX);
        if let Ok(toutes) = self.places.acquire_many(n).await {
            drop(toutes);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[derive(schemars::JsonSchema)]
    #[allow(dead_code)]
    struct Avant {
        /// Gold.
        or: u64,
        items: BTreeMap<String, u32>,
    }

    mod meme_forme {
        /// Another name, other docs, the same shape.
        #[derive(schemars::JsonSchema)]
        #[allow(dead_code)]
        pub(super) struct Renomme {
            /// Gold, in pieces.
            or: u64,
            /// What it holds.
            items: std::collections::BTreeMap<String, u32>,
        }
    }

    #[derive(schemars::JsonSchema)]
    #[allow(dead_code)]
    struct ChampAjoute {
        or: u64,
        items: BTreeMap<String, u32>,
        reservations: Vec<u32>,
    }

    #[derive(schemars::JsonSchema)]
    #[allow(dead_code)]
    struct TypeChange {
        or: i64,
        items: BTreeMap<String, u32>,
    }

    #[derive(schemars::JsonSchema)]
    #[allow(dead_code)]
    struct ChampRenomme {
        #[serde(rename = "pieces")]
        or: u64,
        items: BTreeMap<String, u32>,
    }

    #[test]
    fn l_empreinte_suit_la_forme_de_l_etat_et_pas_sa_prose() {
        let avant = empreinte::<Avant>();
        assert_eq!(avant.len(), 64);
        assert_eq!(avant, empreinte::<Avant>(), "stable d'un appel à l'autre");
        assert_eq!(avant, empreinte::<meme_forme::Renomme>());
        for autre in [
            empreinte::<ChampAjoute>(),
            empreinte::<TypeChange>(),
            empreinte::<ChampRenomme>(),
        ] {
            assert_ne!(avant, autre);
        }
    }

    #[test]
    fn le_json_canonique_trie_les_cles_a_toute_profondeur() {
        let mut sortie = String::new();
        ecrire_canonique(
            &serde_json::json!({ "b": [ { "z": 1, "a": "x\"y" } ], "a": null }),
            &mut sortie,
        );
        assert_eq!(sortie, r#"{"a":null,"b":[{"a":"x\"y","z":1}]}"#);
    }

    #[test]
    fn un_intervalle_nul_ne_prend_aucun_instantane() {
        let mut i = Instantanes::avec_compteurs(Arc::default());
        assert!(i.du(100, 0));
        assert!(!i.du(199, 100));
        assert!(i.du(200, 100));
        i.intervalle = 0;
        assert!(!i.du(1_000, 0));
    }
}
