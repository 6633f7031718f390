//! The read models, one module per projection. Each `appliquer` folds a batch of stored
//! events into its tables inside the batch's transaction (`search_path` points at the live
//! schema or at a rebuild's shadow schema), in a few statements whatever the batch's size: it
//! reads the rows the batch touches, folds the events into them in memory, and writes back the
//! rows that changed. Each table's row is a serde struct whose fields are its columns, so rows
//! go both ways as JSON (`row_to_json`, `json_populate_recordset`) with no column list to keep
//! in step.
//!
//! A batch is replay-safe on its own: an event moves a row only if the row's version (the
//! last stream sequence applied to it) is behind it, and append-only tables are keyed by the
//! event's place, so an event applied twice changes nothing.

pub(crate) mod combats;
pub(crate) mod economie;
pub(crate) mod inventaires;
pub(crate) mod joueurs;
pub(crate) mod quetes;

use std::collections::{BTreeMap, BTreeSet};

use cqrs_es::DomainEvent;
use magasin::lecteur::EvenementStocke;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::ErreurProjection;

/// The typed event, if the stored one belongs to this aggregate type (upcast: the reader
/// hands out current versions, and one it could not upcast fails here, named).
pub(crate) fn evenement<E: DeserializeOwned + DomainEvent>(
    e: &EvenementStocke,
    type_agregat: &str,
) -> Result<Option<E>, ErreurProjection> {
    if e.aggregate_type != type_agregat {
        return Ok(None);
    }
    e.decoder()
        .map(Some)
        .map_err(|source| ErreurProjection::Evenement {
            event_id: e.event_id,
            source,
        })
}

/// The batch's events of one aggregate type, typed, in order.
pub(crate) fn evenements<'a, E: DeserializeOwned + DomainEvent>(
    lot: &'a [EvenementStocke],
    type_agregat: &str,
) -> Result<Vec<(&'a EvenementStocke, E)>, ErreurProjection> {
    lot.iter()
        .filter_map(|e| {
            evenement(e, type_agregat)
                .map(|t| t.map(|t| (e, t)))
                .transpose()
        })
        .collect()
}

/// The aggregate id as a UUID (characters, combats, inventories).
pub(crate) fn uuid(e: &EvenementStocke) -> Result<Uuid, ErreurProjection> {
    Uuid::parse_str(&e.aggregate_id).map_err(|_| ErreurProjection::Identifiant {
        event_id: e.event_id,
        aggregate_id: e.aggregate_id.clone(),
    })
}

/// Rows (or keys) of `table` as the JSON array its statements take.
pub(crate) fn en_json(
    table: &'static str,
    valeur: &impl Serialize,
) -> Result<String, ErreurProjection> {
    serde_json::to_string(valeur).map_err(|source| ErreurProjection::Ligne { table, source })
}

/// The rows of `table` whose key columns (`cle`, e.g. `"joueur_id, quete"`) match one of
/// `cles` (objects holding those columns).
pub(crate) async fn lire<L: DeserializeOwned>(
    c: &mut PgConnection,
    table: &'static str,
    cle: &str,
    cles: &[impl Serialize],
) -> Result<Vec<L>, ErreurProjection> {
    if cles.is_empty() {
        return Ok(Vec::new());
    }
    let lignes: Vec<(String,)> = sqlx::query_as(&format!(
        "SELECT row_to_json(t)::text FROM {table} t WHERE ({cle}) IN \
         (SELECT {cle} FROM json_populate_recordset(NULL::{table}, $1::json))"
    ))
    .bind(en_json(table, &cles)?)
    .fetch_all(&mut *c)
    .await?;
    lignes
        .iter()
        .map(|(l,)| {
            serde_json::from_str(l).map_err(|source| ErreurProjection::Ligne { table, source })
        })
        .collect()
}

/// The rows of a table keyed by one UUID column (`cle`) for these ids, by id.
pub(crate) async fn lire_par_id<L: DeserializeOwned>(
    c: &mut PgConnection,
    table: &'static str,
    cle: &'static str,
    ids: &BTreeSet<Uuid>,
    id_de: impl Fn(&L) -> Uuid,
) -> Result<BTreeMap<Uuid, L>, ErreurProjection> {
    let cles: Vec<_> = ids
        .iter()
        .map(|id| {
            Value::Object(Map::from_iter([(
                cle.to_owned(),
                Value::from(id.to_string()),
            )]))
        })
        .collect();
    Ok(lire::<L>(c, table, cle, &cles)
        .await?
        .into_iter()
        .map(|l| (id_de(&l), l))
        .collect())
}

/// Writes whole rows of `table`: inserted, or replacing the row with the same key.
/// `colonnes` are the columns outside the key.
pub(crate) async fn ecrire<L: Serialize>(
    c: &mut PgConnection,
    table: &'static str,
    cle: &str,
    colonnes: &[&str],
    lignes: &[L],
) -> Result<(), ErreurProjection> {
    if lignes.is_empty() {
        return Ok(());
    }
    let remplacer = colonnes
        .iter()
        .map(|c| format!("{c} = EXCLUDED.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    sqlx::query(&format!(
        "INSERT INTO {table} SELECT * FROM json_populate_recordset(NULL::{table}, $1::json) \
         ON CONFLICT ({cle}) DO UPDATE SET {remplacer}"
    ))
    .bind(en_json(table, &lignes)?)
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// Deletes the rows of `table` whose key columns match one of `cles`.
pub(crate) async fn supprimer(
    c: &mut PgConnection,
    table: &'static str,
    cle: &str,
    cles: &[impl Serialize],
) -> Result<(), ErreurProjection> {
    if cles.is_empty() {
        return Ok(());
    }
    sqlx::query(&format!(
        "DELETE FROM {table} WHERE ({cle}) IN \
         (SELECT {cle} FROM json_populate_recordset(NULL::{table}, $1::json))"
    ))
    .bind(en_json(table, &cles)?)
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// Appends rows to a table keyed by an event's place (`(stream id, sequence)`, named by
/// `cle`), skipping those already there; returns the keys of the rows it added.
pub(crate) async fn ajouter<L: Serialize>(
    c: &mut PgConnection,
    table: &'static str,
    cle: &str,
    lignes: &[L],
) -> Result<BTreeSet<(Uuid, i64)>, ErreurProjection> {
    if lignes.is_empty() {
        return Ok(BTreeSet::new());
    }
    let ajoutees: Vec<(Uuid, i64)> = sqlx::query_as(&format!(
        "INSERT INTO {table} SELECT * FROM json_populate_recordset(NULL::{table}, $1::json) \
         ON CONFLICT DO NOTHING RETURNING {cle}"
    ))
    .bind(en_json(table, &lignes)?)
    .fetch_all(&mut *c)
    .await?;
    Ok(ajoutees.into_iter().collect())
}

/// A stat or count as PostgreSQL's `integer`.
pub(crate) fn entier(v: u32) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}
