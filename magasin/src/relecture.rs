//! Reading every stored event again with the current code: what `mmo evenements verifier`
//! runs before a deploy (and CI on the fixture store) so that a change to an event's shape
//! without its upcaster is caught before it meets the store (doc/magasin.md §6).
//!
//! Each row is upcast and deserialized into its aggregate's event enum, exactly as the readers
//! do (`domain::versions::verifier`); nothing is written.

use std::collections::BTreeMap;

use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

/// Rows read per query.
const LOT: i64 = 1_000;

/// An event the current code cannot read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Echec {
    /// The event's id.
    pub event_id: Uuid,
    /// Its aggregate type.
    pub aggregate_type: String,
    /// Its aggregate's id.
    pub aggregate_id: String,
    /// Its place in the stream.
    pub sequence: i64,
    /// Its type.
    pub event_type: String,
    /// Its stored version.
    pub event_version: String,
    /// Why it cannot be read.
    pub erreur: String,
}

/// What a pass over the store found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Rapport {
    /// Events read, by (aggregate type, event type, stored version).
    pub comptes: BTreeMap<(String, String, String), u64>,
    /// The events that could not be read, in global order.
    pub echecs: Vec<Echec>,
}

impl Rapport {
    /// Events read in all.
    pub fn total(&self) -> u64 {
        self.comptes.values().sum()
    }
}

/// A stored row, as this pass needs it.
type Ligne = (i64, i64, Uuid, String, String, i64, String, String, Value);

/// Reads every stored event, in global order, with the current code. Batches follow the
/// global-order index (`events_ordre_global`): `global_position` alone has no index, and
/// each batch would sort the whole table (the cast column is named apart, or `ORDER BY
/// transaction_id` would sort on it instead of the index).
pub async fn verifier(pool: &PgPool) -> Result<Rapport, sqlx::Error> {
    let mut rapport = Rapport::default();
    let mut apres = (0_i64, 0_i64);
    loop {
        let lignes: Vec<Ligne> = sqlx::query_as(
            "SELECT transaction_id::text::bigint AS transaction, global_position, event_id, \
                    aggregate_type, aggregate_id, sequence, event_type, event_version, payload \
             FROM events WHERE (transaction_id, global_position) > ($1::bigint::text::xid8, $2) \
             ORDER BY transaction_id, global_position LIMIT $3",
        )
        .bind(apres.0)
        .bind(apres.1)
        .bind(LOT)
        .fetch_all(pool)
        .await?;
        let Some(derniere) = lignes.last() else {
            return Ok(rapport);
        };
        apres = (derniere.0, derniere.1);
        for (_, _, event_id, agregat, aggregate_id, sequence, genre, version, payload) in lignes {
            if let Err(erreur) = domain::versions::verifier(&agregat, &genre, &version, payload) {
                rapport.echecs.push(Echec {
                    event_id,
                    aggregate_type: agregat.clone(),
                    aggregate_id,
                    sequence,
                    event_type: genre.clone(),
                    event_version: version.clone(),
                    erreur: erreur.to_string(),
                });
            }
            *rapport
                .comptes
                .entry((agregat, genre, version))
                .or_default() += 1;
        }
    }
}
