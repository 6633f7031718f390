//! `journal_quetes`: each character's quests, their status and progress.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use cqrs_es::Aggregate as _;
use domain::quete::{EvenementQuete, Quete};
use magasin::lecteur::EvenementStocke;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{ecrire, entier, evenements, lire};
use crate::ErreurProjection;

/// A row of `journal_quetes`.
#[derive(Debug, Serialize, Deserialize)]
struct Ligne {
    joueur_id: Uuid,
    quete: String,
    statut: String,
    progression: i32,
    requis: i32,
    version: i64,
    maj: DateTime<Utc>,
}

const CLE: &str = "joueur_id, quete";
const COLONNES: &[&str] = &["statut", "progression", "requis", "version", "maj"];

/// The character and quest of an event's aggregate id, `"<character>:<quest>"`.
fn cle(e: &EvenementStocke) -> Result<(Uuid, String), ErreurProjection> {
    let erreur = || ErreurProjection::Identifiant {
        event_id: e.event_id,
        aggregate_id: e.aggregate_id.clone(),
    };
    let (joueur, quete) = e.aggregate_id.split_once(':').ok_or_else(erreur)?;
    let joueur = Uuid::parse_str(joueur).map_err(|_| erreur())?;
    Ok((joueur, quete.to_owned()))
}

pub(crate) async fn appliquer(
    c: &mut PgConnection,
    lot: &[EvenementStocke],
) -> Result<(), ErreurProjection> {
    let evenements = evenements::<EvenementQuete>(lot, Quete::TYPE)?;
    if evenements.is_empty() {
        return Ok(());
    }
    let mut touchees = BTreeMap::new();
    for (e, _) in &evenements {
        touchees.insert(cle(e)?, false);
    }
    let cles: Vec<_> = touchees
        .keys()
        .map(|(joueur_id, quete)| json!({ "joueur_id": joueur_id, "quete": quete }))
        .collect();
    let mut lignes: BTreeMap<(Uuid, String), Ligne> =
        lire::<Ligne>(c, "journal_quetes", CLE, &cles)
            .await?
            .into_iter()
            .map(|l| ((l.joueur_id, l.quete.clone()), l))
            .collect();
    // Acceptance may follow an abandon: every event upserts its row, guarded by the sequence.
    for (e, ev) in evenements {
        let cle = cle(e)?;
        let (statut, progression, requis) = match &ev {
            EvenementQuete::QueteAcceptee { requis, .. } => {
                ("en_cours", Some(0), Some(entier(*requis)))
            }
            EvenementQuete::QueteProgressee {
                progression,
                requis,
                ..
            } => (
                "en_cours",
                Some(entier(*progression)),
                Some(entier(*requis)),
            ),
            EvenementQuete::QueteTerminee { .. } => ("terminee", None, None),
            EvenementQuete::QueteAbandonnee { .. } => ("abandonnee", None, None),
        };
        let ligne = lignes.entry(cle.clone()).or_insert_with(|| Ligne {
            joueur_id: cle.0,
            quete: cle.1.clone(),
            statut: String::new(),
            progression: 0,
            requis: 0,
            version: 0,
            maj: e.recorded_at,
        });
        if ligne.version >= e.sequence {
            continue;
        }
        statut.clone_into(&mut ligne.statut);
        ligne.progression = progression.unwrap_or(ligne.progression);
        ligne.requis = requis.unwrap_or(ligne.requis);
        ligne.version = e.sequence;
        ligne.maj = e.recorded_at;
        touchees.insert(cle, true);
    }
    let lignes: Vec<Ligne> = touchees
        .into_iter()
        .filter(|(_, changee)| *changee)
        .filter_map(|(cle, _)| lignes.remove(&cle))
        .collect();
    ecrire(c, "journal_quetes", CLE, COLONNES, &lignes).await
}
