//! `combats` (one summary per combat) and `combats_historique` (the audit trail: every event of
//! every combat, in order, with who caused it, why and when).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use cqrs_es::Aggregate as _;
use domain::combat::{Combat, EvenementCombat, Issue};
use magasin::lecteur::EvenementStocke;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{ajouter, ecrire, entier, evenements, lire_par_id, uuid};
use crate::ErreurProjection;

/// A row of `combats_historique`.
#[derive(Debug, Serialize)]
struct Trace<'a> {
    combat_id: Uuid,
    sequence: i64,
    event_type: &'a str,
    payload: &'a Value,
    event_version: &'a str,
    compte_id: Option<Uuid>,
    correlation_id: Option<Uuid>,
    causation_id: Option<Uuid>,
    recorded_at: DateTime<Utc>,
}

/// A row of `combats`.
#[derive(Debug, Serialize, Deserialize)]
struct Resume {
    combat_id: Uuid,
    rencontre: String,
    zone: String,
    initiateur: Uuid,
    participants: Vec<Uuid>,
    phase: String,
    tour: i32,
    debut: DateTime<Utc>,
    fin: Option<DateTime<Utc>>,
    version: i64,
}

const COLONNES: &[&str] = &[
    "rencontre",
    "zone",
    "initiateur",
    "participants",
    "phase",
    "tour",
    "debut",
    "fin",
    "version",
];

pub(crate) async fn appliquer(
    c: &mut PgConnection,
    lot: &[EvenementStocke],
) -> Result<(), ErreurProjection> {
    let evenements = evenements::<EvenementCombat>(lot, Combat::TYPE)?;
    if evenements.is_empty() {
        return Ok(());
    }
    let mut traces = Vec::with_capacity(evenements.len());
    for (e, _) in &evenements {
        traces.push(Trace {
            combat_id: uuid(e)?,
            sequence: e.sequence,
            event_type: &e.event_type,
            payload: &e.payload,
            event_version: &e.event_version,
            compte_id: e.compte_id,
            correlation_id: e.correlation_id,
            causation_id: e.causation_id,
            recorded_at: e.recorded_at,
        });
    }
    // The summary follows only the events the trail did not hold yet.
    let ajoutees = ajouter(c, "combats_historique", "combat_id, sequence", &traces).await?;
    let nouveaux: Vec<_> = evenements
        .into_iter()
        .zip(&traces)
        .filter(|(_, t)| ajoutees.contains(&(t.combat_id, t.sequence)))
        .map(|((e, ev), t)| (t.combat_id, e, ev))
        .collect();
    let ids: BTreeSet<Uuid> = nouveaux.iter().map(|(id, _, _)| *id).collect();
    let mut resumes =
        lire_par_id(c, "combats", "combat_id", &ids, |l: &Resume| l.combat_id).await?;
    let mut changes = BTreeSet::new();
    for (id, e, ev) in nouveaux {
        if resumer(&mut resumes, id, e, ev) {
            changes.insert(id);
        }
    }
    let resumes: Vec<Resume> = changes.iter().filter_map(|id| resumes.remove(id)).collect();
    ecrire(c, "combats", "combat_id", COLONNES, &resumes).await
}

/// Folds an event into its combat's summary: created by the preparation, then moved by the
/// events that change its party, phase or round (each guarded by the combat's version).
/// Whether the summary changed.
fn resumer(
    resumes: &mut BTreeMap<Uuid, Resume>,
    id: Uuid,
    e: &EvenementStocke,
    ev: EvenementCombat,
) -> bool {
    if let EvenementCombat::CombatPrepare {
        rencontre,
        zone,
        initiateur,
        ..
    } = &ev
    {
        if resumes.contains_key(&id) {
            return false;
        }
        let initiateur = initiateur.joueur_id.uuid();
        resumes.insert(
            id,
            Resume {
                combat_id: id,
                rencontre: rencontre.as_str().to_owned(),
                zone: zone.as_str().to_owned(),
                initiateur,
                participants: vec![initiateur],
                phase: "preparation".to_owned(),
                tour: 0,
                debut: e.recorded_at,
                fin: None,
                version: e.sequence,
            },
        );
        return true;
    }
    let Some(r) = resumes.get_mut(&id) else {
        return false;
    };
    if r.version >= e.sequence {
        return false;
    }
    match ev {
        EvenementCombat::CombattantRejoint { combattant } => {
            r.participants.push(combattant.joueur_id.uuid());
        }
        EvenementCombat::CombattantParti { joueur_id } => {
            r.participants.retain(|p| *p != joueur_id.uuid());
        }
        EvenementCombat::CombatLance { .. } => "en_cours".clone_into(&mut r.phase),
        EvenementCombat::TourCommence { tour, .. } => r.tour = entier(tour),
        EvenementCombat::CombatAnnule { .. } => {
            "annule".clone_into(&mut r.phase);
            r.fin = Some(e.recorded_at);
        }
        EvenementCombat::CombatTermine { issue, tours, .. } => {
            match issue {
                Issue::Victoire => "victoire",
                Issue::Defaite => "defaite",
            }
            .clone_into(&mut r.phase);
            r.tour = entier(tours);
            r.fin = Some(e.recorded_at);
        }
        // Actions and blows live in the audit trail; the summary does not change.
        _ => return false,
    }
    r.version = e.sequence;
    true
}
